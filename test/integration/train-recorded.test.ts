// `edgelight train --algo grpo --recorded`: GRPO on chat completions recorded in a server's store. The
// rollouts are written through the real store API into a real SQLite file in exactly the shape the
// chat-completions endpoint records (server/serving/chat.ts): prompt ids from the starter's tokenizer,
// completions and log-probs sampled from the starter (sampling.ts generate), rewards attached
// afterwards (shorter replies are better). Then the CLI trains on them from the data folder.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { TrainJobConfig } from '../../server/jobs/config';
import { TrainJobManager } from '../../server/jobs/manager';
import { workerThreadRunner } from '../../server/jobs/worker-runner';
import { BlobStore } from '../../server/blobs/blob-store';
import { listen } from '../../server/listen';
import { openChatServing } from '../../server/serving/chat';
import { buildTrainingBatch } from '../../shared/train/rl-data';
import { REPLY_ATTR, REPLY_OBJECT_TYPE } from '../../shared/agent/feedback-agent';
import { AGL_OBJECT, AGL_REWARD, ATTR, linkAttributes, rewardAttributes } from '../../shared/agent/semconv';
import { loadCheckpoint } from '../../shared/policy/checkpoint';
import { policyFromCheckpoint } from '../../shared/policy/checkpoint-policy';
import type { Policy } from '../../shared/policy/model';
import { generate } from '../../shared/policy/sampling';
import { decodeReply, encodePrompt, promptBudget } from '../../shared/policy/sequence';
import type { PolicyTokenizer } from '../../shared/policy/tokenizer';
import { newSpanId as randomSpanId, newTraceId } from '../../shared/store/ids';
import { selectBackend } from '../../shared/train/backend';
import { completionLogprobs } from '../../shared/train/policy-gradient';
import { CHAT_COMPLETION_INPUT_KIND, readRecordedGroups } from '../../shared/train/recorded';
import { DirectoryBlobStorage } from '../../server/checkpoints/directory';
import { readCheckpointDirectory, resolveCheckpointDirectory } from '../../server/checkpoints/directory';
import { dataLayout } from '../../server/commands/data-dir';
import { ensureServed, STARTER_DIR } from '../../server/serving/served';
import { openSqliteStore } from '../../server/store/sqlite';
import { runCli } from '../helpers/cli';

const MAX_NEW_TOKENS = 48;

type Recorded = { promptIds: number[]; tokens: number[]; logprobs: number[]; reward: number | null };

