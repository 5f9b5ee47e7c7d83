// Supervised fine-tuning as a loop: batches drawn by (seed, step) from the encoded corpus, one AdamW step
// each (shared/train/sft.ts), metrics read back every `logEvery` steps in one go, checkpoints on request.
// Everything a step depends on is the step number, the weights and the optimizer state, so a run resumed
// from a checkpoint continues bit for bit.
import type { Policy } from '../policy/model';
import type { SequencePair } from './batch';
import { batchIndices, type StepMetrics, type StopCondition, shouldStop, yieldToEventLoop } from './loop';
import { MetricsAccumulator } from './metrics';
import type { AdamW } from './optimizer';
import { learningRateAt, type ScheduleConfig } from './schedule';
import { sftStep } from './sft';

export interface SftLoopOptions {
  policy: Policy;
  optimizer: AdamW;
  pairs: SequencePair[];
  batchSize: number;
  schedule: ScheduleConfig;
  seed: number;
  /** Optimizer steps already done (a resumed run); the next batch is batch `startStep`. */
  startStep: number;
  stop: StopCondition;
  /** Read metrics back (one device read) every this many steps; default 10. */
  logEvery?: number;
  onMetrics?: (metrics: StepMetrics) => void | Promise<void>;
  /** Called after every `checkpointEvery` steps (and not at the end: the caller saves the final state). */
  checkpointEvery?: number;
  onCheckpoint?: (step: number) => Promise<void>;
}

export async function runSftLoop(options: SftLoopOptions): Promise<{ step: number }> {
  const { policy, optimizer, pairs, batchSize, schedule, seed, stop } = options;
  const logEvery = Math.max(1, options.logEvery ?? 10);
  const accumulator = new MetricsAccumulator();
  const timings: Array<{ seconds: number }> = [];
  let step = options.startStep;
  const flush = async () => {
    const metrics = await accumulator.flush();
    for (const [i, m] of metrics.entries()) {
      const { seconds } = timings[i];
      await options.onMetrics?.({
        step: m.step,
        algo: 'sft',
        loss: m.loss,
        lr: m.lr,
        tokens: m.tokens,
        tokensPerSecond: seconds > 0 ? m.tokens / seconds : 0,
        seconds,
        gradNorm: m.gradNorm,
        entropy: m.entropy,
      });
    }
    timings.length = 0;
  };
  try {
    for (;;) {
      await yieldToEventLoop(); // lets a stop message in
      if (shouldStop(step, stop)) break;
      const started = performance.now();
      const batch = batchIndices(pairs.length, batchSize, seed, step).map((i) => pairs[i]);
      await sftStep(policy, optimizer, batch, { lr: learningRateAt(step, schedule), metrics: accumulator });
      step += 1;
      timings.push({ seconds: (performance.now() - started) / 1000 });
      if (accumulator.size >= logEvery) await flush();
      if (options.checkpointEvery && step % options.checkpointEvery === 0 && !shouldStop(step, stop)) {
        await flush();
        await options.onCheckpoint?.(step);
      }
    }
    await flush();
  } finally {
    accumulator.dispose();
  }
  return { step };
}
