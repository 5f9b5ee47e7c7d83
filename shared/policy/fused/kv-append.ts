// kvAppend(cache (B, nkv, S, hs), qkv (B, W), start, slot, rope | null) → (B, nkv, S, hs): the cache with
// slot `slot` of every (row, kv head) set to that head of the decoded token's projection, rotated for the
// row's position when `rope` is given (the keys) and as it is when not (the values):
//
//   out[b, h, s, d] = s == slot ? roped(b, start + h·hs, d) : cache[b, h, s, d]     (decode-rope.ts)
//
// It replaces, per layer and cache, the model's split of qkv, the rope chain on k (rotation matMul, two
// multiplies, an add), the head transpose and tensorScatterUpdate's two programs (a copy, then the
// scatter): 9 programs for the keys and 4 for the values on webgpu before, 1 each now (the test counts
// them). Like tensorScatterUpdate it makes a new cache (one thread per element, a copy but for one slot),
// so the caller's old cache stays valid until it disposes it. Decoding only: asking for a gradient throws.
import * as tf from '../tfjs';
import {
  checkRope,
  type DecodeRope,
  ROPE_INPUT_NAMES,
  ROPED_WGSL,
  ropedHeadsComposite,
  ropeInputs,
} from './decode-rope';
import { onWebGpu, registerWebGpuKernel, requireFloat32, runFused } from './webgpu-kernel';

export const KV_APPEND_KERNEL = 'EdgelightKvAppend';
const THREADS = 64;

registerWebGpuKernel(KV_APPEND_KERNEL, ['cache', 'qkv', ...ROPE_INPUT_NAMES], (inputs, attrs) => {
  const shape = inputs[0].shape;
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    program: {
      variableNames: ['cache', 'qkv', ...ROPE_INPUT_NAMES],
      outputShape: shape,
      shaderKey: 'edgelightKvAppend',
      dispatchLayout: { x: [0, 1, 2, 3] },
      dispatch: [Math.ceil(size / THREADS), 1, 1],
      workgroupSize: [THREADS, 1, 1],
      size: true,
      uniforms: 'start : i32, slot : i32, rotary : i32,',
      getUserCode: () => `
    ${ROPED_WGSL}
    fn main(index : i32) {
      if (index < uniforms.size) {
        let nkv = uniforms.cacheShape[1];
        let slots = uniforms.cacheShape[2];
        let hs = uniforms.cacheShape[3];
        let headSlot = index / hs; // (b·nkv + h)·S + s
        let d = index - headSlot * hs;
        let head = headSlot / slots; // b·nkv + h
        let s = headSlot - head * slots;
        if (s == uniforms.slot) {
          let b = head / nkv;
          let h = head - b * nkv;
          result[index] = roped(b, uniforms.start + h * hs, d, hs);
        } else {
          result[index] = cache[index];
        }
      }
    }`,
    },
    uniforms: [
      { type: 'int32', data: [attrs.start as number] },
      { type: 'int32', data: [attrs.slot as number] },
      { type: 'int32', data: [attrs.rotary as number] },
    ],
  };
});

/** The reference: the heads cut from qkv (rotated or not), written with tensorScatterUpdate as model.ts did. */
export function kvAppendComposite(
  cache: tf.Tensor4D,
  qkv: tf.Tensor2D,
  start: number,
  slot: number,
  rope: DecodeRope | null,
): tf.Tensor4D {
  const [B, nkv, , hs] = cache.shape;
  const heads = ropedHeadsComposite(qkv, start, nkv, hs, rope); // (B, nkv, hs)
  const at = new Int32Array(B * nkv * 3);
  for (let r = 0; r < B * nkv; r++) at.set([Math.floor(r / nkv), r % nkv, slot], r * 3);
  const indices = tf.tensor2d(at, [B * nkv, 3], 'int32'); // (B·nkv, 3): [row, head, slot]
  return tf.tensorScatterUpdate(cache, indices, heads.reshape([B * nkv, hs])) as tf.Tensor4D;
}

export function kvAppend(
  cache: tf.Tensor4D,
  qkv: tf.Tensor2D,
  start: number,
  slot: number,
  rope: DecodeRope | null,
): tf.Tensor4D {
  const [B, nkv, S, hs] = cache.shape;
  const shapesAgree =
    cache.rank === 4 &&
    qkv.rank === 2 &&
    qkv.shape[0] === B &&
    Number.isInteger(start) &&
    start >= 0 &&
    start + nkv * hs <= qkv.shape[1] &&
    Number.isInteger(slot) &&
    slot >= 0 &&
    slot < S;
  if (!shapesAgree)
    throw new Error(
      `kvAppend: expected cache (B, nkv, S, hs), qkv (B, W) with columns [start, start + nkv·hs) inside W and 0 ≤ slot < S; got cache [${cache.shape}], qkv [${qkv.shape}], start ${start}, slot ${slot}`,
    );
  checkRope('kvAppend', rope, B, hs);
  requireFloat32('kvAppend', { cache, qkv });
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [cacheIn, qkvIn] = args as [tf.Tensor4D, tf.Tensor2D];
    let value: tf.Tensor4D;
    if (onWebGpu()) {
      const { rotary, ...tables } = ropeInputs(rope, qkvIn);
      value = runFused<tf.Tensor4D>(
        KV_APPEND_KERNEL,
        { cache: cacheIn, qkv: qkvIn, ...tables },
        { start, slot, rotary },
      );
    } else {
      value = kvAppendComposite(cacheIn, qkvIn, start, slot, rope);
    }
    return {
      value, // (B, nkv, S, hs)
      gradFunc: () => {
        throw new Error('kvAppend has no gradient: it is for decoding only');
      },
    };
  });
  return op(cache, qkv) as tf.Tensor4D;
}
