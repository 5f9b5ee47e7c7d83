// The algorithm ↔ LightningStore ↔ runner loop of Agent Lightning, for GRPO / RLOO / REINFORCE.
//
// Each step:
//   1. publish the current weights as a checkpoint (content-addressed blobs) and a new `resources`
//      version `{ policy: { resource_type: 'policy', checkpoint_id } }`;
//   2. enqueue one rollout per task of the step's batch (tasks drawn by (seed, step)) under that version;
//   3. runners (here: in this thread, async) dequeue them and run the feedback agent, which drafts G
//      replies with the policy the resource names, governs and scores them and writes spans;
//   4. wait for the rollouts, read the reply and reward spans back (rl-data.ts) and update the policy
//      with the policy-gradient step (one group per rollout);
//   5. record the step's metrics — to the callback and as a span of the run's own rollout.
// The algorithm and the runners share nothing but the store (and the blob storage the resource points
// into): a runner elsewhere resolving the same checkpoint id would sample from the same weights.
//
// Steps 1–4 up to the read-back are one RlGroupSource: drafting (above, the default) or rollouts recorded
// earlier by the chat-completions endpoint (recorded.ts). Everything after — advantages, the update,
// the metrics — is the same for both.
import { AGL_OBJECT, ATTR, flattenAttributes } from '../agent/semconv';
import type { FeedbackTask } from '../agent/task';
import type { GovernancePipeline } from '../governance/types';
import { type BlobStorage, removeCheckpoint, saveCheckpoint } from '../policy/checkpoint';
import { checkpointFromPolicy } from '../policy/checkpoint-policy';
import type { Policy } from '../policy/model';
import type { PolicyTokenizer } from '../policy/tokenizer';
import { newSpanId, newTraceId } from '../store/ids';
import type { LightningStore } from '../store/store';
import type { AttemptedRollout, Rollout } from '../store/types';
import {
  batchIndices,
  mean,
  type StepMetrics,
  type StopCondition,
  shouldStop,
  yieldToEventLoop,
} from './loop';
import type { AdamW } from './optimizer';
import { type PolicyGradientConfigInput, policyGradientUpdate } from './policy-gradient';
import { klPerReply, referenceLogprobs } from './reference';
import { buildTrainingBatch, type RolloutGroup, readRolloutGroup, summariseReplies } from './rl-data';
import { type SamplingOptions, startRunnerPool } from './loop-runners';
import type { LearnedReward } from '../agent/reward-model';
import { learningRateAt, type ScheduleConfig } from './schedule';

export const TRAIN_METRICS_OBJECT_TYPE = 'edgelight.train.metrics';
export const TRAINING_RUN_INPUT_KIND = 'edgelight.training-run';

/** Where a step's groups come from (see the file's head). */
export interface RlGroupSource {
  /** Step `step`'s groups, read back from the store, and how many of its rollouts did not succeed. */
  groups(step: number): Promise<{ groups: RolloutGroup[]; failedRollouts: number }>;
  /** What the run's own rollout records about its data. */
  describe(): Record<string, unknown>;
  stop(): Promise<void>;
}

interface RlLoopCommon {
  store: LightningStore;
  /** Where published checkpoints live; the loop keeps only the current version there. */
  checkpoints: BlobStorage;
  policy: Policy;
  tokenizer: PolicyTokenizer;
  optimizer: AdamW;
  algo: 'grpo' | 'rloo' | 'reinforce';
  /** Clip ε, β, loss type, μ ... (estimator comes from `algo`). */
  policyGradient?: Omit<PolicyGradientConfigInput, 'estimator'>;
  /** A frozen copy of the starting policy, for a KL term (β > 0) or the KL-in-reward shaping. */
  reference?: Policy;
  /**
   * KL in the reward (InstructGPT's r − c·log π/π_ref, per reply): before the group advantages, each
   * stored reply's reward loses c × its mean per-token log π_old − log π_ref. Unlike β, which adds a
   * small per-token gradient beside the advantage, this ranks a reply that drifted from the reference
   * below one that did not, inside its group. Needs `reference`. Default 0 (off).
   */
  klReward?: number;
  schedule: ScheduleConfig;
  seed: number;
  startStep: number;
  stop: StopCondition;
  onMetrics?: (metrics: StepMetrics) => void | Promise<void>;
  checkpointEvery?: number;
  onCheckpoint?: (step: number) => Promise<void>;
  /** Called with each published checkpoint id and its resources id (tests watch versioning here). */
  onPublish?: (published: { step: number; checkpointId: string; resourcesId: string }) => void;
}

