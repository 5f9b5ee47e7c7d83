// One optimizer step from a loss function: gradients by autodiff over the policy's variables, global-norm
// clipping and AdamW (optimizer.ts), with the step's device metrics packed into one (7) tensor
// (metrics.ts DEVICE_METRICS order). Everything intermediate is disposed here.
import * as tf from '@tensorflow/tfjs';
import type { Policy } from '../policy/model';
import { concatInGroups } from '../policy/ops';
import { DEVICE_METRICS } from './metrics';
import type { AdamW } from './optimizer';

/** What a loss function returns: the scalar to minimise and the device metrics other than gradNorm. */
export type LossOutput = {
  loss: tf.Scalar;
  kl: tf.Scalar;
  entropy: tf.Scalar;
  clipLow: tf.Scalar;
  clipHigh: tf.Scalar;
  ratioMean: tf.Scalar;
};

export function optimizerStep(
  policy: Policy,
  optimizer: AdamW,
  lr: number,
  lossFn: () => LossOutput,
): tf.Tensor1D {
  const nameOf = new Map(Object.entries(policy.weights).map(([name, v]) => [v.name, name]));
  let metrics: tf.Scalar[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const out = lossFn();
    metrics = [out.kl, out.entropy, out.clipLow, out.clipHigh, out.ratioMean].map((m) => tf.keep(m));
    return out.loss;
  }, policy.variables());
  const named: Record<string, tf.Tensor> = {};
  for (const [variableName, g] of Object.entries(grads)) named[nameOf.get(variableName) ?? variableName] = g;
  const gradNorm = optimizer.update(named, lr);
  // DEVICE_METRICS order: loss, kl, entropy, clipLow, clipHigh, ratioMean, gradNorm.
  const packed = tf.tidy(() =>
    concatInGroups([value, ...metrics, gradNorm].map((m) => m.reshape([1]))),
  ) as tf.Tensor1D;
  tf.dispose([value, gradNorm, ...metrics, ...Object.values(grads)]);
  if (packed.shape[0] !== DEVICE_METRICS.length)
    throw new Error('device metrics out of step with DEVICE_METRICS');
  return packed;
}
