// DPO / KTO as a loop, like SFT's (loop-sft.ts): batch `s` is drawn from the encoded pairs or labelled
// replies by (seed, s), one step each (preference.ts), checkpoints on request. Everything a step depends
// on is the step number, the weights, the optimizer state and the frozen reference, so a resumed run
// continues bit for bit. Each step reads its figures back at once: the reference's log-probs are read
// before the update anyway, so deferring the metrics would save no device round trip.
import type { Policy } from '../policy/model';
import { batchIndices, type StepMetrics, type StopCondition, shouldStop, yieldToEventLoop } from './loop';
import type { AdamW } from './optimizer';
import { dpoStep, type EncodedLabel, type EncodedPair, ktoStep } from './preference';
import { learningRateAt, type ScheduleConfig } from './schedule';

export type PreferenceData =
  | { algo: 'dpo'; pairs: EncodedPair[] }
  | { algo: 'kto'; labelled: EncodedLabel[] };

export interface PreferenceLoopOptions {
  policy: Policy;
  /** The frozen policy of the implicit reward β·log π/π_ref. */
  reference: Policy;
  optimizer: AdamW;
  data: PreferenceData;
  loss: { beta: number; labelSmoothing: number; desirableWeight: number; undesirableWeight: number };
  /** Pairs (dpo) or labelled replies (kto) per step. */
  batchSize: number;
  schedule: ScheduleConfig;
  seed: number;
  /** Optimizer steps already done (a resumed run); the next batch is batch `startStep`. */
  startStep: number;
  stop: StopCondition;
  onMetrics?: (metrics: StepMetrics) => void | Promise<void>;
  /** Called after every `checkpointEvery` steps (and not at the end: the caller saves the final state). */
  checkpointEvery?: number;
  onCheckpoint?: (step: number) => Promise<void>;
}

export async function runPreferenceLoop(options: PreferenceLoopOptions): Promise<{ step: number }> {
  const { policy, reference, optimizer, data, loss, batchSize, schedule, seed, stop } = options;
  const n = data.algo === 'dpo' ? data.pairs.length : data.labelled.length;
  let step = options.startStep;
  for (;;) {
    await yieldToEventLoop(); // lets a stop message in
    if (shouldStop(step, stop)) break;
    const started = performance.now();
    const indices = batchIndices(n, batchSize, seed, step);
    const lr = learningRateAt(step, schedule);
    const figures =
      data.algo === 'dpo'
        ? await dpoStep(
            policy,
            optimizer,
            reference,
            indices.map((i) => data.pairs[i]),
            { lr, beta: loss.beta, labelSmoothing: loss.labelSmoothing },
          )
        : await ktoStep(
            policy,
            optimizer,
            reference,
            indices.map((i) => data.labelled[i]),
            {
              lr,
              beta: loss.beta,
              desirableWeight: loss.desirableWeight,
              undesirableWeight: loss.undesirableWeight,
            },
          );
    step += 1;
    const seconds = (performance.now() - started) / 1000;
    await options.onMetrics?.({
      ...figures,
      step,
      algo: data.algo,
      lr,
      tokensPerSecond: seconds > 0 ? figures.tokens / seconds : 0,
      seconds,
    });
    if (options.checkpointEvery && step % options.checkpointEvery === 0 && !shouldStop(step, stop))
      await options.onCheckpoint?.(step);
  }
  return { step };
}
