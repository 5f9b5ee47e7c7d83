// rmsNorm(x (N, C), g (C), eps) → (N, C): x / sqrt(mean(x²) + eps) · g over the last axis.
// The composite is 6 tfjs kernels (square, mean, add, rsqrt, mul, mul); on webgpu this runs as one program,
// one workgroup of 64 threads per row: each thread sums the squares of a strided slice of the row, a
// shared-memory tree adds the 64 partial sums, and every thread writes its slice of the normalised row.
import * as tf from '../tfjs';
import { onWebGpu, registerWebGpuKernel, requireFloat32, runFused } from './webgpu-kernel';

export const RMS_NORM_KERNEL = 'EdgelightRmsNorm';
const THREADS = 64;

registerWebGpuKernel(RMS_NORM_KERNEL, ['rows', 'gain'], (inputs, attrs) => {
  const [N, C] = inputs[0].shape;
  return {
    program: {
      variableNames: ['rows', 'gain'],
      outputShape: [N, C],
      shaderKey: 'edgelightRmsNorm',
      dispatchLayout: { x: [0, 1] },
      dispatch: [N, 1, 1],
      workgroupSize: [THREADS, 1, 1],
      uniforms: 'eps : f32,',
      getUserCode: () => `
    var<workgroup> partial : array<f32, ${THREADS}>;
    fn main(index : i32) {
      let row = index / ${THREADS};
      let tid = i32(localId.x);
      let cols = uniforms.rowsShape[1];
      let start = row * cols;
      var sumSquares = 0.0;
      for (var c = tid; c < cols; c += ${THREADS}) {
        let value = rows[start + c];
        sumSquares += value * value;
      }
      partial[tid] = sumSquares;
      workgroupBarrier();
      for (var half = ${THREADS / 2}; half > 0; half = half >> 1) {
        if (tid < half) {
          partial[tid] = partial[tid] + partial[tid + half];
        }
        workgroupBarrier();
      }
      let inverseRms = 1.0 / sqrt(partial[0] / f32(cols) + uniforms.eps);
      // Over 65,535 rows tfjs reshapes the dispatch into a grid that may hold spare workgroups: they
      // take part in the barriers above but write nothing.
      if (row < uniforms.rowsShape[0]) {
        for (var c = tid; c < cols; c += ${THREADS}) {
          result[start + c] = rows[start + c] * inverseRms * gain[c];
        }
      }
    }`,
    },
    uniforms: [{ type: 'float32', data: [attrs.eps as number] }],
  };
});

/** The reference: exactly the composite shared/policy/model.ts runs today. */
export function rmsNormComposite(x: tf.Tensor2D, gain: tf.Tensor1D, eps: number): tf.Tensor2D {
  const meanSquare = tf.mean(tf.square(x), -1, true); // (N, 1)
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), gain); // (N, C)
}

/**
 * RMSNorm with a hand-written gradient. With r = (mean_c x² + eps)^(−1/2) per row and u = dy ⊙ g:
 *   dx = r·u − x · r³ · mean_c(u ⊙ x),   dg = Σ_rows dy ⊙ x · r.
 */
export function rmsNorm(x: tf.Tensor2D, gain: tf.Tensor1D, eps: number): tf.Tensor2D {
  if (x.rank !== 2 || gain.rank !== 1 || gain.shape[0] !== x.shape[1])
    throw new Error(`rmsNorm: expected x (N, C) and g (C), got x [${x.shape}] and g [${gain.shape}]`);
  requireFloat32('rmsNorm', { x, g: gain });
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xIn, gIn, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([xIn, gIn]);
    const value = onWebGpu()
      ? runFused<tf.Tensor2D>(RMS_NORM_KERNEL, { rows: xIn, gain: gIn }, { eps })
      : rmsNormComposite(xIn, gIn, eps); // (N, C)
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs] = saved as [tf.Tensor2D, tf.Tensor1D];
        const r = tf.rsqrt(tf.add(tf.mean(tf.square(xs), -1, true), eps)); // (N, 1)
        const u = tf.mul(dy, gs); // (N, C)
        const projection = tf.mean(tf.mul(u, xs), -1, true); // (N, 1)
        const dx = tf.sub(tf.mul(u, r), tf.mul(xs, tf.mul(tf.pow(r, 3), projection))); // (N, C)
        const dg = tf.sum(tf.mul(dy, tf.mul(xs, r)), 0); // (C)
        return [dx, dg];
      },
    };
  });
  return op(x, gain) as tf.Tensor2D;
}
