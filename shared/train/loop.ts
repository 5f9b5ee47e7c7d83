// What every training loop shares: the per-step metrics record, when to stop, and a data order that is
// a pure function of (seed, step), so a resumed run draws exactly the batches the uninterrupted run
// would have drawn without saving any RNG state.
import { z } from 'zod';
import { createRng, deriveSeed } from '../random';

/** One training step, as streamed to the progress callback and stored beside the run. */
export const StepMetricsSchema = z.object({
  step: z.number().int().nonnegative(),
  algo: z.enum(['sft', 'grpo', 'rloo', 'reinforce', 'dpo', 'kto']),
  loss: z.number(),
  lr: z.number(),
  /** Tokens trained on (completion tokens for RL, all loss-masked tokens for SFT). */
  tokens: z.number().int().nonnegative(),
  /** Tokens processed per second of this step (sampling + update for RL). */
  tokensPerSecond: z.number().nonnegative(),
  seconds: z.number().nonnegative(),
  gradNorm: z.number().optional(),
  // RL only.
  rewardMean: z.number().optional(),
  rewardStd: z.number().optional(),
  terms: z.record(z.string(), z.number()).optional(),
  kl: z.number().optional(),
  entropy: z.number().optional(),
  clipFraction: z.number().optional(),
  /** Share of sampled replies with any governance violation (inst_016/017/018 or PII). */
  violationRate: z.number().optional(),
  /** Share of sampled replies that passed every sendability check (shared/agent/quality). */
  sendableRate: z.number().optional(),
  /** Share of sampled replies that failed each sendability check: why the others are not sendable. */
  failedChecks: z.record(z.string(), z.number()).optional(),
  sampledTokens: z.number().int().optional(),
  /** Seconds from publishing the weights until every rollout was read back (the sampling side). */
  samplingSeconds: z.number().optional(),
  /** Replies left out of the update (no stored tokens, or a group too small to compare). */
  dropped: z.number().int().optional(),
  failedRollouts: z.number().int().optional(),
  // DPO / KTO (shared/train/preference.ts), under TRL's names. A reward is the implicit reward
  // β·(log π − log π_ref) of a whole reply; a log-prob is log π of a whole reply (the sum over its tokens).
  // kto: chosen = desirable (label true), rejected = undesirable; `kl` is the batch's z₀.
  /** Mean reward of the chosen (dpo) / desirable (kto) replies. */
  'rewards/chosen': z.number().optional(),
  /** Mean reward of the rejected (dpo) / undesirable (kto) replies. */
  'rewards/rejected': z.number().optional(),
  /** dpo: mean of chosen − rejected reward per pair; kto: the difference of the two means. */
  'rewards/margins': z.number().optional(),
  /** dpo: share of pairs whose chosen reply has the higher reward (margin > 0). */
  'rewards/accuracies': z.number().optional(),
  'logps/chosen': z.number().optional(),
  'logps/rejected': z.number().optional(),
});
export type StepMetrics = z.infer<typeof StepMetricsSchema>;

/** Stop after a number of steps, at a wall-clock deadline, or on a signal — whichever comes first. */
export interface StopCondition {
  /** Stop when this many optimizer steps have been done in total (resumed steps included). */
  untilStep?: number;
  /** Epoch milliseconds. */
  deadline?: number;
  signal?: AbortSignal;
}

/**
 * One macrotask turn. A step on the cpu/wasm backends can run start to end on microtasks alone, so a
 * loop that never yields never sees the message (a worker's stop, a tab's pause) that would end it.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export function shouldStop(step: number, stop: StopCondition, now = Date.now()): boolean {
  if (stop.signal?.aborted) return true;
  if (stop.untilStep !== undefined && step >= stop.untilStep) return true;
  return stop.deadline !== undefined && now >= stop.deadline;
}

/** A permutation of 0..n-1 for an epoch, from the run seed alone. */
function epochOrder(n: number, seed: number, epoch: number): number[] {
  const rng = createRng(deriveSeed(seed, `epoch:${epoch}`));
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * The example indices of batch `step`: consecutive slices of per-epoch shuffles, crossing epoch
 * boundaries seamlessly. Pure in (n, batchSize, seed, step).
 */
export function batchIndices(n: number, batchSize: number, seed: number, step: number): number[] {
  if (n < 1) throw new Error('no training examples');
  const out: number[] = [];
  let position = step * batchSize;
  let epoch = Math.floor(position / n);
  let order = epochOrder(n, seed, epoch);
  while (out.length < batchSize) {
    const e = Math.floor(position / n);
    if (e !== epoch) {
      epoch = e;
      order = epochOrder(n, seed, epoch);
    }
    out.push(order[position % n]);
    position++;
  }
  return out;
}

export const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
export const std = (xs: readonly number[]) => {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
};
