// The algorithm ↔ store ↔ runner loop on a micro model: mechanics only (publishing, versioning,
// rollouts, triplets, metrics spans, no tensor leak), never learning.
import type { QualityCheck } from '../../shared/agent/quality/checks';
import * as tf from '../../shared/policy/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPLY_OBJECT_TYPE } from '../../shared/agent/feedback-agent';
import { AGL_OBJECT, ATTR } from '../../shared/agent/semconv';
import type { FeedbackTask } from '../../shared/agent/task';
import { generateFeedback } from '../../shared/data/generator';
import { createGovernancePipeline } from '../../shared/governance';
import { loadCheckpoint, MemoryBlobStorage } from '../../shared/policy/checkpoint';
import { checkpointFromPolicy, policyFromCheckpoint } from '../../shared/policy/checkpoint-policy';
import { createPolicy, type Policy } from '../../shared/policy/model';
import { TransformerReplyPolicy } from '../../shared/policy/reply-policy';
import { PolicyTokenizer } from '../../shared/policy/tokenizer';
import { trainByteLevelBpe } from '../../shared/policy/tokenizer-train';
import { InMemoryLightningStore } from '../../shared/store/memory';
import { selectBackend } from '../../shared/train/backend';
import type { StepMetrics } from '../../shared/train/loop';
import { evaluatePolicy } from '../../shared/train/loop-eval';
import { runRlLoop, TRAIN_METRICS_OBJECT_TYPE } from '../../shared/train/loop-rl';
import { AdamW } from '../../shared/train/optimizer';
import { buildTrainingBatch, type RolloutGroup, summariseReplies } from '../../shared/train/rl-data';
import { ScheduleConfigSchema } from '../../shared/train/schedule';

const governance = createGovernancePipeline();
const tasks: FeedbackTask[] = generateFeedback({ count: 60 })
  .filter((i) => i.metadata.split === 'train')
  .slice(0, 12);
const tokenizer = PolicyTokenizer.fromJson(
  trainByteLevelBpe(
    tasks.map((t) => t.text),
    { vocabSize: 320 },
  ),
);
const microPolicy = (seed: number): Policy =>
  createPolicy(
    { vocabSize: tokenizer.vocabSize, blockSize: 96, nLayer: 1, nHead: 2, nEmbd: 16, padId: tokenizer.padId },
    { seed },
  );

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
});

