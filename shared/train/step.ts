// One optimizer step from a loss: gradients by autodiff over the policy's variables, global-norm clipping
// and AdamW (optimizer.ts), with the step's device metrics packed into one (7) tensor (metrics.ts
// DEVICE_METRICS order). The loss may come in parts (row chunks of one batch, batch.ts rowChunks): each
// part is differentiated on its own and the gradients, losses and metrics are summed, so every part must
// normalise by the whole batch's token count. Everything intermediate is disposed here.
//
// What trains is decided once, by `trainableWeights`: the policy's weights, or only its LoRA adapter's
// A and B when one is attached (shared/policy/lora.ts), the base then frozen. The session builds the
// optimizer over the same set, so its moments (and a checkpoint's optimizer state) are the adapter's only.
import * as tf from '../policy/tfjs';
import { loraOf } from '../policy/lora';
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

/** The named variables a step updates: the attached LoRA adapter's, else every policy weight. */
export function trainableWeights(policy: Policy): Record<string, tf.Variable> {
  return loraOf(policy)?.weights ?? policy.weights;
}

export function optimizerStep(
  policy: Policy,
  optimizer: AdamW,
  lr: number,
  lossParts: Array<() => LossOutput>,
): tf.Tensor1D {
  const trainable = trainableWeights(policy);
  const nameOf = new Map(Object.entries(trainable).map(([name, v]) => [v.name, name]));
  const named: Record<string, tf.Tensor> = {};
  let total: tf.Tensor[] = []; // loss, kl, entropy, clipLow, clipHigh, ratioMean: sums over the parts
  for (const part of lossParts) {
    let metrics: tf.Scalar[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const out = part();
      metrics = [out.kl, out.entropy, out.clipLow, out.clipHigh, out.ratioMean].map((m) => tf.keep(m));
      return out.loss;
    }, Object.values(trainable));
    const parts = [value, ...metrics];
    const summed = total.length === 0 ? parts : parts.map((m, i) => tf.add(total[i], m));
    if (total.length > 0) tf.dispose([...total, ...parts]);
    total = summed;
    for (const [variableName, g] of Object.entries(grads)) {
      const name = nameOf.get(variableName) ?? variableName;
      const previous = named[name];
      named[name] = previous ? tf.add(previous, g) : g;
      if (previous) tf.dispose([previous, g]);
    }
  }
  const gradNorm = optimizer.update(named, lr);
  // DEVICE_METRICS order: loss, kl, entropy, clipLow, clipHigh, ratioMean, gradNorm.
  const packed = tf.tidy(() =>
    concatInGroups([...total, gradNorm].map((m) => m.reshape([1]))),
  ) as tf.Tensor1D;
  tf.dispose([gradNorm, ...total, ...Object.values(named)]);
  if (packed.shape[0] !== DEVICE_METRICS.length)
    throw new Error('device metrics out of step with DEVICE_METRICS');
  return packed;
}
