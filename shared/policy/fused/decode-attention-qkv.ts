// decodeAttentionQkv(qkv (B, W), kCache (B, nkv, S, hs), vCache (B, nkv, S, hs), keyBias (B, 1, 1, S),
// rope | null, scale) → (B, nh, 1, hs), W = (nh + 2·nkv)·hs: decodeAttention (decode-attention.ts) with its
// query taken from the fused q | k | v projection of the decoded token:
//
//   q[b, h, 0, d] = scale · roped(b, h·hs, d)                      (decode-rope.ts; = x without rope)
//   out = softmax(q·kᵀ + keyBias)·v, query head h reading kv head ⌊h / (nh / nkv)⌋
//
// On webgpu the query's split from qkv, its rope chain (rotation matMul, two multiplies, an add), the
// 1/√hs scale and the head transpose (7 programs of the model's composite) run inside the attention
// program: each workgroup writes its head's rotated, scaled query to workgroup memory before scoring.
// With kvAppend for the two caches, a layer's attention is 3 programs where it was 20 (test/unit/policy/
// fused.test.ts counts both). Decoding only: asking for a gradient throws.
import * as tf from '../tfjs';
import { attentionWgsl, columnsPerThread, decodeAttentionComposite } from './decode-attention';
import { checkRope, type DecodeRope, ROPE_INPUT_NAMES, ropedHeadsComposite, ropeInputs } from './decode-rope';
import { onWebGpu, registerWebGpuKernel, requireFloat32, runFused } from './webgpu-kernel';

export const DECODE_ATTENTION_QKV_KERNEL = 'EdgelightDecodeAttentionQkv';

registerWebGpuKernel(
  DECODE_ATTENTION_QKV_KERNEL,
  ['qkv', 'keys', 'values', 'keyBias', ...ROPE_INPUT_NAMES],
  (inputs, attrs) => {
    const [B, W] = inputs[0].shape;
    const [, nkv, , hs] = inputs[1].shape;
    const nh = W / hs - 2 * nkv;
    const columns = columnsPerThread(hs);
    return {
      program: {
        variableNames: ['qkv', 'keys', 'values', 'keyBias', ...ROPE_INPUT_NAMES],
        outputShape: [B, nh, 1, hs],
        // columns sizes a private and a workgroup array in the WGSL text, so it is part of the key.
        shaderKey: `edgelightDecodeAttentionQkv_${columns}`,
        dispatchLayout: { x: [0, 1, 2, 3] },
        dispatch: [B * nh, 1, 1],
        workgroupSize: [64, 1, 1],
        uniforms: 'scale : f32, rotary : i32,',
        getUserCode: () => attentionWgsl(columns, 'qkv'),
      },
      uniforms: [
        { type: 'float32', data: [attrs.scale as number] },
        { type: 'int32', data: [attrs.rotary as number] },
      ],
    };
  },
);

/** The reference: q cut from qkv, rotated, scaled and laid out as heads, then decodeAttention's composite. */
export function decodeAttentionQkvComposite(
  qkv: tf.Tensor2D,
  kCache: tf.Tensor4D,
  vCache: tf.Tensor4D,
  keyBias: tf.Tensor4D,
  rope: DecodeRope | null,
  scale: number,
): tf.Tensor4D {
  const [B, W] = qkv.shape;
  const [, nkv, , hs] = kCache.shape;
  const nh = W / hs - 2 * nkv;
  const q = tf.mul(ropedHeadsComposite(qkv, 0, nh, hs, rope), scale).reshape([B, nh, 1, hs]); // (B, nh, 1, hs)
  return decodeAttentionComposite(q as tf.Tensor4D, kCache, vCache, keyBias);
}

export function decodeAttentionQkv(
  qkv: tf.Tensor2D,
  kCache: tf.Tensor4D,
  vCache: tf.Tensor4D,
  keyBias: tf.Tensor4D,
  rope: DecodeRope | null,
  scale: number,
): tf.Tensor4D {
  const [B, W] = qkv.shape;
  const [kB, nkv, S, hs] = kCache.shape;
  const nh = W / hs - 2 * nkv;
  const shapesAgree =
    qkv.rank === 2 &&
    kCache.rank === 4 &&
    kB === B &&
    nkv >= 1 &&
    Number.isInteger(nh) &&
    nh >= nkv &&
    nh % nkv === 0 &&
    vCache.rank === 4 &&
    vCache.shape.every((d, i) => d === kCache.shape[i]) &&
    keyBias.rank === 4 &&
    (keyBias.shape[0] === B || keyBias.shape[0] === 1) &&
    keyBias.shape[1] === 1 &&
    keyBias.shape[2] === 1 &&
    keyBias.shape[3] === S;
  if (!shapesAgree)
    throw new Error(
      `decodeAttentionQkv: expected qkv (B, (nh + 2·nkv)·hs), kCache and vCache (B, nkv, S, hs) with nkv dividing nh, keyBias (B, 1, 1, S); got qkv [${qkv.shape}], kCache [${kCache.shape}], vCache [${vCache.shape}], keyBias [${keyBias.shape}]`,
    );
  if (!Number.isFinite(scale)) throw new Error(`decodeAttentionQkv: scale must be finite, got ${scale}`);
  checkRope('decodeAttentionQkv', rope, B, hs);
  requireFloat32('decodeAttentionQkv', { qkv, kCache, vCache, keyBias });
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qkvIn, kIn, vIn, biasIn] = args as [tf.Tensor2D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    let value: tf.Tensor4D;
    if (onWebGpu()) {
      const { rotary, ...tables } = ropeInputs(rope, qkvIn);
      value = runFused<tf.Tensor4D>(
        DECODE_ATTENTION_QKV_KERNEL,
        { qkv: qkvIn, keys: kIn, values: vIn, keyBias: biasIn, ...tables },
        { scale, rotary },
      );
    } else {
      value = decodeAttentionQkvComposite(qkvIn, kIn, vIn, biasIn, rope, scale);
    }
    return {
      value, // (B, nh, 1, hs)
      gradFunc: () => {
        throw new Error('decodeAttentionQkv has no gradient: it is for decoding only');
      },
    };
  });
  return op(qkv, kCache, vCache, keyBias) as tf.Tensor4D;
}
