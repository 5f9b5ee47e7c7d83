// /v1/chat/completions through the official `openai` client against a real server on loopback: a real
// SQLite store, a real blob folder holding the shipped starter policy (tiny, wasm) and a second, random
// micro policy; every call is recorded as a rollout the RL code reads (readRolloutGroup) once rewarded.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { BlobStore } from '../../server/blobs/blob-store';
import { DirectoryBlobStorage } from '../../server/checkpoints/directory';
import { listen, type RunningServer } from '../../server/listen';
import { CHAT_INPUT_KIND, openChatServing, replySpanOf } from '../../server/serving/chat';
import { readServed } from '../../server/serving/served';
import { openSqliteStore } from '../../server/store/sqlite';
import { REPLY_ATTR, REPLY_OBJECT_TYPE } from '../../shared/agent/feedback-agent';
import { extractReplySamples } from '../../shared/agent/samples';
import { AGL_OBJECT, AGL_REWARD, ATTR } from '../../shared/agent/semconv';
import { createGovernancePipeline } from '../../shared/governance';
import { loadCheckpoint, saveCheckpoint } from '../../shared/policy/checkpoint';
import { checkpointFromPolicy, policyFromCheckpoint } from '../../shared/policy/checkpoint-policy';
import { createPolicy } from '../../shared/policy/model';
import type { Span } from '../../shared/store/types';
import { buildTrainingBatch, hasTokens, readRolloutGroup } from '../../shared/train/rl-data';

const TOKEN = 'chat-test-token';
const FEEDBACK =
  'The contact form spins forever after I press send. Write to jane.doe@example.com or call +44 20 7946 0958.';

