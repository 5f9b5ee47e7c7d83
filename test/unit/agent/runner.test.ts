import { describe, expect, it } from 'vitest';
import type { ReplyPolicy } from '../../../shared/agent/policy';
import { rollout } from '../../../shared/agent/rollout';
import { Runner, runRunners } from '../../../shared/agent/runner';
import { AGL_EXCEPTION, ATTR, readReward } from '../../../shared/agent/semconv';
import { InMemoryLightningStore } from '../../../shared/store/memory';

const quiet = () => undefined;

describe('Runner', () => {
  it('runs every queued rollout once and marks the attempts succeeded', async () => {
    const store = new InMemoryLightningStore();
    const rollouts = await store.enqueueRollouts([1, 2, 3].map((n) => ({ input: { n } })));
    const seen: number[] = [];
    const agent = rollout(async (task: { n: number }) => {
      seen.push(task.n);
      return task.n / 10;
    });
    const stats = await new Runner({ store, agent, workerId: 'w-1', stopWhenEmpty: true }).run();
    expect(stats).toEqual({ workerId: 'w-1', rollouts: 3, succeeded: 3, failed: 0 });
    expect(seen).toEqual([1, 2, 3]); // FIFO
    for (const r of rollouts) {
      const stored = await store.getRolloutById(r.rollout_id);
      expect(stored?.status).toBe('succeeded');
      expect(stored?.attempt?.worker_id).toBe('w-1');
    }
    expect((await store.getWorkerById('w-1'))?.worker_id).toBe('w-1');
  });

  it('turns a throwing agent into an exception span and a failed attempt, and keeps going', async () => {
    const store = new InMemoryLightningStore();
    const [bad, good] = await store.enqueueRollouts([{ input: { fail: true } }, { input: { fail: false } }]);
    const agent = rollout(async (task: { fail: boolean }) => {
      if (task.fail) throw new TypeError('agent broke');
      return 1;
    });
    const ended: string[] = [];
    const stats = await new Runner({
      store,
      agent,
      stopWhenEmpty: true,
      warn: quiet,
      hooks: { onRolloutEnd: (r, outcome) => void ended.push(`${r.rollout_id}:${outcome.status}`) },
    }).run();
    expect(stats).toMatchObject({ rollouts: 2, succeeded: 1, failed: 1 });
    expect(ended).toEqual([`${bad.rollout_id}:failed`, `${good.rollout_id}:succeeded`]);
    expect((await store.getRolloutById(bad.rollout_id))?.status).toBe('failed');
    const spans = (await store.querySpans({ rollout_id: bad.rollout_id })).items;
    const exception = spans.find((s) => s.name === AGL_EXCEPTION)!;
    expect(exception.attributes).toMatchObject({
      [ATTR.exceptionType]: 'TypeError',
      [ATTR.exceptionMessage]: 'agent broke',
    });
  });

  it('lets the store requeue a failed attempt when the rollout config allows a retry', async () => {
    const store = new InMemoryLightningStore();
    const [r] = await store.enqueueRollouts([
      { input: {}, config: { max_attempts: 2, retry_condition: ['failed'] } },
    ]);
    let calls = 0;
    const agent = rollout(async () => {
      calls++;
      if (calls === 1) throw new Error('flaky');
      return 1;
    });
    await new Runner({ store, agent, stopWhenEmpty: true, warn: quiet }).run();
    expect(calls).toBe(2);
    const attempts = (await store.queryAttempts(r.rollout_id)).items;
    expect(attempts.map((a) => a.status)).toEqual(['failed', 'succeeded']);
    expect((await store.getRolloutById(r.rollout_id))?.status).toBe('succeeded');
  });

  it('calls onRolloutStart with a context bound to the rollout', async () => {
    const store = new InMemoryLightningStore();
    const [r] = await store.enqueueRollouts([{ input: {} }]);
    const started: string[] = [];
    await new Runner({
      store,
      agent: rollout(async () => undefined),
      stopWhenEmpty: true,
      hooks: { onRolloutStart: (ro, ctx) => void started.push(`${ro.rollout_id}=${ctx.rollout.rollout_id}`) },
    }).run();
    expect(started).toEqual([`${r.rollout_id}=${r.rollout_id}`]);
  });

  it('resolves the policy resource through the resolver, once per checkpoint, by id or latest', async () => {
    const store = new InMemoryLightningStore();
    const v1 = await store.addResources({ policy: { resource_type: 'policy', checkpoint_id: 'ckpt-a' } });
    await store.addResources({ policy: { resource_type: 'policy', checkpoint_id: 'ckpt-b' } });
    await store.enqueueRollouts([{ input: {}, resources_id: v1.resources_id }, { input: {} }, { input: {} }]);
    const resolved: string[] = [];
    const used: string[] = [];
    const resolvePolicy = (resource: { checkpoint_id: string }): ReplyPolicy => {
      resolved.push(resource.checkpoint_id);
      return { id: resource.checkpoint_id, draft: async () => [] };
    };
    const agent = rollout(async (_t, ctx) => {
      used.push(
        `${ctx.resources.resourcesId === v1.resources_id ? 'v1' : 'latest'}:${ctx.resources.policy?.id}`,
      );
    });
    await new Runner({ store, agent, resolvePolicy, stopWhenEmpty: true }).run();
    expect(used).toEqual(['v1:ckpt-a', 'latest:ckpt-b', 'latest:ckpt-b']);
    expect(resolved).toEqual(['ckpt-a', 'ckpt-b']);
  });

  it('fails the rollout (not the runner) when a policy resource has no resolver', async () => {
    const store = new InMemoryLightningStore();
    await store.addResources({ policy: { resource_type: 'policy', checkpoint_id: 'ckpt' } });
    const [r] = await store.enqueueRollouts([{ input: {} }]);
    const stats = await new Runner({
      store,
      agent: rollout(async () => 1),
      stopWhenEmpty: true,
      warn: quiet,
    }).run();
    expect(stats.failed).toBe(1);
    const spans = (await store.querySpans({ rollout_id: r.rollout_id })).items;
    expect(spans.map((s) => s.attributes[ATTR.exceptionMessage])).toEqual([
      expect.stringMatching(/no policy resolver/),
    ]);
  });

  it('shares one store between N concurrent runners without running a rollout twice', async () => {
    const store = new InMemoryLightningStore();
    const rollouts = await store.enqueueRollouts(Array.from({ length: 24 }, (_, i) => ({ input: { i } })));
    const ran: number[] = [];
    const agent = rollout(async (task: { i: number }, ctx) => {
      await ctx.emitMessage(`working on ${task.i}`);
      await new Promise((r) => setTimeout(r, 1));
      ran.push(task.i);
      return 1;
    });
    const stats = await runRunners(4, { store, agent, stopWhenEmpty: true });
    expect(stats.map((s) => s.workerId)).toEqual(['runner-1', 'runner-2', 'runner-3', 'runner-4']);
    expect(stats.reduce((n, s) => n + s.rollouts, 0)).toBe(24);
    expect(stats.filter((s) => s.rollouts > 0).length).toBeGreaterThan(1);
    expect([...ran].sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    const done = await store.waitForRollouts({ rollout_ids: rollouts.map((r) => r.rollout_id), timeout: 0 });
    expect(done.every((r) => r.status === 'succeeded')).toBe(true);
    const rewards = await store.querySpans({
      rollout_id: rollouts[0].rollout_id,
      name: 'agentlightning.reward',
    });
    expect(rewards.items.map(readReward)).toEqual([{ primary: 1 }]);
  });

  it('stops cooperatively: the rollout in progress sees the signal and the loop ends', async () => {
    const store = new InMemoryLightningStore();
    await store.enqueueRollouts(Array.from({ length: 5 }, () => ({ input: {} })));
    const controller = new AbortController();
    let sawAbort = false;
    const agent = rollout(async (_t, ctx) => {
      controller.abort();
      sawAbort = ctx.signal.aborted;
    });
    const stats = await new Runner({ store, agent, signal: controller.signal, pollIntervalMs: 1 }).run();
    expect(stats.rollouts).toBe(1);
    expect(sawAbort).toBe(true);
    expect((await store.queryRollouts({ status_in: ['queuing'] })).total).toBe(4);
  });

  it('polls an empty queue until work arrives, and stops at maxRollouts', async () => {
    const store = new InMemoryLightningStore();
    const runner = new Runner({ store, agent: rollout(async () => 1), pollIntervalMs: 2, maxRollouts: 2 });
    const running = runner.run();
    await new Promise((r) => setTimeout(r, 10));
    await store.enqueueRollouts([{ input: {} }, { input: {} }, { input: {} }]);
    expect((await running).rollouts).toBe(2);
    expect((await store.queryRollouts({ status_in: ['queuing'] })).total).toBe(1);
  });

  it('rides out a few failed dequeues and gives up when the store keeps failing', async () => {
    const store = new InMemoryLightningStore();
    await store.enqueueRollouts([{ input: {} }]);
    let failuresLeft = 2;
    // The real store behind a proxy whose dequeue fails as a dropped server connection would.
    const flaky = new Proxy(store, {
      get(target, property) {
        if (property === 'dequeueRollout') {
          return async (...args: Parameters<typeof target.dequeueRollout>) => {
            if (failuresLeft-- > 0) throw new Error('connection reset');
            return target.dequeueRollout(...args);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const warnings: string[] = [];
    const stats = await new Runner({
      store: flaky,
      agent: rollout(async () => 1),
      stopWhenEmpty: true,
      pollIntervalMs: 1,
      warn: (m) => warnings.push(m),
    }).run();
    expect(stats.succeeded).toBe(1);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/connection reset/);
    failuresLeft = 100;
    await expect(
      new Runner({
        store: flaky,
        agent: rollout(async () => 1),
        pollIntervalMs: 1,
        warn: () => undefined,
      }).run(),
    ).rejects.toThrow('connection reset');
  });

  it('refreshes the worker and attempt heartbeats while an agent is busy', async () => {
    const store = new InMemoryLightningStore();
    const [r] = await store.enqueueRollouts([{ input: {} }]);
    let attemptHeartbeat: number | null = null;
    const agent = rollout(async (_t, ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 40));
      attemptHeartbeat = (await store.getLatestAttempt(ctx.rollout.rollout_id))?.last_heartbeat_time ?? null;
    });
    await new Runner({ store, agent, workerId: 'hb', stopWhenEmpty: true, heartbeatIntervalMs: 5 }).run();
    expect(attemptHeartbeat).not.toBeNull();
    const worker = await store.getWorkerById('hb');
    expect(worker?.last_heartbeat_time).not.toBeNull();
    expect(worker?.heartbeat_stats).toMatchObject({ workerId: 'hb', rollouts: 1, succeeded: 1 });
    expect((await store.getRolloutById(r.rollout_id))?.status).toBe('succeeded');
  });
});
