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
}

/** The `edgelight eval` report. */
export interface EvaluationReport {
  n: number;
  reward_mean: number;
  reward_std: number;
  terms: Record<string, number>;
  violation_rate: { inst_016: number; inst_017: number; inst_018: number; pii: number; any: number };
  words_mean: number;
  samples: Array<{ id: string; reply: string; reward: number; violations: string[] }>;
}

export async function evaluatePolicy(options: EvaluationOptions): Promise<EvaluationReport> {
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
    const finished = await store.waitForRollouts({
      rollout_ids: rollouts.map((r) => r.rollout_id),
      timeout: null,
    });
    const groups = await Promise.all(finished.map((r) => readRolloutGroup(store, r)));
    const replies = groups.flatMap((g) => g.samples);
    const summary = summariseReplies(replies);
    const taskId = new Map(finished.map((r) => [r.rollout_id, (r.input as FeedbackTask).id]));
    return {
      n: tasks.length,
      reward_mean: summary.rewardMean,
      reward_std: summary.rewardStd,
      terms: summary.terms,
      violation_rate: summary.violationRate,
      words_mean: summary.wordsMean,
      samples: replies.slice(0, 5).map((r) => ({
        id: taskId.get(r.rolloutId) ?? r.rolloutId,
        reply: r.text,
        reward: r.reward?.primary ?? 0,
        violations: r.violations,
      })),
    };
  } finally {
    await pool.stop();
  }
}
