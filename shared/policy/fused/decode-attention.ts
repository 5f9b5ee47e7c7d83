// decodeAttention(q (B, nh, 1, hs), kCache (B, nkv, S, hs), vCache (B, nkv, S, hs), keyBias (B, 1, 1, S))
// → (B, nh, 1, hs): softmax(q·kᵀ + keyBias)·v for one decoded token per row, q already scaled by 1/√hs
// (as shared/policy/ops.ts's attention expects), grouped-query aware: query head h reads kv head
// floor(h / (nh / nkv)). The composite expands the kv heads (2 tiles), then matMul, add, softmax, matMul;
// on webgpu one program does it all, one workgroup of 64 threads per (row, query head):
//   pass 1: each thread scores a strided set of slots, a shared-memory tree takes the row maximum;
//   pass 2: tiles of 64 slots: each thread writes exp(score − max) of one slot to shared memory, then
//           thread t adds w_s · v[s, d] for its output columns d = t, t + 64, …; the exp sum is reduced last
//           and divides the accumulated row.
// Decoding only: asking for a gradient throws.
import { attention, repeatHeads } from '../ops';
import * as tf from '../tfjs';
import { ROPED_WGSL } from './decode-rope';
import { onWebGpu, registerWebGpuKernel, requireFloat32, runFused } from './webgpu-kernel';

export const DECODE_ATTENTION_KERNEL = 'EdgelightDecodeAttention';
const THREADS = 64;

/** The output columns each of a workgroup's 64 threads accumulates: sizes a private array, so it keys the shader. */
export const columnsPerThread = (hs: number) => Math.ceil(hs / THREADS);

registerWebGpuKernel(DECODE_ATTENTION_KERNEL, ['queries', 'keys', 'values', 'keyBias'], (inputs) => {
  const [B, nh, , hs] = inputs[0].shape;
  const columns = columnsPerThread(hs);
  return {
    program: {
      variableNames: ['queries', 'keys', 'values', 'keyBias'],
      outputShape: [B, nh, 1, hs],
      // columnsPerThread sizes a private array in the WGSL text, so it is part of the key.
      shaderKey: `edgelightDecodeAttention_${columns}`,
      dispatchLayout: { x: [0, 1, 2, 3] },
      dispatch: [B * nh, 1, 1],
      workgroupSize: [THREADS, 1, 1],
      getUserCode: () => attentionWgsl(columns, 'queries'),
    },
  };
});

/**
 * The program's WGSL, one workgroup per (row, query head). `query`: where q comes from. 'queries': the
 * (B, nh, 1, hs) input, read as it is. 'qkv': decodeAttentionQkv's (decode-attention-qkv.ts): the head is
 * cut from the fused projection, rotated (decode-rope.ts's `roped`) and scaled into workgroup memory
 * first, so the score loops read it from there.
 */
