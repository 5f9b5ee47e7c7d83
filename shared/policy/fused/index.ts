// Fused kernels (issue 22): one WebGPU program each where tfjs runs several, the composite elsewhere.
//
//   rmsNorm(x (N, C), g (C), eps)              → (N, C)        1 program for 6 kernels
//   swiglu(h (N, 2H))                          → (N, H)        silu(gate) ⊙ up on [gate | up], 1 for 5
//   loraLinear(x, W, A, B, scale)              → (N, out)      x·W + scale·(x·A)·B, 3 for 4–5
//   decodeAttention(q, kCache, vCache, keyBias) → (B, nh, 1, hs) one decoded token, GQA, no gradient
//   decodeAttentionQkv(qkv, kCache, vCache, keyBias, rope, scale) → (B, nh, 1, hs)  the same, q cut from the
//                                              fused projection, rotated and scaled inside the program
//   kvAppend(cache, qkv, start, slot, rope)    → (B, nkv, S, hs) the cache with one slot set to a k or v head
//                                              of qkv (rotated for the keys), no gradient
//
// Each has its composite (`…Composite`) exported as the reference the tests compare against. Importing this
// module registers the webgpu kernels (EdgelightRmsNorm, EdgelightSwiglu, EdgelightLoraUpdate,
// EdgelightDecodeAttention, EdgelightDecodeAttentionQkv, EdgelightKvAppend); on cpu, wasm and webgl the
// functions run the composite, and so does webgpu after useFusedKernels(false) (to measure what the fusion
// saves).
export { DECODE_ATTENTION_KERNEL, decodeAttention, decodeAttentionComposite } from './decode-attention';
export {
  DECODE_ATTENTION_QKV_KERNEL,
  decodeAttentionQkv,
  decodeAttentionQkvComposite,
} from './decode-attention-qkv';
export type { DecodeRope } from './decode-rope';
export { KV_APPEND_KERNEL, kvAppend, kvAppendComposite } from './kv-append';
export { LORA_UPDATE_KERNEL, loraLinear, loraLinearComposite } from './lora-linear';
export { RMS_NORM_KERNEL, rmsNorm, rmsNormComposite } from './rms-norm';
export { SWIGLU_KERNEL, swiglu, swigluComposite } from './swiglu';
export { onWebGpu, useFusedKernels } from './webgpu-kernel';