describe('/v1/chat/completions (openai client, real server)', () => {
  let dir: string;
  let store: ReturnType<typeof openSqliteStore>;
  let server: RunningServer;
  let client: OpenAI;
  let servedId: string;
  let microId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-chat-'));
    store = openSqliteStore(join(dir, 'store.sqlite'));
    const blobs = new BlobStore(join(dir, 'blobs'), 1 << 30);
    await blobs.init();
    const serving = await openChatServing(store, join(dir, 'blobs'), () => undefined);
    servedId = (await readServed(store))!.checkpointId;
    // A second checkpoint in the blob folder: a random micro model with the starter's tokenizer.
    const storage = new DirectoryBlobStorage(join(dir, 'blobs'));
    const { tokenizer } = policyFromCheckpoint(await loadCheckpoint(storage, servedId));
    const micro = createPolicy(
      { vocabSize: 2000, blockSize: 128, nLayer: 1, nHead: 1, nEmbd: 16, padId: tokenizer.padId },
      { seed: 3 },
    );
    microId = await saveCheckpoint(storage, await checkpointFromPolicy(micro, tokenizer));
    micro.dispose();
    server = await listen(createApp({ token: TOKEN, store, blobs, serving }));
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rolloutIdOf = (completionId: string) => completionId.replace(/^chatcmpl-/, '');
  const replySpans = async (rolloutId: string): Promise<Span[]> =>
    (await store.querySpans({ rollout_id: rolloutId, attempt_id: 'latest', limit: -1 })).items
      .filter((s) => s.name === AGL_OBJECT && s.attributes[ATTR.objectType] === REPLY_OBJECT_TYPE)
      .sort(
        (a, b) => (a.attributes[REPLY_ATTR.index] as number) - (b.attributes[REPLY_ATTR.index] as number),
      );
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/v1${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const rolloutCount = async () => (await store.queryRollouts({ limit: 1 })).total;

  it("answers model 'served' and records the call as a rollout with redacted messages and reply spans", async () => {
    const completion = await client.chat.completions.create({
      model: 'served',
      messages: [
        { role: 'system', content: 'You answer website feedback. Escalations go to ops@example.org.' },
        { role: 'user', content: FEEDBACK },
      ],
      max_tokens: 16,
      seed: 11,
      metadata: { category: 'website-bug' },
    });
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe(servedId);
    expect(completion.choices).toHaveLength(1);
    const [choice] = completion.choices;
    expect(choice.message.role).toBe('assistant');
    expect(typeof choice.message.content).toBe('string');
    expect(['stop', 'length']).toContain(choice.finish_reason);
    expect(choice.logprobs).toBeNull();
    expect(completion.usage!.completion_tokens).toBeGreaterThan(0);
    expect(completion.usage!.completion_tokens).toBeLessThanOrEqual(16);
    expect(completion.usage!.total_tokens).toBe(
      completion.usage!.prompt_tokens + completion.usage!.completion_tokens,
    );

    const rollout = (await store.getRolloutById(rolloutIdOf(completion.id)))!;
    expect(rollout.status).toBe('succeeded');
    expect(rollout.mode).toBe('train');
    expect(rollout.resources_id).toBe((await readServed(store))!.resourcesId);
    const input = rollout.input as {
      kind: string;
      model: string;
      checkpoint_id: string;
      messages: unknown[];
    };
    expect(input).toMatchObject({ kind: CHAT_INPUT_KIND, model: 'served', checkpoint_id: servedId });
    const stored = JSON.stringify(input);
    expect(stored).not.toContain('jane.doe@example.com');
    expect(stored).not.toContain('7946');
    expect(stored).not.toContain('ops@example.org');
    expect(stored).toContain('<EMAIL_1>');

    const [span] = await replySpans(rollout.rollout_id);
    const a = span.attributes;
    expect(a[REPLY_ATTR.index]).toBe(0);
    expect(a[REPLY_ATTR.text]).toBe(choice.message.content);
    expect(a[REPLY_ATTR.policyId]).toBe(servedId);
    // The policy's prompt holds the redacted feedback, the category and the sentiment.
    const prompt = a[REPLY_ATTR.prompt] as string;
    expect(prompt).toMatch(/^Category: website-bug\nSentiment: \w+\nFeedback: .*<EMAIL_1>.*\nReply:$/s);
    expect(prompt).not.toContain('jane.doe');
    const tokens = a[ATTR.responseTokenIds] as number[];
    expect(tokens).toHaveLength(completion.usage!.completion_tokens);
    expect(a[ATTR.responseLogprobs] as number[]).toHaveLength(tokens.length);
    expect((a[ATTR.promptTokenIds] as number[]).length).toBe(completion.usage!.prompt_tokens);
  });

  it('answers a checkpoint id with n: 2 and per-token logprobs in OpenAI shape that match the recorded spans', async () => {
    const completion = await client.chat.completions.create({
      model: servedId,
      messages: [{ role: 'user', content: 'Thanks, the new docs are great!' }],
      max_tokens: 12,
      n: 2,
      seed: 5,
      logprobs: true,
      top_logprobs: 3,
    });
    expect(completion.choices.map((c) => c.index)).toEqual([0, 1]);
    const rollout = (await store.getRolloutById(rolloutIdOf(completion.id)))!;
    // Named by id: the rollout points at the resources update that names this checkpoint.
    expect(rollout.resources_id).toBe((await readServed(store))!.resourcesId);
    expect((rollout.input as { model: string }).model).toBe(servedId);
    const spans = await replySpans(rollout.rollout_id);
    expect(spans).toHaveLength(2);
    for (const choice of completion.choices) {
      const content = choice.logprobs!.content!;
      expect(content.length).toBeGreaterThan(0);
      for (const entry of content) {
        expect(typeof entry.token).toBe('string');
        expect(entry.logprob).toBeLessThanOrEqual(0);
        expect(entry.bytes).toEqual([...new TextEncoder().encode(entry.token)]);
        expect(entry.top_logprobs).toHaveLength(3);
        const tops = entry.top_logprobs.map((t) => t.logprob);
        expect([...tops].sort((x, y) => y - x)).toEqual(tops);
      }
      expect(
        content
          .map((e) => e.token)
          .join('')
          .trim(),
      ).toBe(choice.message.content);
      // The recorded completion is the returned one: same log-probabilities (and eos after them on a stop).
      const a = spans[choice.index].attributes;
      const recorded = a[ATTR.responseLogprobs] as number[];
      expect(recorded.slice(0, content.length)).toEqual(content.map((e) => e.logprob));
      expect(recorded.length - content.length).toBe(choice.finish_reason === 'stop' ? 1 : 0);
      expect(a[REPLY_ATTR.group]).toBe(2);
    }
  });

  it('streams chunks token by token with the openai client; the streamed text is the recorded one', async () => {
    const stream = await client.chat.completions.create({
      model: 'served',
      messages: [{ role: 'user', content: 'The search page returns nothing for "pricing".' }],
      max_tokens: 16,
      seed: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
    let id = '';
    let text = '';
    const contentTimes: number[] = [];
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finishedAt = 0;
    for await (const chunk of stream) {
      id = chunk.id;
      expect(chunk.object).toBe('chat.completion.chunk');
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        if (choice.delta.content) {
          text += choice.delta.content;
          contentTimes.push(Date.now() / 1000);
        }
        if (choice.finish_reason) {
          finish = choice.finish_reason;
          finishedAt = Date.now() / 1000;
        }
      }
    }
    expect(id).toMatch(/^chatcmpl-/);
    expect(finish).not.toBeNull();
    expect(usage!.completion_tokens).toBeGreaterThan(1);
    const [span] = await replySpans(rolloutIdOf(id));
    expect(span.attributes[REPLY_ATTR.text]).toBe(text);
    const rollout = (await store.getRolloutById(rolloutIdOf(id)))!;
    expect(rollout.status).toBe('succeeded');
    // Tokens arrive as they are decoded: several chunks, the first before the server had finished
    // decoding (the attempt ends once every token is decoded, governed and recorded).
    expect(contentTimes.length).toBeGreaterThan(1);
    expect(contentTimes[0]).toBeLessThan(rollout.attempt!.end_time!);
    expect(finishedAt).toBeGreaterThanOrEqual(contentTimes[0]);
  });

  it('streams n: 2 with logprobs, each choice by its index', async () => {
    const stream = await client.chat.completions.create({
      model: microId,
      messages: [{ role: 'user', content: 'Could you add a dark mode?' }],
      max_tokens: 8,
      n: 2,
      seed: 9,
      logprobs: true,
      stream: true,
    });
    const texts = ['', ''];
    const logprobs: number[][] = [[], []];
    let id = '';
    for await (const chunk of stream) {
      id = chunk.id;
      for (const c of chunk.choices) {
        texts[c.index] += c.delta.content ?? '';
        for (const e of c.logprobs?.content ?? []) logprobs[c.index].push(e.logprob);
      }
    }
    const spans = await replySpans(rolloutIdOf(id));
    expect(spans.map((s) => s.attributes[REPLY_ATTR.text])).toEqual(texts);
    for (const [i, s] of spans.entries())
      expect((s.attributes[ATTR.responseLogprobs] as number[]).slice(0, logprobs[i].length)).toEqual(
        logprobs[i],
      );
  });

  it('keeps recording a stream whose client went away, and goes on serving', async () => {
    const stream = await client.chat.completions.create({
      model: 'served',
      messages: [{ role: 'user', content: 'The newsletter link in the footer is broken.' }],
      max_tokens: 32,
      seed: 4,
      stream: true,
    });
    let id = '';
    let chunks = 0;
    for await (const chunk of stream) {
      id = chunk.id;
      if (++chunks === 2) break; // ends the request: the client closes the connection
    }
    const rolloutId = rolloutIdOf(id);
    for (let i = 0; i < 100; i++) {
      const rollout = await store.getRolloutById(rolloutId);
      if (rollout?.status === 'succeeded') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await store.getRolloutById(rolloutId))!.status).toBe('succeeded');
    expect(await replySpans(rolloutId)).toHaveLength(1);
    const next = await client.chat.completions.create({
      model: 'served',
      messages: [{ role: 'user', content: 'Still there?' }],
      max_tokens: 4,
    });
    expect(next.choices).toHaveLength(1);
  });

  it('records a reply in which governance finds PII redacted and without its tokens', () => {
    const text = 'Sorry about that, write to jane.doe@example.com and we will fix it.';
    const span = replySpanOf(
      {
        rolloutId: 'ro-x',
        attemptId: 'at-x',
        traceId: 't',
        index: 1,
        text,
        verdict: createGovernancePipeline().govern(text, 'response'),
        prompt: 'Category: unknown\nSentiment: neutral\nFeedback: x\nReply:',
        checkpointId: servedId,
        group: 2,
        promptIds: [1, 2, 3],
        tokens: [4, 5, 6],
        logprobs: [-1, -2, -3],
        finish: 'length',
      },
      1,
    );
    const stored = JSON.stringify(span);
    expect(stored).not.toContain('jane.doe');
    expect(span.attributes![REPLY_ATTR.redacted]).toBe(true);
    expect(span.attributes![REPLY_ATTR.pii]).toEqual(['EMAIL']);
    expect(span.attributes![ATTR.responseTokenIds]).toBeUndefined();
    expect(span.attributes![ATTR.responseLogprobs]).toBeUndefined();
    const [sample] = extractReplySamples([{ ...span, sequence_id: 1 } as unknown as Span]);
    expect(sample).toMatchObject({ index: 1, redacted: true, tokenIds: null, logprobs: null });
    expect(hasTokens({ ...sample, violations: [], failedChecks: [] })).toBe(false);
  });

  it('gives the same completion for the same seed, and cuts at a stop string', async () => {
    const ask = (extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
      client.chat.completions.create({
        model: 'served',
        messages: [{ role: 'user', content: 'Your pricing page has a broken link.' }],
        max_tokens: 16,
        temperature: 0,
        ...extra,
      });
    const first = await ask();
    const again = await ask();
    expect(again.choices[0].message.content).toBe(first.choices[0].message.content);
    const words = first.choices[0].message.content!.split(' ');
    expect(words.length).toBeGreaterThan(2);
    const stop = ` ${words[2]}`;
    const cut = await ask({ stop: [stop] });
    expect(cut.choices[0].finish_reason).toBe('stop');
    expect(cut.choices[0].message.content).toBe(first.choices[0].message.content!.split(stop)[0]);
    const [span] = await replySpans(rolloutIdOf(cut.id));
    expect(span.attributes[REPLY_ATTR.text]).toBe(cut.choices[0].message.content);
    expect((span.attributes[ATTR.responseTokenIds] as number[]).length).toBeLessThan(
      first.usage!.completion_tokens,
    );
  });

  it('serves 4 concurrent clients (one queue per policy, waiting requests batched) and lists the models', async () => {
    const results = await Promise.all(
      [1, 2, 3, 4].map((seed) =>
        client.chat.completions.create({
          model: seed % 2 ? 'served' : microId,
          messages: [{ role: 'user', content: `Feedback number ${seed}: the menu overlaps the logo.` }],
          max_tokens: 8,
          seed,
        }),
      ),
    );
    expect(new Set(results.map((r) => r.id)).size).toBe(4);
    // Requests that waited for one policy were sampled in one batch; each recorded its own reply.
    for (const result of results) {
      const [span] = await replySpans(rolloutIdOf(result.id));
      expect(span.attributes[REPLY_ATTR.text]).toBe(result.choices[0].message.content);
      expect((span.attributes[ATTR.responseTokenIds] as number[]).length).toBe(
        result.usage!.completion_tokens,
      );
    }
    const models = (await client.models.list()).data.map((m) => m.id);
    expect(models).toContain('served');
    expect(models).toContain(servedId);
    expect((await client.models.retrieve(microId)).id).toBe(microId);
  });

  it('answers an unknown model with 404 in OpenAI error shape, storing nothing', async () => {
    const before = await rolloutCount();
    await expect(
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
    const response = await post('/chat/completions', {
      model: 'f'.repeat(64),
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(body.error.type).toBe('invalid_request_error');
    expect(
      (await fetch(`${server.url}/v1/models/gpt-4o`, { headers: { authorization: `Bearer ${TOKEN}` } }))
        .status,
    ).toBe(404);
    expect(await rolloutCount()).toBe(before);
  });

  it.each([
    ['no messages', { model: 'served' }, 'messages'],
    ['empty messages', { model: 'served', messages: [] }, 'messages'],
    ['no user message', { model: 'served', messages: [{ role: 'system', content: 'be nice' }] }, 'messages'],
    ['an unknown role', { model: 'served', messages: [{ role: 'robot', content: 'x' }] }, 'messages.0.role'],
    ['n: 9', { model: 'served', n: 9, messages: [{ role: 'user', content: 'x' }] }, 'n'],
    [
      'a negative temperature',
      { model: 'served', temperature: -1, messages: [{ role: 'user', content: 'x' }] },
      'temperature',
    ],
    [
      'max_tokens: 0',
      { model: 'served', max_tokens: 0, messages: [{ role: 'user', content: 'x' }] },
      'max_tokens',
    ],
    [
      'top_logprobs without logprobs',
      { model: 'served', top_logprobs: 2, messages: [{ role: 'user', content: 'x' }] },
      'top_logprobs',
    ],
    [
      'tools',
      { model: 'served', tools: [{ type: 'function' }], messages: [{ role: 'user', content: 'x' }] },
      'tools',
    ],
    [
      'an image part',
      {
        model: 'served',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
      },
      'messages.0.content',
    ],
    [
      'a category that does not exist',
      { model: 'served', metadata: { category: 'rant' }, messages: [{ role: 'user', content: 'x' }] },
      'metadata.category',
    ],
    ['an empty feedback', { model: 'served', messages: [{ role: 'user', content: '   ' }] }, 'messages'],
    [
      'more text than one request may hold',
      {
        model: 'served',
        messages: Array.from({ length: 3 }, () => ({ role: 'user', content: 'x'.repeat(19_000) })),
      },
      'messages',
    ],
    ['a model that is not a string', { model: 7, messages: [{ role: 'user', content: 'x' }] }, 'model'],
  ])('answers %s with 400 naming the field, storing nothing', async (_name, body, param) => {
    const before = await rolloutCount();
    const response = await post('/chat/completions', body);
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: Record<string, unknown> };
    expect(error.type).toBe('invalid_request_error');
    expect(error.param).toBe(param);
    expect(typeof error.message).toBe('string');
    expect(await rolloutCount()).toBe(before);
  });

  it('answers JSON it cannot parse with 400, and another content type with 415', async () => {
    const bad = await post('/chat/completions', '{"model": "served", ');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    const text = await post('/chat/completions', 'hello', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
  });

  it('needs the server token (401), from the openai client too', async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'served', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(response.status).toBe(401);
    const wrong = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'not-the-token', maxRetries: 0 });
    await expect(
      wrong.chat.completions.create({ model: 'served', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 401 });
    await expect(wrong.models.list()).rejects.toMatchObject({ status: 401 });
  });

  it('takes rewards per choice afterwards (200, 409, 404, 400); readRolloutGroup trains on them', async () => {
    const completion = await client.chat.completions.create({
      model: 'served',
      messages: [{ role: 'user', content: 'The login page times out on mobile.' }],
      max_tokens: 16,
      n: 2,
      seed: 21,
    });
    const reward = (body: unknown, id = completion.id) => post(`/chat/completions/${id}/reward`, body);

    const first = await reward({ reward: 0.25 });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ id: completion.id, choice: 0, reward: { primary: 0.25 } });
    const second = await reward({ reward: { primary: 0.75, tone: 1 }, choice: 1 });
    expect(second.status).toBe(200);
    expect(await second.json()).toMatchObject({ choice: 1, reward: { primary: 0.75, tone: 1 } });

    const again = await reward({ reward: 1 });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { param: string } }).error.param).toBe('choice');
    // Two at once on a fresh choice: exactly one wins.
    const other = await client.chat.completions.create({
      model: 'served',
      messages: [{ role: 'user', content: 'Nice blog post.' }],
      max_tokens: 4,
    });
    const race = await Promise.all([reward({ reward: 1 }, other.id), reward({ reward: 0 }, other.id)]);
    expect(race.map((r) => r.status).sort()).toEqual([200, 409]);

    expect((await reward({ reward: 1 }, 'chatcmpl-ro-doesnotexist')).status).toBe(404);
    expect((await reward({ reward: 1 }, 'nothing-like-an-id')).status).toBe(404);
    expect((await reward({ reward: 1, choice: 2 })).status).toBe(404);
    for (const bad of [
      {},
      { reward: 'high' },
      { reward: { tone: 1 } },
      { reward: 1, choice: -1 },
      { reward: 1, choice: 0.5 },
      { reward: 1, extra: true },
      { reward: { primary: 1, tone: 'x' } },
    ])
      expect((await reward(bad)).status, JSON.stringify(bad)).toBe(400);

    const rewardSpans = (
      await store.querySpans({ rollout_id: rolloutIdOf(completion.id), attempt_id: 'latest', limit: -1 })
    ).items.filter((s) => s.name === AGL_REWARD);
    expect(rewardSpans).toHaveLength(2);

    const rollout = (await store.getRolloutById(rolloutIdOf(completion.id)))!;
    const group = await readRolloutGroup(store, rollout);
    expect(group.samples.map((s) => s.reward)).toEqual([{ primary: 0.25 }, { primary: 0.75, tone: 1 }]);
    expect(group.samples.every(hasTokens)).toBe(true);
    expect(group.samples.map((s) => s.text)).toEqual(completion.choices.map((c) => c.message.content));
    const batch = buildTrainingBatch([group]);
    expect(batch.samples).toHaveLength(2);
    expect(batch.samples[0].reward).toBeLessThan(batch.samples[1].reward);
  });

  it('takes a reward through the generic store route too (POST /v1/agl/spans, as docs/serving.md shows)', async () => {
    const completion = await client.chat.completions.create({
      model: 'served',
      messages: [{ role: 'user', content: 'The FAQ answered my question.' }],
      max_tokens: 8,
    });
    const rolloutId = rolloutIdOf(completion.id);
    const rollout = (await (
      await fetch(`${server.url}/v1/agl/rollouts/${rolloutId}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).json()) as { attempt: { attempt_id: string } };
    const response = await post('/agl/spans', {
      rollout_id: rolloutId,
      attempt_id: rollout.attempt.attempt_id,
      trace_id: 'caller-trace',
      span_id: 'caller-reward-0',
      name: 'agentlightning.reward',
      attributes: {
        'edgelight.reply.index': 0,
        'agentlightning.reward.0.name': 'primary',
        'agentlightning.reward.0.value': 0.8,
      },
    });
    expect(response.status).toBe(201);
    const group = await readRolloutGroup(store, (await store.getRolloutById(rolloutId))!);
    expect(group.samples.map((s) => s.reward)).toEqual([{ primary: 0.8 }]);
    // The chat route sees it: a second reward for that choice is refused.
    expect((await post(`/chat/completions/${completion.id}/reward`, { reward: 1 })).status).toBe(409);
  });
});

describe('edgelight serve', () => {
  it('serves the starter policy as `served` on a fresh data folder, names it in its log, answers the client', async () => {
    const data = mkdtempSync(join(tmpdir(), 'edgelight-chat-serve-'));
    const child = spawn(
      process.execPath,
      ['bin/edgelight.mjs', 'serve', '--port', '0', '--data', data, '--token', TOKEN, '--access-log', 'off'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve did not start:\n${stdout}${stderr}`)), 60_000);
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const match = /listening on (http:\/\/\S+)/.exec(stdout);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${stdout}${stderr}`)));
      });
      expect(stderr).toMatch(/model 'served' is checkpoint [0-9a-f]{64} \(starter\)/);
      const served = /checkpoint ([0-9a-f]{64})/.exec(stderr)![1];
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: TOKEN, maxRetries: 0 });
      const completion = await client.chat.completions.create({
        model: 'served',
        messages: [{ role: 'user', content: 'The docs search is great.' }],
        max_tokens: 8,
      });
      expect(completion.model).toBe(served);
      expect(completion.id).toMatch(/^chatcmpl-/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(data, { recursive: true, force: true });
    }
  }, 90_000);
});
