// Token-level quantities shared by SFT and the policy-gradient losses.
//
//   tokenLogprobs(logits, targets)  log softmax(logits)[target] per row, (N, V) × (N) → (N), with a fused
//                                   gradient: d/dlogits = dy · (onehot(target) − softmax(logits))
//   tokenEntropy(logits)            entropy of softmax(logits) per row, (N); a metric (not differentiated)
//   chunkLogits(policy, packed, r)  the policy's logits and the targets of rows r of a packed batch
//
// Both read the raw logits at temperature 1: these are the policy's own log-probabilities, the ones the
// importance ratio π_θ / π_old compares (sampling.ts returns the same quantity for sampled tokens).
import * as tf from '../policy/tfjs';
import type { Policy } from '../policy/model';
import { oneHotFloat } from '../policy/ops';
import { type PackedBatch, type RowRange, sliceRows } from './batch';

/**
 * Logits (rows·T, V) and next-token targets (rows·T) for rows [start, end) of a packed batch; a copy
 * head points into each row's prompt only.
 */
export function chunkLogits(
  policy: Policy,
  packed: PackedBatch,
  range: RowRange,
): { logits: tf.Tensor2D; targets: tf.Tensor1D } {
  const [start, end] = range;
  const inputs = tf.tensor2d(sliceRows(packed.inputs, packed.T, range), [end - start, packed.T], 'int32');
  const logits = policy.forward(inputs, { promptLengths: packed.promptLength.slice(start, end) });
  return { logits, targets: tf.tensor1d(sliceRows(packed.targets, packed.T, range), 'int32') };
}

export function tokenLogprobs(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const V = logits.shape[1];
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, target, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    const lse = tf.logSumExp(x, 1); // (N)
    const picked = tf.sum(tf.mul(x, oneHotFloat(target, V)), 1); // (N)
    save([x, lse, target]);
    return {
      value: tf.sub(picked, lse), // (N)
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, lseSaved, targetSaved] = saved;
        const probs = tf.exp(tf.sub(xs, tf.expandDims(lseSaved, 1))); // (N, V)
        const oneHot = oneHotFloat(targetSaved as tf.Tensor1D, V); // (N, V)
        return [tf.mul(tf.sub(oneHot, probs), tf.expandDims(dy, 1)), tf.zerosLike(targetSaved)];
      },
    };
  });
  return op(logits, targets) as tf.Tensor1D;
}

export function tokenEntropy(logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const lse = tf.logSumExp(logits, 1, true); // (N, 1)
    const logp = tf.sub(logits, lse); // (N, V)
    return tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1)) as tf.Tensor1D; // (N)
  });
}
