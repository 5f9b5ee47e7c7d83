// Training metrics: one schema for every step's figures, and an accumulator that lets a training loop
// read device-side values (loss, KL, entropy, ...) with ONE `await t.data()` for many steps, instead of
// stalling the GPU queue after every step.
//
// Field meanings (means over the batch's completion tokens unless said otherwise):
//   loss          the optimised objective (after its normalisation: dapo / grpo / dr_grpo / sft)
//   kl            k3 estimate of KL(π_θ ‖ π_ref): exp(r − l) − (r − l) − 1; 0 without a reference
//   entropy       entropy of π_θ at temperature 1, nats per token
//   clipFraction  share of tokens whose ratio was clipped (clipLow + clipHigh; TRL's definition:
//                 low = ratio < 1 − ε with A < 0, high = ratio > 1 + ε_high with A > 0)
//   ratioMean     mean importance ratio π_θ / π_old
//   gradNorm      global gradient norm before clipping
//   tokens        completion tokens trained on; lr the learning rate used; step the optimizer step after it
import * as tf from '../policy/tfjs';
import { z } from 'zod';
import { concatInGroups } from '../policy/ops';

export const TrainMetricsSchema = z.object({
  kind: z.enum(['sft', 'policy_gradient']),
  step: z.number().int(),
  loss: z.number(),
  kl: z.number(),
  entropy: z.number(),
  clipFraction: z.number(),
  clipLow: z.number(),
  clipHigh: z.number(),
  ratioMean: z.number(),
  gradNorm: z.number(),
  lr: z.number(),
  tokens: z.number().int(),
  rewardMean: z.number(),
  rewardStd: z.number(),
});
export type TrainMetrics = z.infer<typeof TrainMetricsSchema>;

/** The figures a step computes on the device, in the order they are packed. */
export const DEVICE_METRICS = [
  'loss',
  'kl',
  'entropy',
  'clipLow',
  'clipHigh',
  'ratioMean',
  'gradNorm',
] as const;
export type DeviceMetricName = (typeof DEVICE_METRICS)[number];
export type HostMetrics = Omit<TrainMetrics, DeviceMetricName | 'clipFraction'>;

/** Collects per-step metrics; `flush()` reads all pending device values at once and returns them in order. */
export class MetricsAccumulator {
  private pending: Array<{ device: tf.Tensor1D; host: HostMetrics }> = [];

  get size(): number {
    return this.pending.length;
  }

  /** Takes ownership of `device` (DEVICE_METRICS order, length 7). */
  push(device: tf.Tensor1D, host: HostMetrics): void {
    if (device.shape[0] !== DEVICE_METRICS.length) {
      throw new Error(`device metrics need ${DEVICE_METRICS.length} values, got ${device.shape[0]}`);
    }
    this.pending.push({ device, host });
  }

  async flush(): Promise<TrainMetrics[]> {
    const pending = this.pending;
    this.pending = [];
    if (pending.length === 0) return [];
    const stacked = tf.tidy(() => concatInGroups(pending.map((p) => p.device)).clone()); // (steps · 7)
    for (const p of pending) p.device.dispose();
    const values = await stacked.data();
    stacked.dispose();
    const n = DEVICE_METRICS.length;
    return pending.map(({ host }, i) => {
      const device = Object.fromEntries(DEVICE_METRICS.map((name, j) => [name, values[i * n + j]])) as Record<
        DeviceMetricName,
        number
      >;
      return { ...host, ...device, clipFraction: device.clipLow + device.clipHigh };
    });
  }

  dispose(): void {
    for (const p of this.pending) p.device.dispose();
    this.pending = [];
  }
}

/** Mean and population std of a list of numbers (0, 0 when empty). */
export function meanStd(xs: number[]): { mean: number; std: number } {
  if (xs.length === 0) return { mean: 0, std: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length) };
}
