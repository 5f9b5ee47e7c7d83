// Evaluation through the same path as training: the checkpoint is published as a resource, one
// rollout per feedback item is enqueued, the runners draft K replies each with the feedback agent,
// and the report is computed from the reply and reward spans read back from the store — so an
// evaluation reward is exactly the reward the trainer optimises.
import type { FeedbackTask } from '../agent/task';
import type { GovernancePipeline } from '../governance/types';
import type { BlobStorage } from '../policy/checkpoint';
import type { Policy } from '../policy/model';
import type { PolicyTokenizer } from '../policy/tokenizer';
import type { LightningStore } from '../store/store';
import { type SamplingOptions, startRunnerPool } from './loop-runners';
import { meanReferenceNll } from './reference';
import { readRolloutGroup, summariseReplies } from './rl-data';

export interface EvaluationOptions {
  store: LightningStore;
  checkpoints: BlobStorage;
  /** The id under which the checkpoint is stored in `checkpoints`. */
  checkpointId: string;
  policy: Policy;
  tokenizer: PolicyTokenizer;
  tasks: FeedbackTask[];
  /** Replies per item (K). */
  samples: number;
  seed: number;
  governance: GovernancePipeline;
  sampling?: SamplingOptions;
  /** Items drafted together (one generate call); default 16. */
  concurrency?: number;
  /**
   * A frozen reference policy (the SFT checkpoint). When given, the report adds `reference_nll`: the
   * mean negative log-likelihood per reply token under it. Keyword salad that games the reward's
   * string heuristics reads as improbable text to the policy it was trained from, so this is the
   * check that RL kept the replies fluent.
   */
  reference?: Policy;
  /** Told how many items are finished, of how many, about twice a second and at the end. */
  onProgress?: (done: number, total: number) => void;
}

/** The `edgelight eval` report. */
export interface EvaluationReport {
  n: number;
  reward_mean: number;
  reward_std: number;
  terms: Record<string, number>;
  violation_rate: { inst_016: number; inst_017: number; inst_018: number; pii: number; any: number };
  /** Share of replies that passed every sendability check (shared/agent/quality). */
  sendable_rate: number;
  /** Share of replies that failed each check: why the others are not sendable. */
  failed_checks: Record<string, number>;
  words_mean: number;
  /** Nats per reply token under `reference` (only with a reference; stored replies only). */
  reference_nll?: number;
  samples: Array<{
    id: string;
    reply: string;
    reward: number;
    violations: string[];
    failed_checks: string[];
  }>;
}

/** One drafted reply with its whole reward: what `eval --replies` writes, a line per reply. */
export interface EvaluatedReply {
  id: string;
  category: string | null;
  /** Which of the item's K replies (0-based). */
  sample: number;
  reply: string;
  /** The primary reward, 0 when the reward span is missing. */
  reward: number;
  /** Every reported term (`length`, `tone`, …, `quality`); empty when the reward span is missing. */
  terms: Record<string, number>;
  violations: string[];
  /** The sendability checks the reply failed; [] when it is sendable. */
  failed_checks: string[];
}

export async function evaluatePolicy(options: EvaluationOptions): Promise<EvaluationReport> {
  return (await evaluatePolicyReplies(options)).report;
}

/** `evaluatePolicy`, plus every reply with its terms, in item order. */
export async function evaluatePolicyReplies(
  options: EvaluationOptions,
): Promise<{ report: EvaluationReport; replies: EvaluatedReply[] }> {
  const { store, tasks } = options;
  const pool = startRunnerPool({
    store,
    checkpoints: options.checkpoints,
    governance: options.governance,
    group: options.samples,
    seed: options.seed,
    sampling: options.sampling ?? {},
    concurrency: Math.min(options.concurrency ?? 16, tasks.length),
  });
  try {
    pool.serve(options.checkpointId, options.policy, options.tokenizer);
    const resources = await store.addResources({
      policy: { resource_type: 'policy', checkpoint_id: options.checkpointId },
    });
    const rollouts = await store.enqueueRollouts(
      tasks.map((task) => ({ input: task, mode: 'test', resources_id: resources.resources_id })),
    );
    const finished = await waitReporting(
      store,
      rollouts.map((r) => r.rollout_id),
      options.onProgress,
    );
    const groups = await Promise.all(finished.map((r) => readRolloutGroup(store, r)));
    const replies = groups.flatMap((g) => g.samples);
    const summary = summariseReplies(replies);
    const referenceNll = options.reference ? await meanReferenceNll(options.reference, replies) : undefined;
    const taskOf = new Map(finished.map((r) => [r.rollout_id, r.input as FeedbackTask]));
    const evaluated = replies.map((r): EvaluatedReply => {
      const { primary, ...terms } = r.reward ?? {};
      const task = taskOf.get(r.rolloutId);
      return {
        id: task?.id ?? r.rolloutId,
        category: task?.category ?? null,
        sample: r.index,
        reply: r.text,
        reward: primary ?? 0,
        terms,
        violations: r.violations,
        failed_checks: r.failedChecks,
      };
    });
    const report: EvaluationReport = {
      n: tasks.length,
      reward_mean: summary.rewardMean,
      reward_std: summary.rewardStd,
      terms: summary.terms,
      violation_rate: summary.violationRate,
      sendable_rate: summary.sendableRate,
      failed_checks: summary.failedChecks,
      words_mean: summary.wordsMean,
      ...(referenceNll === undefined ? {} : { reference_nll: referenceNll }),
      samples: evaluated.slice(0, 5).map(({ id, reply, reward, violations, failed_checks }) => ({
        id,
        reply,
        reward,
        violations,
        failed_checks,
      })),
    };
    return { report, replies: evaluated };
  } finally {
    await pool.stop();
  }
}

/** Waits for every rollout; with `onProgress`, a second, polling read counts the finished ones meanwhile. */
async function waitReporting(
  store: LightningStore,
  ids: string[],
  onProgress?: (done: number, total: number) => void,
) {
  if (!onProgress) return store.waitForRollouts({ rollout_ids: ids, timeout: null });
  let stopped = false;
  let reading: Promise<void> | null = null;
  const timer = setInterval(() => {
    reading ??= store
      .waitForRollouts({ rollout_ids: ids, timeout: 0 })
      .then(
        (done) => {
          if (!stopped) onProgress(done.length, ids.length);
        },
        () => {}, // a failed count is skipped; the wait above reports real failures
      )
      .finally(() => {
        reading = null;
      });
  }, 500);
  try {
    const finished = await store.waitForRollouts({ rollout_ids: ids, timeout: null });
    onProgress(finished.length, ids.length);
    return finished;
  } finally {
    stopped = true;
    clearInterval(timer);
    await reading;
  }
}
