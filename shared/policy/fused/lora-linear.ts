// loraLinear(x (N, in), W (in, out), A (in, r), B (r, out), scale, addend?) → x·W + scale·(x·A)·B (+ addend):
// a projection with its LoRA update, and optionally what the model adds to it (the residual stream
// (N, out), or a bias (out)). The composite runs 4 kernels (x·W, x·A, (x·A)·B, add), a 5th (mul) when
// scale ≠ 1 and a 6th for the addend. On webgpu the two big-input matMuls stay tfjs's tiled matMul programs
// (the addend rides in x·W's as tfjs's fused matMul bias), and the rank-r product with B, the scale and the
// add run as one program: out[n, j] = base[n, j] + Σ_k (scale·xa[n, k]) · B[k, j], a loop of r (8–64) per
// output element, cheap next to x·W. 3 dispatches where there were 4 to 6.
import { matMul2d } from '../ops';
import * as tf from '../tfjs';
import { onWebGpu, registerWebGpuKernel, requireFloat32, runFused } from './webgpu-kernel';

export const LORA_UPDATE_KERNEL = 'EdgelightLoraUpdate';
const THREADS = 64;

registerWebGpuKernel(LORA_UPDATE_KERNEL, ['base', 'down', 'up'], (inputs, attrs) => {
  const [N, out] = inputs[0].shape;
  return {
    program: {
      variableNames: ['base', 'down', 'up'],
      outputShape: [N, out],
      shaderKey: 'edgelightLoraUpdate',
      dispatchLayout: { x: [0, 1] },
      dispatch: [Math.ceil((N * out) / THREADS), 1, 1],
      workgroupSize: [THREADS, 1, 1],
      size: true,
      uniforms: 'scale : f32,',
      getUserCode: () => `
    fn main(index : i32) {
      if (index < uniforms.size) {
        let outCols = uniforms.outShape[1];
        let rank = uniforms.downShape[1];
        let row = index / outCols;
        let col = index - row * outCols;
        var update = 0.0;
        for (var k = 0; k < rank; k++) {
          update += (down[row * rank + k] * uniforms.scale) * up[k * outCols + col];
        }
        result[index] = base[index] + update;
      }
    }`,
    },
    uniforms: [{ type: 'float32', data: [attrs.scale as number] }],
  };
});

/** The reference composite: the (N, r) product is scaled (not the (N, out) one), skipped at scale 1. */
export function loraLinearComposite(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  scale: number,
  addend?: tf.Tensor,
): tf.Tensor2D {
  const xa = tf.matMul(x, a); // (N, r)
  const scaled = scale === 1 ? xa : tf.mul(xa, scale); // (N, r)
  const y = tf.add(tf.matMul(x, w), tf.matMul(scaled, b)) as tf.Tensor2D; // (N, out)
  return addend ? tf.add(y, addend) : y;
}

/**
 * x·W + scale·(x·A)·B (+ addend) with a hand-written gradient. With g = dy (N, out) and
 * gB = scale · g·Bᵀ (N, r):
 *   dx = g·Wᵀ + gB·Aᵀ,   dW = xᵀ·g,   dA = xᵀ·gB,   dB = scale · (x·A)ᵀ·g,   d addend = g (Σ over rows for a (out) bias).
 * Gradient matMuls go through ops.ts's matMul2d (explicit transposes where wasm needs them).
 */
export function loraLinear(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  scale: number,
  addend?: tf.Tensor,
): tf.Tensor2D {
  const [, inDim] = x.shape;
  const r = a.shape[1];
  if (
    x.rank !== 2 ||
    w.rank !== 2 ||
    a.rank !== 2 ||
    b.rank !== 2 ||
    w.shape[0] !== inDim ||
    a.shape[0] !== inDim ||
    b.shape[0] !== r ||
    b.shape[1] !== w.shape[1]
  )
    throw new Error(
      `loraLinear: expected x (N, in), W (in, out), A (in, r), B (r, out), got x [${x.shape}], W [${w.shape}], A [${a.shape}], B [${b.shape}]`,
    );
  if (!Number.isFinite(scale)) throw new Error(`loraLinear: scale must be a finite number, got ${scale}`);
  const out = w.shape[1];
  if (
    addend &&
    !(
      (addend.rank === 2 && addend.shape[0] === x.shape[0] && addend.shape[1] === out) ||
      (addend.rank === 1 && addend.shape[0] === out)
    )
  )
    throw new Error(`loraLinear: the addend must be (N, out) or (out), got [${addend.shape}]`);
  requireFloat32('loraLinear', { x, W: w, A: a, B: b, ...(addend ? { addend } : {}) });
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const inputs = args.slice(0, -1) as tf.Tensor[];
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [xIn, wIn, aIn, bIn] = inputs as tf.Tensor2D[];
    const addendIn = inputs[4]; // (N, out), (out) or undefined
    let value: tf.Tensor2D;
    let xa: tf.Tensor2D;
    if (onWebGpu()) {
      xa = tf.matMul(xIn, aIn); // (N, r)
      const base = tf.fused.matMul({ a: xIn, b: wIn, bias: addendIn }) as tf.Tensor2D; // (N, out), + addend
      value = runFused<tf.Tensor2D>(LORA_UPDATE_KERNEL, { base, down: xa, up: bIn }, { scale });
    } else {
      xa = tf.matMul(xIn, aIn); // (N, r)
      const scaled = scale === 1 ? xa : tf.mul(xa, scale); // (N, r)
      value = tf.add(tf.matMul(xIn, wIn), tf.matMul(scaled, bIn)); // (N, out)
      if (addendIn) value = tf.add(value, addendIn);
    }
    save([xIn, wIn, aIn, bIn, xa]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws, as, bs, xas] = saved as tf.Tensor2D[];
        const g = dy as tf.Tensor2D;
        const gb = matMul2d(g, bs, false, true); // (N, r)
        const gbScaled = scale === 1 ? gb : (tf.mul(gb, scale) as tf.Tensor2D); // (N, r)
        const dx = tf.add(matMul2d(g, ws, false, true), matMul2d(gbScaled, as, false, true)); // (N, in)
        const dw = matMul2d(xs, g, true, false); // (in, out)
        const da = matMul2d(xs, gbScaled, true, false); // (in, r)
        const dbUnscaled = matMul2d(xas, g, true, false); // (r, out)
        const db = scale === 1 ? dbUnscaled : tf.mul(dbUnscaled, scale); // (r, out)
        if (!addendIn) return [dx, dw, da, db];
        const dAddend = addendIn.rank === 1 ? tf.sum(g, 0) : g; // (out) or (N, out)
        return [dx, dw, da, db, dAddend];
      },
    };
  });
  const args = addend ? [x, w, a, b, addend] : [x, w, a, b];
  return op(...args) as tf.Tensor2D;
}