describe('train --algo grpo --recorded: GRPO on recorded chat completions', () => {
  let dir: string;
  let store: ReturnType<typeof openSqliteStore>;
  let starter: { policy: Policy; tokenizer: PolicyTokenizer };
  let starterId: string;
  const replies: Recorded[] = [];

  /** One recorded chat completion: n choices sampled from the starter, rewards for `rewarded` of them. */
  async function recordCompletion(prompt: string, n: number, seed: number, rewarded: number[]) {
    const promptIds = encodePrompt(
      starter.tokenizer,
      prompt,
      promptBudget(starter.policy.config.blockSize, MAX_NEW_TOKENS),
    );
    const rows = await generate(starter.policy, [promptIds], {
      maxNewTokens: MAX_NEW_TOKENS,
      samplesPerPrompt: n,
      temperature: 1,
      stopTokens: [starter.tokenizer.eosId],
      promptSeeds: [seed],
    });
    const started = await store.startRollout({
      input: {
        kind: CHAT_COMPLETION_INPUT_KIND,
        messages: [{ role: 'user', content: prompt }],
        model: 'served',
        checkpoint_id: starterId,
      },
      mode: 'train',
      metadata: { source: 'chat-completions' },
    });
    const { rollout_id: rolloutId } = started;
    const attemptId = started.attempt.attempt_id;
    const traceId = newTraceId();
    const spans = rows.map((row) => {
      const text = decodeReply(starter.tokenizer, row.tokens);
      const spanId = randomSpanId();
      return {
        spanId,
        row,
        input: {
          rollout_id: rolloutId,
          attempt_id: attemptId,
          trace_id: traceId,
          span_id: spanId,
          parent_id: null,
          name: AGL_OBJECT,
          attributes: {
            [ATTR.objectType]: REPLY_OBJECT_TYPE,
            [ATTR.objectJson]: JSON.stringify({ index: row.sample, text }),
            [REPLY_ATTR.index]: row.sample,
            [REPLY_ATTR.text]: text,
            [REPLY_ATTR.redacted]: false,
            [REPLY_ATTR.prompt]: prompt,
            [REPLY_ATTR.policyId]: starterId,
            [REPLY_ATTR.group]: n,
            [ATTR.promptTokenIds]: promptIds,
            [ATTR.responseTokenIds]: row.tokens,
            [ATTR.responseLogprobs]: row.logprobs,
          },
          start_time: Date.now() / 1000,
          end_time: Date.now() / 1000,
          status: { status_code: 'OK' as const },
        },
      };
    });
    await store.addSpans(spans.map((s) => s.input));
    await store.updateAttempt(rolloutId, attemptId, { status: 'succeeded' });
    // Rewards come later, from the caller: shorter replies are better.
    for (const { row, spanId } of spans) {
      const reward = rewarded.includes(row.sample) ? 1 - row.tokens.length / MAX_NEW_TOKENS : null;
      replies.push({ promptIds, tokens: row.tokens, logprobs: row.logprobs, reward });
      if (reward === null) continue;
      await store.addSpan({
        rollout_id: rolloutId,
        attempt_id: attemptId,
        trace_id: traceId,
        span_id: randomSpanId(),
        parent_id: null,
        name: AGL_REWARD,
        attributes: {
          [REPLY_ATTR.index]: row.sample,
          ...linkAttributes({ span_id: spanId }),
          ...rewardAttributes(reward),
        },
        start_time: Date.now() / 1000,
        end_time: Date.now() / 1000,
        status: { status_code: 'OK' },
      });
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-recorded-'));
    const layout = dataLayout(dir);
    store = openSqliteStore(layout.store);
    const blobs = new DirectoryBlobStorage(layout.blobs);
    starterId = (await ensureServed(store, blobs)).checkpointId;
    await selectBackend({ prefer: 'wasm' });
    starter = policyFromCheckpoint(await loadCheckpoint(blobs, starterId));
    // Group A: one call with n = 4, every choice rewarded.
    await recordCompletion('The search page is broken on mobile.', 4, 11, [0, 1, 2, 3]);
    // Group B: the same prompt asked four times with n = 1: a group across rollouts.
    for (let i = 0; i < 4; i++) await recordCompletion('Please add a dark mode to the docs.', 1, 20 + i, [0]);
    // Skipped: two choices, one rewarded; and a single rewarded reply.
    await recordCompletion('Your pricing page has a typo.', 2, 31, [0]);
    await recordCompletion('Love the new tutorials!', 1, 41, [0]);
    // Not training data: a failed call, and a rollout of another kind.
    const failed = await store.startRollout({
      input: { kind: CHAT_COMPLETION_INPUT_KIND, messages: [] },
      mode: 'train',
    });
    await store.updateAttempt(failed.rollout_id, failed.attempt.attempt_id, { status: 'failed' });
    await store.startRollout({ input: { kind: 'edgelight.feedback-item', text: 'x' }, mode: 'train' });
  }, 120_000);
  afterAll(async () => {
    starter?.policy.dispose();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the recorded log-probs are the serving policy’s own: π_old of the importance ratio', async () => {
    const sample = replies.filter((r) => r.tokens.length > 0).slice(0, 4);
    const recomputed = await completionLogprobs(
      starter.policy,
      sample.map((r) => ({ promptIds: r.promptIds, completionIds: r.tokens })),
    );
    sample.forEach((r, i) => {
      r.logprobs.forEach((lp, t) => {
        expect(recomputed[i][t]).toBeCloseTo(lp, 3);
      });
    });
  });

  it('refuses without init, and without a store', async () => {
    const noInit = await runCli(
      'train',
      '--algo',
      'grpo',
      '--recorded',
      '--steps',
      '1',
      '--server-data',
      dir,
      '--out',
      join(dir, 'x'),
    );
    expect(noInit.code).toBe(2);
    expect(noInit.stderr).toContain('recorded rollouts need init');
    const sft = await runCli('train', '--algo', 'sft', '--recorded', '--steps', '1');
    expect(sft.code).toBe(2);
    expect(sft.stderr).toContain('recorded rollouts are for grpo / rloo');
    const noStore = await runCli(
      'train',
      '--algo',
      'grpo',
      '--recorded',
      '--init',
      STARTER_DIR,
      '--steps',
      '1',
      '--out',
      join(dir, 'y'),
    );
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toContain('recorded rollouts are read from a store');
  });

  it('trains on the rewarded groups: finite loss, weights changed, the shorter replies more likely', async () => {
    const out = join(dir, 'run');
    const result = await runCli(
      'train',
      '--algo',
      'grpo',
      '--recorded',
      '--server-data',
      dir,
      '--init',
      'served',
      '--steps',
      '4',
      '--batch',
      '2',
      '--lr',
      '5e-4',
      // No pull back to the starter, so the test sees the policy gradient alone.
      '--beta',
      '0',
      '--kl-reward',
      '0',
      '--mu',
      '2',
      '--backend',
      'wasm',
      '--out',
      out,
    );
    expect(result.stderr).toContain(
      'recorded: 7 recorded rollouts, 11 replies (10 rewarded) → 2 groups; 2 skipped',
    );
    expect(result.code).toBe(0);

    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(metrics).toHaveLength(4);
    for (const m of metrics) {
      expect(Number.isFinite(m.loss)).toBe(true);
      expect(m.tokens).toBeGreaterThan(0);
      expect(m.dropped).toBe(0); // every rewarded reply of the two groups has its tokens
    }
    // The run's own rollout records where its data came from.
    const runs = (await store.queryRollouts({ limit: -1 })).items.filter(
      (r) => (r.input as { kind?: string }).kind === 'edgelight.training-run',
    );
    expect(runs.at(-1)?.input).toMatchObject({ source: 'recorded', groups: 2, skippedGroups: 2 });

    const trained = policyFromCheckpoint(
      (await readCheckpointDirectory(await resolveCheckpointDirectory(out))).checkpoint,
    );
    try {
      let changed = 0;
      for (const [name, w] of Object.entries(starter.policy.weights)) {
        const before = await w.data();
        const after = await trained.policy.weights[name].data();
        if (after.some((v, i) => v !== before[i])) changed += 1;
      }
      expect(changed).toBeGreaterThan(0);

      // The replies GRPO favours (above their group's mean reward) became more likely per token.
      const grouped = new Map<string, Recorded[]>();
      for (const r of replies.filter((r) => r.reward !== null && r.tokens.length > 0)) {
        const key = r.promptIds.join(',');
        grouped.set(key, [...(grouped.get(key) ?? []), r]);
      }
      const side = (above: boolean) =>
        [...grouped.values()]
          .filter((g) => g.length >= 2)
          .flatMap((g) => {
            const mean = g.reduce((a, r) => a + (r.reward ?? 0), 0) / g.length;
            return g.filter((r) => (above ? (r.reward ?? 0) > mean + 1e-9 : (r.reward ?? 0) < mean - 1e-9));
          });
      const chosen = side(true);
      const rejected = side(false);
      expect(chosen.length).toBeGreaterThan(0);
      expect(rejected.length).toBeGreaterThan(0);
      /** Mean log-prob of a reply (summed over its tokens) under a policy. */
      const logprob = async (policy: Policy, rs: Recorded[]) => {
        const lps = await completionLogprobs(
          policy,
          rs.map((r) => ({ promptIds: r.promptIds, completionIds: r.tokens })),
        );
        return lps.reduce((a, l) => a + l.reduce((x, y) => x + y, 0), 0) / lps.length;
      };
      const chosenRise = (await logprob(trained.policy, chosen)) - (await logprob(starter.policy, chosen));
      const rejectedRise =
        (await logprob(trained.policy, rejected)) - (await logprob(starter.policy, rejected));
      console.log(
        `replies above their group's mean: ${chosen.length}, log-prob ${chosenRise >= 0 ? '+' : ''}${chosenRise.toFixed(3)}; below: ${rejected.length}, ${rejectedRise >= 0 ? '+' : ''}${rejectedRise.toFixed(3)}`,
      );
      expect(chosenRise).toBeGreaterThan(0);
      expect(chosenRise).toBeGreaterThan(rejectedRise);
    } finally {
      trained.policy.dispose();
    }
  }, 300_000);

  it('a server training job trains on them too (POST /v1/train/jobs {recorded: true, init: "served"})', async () => {
    const layout = dataLayout(dir);
    const jobs = new TrainJobManager({
      store,
      runner: workerThreadRunner(new URL('../../server/jobs/train-worker.ts', import.meta.url), {
        data: async () => ({
          runsDir: layout.runs,
          blobsDir: layout.blobs,
          latestCheckpointId: null,
          servedCheckpointId: starterId,
          storePath: layout.store,
        }),
      }),
    });
    const app = createApp({ store, jobs: { manager: jobs, configSchema: TrainJobConfig } });
    try {
      const created = await app.request('/v1/train/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          algo: 'grpo',
          recorded: true,
          init: 'served',
          steps: 2,
          batch: 2,
          lr: 5e-4,
          mu: 1,
          backend: 'wasm',
        }),
      });
      expect(created.status).toBe(201);
      const { job_id } = (await created.json()) as { job_id: string };
      let job = jobs.get(job_id);
      for (let i = 0; i < 1200 && job?.status === 'running'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        job = jobs.get(job_id);
      }
      expect(job).toMatchObject({ status: 'succeeded' });
      const lines = readFileSync(join(layout.runs, job_id, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n');
      expect(lines).toHaveLength(2);
      expect(lines.map((l) => JSON.parse(l).tokens).every((t: number) => t > 0)).toBe(true);
    } finally {
      await jobs.stopAll();
    }
  }, 300_000);
});