/** The default source: the runners draft G replies to each of the step's tasks with the current weights. */
export interface DraftingRlOptions extends RlLoopCommon {
  tasks: FeedbackTask[];
  tasksPerStep: number;
  /** Replies per task: the group G. */
  group: number;
  governance: GovernancePipeline;
  /** A reward model's term beside the heuristic reward (grpo / rloo with `rewardModel`). */
  learnedReward?: LearnedReward;
  sampling?: SamplingOptions;
  /** Runners working the queue concurrently (default: tasksPerStep, so one batched generate per step). */
  runners?: number;
  source?: undefined;
}

/** Another source of groups (recorded rollouts: recorded.ts). */
export interface SourcedRlOptions extends RlLoopCommon {
  source: RlGroupSource;
}

export type RlLoopOptions = DraftingRlOptions | SourcedRlOptions;

export interface RlLoopResult {
  step: number;
  /** The run's own rollout, whose spans hold the per-step metrics. */
  runRolloutId: string;
}

/** Writes one metrics record as a span of the training run's rollout. */
async function recordMetrics(
  store: LightningStore,
  run: AttemptedRollout,
  metrics: StepMetrics,
): Promise<void> {
  await store.addSpan({
    rollout_id: run.rollout_id,
    attempt_id: run.attempt.attempt_id,
    trace_id: newTraceId(),
    span_id: newSpanId(),
    name: AGL_OBJECT,
    start_time: Date.now() / 1000,
    end_time: Date.now() / 1000,
    attributes: {
      [ATTR.objectType]: TRAIN_METRICS_OBJECT_TYPE,
      [ATTR.objectJson]: JSON.stringify(metrics),
      ...flattenAttributes({ metrics }),
    },
  });
}

/**
 * Steps 1–4 of the drafting loop as a source: publish the weights, enqueue the step's tasks (drawn by
 * (seed, step)), let the runners draft, read the finished rollouts back.
 */
function draftingSource(options: DraftingRlOptions): RlGroupSource {
  const { store, checkpoints, policy, tokenizer, tasks, group, seed } = options;
  if (tasks.length === 0) throw new Error('RL training needs at least one task');
  if (!Number.isInteger(group) || group < 2)
    throw new Error(`the group size must be ≥ 2 for ${options.algo}, got ${group}`);
  const tasksPerStep = options.tasksPerStep;
  let published: string | null = null;
  const pool = startRunnerPool({
    store,
    checkpoints,
    governance: options.governance,
    learnedReward: options.learnedReward,
    group,
    seed,
    sampling: options.sampling ?? {},
    concurrency: options.runners ?? tasksPerStep,
  });
  return {
    describe: () => ({ tasks: tasks.length, group, tasksPerStep }),
    async groups(step) {
      // 1. Publish the weights the step's rollouts will sample from.
      const checkpointId = await saveCheckpoint(checkpoints, await checkpointFromPolicy(policy, tokenizer));
      pool.serve(checkpointId, policy, tokenizer);
      if (published && published !== checkpointId)
        await removeCheckpoint(checkpoints, published, [checkpointId]);
      published = checkpointId;
      const resources = await store.addResources({
        policy: { resource_type: 'policy', checkpoint_id: checkpointId, metadata: { step } },
      });
      options.onPublish?.({ step, checkpointId, resourcesId: resources.resources_id });

      // 2. One rollout per task of this step's batch.
      const batch = batchIndices(tasks.length, tasksPerStep, seed, step).map((i) => tasks[i]);
      const rollouts = await store.enqueueRollouts(
        batch.map((task) => ({
          input: task,
          mode: 'train',
          resources_id: resources.resources_id,
          metadata: { step },
        })),
      );

      // 3–4. The runners work the queue; wait for every rollout to finish, then read them back.
      const ids = rollouts.map((r) => r.rollout_id);
      const finished: Rollout[] = await store.waitForRollouts({ rollout_ids: ids, timeout: null });
      return {
        groups: await Promise.all(finished.map((r) => readRolloutGroup(store, r))),
        failedRollouts: finished.filter((r) => r.status !== 'succeeded').length,
      };
    },
    stop: () => pool.stop(),
  };
}

