// AdamW (Loshchilov & Hutter: weight decay decoupled from the adaptive step, as torch.optim.AdamW) with
// global-norm gradient clipping, over a policy's named weights.
//
// API
//   new AdamW(weights, config)            weights: Record<name, tf.Variable>; config: AdamWConfigSchema
//   optimizer.update(grads, lr)           clip by global norm, then one AdamW step; returns the pre-clip
//                                         gradient norm as a scalar tensor (the caller disposes it)
//   optimizer.step                        number of updates done so far (drives bias correction)
//   optimizer.exportState()               { step, tensors } with tensors named `exp_avg.<weight>` and
//                                         `exp_avg_sq.<weight>` (torch's names), for exact resume
//   optimizer.importState(state)          restores them (shape-checked)
//
// Weight decay applies to matrices (rank ≥ 2: projections and the embedding), never to norm gains.
import * as tf from '../policy/tfjs';
import { z } from 'zod';
import { sumAll } from '../policy/ops';

export const AdamWConfigSchema = z.object({
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.95),
  eps: z.number().positive().default(1e-8),
  weightDecay: z.number().min(0).default(0.01),
  /** Global gradient-norm limit; 0 turns clipping off. */
  clipNorm: z.number().min(0).default(1),
});
export type AdamWConfig = z.infer<typeof AdamWConfigSchema>;
export type AdamWConfigInput = z.input<typeof AdamWConfigSchema>;

export type OptimizerState = { step: number; tensors: Record<string, tf.Tensor> };

export class AdamW {
  readonly config: AdamWConfig;
  step = 0;
  private readonly weights: Record<string, tf.Variable>;
  private readonly names: string[];
  private readonly expAvg: Record<string, tf.Variable> = {};
  private readonly expAvgSq: Record<string, tf.Variable> = {};

  constructor(weights: Record<string, tf.Variable>, config: AdamWConfigInput = {}) {
    this.config = AdamWConfigSchema.parse(config);
    this.weights = weights;
    this.names = Object.keys(weights);
    for (const name of this.names) {
      this.expAvg[name] = tf.tidy(() => tf.variable(tf.zerosLike(weights[name]), false));
      this.expAvgSq[name] = tf.tidy(() => tf.variable(tf.zerosLike(weights[name]), false));
    }
  }

  /** grads: by weight name (missing names get no update). Returns the global norm before clipping. */
  update(grads: Record<string, tf.Tensor>, lr: number): tf.Scalar {
    if (!Number.isFinite(lr) || lr < 0)
      throw new Error(`learning rate must be a finite number ≥ 0, got ${lr}`);
    const { beta1, beta2, eps, weightDecay, clipNorm } = this.config;
    this.step += 1;
    const t = this.step;
    return tf.tidy(() => {
      const names = this.names.filter((n) => grads[n]);
      const squares = names.map((n) => tf.sum(tf.square(grads[n])));
      const norm = tf.sqrt(sumAll(squares)) as tf.Scalar;
      // scale = clipNorm / max(norm, clipNorm): 1 when under the limit, on device (no read-back).
      const scale = clipNorm > 0 ? tf.div(clipNorm, tf.maximum(norm, clipNorm)) : tf.scalar(1);
      const stepSize = (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
      const epsHat = eps * Math.sqrt(1 - beta2 ** t);
      for (const name of names) {
        const w = this.weights[name];
        const g = tf.mul(grads[name], scale);
        const m = tf.add(tf.mul(this.expAvg[name], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.expAvgSq[name], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.expAvg[name].assign(m);
        this.expAvgSq[name].assign(v);
        const decayed = weightDecay > 0 && w.rank >= 2 ? tf.mul(w, 1 - lr * weightDecay) : w;
        w.assign(tf.sub(decayed, tf.mul(tf.div(m, tf.add(tf.sqrt(v), epsHat)), stepSize)));
      }
      return norm;
    });
  }

  exportState(): OptimizerState {
    const tensors: Record<string, tf.Tensor> = {};
    for (const name of this.names) {
      tensors[`exp_avg.${name}`] = this.expAvg[name];
      tensors[`exp_avg_sq.${name}`] = this.expAvgSq[name];
    }
    return { step: this.step, tensors };
  }

  importState(state: OptimizerState): void {
    if (!Number.isInteger(state.step) || state.step < 0)
      throw new Error(`optimizer step must be an integer ≥ 0`);
    for (const name of this.names) {
      for (const [prefix, target] of [
        ['exp_avg', this.expAvg],
        ['exp_avg_sq', this.expAvgSq],
      ] as const) {
        const t = state.tensors[`${prefix}.${name}`];
        if (!t) throw new Error(`optimizer state lacks '${prefix}.${name}'`);
        const want = target[name].shape;
        if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
          throw new Error(`optimizer state '${prefix}.${name}' has shape [${t.shape}], want [${want}]`);
        }
        target[name].assign(t.dtype === 'float32' ? t : tf.cast(t, 'float32'));
      }
    }
    this.step = state.step;
  }

  dispose(): void {
    for (const v of [...Object.values(this.expAvg), ...Object.values(this.expAvgSq)]) v.dispose();
  }
}
