// The runner side of the training and evaluation loops: N runners in this thread working the store's
// queue with the feedback agent, resolving `policy` resources to the live model when the checkpoint id
// is the one just published (no reload) and loading any other id from the checkpoint storage.
import { createFeedbackAgent } from '../agent/feedback-agent';
import type { LearnedReward } from '../agent/reward-model';
import { Runner } from '../agent/runner';
import type { GovernancePipeline } from '../governance/types';
import { type BlobStorage, loadCheckpoint } from '../policy/checkpoint';
import { policyFromCheckpoint } from '../policy/checkpoint-policy';
import type { Policy } from '../policy/model';
import { TransformerReplyPolicy } from '../policy/reply-policy';
import type { PolicyTokenizer } from '../policy/tokenizer';
import type { LightningStore } from '../store/store';

export interface SamplingOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
  maxNewTokens?: number;
}

export interface RunnerPoolOptions {
  store: LightningStore;
  checkpoints: BlobStorage;
  governance: GovernancePipeline;
  /** A reward model's term beside the heuristic reward. */
  learnedReward?: LearnedReward;
  /** Replies drafted per feedback. */
  group: number;
  seed: number;
  sampling: SamplingOptions;
  /** Concurrent runners; their draft() calls are gathered into one generate (up to this many prompts). */
  concurrency: number;
}

export interface RunnerPool {
  /** Makes `checkpointId` resolve to the live model (the algorithm calls this when it publishes). */
  serve(checkpointId: string, policy: Policy, tokenizer: PolicyTokenizer): void;
  /** Stops the runners after their current rollout and waits for them. */
  stop(): Promise<void>;
}

export function startRunnerPool(options: RunnerPoolOptions): RunnerPool {
  const { sampling } = options;
  const replyPolicy = (id: string, policy: Policy, tokenizer: PolicyTokenizer) =>
    new TransformerReplyPolicy({
      id,
      policy,
      tokenizer,
      temperature: sampling.temperature ?? 1,
      topK: sampling.topK,
      topP: sampling.topP,
      maxNewTokens: sampling.maxNewTokens,
      coalesceMs: 20,
      maxPrompts: options.concurrency,
    });
  let live: { checkpointId: string; replyPolicy: TransformerReplyPolicy } | null = null;
  const resolvePolicy = async ({ checkpoint_id }: { checkpoint_id: string }) => {
    if (live?.checkpointId === checkpoint_id) return live.replyPolicy;
    const loaded = policyFromCheckpoint(await loadCheckpoint(options.checkpoints, checkpoint_id));
    return replyPolicy(checkpoint_id, loaded.policy, loaded.tokenizer);
  };
  const agent = createFeedbackAgent({
    governance: options.governance,
    learnedReward: options.learnedReward,
    group: options.group,
    temperature: sampling.temperature ?? 1,
    maxTokens: sampling.maxNewTokens,
    seed: options.seed,
  });
  // One controller per runner: a runner listens on its signal for every rollout, and many listeners
  // on one shared signal would trip Node's leak warning.
  const controllers = Array.from({ length: options.concurrency }, () => new AbortController());
  const running = controllers.map((controller, i) =>
    new Runner({
      store: options.store,
      agent,
      workerId: `trainer-runner-${i + 1}`,
      resolvePolicy,
      signal: controller.signal,
      pollIntervalMs: 50,
    }).run(),
  );
  return {
    serve(checkpointId, policy, tokenizer) {
      live = { checkpointId, replyPolicy: replyPolicy(checkpointId, policy, tokenizer) };
    },
    async stop() {
      for (const controller of controllers) controller.abort();
      await Promise.allSettled(running);
    },
  };
}