export async function runRlLoop(options: RlLoopOptions): Promise<RlLoopResult> {
  const { store, policy, optimizer, seed, stop } = options;
  const source = options.source ?? draftingSource(options);

  let run: AttemptedRollout;
  try {
    run = await store.startRollout({
      input: { kind: TRAINING_RUN_INPUT_KIND, algo: options.algo, ...source.describe() },
      mode: 'train',
      metadata: { algo: options.algo, seed, startStep: options.startStep },
    });
  } catch (error) {
    await source.stop();
    throw error;
  }

  let step = options.startStep;
  try {
    for (;;) {
      await yieldToEventLoop(); // lets a stop message in
      if (shouldStop(step, stop)) break;
      const started = performance.now();

      // 1–4. The step's groups: drafted now with the current weights, or recorded earlier.
      const { groups, failedRollouts } = await source.groups(step);
      // The reference's log-probs, read once for both KL guards (reward shaping and the loss's β).
      const klReward = options.klReward ?? 0;
      const beta = options.policyGradient?.beta ?? 0;
      const refLogprobs =
        options.reference && (klReward > 0 || beta > 0)
          ? await referenceLogprobs(
              options.reference,
              groups.flatMap((g) => g.samples),
            )
          : undefined;
      const drift = refLogprobs && klReward > 0 ? klPerReply(refLogprobs) : null;
      const trainingBatch = buildTrainingBatch(groups, options.algo, {
        rewardOf: drift ? (reply) => reply.reward!.primary - klReward * (drift.get(reply) ?? 0) : undefined,
        refLogprobs,
      });
      const summary = summariseReplies(trainingBatch.scored);
      const sampledSeconds = (performance.now() - started) / 1000;

      let update: Awaited<ReturnType<typeof policyGradientUpdate>> = [];
      if (trainingBatch.samples.length > 0) {
        update = await policyGradientUpdate(
          policy,
          optimizer,
          trainingBatch.samples,
          // The advantages were computed per group in buildTrainingBatch (over withheld replies too);
          // reinforce with baseline 0 uses them unchanged.
          { ...options.policyGradient, estimator: 'reinforce', baseline: 0 },
          { lr: (s) => learningRateAt(s, options.schedule), reference: options.reference },
        );
      }
      step += 1;

      // 5. Metrics: the reward side from the spans, the optimisation side from the update.
      const seconds = (performance.now() - started) / 1000;
      const last = update.at(-1);
      const sampledTokens = trainingBatch.samples.reduce((n, s) => n + s.completionIds.length, 0);
      const metrics: StepMetrics = {
        step,
        algo: options.algo,
        loss: last?.loss ?? 0,
        lr: last?.lr ?? learningRateAt(optimizer.step, options.schedule),
        tokens: last?.tokens ?? 0,
        tokensPerSecond: seconds > 0 ? sampledTokens / seconds : 0,
        seconds,
        gradNorm: last?.gradNorm,
        rewardMean: summary.rewardMean,
        rewardStd: summary.rewardStd,
        terms: summary.terms,
        // The loss's k3 estimate with β > 0; otherwise the reward shaping's k1 mean, if any.
        kl: beta > 0 ? (last?.kl ?? 0) : drift ? mean([...drift.values()]) : 0,
        entropy: last?.entropy,
        clipFraction: last?.clipFraction ?? 0,
        violationRate: summary.violationRate.any,
        sendableRate: summary.sendableRate,
        failedChecks: summary.failedChecks,
        sampledTokens,
        samplingSeconds: sampledSeconds,
        dropped: trainingBatch.dropped,
        failedRollouts,
      };
      await recordMetrics(store, run, metrics);
      await options.onMetrics?.(metrics);
      if (options.checkpointEvery && step % options.checkpointEvery === 0 && !shouldStop(step, stop))
        await options.onCheckpoint?.(step);
    }
    await store.updateAttempt(run.rollout_id, run.attempt.attempt_id, { status: 'succeeded' });
  } catch (error) {
    await store
      .updateAttempt(run.rollout_id, run.attempt.attempt_id, { status: 'failed' })
      .catch(() => undefined);
    throw error;
  } finally {
    await source.stop();
  }
  return { step, runRolloutId: run.rollout_id };
}