describe('RL loop through the store', () => {
  it('publishes a checkpoint per step as a new resources version, trains on span triplets, records metrics, leaks nothing', async () => {
    const store = new InMemoryLightningStore();
    const checkpoints = new MemoryBlobStorage();
    const policy = microPolicy(3);
    // Decoupled weight decay moves the weights every step even when a micro model's group rewards tie
    // (zero advantages), so every step publishes a new checkpoint id.
    const optimizer = new AdamW(policy.weights, { weightDecay: 0.1 });
    const published: Array<{ step: number; checkpointId: string; resourcesId: string }> = [];
    const metrics: StepMetrics[] = [];
    const tensorsAfterStep: number[] = [];
    const result = await runRlLoop({
      store,
      checkpoints,
      policy,
      tokenizer,
      optimizer,
      algo: 'grpo',
      tasks,
      tasksPerStep: 3,
      group: 3,
      governance,
      sampling: { maxNewTokens: 12 },
      schedule: ScheduleConfigSchema.parse({ lr: 1e-2, totalSteps: 10 }),
      seed: 5,
      startStep: 0,
      stop: { untilStep: 3 },
      onPublish: (p) => published.push(p),
      onMetrics: (m) => {
        metrics.push(m);
        tensorsAfterStep.push(tf.memory().numTensors);
      },
    });
    expect(result.step).toBe(3);

    // Versioning: one resources bundle per step, each naming a different checkpoint (weights moved).
    expect(published.map((p) => p.step)).toEqual([0, 1, 2]);
    expect(new Set(published.map((p) => p.checkpointId)).size).toBe(3);
    expect(new Set(published.map((p) => p.resourcesId)).size).toBe(3);
    expect((await store.getLatestResources())?.resources_id).toBe(published[2].resourcesId);
    const bundle = await store.getResourcesById(published[1].resourcesId);
    expect(bundle?.resources.policy).toMatchObject({
      resource_type: 'policy',
      checkpoint_id: published[1].checkpointId,
    });
    // Only the newest published version is kept in checkpoint storage, and it loads.
    await expect(loadCheckpoint(checkpoints, published[0].checkpointId)).rejects.toThrow(/no checkpoint/);
    const latest = policyFromCheckpoint(await loadCheckpoint(checkpoints, published[2].checkpointId));
    expect(latest.policy.config.nEmbd).toBe(16);
    latest.policy.dispose();

    // Rollouts: 3 per step, run under the step's resources, all succeeded, G reply spans with tokens each.
    const { items: rollouts } = await store.queryRollouts({ limit: -1 });
    const taskRollouts = rollouts.filter((r) => r.rollout_id !== result.runRolloutId);
    expect(taskRollouts).toHaveLength(9);
    expect(taskRollouts.every((r) => r.status === 'succeeded')).toBe(true);
    for (const [step, p] of published.entries()) {
      const ofStep = taskRollouts.filter((r) => (r.metadata as { step: number }).step === step);
      expect(ofStep.every((r) => r.resources_id === p.resourcesId)).toBe(true);
    }
    const { items: spans } = await store.querySpans({ rollout_id: taskRollouts[0].rollout_id, limit: -1 });
    const replies = spans.filter(
      (s) => s.name === AGL_OBJECT && s.attributes[ATTR.objectType] === REPLY_OBJECT_TYPE,
    );
    expect(replies).toHaveLength(3);
    for (const r of replies) {
      const ids = r.attributes[ATTR.responseTokenIds] as number[];
      expect(ids.length).toBeGreaterThan(0);
      expect((r.attributes[ATTR.responseLogprobs] as number[]).length).toBe(ids.length);
    }

    // Metrics: streamed per step and stored as spans of the run's own rollout.
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3]);
    for (const m of metrics) {
      expect(m.algo).toBe('grpo');
      expect(m.rewardMean).toBeGreaterThanOrEqual(0);
      expect(Object.keys(m.terms ?? {})).toEqual(
        expect.arrayContaining(['length', 'tone', 'integrity', 'overselling', 'acknowledgement']),
      );
      expect(m.sampledTokens).toBeGreaterThan(0);
      expect(Number.isFinite(m.loss)).toBe(true);
    }
    const run = await store.getRolloutById(result.runRolloutId);
    expect(run?.status).toBe('succeeded');
    const { items: metricSpans } = await store.querySpans({ rollout_id: result.runRolloutId, limit: -1 });
    const stored = metricSpans.filter((s) => s.attributes[ATTR.objectType] === TRAIN_METRICS_OBJECT_TYPE);
    expect(stored.map((s) => JSON.parse(String(s.attributes[ATTR.objectJson])).step)).toEqual([1, 2, 3]);

    // No tensor leak across steps.
    expect(tensorsAfterStep[2]).toBe(tensorsAfterStep[1]);
    optimizer.dispose();
    policy.dispose();
  });

  it('evaluates a checkpoint through the same runners and reports the eval fields', async () => {
    const policy = microPolicy(4);
    const checkpoints = new MemoryBlobStorage();
    const { saveCheckpoint } = await import('../../shared/policy/checkpoint');
    const checkpointId = await saveCheckpoint(checkpoints, await checkpointFromPolicy(policy, tokenizer));
    const report = await evaluatePolicy({
      store: new InMemoryLightningStore(),
      checkpoints,
      checkpointId,
      policy,
      tokenizer,
      tasks: tasks.slice(0, 4),
      samples: 2,
      seed: 1,
      governance,
      sampling: { maxNewTokens: 8 },
    });
    expect(Object.keys(report).sort()).toEqual(
      [
        'n',
        'reward_mean',
        'reward_std',
        'samples',
        'terms',
        'violation_rate',
        'sendable_rate',
        'failed_checks',
        'words_mean',
      ].sort(),
    );
    expect(report.n).toBe(4);
    expect(Object.keys(report.violation_rate).sort()).toEqual([
      'any',
      'inst_016',
      'inst_017',
      'inst_018',
      'pii',
    ]);
    expect(report.samples).toHaveLength(5);
    expect(report.samples[0].id).toBe(tasks[0].id);
    policy.dispose();
  });

  it('gathers concurrent draft() calls and returns G samples per prompt with ids and log-probabilities', async () => {
    const policy = microPolicy(6);
    const reply = new TransformerReplyPolicy({
      id: 'micro',
      policy,
      tokenizer,
      maxNewTokens: 6,
      coalesceMs: 5,
      maxPrompts: 3,
    });
    const [a, b] = await Promise.all([
      reply.draft(['Feedback: the page is broken\nReply:'], 2, { seed: 1 }),
      reply.draft(['Feedback: thanks!\nReply:', 'Feedback: dark mode?\nReply:'], 2, { seed: 2 }),
    ]);
    expect(a.map((p) => p.length)).toEqual([2]);
    expect(b.map((p) => p.length)).toEqual([2, 2]);
    for (const d of [...a.flat(), ...b.flat()]) {
      expect(d.tokenIds!.length).toBeGreaterThan(0);
      expect(d.logprobs!.length).toBe(d.tokenIds!.length);
      expect(d.promptTokenIds![0]).toBe(tokenizer.bosId);
    }
    // The same calls, gathered again, sample the same replies (the batch order does not depend on arrival).
    const [b2, a2] = await Promise.all([
      reply.draft(['Feedback: thanks!\nReply:', 'Feedback: dark mode?\nReply:'], 2, { seed: 2 }),
      reply.draft(['Feedback: the page is broken\nReply:'], 2, { seed: 1 }),
    ]);
    expect(a2).toEqual(a);
    expect(b2).toEqual(b);
    policy.dispose();
  });
});

