import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRolloutContext, type ResolvedResources } from '../../../shared/agent/context';
import { rollout, TaskValidationError } from '../../../shared/agent/rollout';
import {
  AGL_ANNOTATION,
  AGL_EXCEPTION,
  AGL_MESSAGE,
  AGL_OBJECT,
  AGL_OPERATION,
  AGL_REWARD,
  ATTR,
  flattenAttributes,
  readReward,
  rewardAttributes,
} from '../../../shared/agent/semconv';
import { InMemoryLightningStore } from '../../../shared/store/memory';

const noResources: ResolvedResources = { resourcesId: null, named: {}, policy: null, llm: null };

async function setup() {
  const store = new InMemoryLightningStore();
  const attempted = await store.startRollout({ input: { question: 'q' } });
  const context = createRolloutContext({
    store,
    rollout: attempted,
    resources: noResources,
    workerId: 'w1',
    signal: new AbortController().signal,
  });
  const spans = async () =>
    (await store.querySpans({ rollout_id: attempted.rollout_id, sort_by: 'sequence_id' })).items;
  return { store, attempted, context, spans };
}

describe('emitters', () => {
  it('write Agent Lightning spans with their attribute conventions', async () => {
    const { context, spans } = await setup();
    await context.emitMessage('hello', { role: 'assistant' });
    await context.emitObject({ a: [1, 2] });
    await context.emitObject('plain');
    await context.emitAnnotation({ tag: { kind: 'x' }, score: 2 });
    await context.emitException(new RangeError('out of range'));
    await context.emitReward({ primary: 0.5, length: 1, tone: 0 });
    const s = await spans();
    expect(s.map((x) => x.name)).toEqual([
      AGL_MESSAGE,
      AGL_OBJECT,
      AGL_OBJECT,
      AGL_ANNOTATION,
      AGL_EXCEPTION,
      AGL_REWARD,
    ]);
    expect(s[0].attributes).toMatchObject({ [ATTR.messageBody]: 'hello', role: 'assistant' });
    expect(s[1].attributes).toMatchObject({ [ATTR.objectType]: 'object', [ATTR.objectJson]: '{"a":[1,2]}' });
    expect(s[2].attributes).toMatchObject({ [ATTR.objectType]: 'string', [ATTR.objectLiteral]: 'plain' });
    expect(s[3].attributes).toEqual({ 'tag.kind': 'x', score: 2 });
    expect(s[4].attributes).toMatchObject({
      [ATTR.exceptionType]: 'RangeError',
      [ATTR.exceptionMessage]: 'out of range',
    });
    expect(s[4].status.status_code).toBe('ERROR');
    expect(s[5].attributes).toMatchObject({
      'agentlightning.reward.0.name': 'primary',
      'agentlightning.reward.0.value': 0.5,
      'agentlightning.reward.1.name': 'length',
    });
    expect(readReward(s[5])).toEqual({ primary: 0.5, length: 1, tone: 0 });
    // One trace per attempt, strictly increasing sequence ids issued by the store.
    expect(new Set(s.map((x) => x.trace_id)).size).toBe(1);
    expect(s.map((x) => x.sequence_id)).toEqual([...s.map((x) => x.sequence_id)].sort((a, b) => a - b));
    expect(context.rewardCount).toBe(1);
  });

  it('makes the first span the attempt heartbeat (preparing → running)', async () => {
    const { store, attempted, context } = await setup();
    expect((await store.getLatestAttempt(attempted.rollout_id))?.status).toBe('preparing');
    await context.emitMessage('started');
    expect((await store.getLatestAttempt(attempted.rollout_id))?.status).toBe('running');
  });

  it('nests spans under an operation and records its input, output and failure', async () => {
    const { context, spans } = await setup();
    const value = await context.operation(
      'outer',
      async (op) => {
        await op.context.emitMessage('inside');
        return 42;
      },
      { x: 1 },
    );
    expect(value).toBe(42);
    await expect(context.operation('boom', () => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    const s = await spans();
    const outer = s.find((x) => x.name === AGL_OPERATION && x.attributes[ATTR.operationName] === 'outer')!;
    const inside = s.find((x) => x.name === AGL_MESSAGE)!;
    expect(inside.parent_id).toBe(outer.span_id);
    expect(outer.attributes).toMatchObject({
      [ATTR.operationInput]: '{"x":1}',
      [ATTR.operationOutput]: '42',
    });
    const boom = s.find((x) => x.attributes[ATTR.operationName] === 'boom')!;
    expect(boom.status).toMatchObject({ status_code: 'ERROR', description: 'nope' });
  });

  it('rejects malformed rewards', async () => {
    const { context } = await setup();
    expect(() => context.emitReward(Number.NaN)).toThrow(/finite/);
    expect(() => context.emitReward({ length: 1 } as never)).toThrow(/primary/);
    expect(() => rewardAttributes({ primary: 1, tone: 'high' } as never)).toThrow(/tone/);
  });

  it('flattens nested attributes and serialises the rest', () => {
    expect(flattenAttributes({ a: { b: 1, c: [1, 2] }, d: [1, 'x'], e: null, f: 'ok' })).toEqual({
      'a.b': 1,
      'a.c': [1, 2],
      d: '[1,"x"]',
      f: 'ok',
    });
  });
});

describe('rollout(fn)', () => {
  it('turns a returned number into a reward span', async () => {
    const { context, spans } = await setup();
    const agent = rollout(async () => 0.75, { name: 'returns' });
    await agent.execute({ question: 'q' }, context);
    const rewards = (await spans()).filter((s) => s.name === AGL_REWARD);
    expect(rewards.map(readReward)).toEqual([{ primary: 0.75 }]);
  });

  it('warns on a duplicate reward (emitted and returned) and keeps only the emitted one', async () => {
    const { context, spans } = await setup();
    const warnings: string[] = [];
    const agent = rollout(
      async (_task, ctx) => {
        await ctx.emitReward(1);
        return 0.2;
      },
      { warn: (m) => warnings.push(m) },
    );
    await agent.execute({}, context);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/duplicate reward/);
    expect((await spans()).filter((s) => s.name === AGL_REWARD).map(readReward)).toEqual([{ primary: 1 }]);
  });

  it('validates the task against its schema and rejects non-reward results', async () => {
    const { context } = await setup();
    const typed = rollout(async (task: { question: number }) => task.question, {
      taskSchema: z.object({ question: z.number() }),
    });
    await expect(typed.execute({ question: 'q' }, context)).rejects.toBeInstanceOf(TaskValidationError);
    const odd = rollout(async () => 'done' as never);
    await expect(odd.execute({}, context)).rejects.toThrow(/returned string/);
  });
});

describe('shared/agent stays isomorphic', () => {
  it('imports nothing from node: and uses no AsyncLocalStorage', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = join(__dirname, '../../../shared/agent');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(dir, file), 'utf8');
      expect(source, file).not.toMatch(/from ['"]node:/);
      expect(source, file).not.toMatch(/new AsyncLocalStorage|async_hooks/);
    }
  });
});