export function attentionWgsl(columns: number, query: 'queries' | 'qkv'): string {
  const fromQkv = query === 'qkv';
  return `
    var<workgroup> partial : array<f32, ${THREADS}>;
    var<workgroup> weights : array<f32, ${THREADS}>;
    ${
      fromQkv
        ? `var<workgroup> query : array<f32, ${THREADS * columns}>;
    ${ROPED_WGSL}`
        : ''
    }
    fn score(queryStart : i32, keyStart : i32, hs : i32) -> f32 {
      var total = 0.0;
      for (var d = 0; d < hs; d++) {
        total += ${fromQkv ? 'query[d]' : 'queries[queryStart + d]'} * keys[keyStart + d];
      }
      return total;
    }
    fn main(index : i32) {
      let head = index / ${THREADS};
      let tid = i32(localId.x);
      let nh = uniforms.outShape[1];
      let hs = uniforms.outShape[3];
      let nkv = uniforms.keysShape[1];
      let slots = uniforms.keysShape[2];
      let b = head / nh;
      let h = head - b * nh;
      let kvHead = h / (nh / nkv);
      let queryStart = head * hs;
      let cacheStart = (b * nkv + kvHead) * slots * hs;
      let biasStart = select(b, 0, uniforms.keyBiasShape[0] == 1) * slots;
${
  fromQkv
    ? `
      for (var p = 0; p < ${columns}; p++) {
        let d = tid + p * ${THREADS};
        if (d < hs) {
          query[d] = roped(b, h * hs, d, hs) * uniforms.scale;
        }
      }
      workgroupBarrier();
`
    : ''
}
      var threadMax = -3.402823e+38f;
      for (var s = tid; s < slots; s += ${THREADS}) {
        threadMax = max(threadMax, score(queryStart, cacheStart + s * hs, hs) + keyBias[biasStart + s]);
      }
      partial[tid] = threadMax;
      workgroupBarrier();
      for (var half = ${THREADS / 2}; half > 0; half = half >> 1) {
        if (tid < half) {
          partial[tid] = max(partial[tid], partial[tid + half]);
        }
        workgroupBarrier();
      }
      let rowMax = partial[0];
      workgroupBarrier();

      var expSum = 0.0;
      var acc : array<f32, ${columns}>;
      for (var start = 0; start < slots; start += ${THREADS}) {
        let s = start + tid;
        var w = 0.0;
        if (s < slots) {
          w = exp(score(queryStart, cacheStart + s * hs, hs) + keyBias[biasStart + s] - rowMax);
        }
        weights[tid] = w;
        expSum += w;
        workgroupBarrier();
        let count = min(${THREADS}, slots - start);
        for (var j = 0; j < count; j++) {
          let weight = weights[j];
          let valueStart = cacheStart + (start + j) * hs;
          for (var p = 0; p < ${columns}; p++) {
            let d = tid + p * ${THREADS};
            if (d < hs) {
              acc[p] += weight * values[valueStart + d];
            }
          }
        }
        workgroupBarrier();
      }
      partial[tid] = expSum;
      workgroupBarrier();
      for (var half = ${THREADS / 2}; half > 0; half = half >> 1) {
        if (tid < half) {
          partial[tid] = partial[tid] + partial[tid + half];
        }
        workgroupBarrier();
      }
      let total = partial[0];
      // Spare workgroups of a reshaped dispatch (over 65,535 heads) write nothing.
      let isRealHead = head < uniforms.outShape[0] * nh;
      for (var p = 0; p < ${columns}; p++) {
        let d = tid + p * ${THREADS};
        if (isRealHead && d < hs) {
          result[queryStart + d] = acc[p] / total;
        }
      }
    }`;
}

/** The reference: what the model's decode step runs today (expanded kv heads, ops.ts's attention). */
export function decodeAttentionComposite(
  q: tf.Tensor4D,
  kCache: tf.Tensor4D,
  vCache: tf.Tensor4D,
  keyBias: tf.Tensor4D,
): tf.Tensor4D {
  const groups = q.shape[1] / kCache.shape[1];
  return attention(q, repeatHeads(kCache, groups), repeatHeads(vCache, groups), keyBias); // (B, nh, 1, hs)
}

export function decodeAttention(
  q: tf.Tensor4D,
  kCache: tf.Tensor4D,
  vCache: tf.Tensor4D,
  keyBias: tf.Tensor4D,
): tf.Tensor4D {
  const [B, nh, Tq, hs] = q.shape;
  const [kB, nkv, S, kHs] = kCache.shape;
  const shapesAgree =
    q.rank === 4 &&
    kCache.rank === 4 &&
    Tq === 1 &&
    kB === B &&
    kHs === hs &&
    nkv >= 1 &&
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
      `decodeAttention: expected q (B, nh, 1, hs), kCache and vCache (B, nkv, S, hs) with nkv dividing nh, keyBias (B, 1, 1, S); got q [${q.shape}], kCache [${kCache.shape}], vCache [${vCache.shape}], keyBias [${keyBias.shape}]`,
    );
  requireFloat32('decodeAttention', { q, kCache, vCache, keyBias });
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qIn, kIn, vIn, biasIn] = args as tf.Tensor4D[];
    const value = onWebGpu()
      ? runFused<tf.Tensor4D>(DECODE_ATTENTION_KERNEL, {
          queries: qIn,
          keys: kIn,
          values: vIn,
          keyBias: biasIn,
        })
      : decodeAttentionComposite(qIn, kIn, vIn, biasIn);
    return {
      value, // (B, nh, 1, hs)
      gradFunc: () => {
        throw new Error(
          'decodeAttention has no gradient: it is for decoding only; train through the full forward (ops.ts attention)',
        );
      },
    };
  });
  return op(q, kCache, vCache, keyBias) as tf.Tensor4D;
}