describe('triplets from spans', () => {
  const sample = (
    rolloutId: string,
    index: number,
    reward: number | null,
    tokens = true,
    violations: string[] = [],
  ) => ({
    rolloutId,
    attemptId: 'at-1',
    index,
    prompt: 'p',
    text: 'one two three',
    redacted: !tokens,
    policyId: 'x',
    promptTokenIds: [1, 5],
    tokenIds: tokens ? [7, 8, 2] : null,
    logprobs: tokens ? [-1, -2, -0.5] : null,
    reward: reward === null ? null : { primary: reward, length: 1 },
    violations: violations as Array<'inst_016' | 'inst_017' | 'inst_018' | 'pii'>,
    failedChecks: [] as QualityCheck[],
  });
  const group = (id: string, samples: ReturnType<typeof sample>[]): RolloutGroup => ({
    rollout: { rollout_id: id } as RolloutGroup['rollout'],
    samples,
  });

  it('makes one group per rollout, with advantages over the whole group including withheld replies', () => {
    const batch = buildTrainingBatch([
      group('ro-a', [sample('ro-a', 0, 0.5), sample('ro-a', 1, 0.7), sample('ro-a', 2, 0, false, ['pii'])]),
      group('ro-b', [sample('ro-b', 0, 0.2), sample('ro-b', 1, null)]),
      group('ro-c', [sample('ro-c', 0, 0.1), sample('ro-c', 1, 0.9)]),
    ]);
    expect(batch.samples.map((s) => s.group)).toEqual([0, 0, 2, 2]);
    // Group a: rewards [0.5, 0.7, 0] (the PII reply's tokens were withheld, its reward still counts):
    // mean 0.4, sample std √0.13, so both trainable replies are above the group.
    const std = Math.sqrt(0.13) + 1e-4;
    expect(batch.samples[0].reward).toBeCloseTo(0.1 / std, 6);
    expect(batch.samples[1].reward).toBeCloseTo(0.3 / std, 6);
    expect(batch.samples[2].reward).toBeCloseTo(-0.4 / (Math.sqrt(0.32) + 1e-4), 6);
    expect(batch.samples[3].reward).toBeCloseTo(0.4 / (Math.sqrt(0.32) + 1e-4), 6);
    expect(batch.samples[0]).toMatchObject({
      promptIds: [1, 5],
      completionIds: [7, 8, 2],
      oldLogprobs: [-1, -2, -0.5],
    });
    // the withheld reply, and group b (one rewarded reply: nothing to compare with)
    expect(batch.dropped).toBe(3);
    expect(batch.scored).toHaveLength(7);
    // RLOO: leave-one-out over the same whole group.
    const rloo = buildTrainingBatch(
      [group('ro-a', [sample('ro-a', 0, 0.5), sample('ro-a', 1, 0.7), sample('ro-a', 2, 0, false)])],
      'rloo',
    );
    expect(rloo.samples.map((s) => s.reward)).toEqual([
      expect.closeTo(0.5 - 0.35, 6),
      expect.closeTo(0.7 - 0.25, 6),
    ]);
  });

  it('summarises rewards, terms and violation rates over every scored reply', () => {
    const s = summariseReplies([
      sample('r', 0, 1, true, ['inst_017']),
      sample('r', 1, 0, false, ['pii']),
      sample('r', 2, 0.5),
      sample('r', 3, 0.5, true, ['inst_016', 'inst_017']),
    ]);
    expect(s.n).toBe(4);
    expect(s.rewardMean).toBeCloseTo(0.5);
    expect(s.rewardStd).toBeCloseTo(Math.sqrt(0.125));
    expect(s.terms.length).toBeCloseTo(1);
    expect(s.violationRate).toEqual({ inst_016: 0.25, inst_017: 0.5, inst_018: 0, pii: 0.25, any: 0.75 });
    expect(s.wordsMean).toBe(3);
  });
});