describe('recorded through the real /v1/chat/completions endpoint', () => {
  it('reads the calls as groups: n choices of one call, and n = 1 calls of the same prompt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelight-recorded-chat-'));
    const store = openSqliteStore(join(dir, 'store.sqlite'));
    const blobs = new BlobStore(join(dir, 'blobs'), 1 << 30);
    await blobs.init();
    const serving = await openChatServing(store, join(dir, 'blobs'), () => undefined);
    const server = await listen(createApp({ token: 'recorded-token', store, blobs, serving }));
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'recorded-token', maxRetries: 0 });
      const ask = (content: string, n: number, seed: number) =>
        client.chat.completions.create({
          model: 'served',
          messages: [{ role: 'user', content }],
          n,
          seed,
          max_tokens: 24,
        });
      const reward = async (id: string, choice: number, value: number) => {
        const response = await fetch(`${server.url}/v1/chat/completions/${id}/reward`, {
          method: 'POST',
          headers: { authorization: 'Bearer recorded-token', 'content-type': 'application/json' },
          body: JSON.stringify({ reward: value, choice }),
        });
        expect(response.status).toBeLessThan(300);
      };
      const three = await ask('The search box does nothing on the docs site.', 3, 1);
      for (const choice of three.choices) await reward(three.id, choice.index, choice.index / 3);
      for (const seed of [2, 3]) {
        const one = await ask('Please add a dark mode.', 1, seed);
        await reward(one.id, 0, seed / 4);
      }
      const alone = await ask('Thanks for the tutorials!', 1, 4); // one rewarded reply: skipped
      await reward(alone.id, 0, 1);
      await ask('No reward for this one.', 2, 5); // no rewards at all: skipped

      const recorded = await readRecordedGroups(store, { vocabSize: 2000 });
      expect(recorded).toMatchObject({ rollouts: 5, replies: 8, rewarded: 6, skippedGroups: 2 });
      expect(recorded.groups.map((g) => g.samples.length).sort()).toEqual([2, 3]);
      const batch = buildTrainingBatch(recorded.groups, 'grpo');
      expect(batch.samples).toHaveLength(5);
      expect(batch.samples.every((s) => s.oldLogprobs.length === s.completionIds.length)).toBe(true);
    } finally {
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
