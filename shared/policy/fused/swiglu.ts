// swiglu(h (N, 2H)) → (N, H): silu(gate) ⊙ up, with h's columns [gate | up] (the issue-22 contract's
// layout of `mlp.wfc`). The composite is 4 kernels (slice, slice, sigmoid·x as 2, mul — 5 with both
// slices); on webgpu it is one element-wise program over the (N, H) output reading both halves of h.
import * as tf from '../tfjs';
import { onWebGpu, registerWebGpuKernel, requireFloat32, runFused } from './webgpu-kernel';

export const SWIGLU_KERNEL = 'EdgelightSwiglu';
const THREADS = 64;

registerWebGpuKernel(SWIGLU_KERNEL, ['gateUp'], (inputs) => {
  const [N, twoH] = inputs[0].shape;
  const H = twoH / 2;
  return {
    program: {
      variableNames: ['gateUp'],
      outputShape: [N, H],
      shaderKey: 'edgelightSwiglu',
      dispatchLayout: { x: [0, 1] },
      dispatch: [Math.ceil((N * H) / THREADS), 1, 1],
      workgroupSize: [THREADS, 1, 1],
      size: true,
      // The same sigmoid expression as tfjs-backend-webgpu 4.22's SIGMOID (dist/unary_op_util.js).
      getUserCode: () => `
    fn main(index : i32) {
      if (index < uniforms.size) {
        let hidden = uniforms.outShape[1];
        let row = index / hidden;
        let col = index - row * hidden;
        let gate = gateUp[row * 2 * hidden + col];
        let up = gateUp[row * 2 * hidden + hidden + col];
        result[index] = gate * (1.0 / (1.0 + exp(-1.0 * gate))) * up;
      }
    }`,
    },
  };
});

/** The reference: silu(gate) ⊙ up as shared/policy/ops.ts's silu and a mul compute it. */
export function swigluComposite(h: tf.Tensor2D): tf.Tensor2D {
  const [N, twoH] = h.shape;
  const H = twoH / 2;
  const gate = tf.slice(h, [0, 0], [N, H]); // (N, H)
  const up = tf.slice(h, [0, H], [N, H]); // (N, H)
  return tf.mul(tf.mul(gate, tf.sigmoid(gate)), up); // (N, H)
}

/**
 * SwiGLU with a hand-written gradient. With s = sigmoid(gate):
 *   d gate = dy ⊙ up ⊙ s ⊙ (1 + gate ⊙ (1 − s)),   d up = dy ⊙ gate ⊙ s,   dh = [d gate | d up].
 */
export function swiglu(h: tf.Tensor2D): tf.Tensor2D {
  if (h.rank !== 2 || h.shape[1] % 2 !== 0)
    throw new Error(`swiglu: expected h (N, 2H) with an even column count, got [${h.shape}]`);
  requireFloat32('swiglu', { h });
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [hIn, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([hIn]);
    const value = onWebGpu() ? runFused<tf.Tensor2D>(SWIGLU_KERNEL, { gateUp: hIn }) : swigluComposite(hIn);
    return {
      value, // (N, H)
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [hs] = saved as [tf.Tensor2D];
        const [N, twoH] = hs.shape;
        const H = twoH / 2;
        const gate = tf.slice(hs, [0, 0], [N, H]); // (N, H)
        const up = tf.slice(hs, [0, H], [N, H]); // (N, H)
        const s = tf.sigmoid(gate); // (N, H)
        const dSilu = tf.mul(s, tf.add(1, tf.mul(gate, tf.sub(1, s)))); // d silu / d gate, (N, H)
        const dGate = tf.mul(tf.mul(dy, up), dSilu); // (N, H)
        const dUp = tf.mul(dy, tf.mul(gate, s)); // (N, H)
        return tf.concat([dGate, dUp], 1); // (N, 2H)
      },
    };
  });
  return op(h) as tf.Tensor2D;
}
