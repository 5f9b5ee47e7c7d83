// The policy: a decoder-only transformer on TensorFlow.js, written to read like nanoGPT's model.py.
//
// API
//   ModelConfigSchema / ModelConfig     the config object (zod); `presetConfig('tiny' | 'small', overrides)`
//   createPolicy(config, { seed })      a fresh model, deterministic from the seed on every backend
//   policy.weights                      Record<string, tf.Variable> with stable names (see weightShapes):
//                                         wte, wpe (learned positions only), h.{i}.ln_1.g, h.{i}.attn.wqkv,
//                                         h.{i}.attn.wo, h.{i}.ln_2.g, h.{i}.mlp.wfc, h.{i}.mlp.wproj, ln_f.g;
//                                         with the architecture options also *.b (layer norm), attn.bqkv,
//                                         attn.bo, mlp.bfc, mlp.bproj and lm_head
//   modelDims(config)                   the resolved sizes: head size, kv heads, MLP hidden width
//   policy.setAdapter(adapter | null)   adds an adapter's delta (LoRA) to every projection
//   policy.forward(ids, opts)           logits (B*T, V) for token ids (B, T); optional key mask, positions and
//                                         (copy head) prompt lengths
//   policy.prefill / policy.decodeStep  the KV-cache path used by sampling.ts
//   policy.loadWeights(record)          assign named tensors (shape-checked), e.g. from a checkpoint
//   clonePolicy(policy, { trainable })  a copy, e.g. the frozen reference for a KL term
//   countParameters(config)             exact counts; describeParameters(config) prints them
//   disposeCache(cache)                 frees a KV cache's tensors
//
// Design notes
// - Pre-norm blocks with RMSNorm, causal self-attention from matMul + softmax, a ReLU² MLP (Primer; two
//   cheap element-wise ops instead of GELU's many), tied input/output embeddings, no biases: the presets.
//   The same blocks also run Hugging Face's GPT-2 and Llama / Qwen2 (shared/hf/architecture.ts maps their
//   config.json and weights): LayerNorm with bias, GELU (tanh) or SwiGLU MLPs, biases, grouped-query
//   attention (nKvHead < nHead), an untied head. Each option's default is the presets' choice, and a
//   preset runs exactly the ops it did before the options existed.
// - Every projection goes through `project`, the one place an adapter (LoRA) adds its update.
// - On webgpu, RMSNorm, SwiGLU and the decode step's attention run as one fused program each
//   (shared/policy/fused/: tfjs launches one program per op, so a small model is dispatch-bound there);
//   the decode step's RoPE, head layout and cache writes go into two kvAppend programs and the attention
//   program, which reads its query from the qkv projection. Every other backend runs the composite ops,
//   bit for bit what it ran before the fused kernels existed.
// - Activations stay 2-D as (B*T, C) between blocks so every projection is one large matMul; q, k, v
//   come from a single fused (C, (nh + 2·nkv)·hs) matMul ((C, 3C) for the presets).
// - The embedding is a gather with a custom gradient (scatterND, which sums repeated ids): tfjs-wasm has
//   no UnsortedSegmentSum, the kernel behind gather's own gradient.
// - Positions are rotary (default) or learned. Rotary's "rotate half" is a matMul with a fixed (hs, hs)
//   matrix, which keeps every op in the differentiated path one with a gradient on every backend.
// - Masks are additive biases (0 or -1e9). Training batches are right-padded, so the causal mask alone
//   keeps real tokens from seeing pads; left-padded sampling batches pass a key mask and positions.
// - Optional copy head (`copy: true`; pointer-generator, See et al. 2017), in copy-head.ts: the next token is
//   drawn from a mixture of the vocabulary distribution and a pointer over the prompt's positions. With the
//   head on, forward() returns the mixture's log-probabilities in place of logits: every consumer (losses,
//   sampling, KL) applies a log-softmax, which leaves normalised log-probs unchanged.
// - RoPE tables are built once per (head size, blockSize, base) and backend and kept (rope.ts).
import * as tf from './tfjs';
import { z } from 'zod';
import { createRng, deriveSeed } from '../random';
import { type PresetName, PresetNameSchema } from './preset-names';
import {
  type CopyCache,
  copyInitialValues,
  copyMixture,
  copyPrompt,
  copyWeightShapes,
  queryTokens,
} from './copy-head';
import type { ProjectionAdapter } from './adapter';
import { type DecodeRope, decodeAttentionQkv, rmsNorm as fusedRmsNorm, kvAppend, swiglu } from './fused';
import { projectFused } from './fused/project';
import { onWebGpu } from './fused/webgpu-kernel';
import { attention, embed, geluTanh, linear, repeatHeads, rotateHalf, silu } from './ops';
import { ropeTables } from './rope';

export const ModelConfigSchema = z
  .object({
    vocabSize: z.number().int().min(2),
    blockSize: z.number().int().min(2),
    nLayer: z.number().int().min(1),
    nHead: z.number().int().min(1),
    nEmbd: z.number().int().min(2),
    mlpRatio: z.number().int().min(1).default(4),
    positions: z.enum(['rope', 'learned']).default('rope'),
    ropeBase: z.number().positive().default(10000),
    padId: z.number().int().min(0).default(0),
    normEps: z.number().positive().default(1e-5),
    /** 'layer': LayerNorm with a gain `.g` and a bias `.b` (GPT-2); 'rms': RMSNorm with a gain only. */
    norm: z.enum(['rms', 'layer']).default('rms'),
    /**
     * 'relu2': relu(x)²; 'gelu_tanh': GELU's tanh approximation (GPT-2's gelu_new); 'swiglu': silu(gate) ⊙ up
     * with `mlp.wfc` holding [gate | up] (Llama).
     */
    mlp: z.enum(['relu2', 'gelu_tanh', 'swiglu']).default('relu2'),
    /** The MLP's hidden width (HF intermediate_size); default mlpRatio · nEmbd. */
    mlpHidden: z.number().int().min(1).optional(),
    /** Key/value heads (grouped-query attention: each serves nHead / nKvHead query heads); default nHead. */
    nKvHead: z.number().int().min(1).optional(),
    /** Width of one attention head; default nEmbd / nHead. */
    headSize: z.number().int().min(1).optional(),
    /** A bias on the fused q, k, v projection (GPT-2, Qwen2). */
    qkvBias: z.boolean().default(false),
    /** A bias on the attention output projection (GPT-2). */
    attnOutBias: z.boolean().default(false),
    /** Biases on both MLP projections (GPT-2; not for swiglu). */
    mlpBias: z.boolean().default(false),
    /** Logits from the input embedding (true) or from a separate `lm_head` (C, V). */
    tiedHead: z.boolean().default(true),
    /** A copy (pointer) head over earlier positions, mixed with the vocabulary by a learned gate. */
    copy: z.boolean().default(false),
    /**
     * The prompts this policy was trained on end with a `Key words:` line (shared/agent/prompt.ts), so
     * every prompt built for it must too. Not an architecture setting, but config.json is what travels
     * with the weights, and a policy sampled on the other format drafts from contexts it never saw.
     */
    promptKeyWords: z.boolean().default(false),
  })
  .refine((c) => c.headSize !== undefined || c.nEmbd % c.nHead === 0, {
    message: 'nEmbd must be divisible by nHead (or give headSize)',
  })
  .refine((c) => c.nHead % (c.nKvHead ?? c.nHead) === 0, {
    message: 'nHead must be divisible by nKvHead (each key/value head serves a whole group of query heads)',
  })
  .refine((c) => c.positions !== 'rope' || (c.headSize ?? c.nEmbd / c.nHead) % 2 === 0, {
    message: 'rotary positions need an even head size (headSize, or nEmbd / nHead)',
  })
  .refine((c) => c.mlp !== 'swiglu' || !c.mlpBias, {
    message: "mlpBias is for the 'relu2' and 'gelu_tanh' MLPs; 'swiglu' has no biases here",
  })
  .refine((c) => !c.copy || (c.tiedHead && c.norm === 'rms'), {
    message: 'the copy head is only built for RMSNorm with a tied head (the presets)',
  })
  .refine((c) => c.padId < c.vocabSize, { message: 'padId must be < vocabSize' });
export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;

export { type PresetName, PresetNameSchema } from './preset-names';

/**
 * Preset shapes. With a 2,048-token vocabulary: tiny ≈ 0.85 M parameters, small ≈ 5.2 M (countParameters).
 * Heads are 64 wide (as GPT-2's): on wasm attention runs head by head, so fewer, wider heads cost less.
 * llama-tiny is tiny's depth and width in Llama's configuration (SwiGLU at ⅔ of the 4× width, rounded
 * to 32, as Llama sizes it; 2 query heads sharing 1 key/value head), so a policy trained here saves as a
 * LlamaForCausalLM folder that transformers and edgelight's --base load (≈ 0.82 M parameters).
 */
export const PRESETS: Record<PresetName, ModelConfigInput> = {
  tiny: { vocabSize: 2048, blockSize: 256, nLayer: 3, nHead: 2, nEmbd: 128, mlpRatio: 4 },
  small: { vocabSize: 2048, blockSize: 256, nLayer: 6, nHead: 4, nEmbd: 256, mlpRatio: 4 },
  'llama-tiny': {
    vocabSize: 2048,
    blockSize: 256,
    nLayer: 3,
    nHead: 2,
    nKvHead: 1,
    nEmbd: 128,
    mlp: 'swiglu',
    mlpHidden: 352,
  },
};

export function presetConfig(name: PresetName, overrides: Partial<ModelConfigInput> = {}): ModelConfig {
  return ModelConfigSchema.parse({ ...PRESETS[PresetNameSchema.parse(name)], ...overrides });
}

export type ModelDims = {
  /** Query heads, key/value heads, and the width of each. */
  nHead: number;
  nKvHead: number;
  headSize: number;
  /** Widths of q (nHead · headSize) and of each of k and v (nKvHead · headSize). */
  qWidth: number;
  kvWidth: number;
  /** The MLP's hidden width H (swiglu's `mlp.wfc` is (C, 2H): [gate | up]). */
  mlpHidden: number;
};

/** The sizes the optional fields resolve to. */
export function modelDims(config: ModelConfig): ModelDims {
  const headSize = config.headSize ?? config.nEmbd / config.nHead;
  const nKvHead = config.nKvHead ?? config.nHead;
  return {
    nHead: config.nHead,
    nKvHead,
    headSize,
    qWidth: config.nHead * headSize,
    kvWidth: nKvHead * headSize,
    mlpHidden: config.mlpHidden ?? config.mlpRatio * config.nEmbd,
  };
}

/**
 * Every weight's name and shape, in a fixed order (the checkpoint order). For the presets (no biases,
 * RMSNorm, tied head) exactly the names and order the model always had; the options only add names.
 */
export function weightShapes(config: ModelConfig): Array<[string, number[]]> {
  const { vocabSize: V, blockSize, nEmbd: C, nLayer } = config;
  const { qWidth, kvWidth, mlpHidden: H } = modelDims(config);
  const layerNorm = config.norm === 'layer';
  const norm = (prefix: string): Array<[string, number[]]> =>
    layerNorm
      ? [
          [`${prefix}.g`, [C]],
          [`${prefix}.b`, [C]],
        ]
      : [[`${prefix}.g`, [C]]];
  const fcWidth = config.mlp === 'swiglu' ? 2 * H : H; // swiglu: [gate | up]
  const shapes: Array<[string, number[]]> = [['wte', [V, C]]];
  if (config.positions === 'learned') shapes.push(['wpe', [blockSize, C]]);
  for (let i = 0; i < nLayer; i++) {
    const h = `h.${i}`;
    shapes.push(...norm(`${h}.ln_1`), [`${h}.attn.wqkv`, [C, qWidth + 2 * kvWidth]]);
    if (config.qkvBias) shapes.push([`${h}.attn.bqkv`, [qWidth + 2 * kvWidth]]);
    shapes.push([`${h}.attn.wo`, [qWidth, C]]);
    if (config.attnOutBias) shapes.push([`${h}.attn.bo`, [C]]);
    shapes.push(...norm(`${h}.ln_2`), [`${h}.mlp.wfc`, [C, fcWidth]]);
    if (config.mlpBias) shapes.push([`${h}.mlp.bfc`, [fcWidth]]);
    shapes.push([`${h}.mlp.wproj`, [H, C]]);
    if (config.mlpBias) shapes.push([`${h}.mlp.bproj`, [C]]);
  }
  shapes.push(...norm('ln_f'));
  if (!config.tiedHead) shapes.push(['lm_head', [C, V]]);
  if (config.copy) shapes.push(...copyWeightShapes(C));
  return shapes;
}

/** Bias vectors (layer norm `.b`, attn.bqkv / bo, mlp.bfc / bproj): initialised to 0. */
const BIAS_NAME = /\.(b|bqkv|bo|bfc|bproj)$/;

export type ParameterCount = {
  total: number;
  embedding: number;
  positions: number;
  perLayer: number;
  norms: number;
  /** The untied output projection `lm_head` (0 when tied). */
  head: number;
  copy: number;
};

/** Exact parameter counts (tied embeddings are counted once). */
export function countParameters(config: ModelConfig): ParameterCount {
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const count: ParameterCount = {
    total: 0,
    embedding: 0,
    positions: 0,
    perLayer: 0,
    norms: 0,
    head: 0,
    copy: 0,
  };
  for (const [name, shape] of weightShapes(config)) {
    const n = size(shape);
    count.total += n;
    if (name === 'wte') count.embedding += n;
    else if (name === 'wpe') count.positions += n;
    else if (name === 'lm_head') count.head += n;
    else if (name.startsWith('copy.')) count.copy += n;
    else if (/\.ln_\w+\.[gb]$|^ln_f\.[gb]$/.test(name)) count.norms += n;
    else if (name.startsWith('h.0.')) count.perLayer += n;
  }
  return count;
}

export function describeParameters(config: ModelConfig): string {
  const c = countParameters(config);
  const m = (n: number) => `${(n / 1e6).toFixed(3)} M`;
  return (
    `${m(c.total)} parameters (${c.total}): embedding ${m(c.embedding)}` +
    (c.head ? `, head ${m(c.head)}, ` : ' (tied), ') +
    `${config.nLayer} layers × ${m(c.perLayer)}, positions ${config.positions}` +
    (c.positions ? ` ${m(c.positions)}` : '') +
    (c.copy ? `, copy head ${m(c.copy)}` : '') +
    `, norms ${c.norms}; d=${config.nEmbd}, heads=${config.nHead}, block=${config.blockSize}, vocab=${config.vocabSize}`
  );
}

/**
 * Init as nanoGPT: N(0, 0.02), residual projections scaled by 1/sqrt(2·nLayer), norm gains 1, biases 0.
 * Each weight draws from its own stream (deriveSeed(seed, name)), so adding weights changes no other.
 */
function initialValues(config: ModelConfig, name: string, shape: number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  if (name.endsWith('.g')) return values.fill(1);
  if (BIAS_NAME.test(name)) return values;
  const fixed = copyInitialValues(name);
  if (fixed) return fixed;
  const residual = name.endsWith('attn.wo') || name.endsWith('mlp.wproj');
  const std = residual ? 0.02 / Math.sqrt(2 * config.nLayer) : 0.02;
  const rng = createRng(deriveSeed(seed, name));
  for (let i = 0; i < n; i++) values[i] = rng.normal() * std;
  return values;
}

/** Additive attention bias: 0 where a query may attend, -1e9 where not. */
const MASKED = -1e9;

export type ForwardOptions = {
  /** (B, T) 1 for real tokens, 0 for padding; only needed when padding precedes real tokens. */
  keyMask?: tf.Tensor2D;
  /** (B, T) int32 position of each token; defaults to 0..T-1 for every row. */
  positions?: tf.Tensor2D;
  /** Return logits for the last position of each row only: (B, V) instead of (B*T, V). */
  lastOnly?: boolean;
  /**
   * Copy head only: per row, how many leading tokens are prompt, the only positions the pointer reads
   * (emitting x[s+1] needs s + 1 < promptLength). Defaults to the whole row.
   */
  promptLengths?: readonly number[];
};

/**
 * Weights a saved record may lack, and the value that reproduces how it ran without them: a copy head
 * saved before `copy.match` existed had no continuation term, i.e. a term of 0.
 */
export const WEIGHTS_ADDED_LATER: ReadonlySet<string> = new Set(['copy.match']);

export type { CopyCache } from './copy-head';

/**
 * Per-layer key and value caches, each (B, nkv, S, hs) (nkv = nKvHead: grouped-query attention caches the
 * shared heads once), preallocated to S slots (+ the copy head's).
 */
export type KVCache = {
  keys: tf.Tensor4D[];
  values: tf.Tensor4D[];
  slots: number;
  /**
   * The tied head's wteᵀ (C, V), made once by the prefill and read by every decode step: transposing the
   * embedding per token was most of a decode step at SmolLM2-135M's shape on wasm (docs/benchmarks.md,
   * "Dispatches"). Absent for an untied head, whose `lm_head` is already (C, V).
   */
  head?: tf.Tensor2D;
  copy?: CopyCache;
};

export function disposeCache(cache: KVCache): void {
  tf.dispose([...cache.keys, ...cache.values]);
  if (cache.head) cache.head.dispose();
  if (cache.copy) tf.dispose(Object.values(cache.copy));
}

/** Rotary tables, widened to q's heads (B | 1, T, nh·hs) and, with fewer kv heads, to k's (B | 1, T, nkv·hs). */
type Rope = { cos: tf.Tensor; sin: tf.Tensor; kCos: tf.Tensor; kSin: tf.Tensor; rotate: tf.Tensor2D };

export class Policy {
  readonly config: ModelConfig;
  readonly weights: Record<string, tf.Variable>;
  private readonly dims: ModelDims;
  private adapter: ProjectionAdapter | null = null;

  constructor(config: ModelConfig, weights: Record<string, tf.Variable>) {
    this.config = config;
    this.weights = weights;
    this.dims = modelDims(config);
    for (const [name, shape] of weightShapes(config)) {
      const w = weights[name];
      if (!w) throw new Error(`policy weight '${name}' is missing`);
      if (!sameShape(w.shape, shape))
        throw new Error(`policy weight '${name}' has shape [${w.shape}], want [${shape}]`);
    }
  }

  /** Trainable variables in checkpoint order. */
  variables(): tf.Variable[] {
    return weightShapes(this.config).map(([name]) => this.weights[name]);
  }

  /**
   * Routes every projection (attn.wqkv, attn.wo, mlp.wfc, mlp.wproj, lm_head) through `adapter`, whose
   * delta is added to x·W; null removes it. The adapter is not owned: the caller disposes it.
   */
  setAdapter(adapter: ProjectionAdapter | null): void {
    this.adapter = adapter;
  }

  /** The adapter set by setAdapter, or null. */
  getAdapter(): ProjectionAdapter | null {
    return this.adapter;
  }

  /**
   * Logits (B*T, V), or (B, V) with `lastOnly`, for token ids (B, T); with a copy head, the mixture's
   * log-probabilities (which a log-softmax leaves unchanged).
   */
  forward(ids: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor2D {
    return tf.tidy(() => {
      const { logits } = this.run(ids, options, false);
      return logits;
    });
  }

  /**
   * Runs the prompt (B, P) through the model and returns the next-token logits (B, V) with a cache of
   * `slots` positions whose first P slots hold the prompt's keys and values.
   */
  prefill(ids: tf.Tensor2D, options: ForwardOptions, slots: number): { logits: tf.Tensor2D; cache: KVCache } {
    const P = ids.shape[1];
    if (slots < P || slots > this.config.blockSize) {
      throw new Error(
        `cache slots ${slots} must be within [prompt length ${P}, blockSize ${this.config.blockSize}]`,
      );
    }
    return tf.tidy(() => {
      const { logits, kv, copy } = this.run(ids, { ...options, lastOnly: true }, true);
      // (B, nkv, P, hs) → (B, nkv, S, hs): the empty slots are written as decoding reaches them.
      const pad = (t: tf.Tensor4D) =>
        tf.pad(t, [
          [0, 0],
          [0, 0],
          [0, slots - P],
          [0, 0],
        ]) as tf.Tensor4D;
      const cache: KVCache = { keys: kv.map((x) => pad(x.k)), values: kv.map((x) => pad(x.v)), slots };
      if (this.config.tiedHead) cache.head = tf.transpose(this.weights.wte as tf.Tensor2D); // (C, V)
      // The pointer reads the prompt only, so its keys are complete after the prefill and decoding adds none.
      if (copy) cache.copy = copy;
      return { logits, cache };
    });
  }

  /**
   * One decoding step: token ids (B) at cache slot `slot` with positions (B). `keyBias` (B, 1, 1, S) is 0 for
   * slots this token may attend to (real tokens up to and including `slot`) and -1e9 elsewhere. Returns the
   * logits (B, V) and the updated cache; the caller disposes the old cache. Every step costs the same
   * whatever the slot: the cache is preallocated and masked, never grown.
   */
  decodeStep(
    ids: tf.Tensor1D,
    positions: tf.Tensor1D,
    slot: number,
    keyBias: tf.Tensor4D,
    cache: KVCache,
  ): { logits: tf.Tensor2D; cache: KVCache } {
    const { nLayer } = this.config;
    const { qWidth } = this.dims;
    const B = ids.shape[0];
    const S = cache.slots;
    if (this.config.copy && !cache.copy)
      throw new Error('this policy has a copy head; its cache needs one too');
    return tf.tidy(() => {
      const w = this.weights;
      let x = embed(w.wte as tf.Tensor2D, ids); // (B, C)
      if (this.config.positions === 'learned') x = tf.add(x, tf.gather(w.wpe, positions)); // (B, C)
      const attend = onWebGpu()
        ? this.fusedDecodeAttention(positions, slot, keyBias)
        : this.compositeDecodeAttention(positions, slot, keyBias, B);
      const keys: tf.Tensor4D[] = [];
      const values: tf.Tensor4D[] = [];
      for (let i = 0; i < nLayer; i++) {
        // y (B, nh, 1, hs) and the layer's caches with this token's slot written, each (B, nkv, S, hs)
        const { y, k, v } = attend(x, i, cache.keys[i], cache.values[i]);
        keys.push(k);
        values.push(v);
        x = this.attnOut(x, y.reshape([B, qWidth]) as tf.Tensor2D, i); // (B, C)
        x = this.mlp(x, i); // (B, C)
      }
      const h = this.finalNorm(x); // (B, C)
      const logits = this.vocabLogits(h, cache.head); // (B, V)
      // The head is the prefill's until the weights change; passed on as a copy (a clone shares the
      // data), since the caller disposes the old cache.
      const head = cache.head ? tf.clone(cache.head) : undefined;
      if (!cache.copy) return { logits, cache: { keys, values, slots: S, head } };
      // The same pointer as the full forward's, one query per row over the prompt side the prefill cached.
      const current = ids.reshape([B, 1]) as tf.Tensor2D; // (B, 1)
      const mixed = copyMixture(w, this.config, h, logits, cache.copy, current, cache.copy.previous); // (B, V)
      // The prompt side is fixed since the prefill; passed on as copies, since the caller disposes the old cache.
      const { keys: pointerKeys, tokens, next, bias } = cache.copy;
      const copy: CopyCache = {
        keys: tf.clone(pointerKeys),
        tokens: tf.clone(tokens),
        next: tf.clone(next),
        bias: tf.clone(bias),
        previous: tf.clone(current),
      };
      return { logits: mixed, cache: { keys, values, slots: S, head, copy } };
    });
  }

  /**
   * A decode step's attention for layer i on cpu, wasm and webgl (and webgpu with the fused kernels off):
   * split qkv, rope, scale, head transposes, a tensorScatterUpdate per cache, ops.ts's attention. The op
   * sequence every backend ran before the fused kernels, kept bit for bit. Returns y (B, nh, 1, hs) and the
   * layer's new caches (B, nkv, S, hs).
   */
  private compositeDecodeAttention(positions: tf.Tensor1D, slot: number, keyBias: tf.Tensor4D, B: number) {
    const { nKvHead: nkv, headSize: hs } = this.dims;
    const rope =
      this.config.positions === 'learned' ? null : this.rope(positions.reshape([B, 1]) as tf.Tensor2D, 1);
    // Write this token's key and value into slot `slot` of every (row, kv head): one copy of the cache
    // plus B·nkv row writes, the same work at every position.
    const at = new Int32Array(B * nkv * 3);
    for (let r = 0; r < B * nkv; r++) at.set([Math.floor(r / nkv), r % nkv, slot], r * 3);
    const slotIndices = tf.tensor2d(at, [B * nkv, 3], 'int32'); // (B·nkv, 3): [row, head, slot]
    const write = (c: tf.Tensor4D, x: tf.Tensor4D) =>
      tf.tensorScatterUpdate(c, slotIndices, x.reshape([B * nkv, hs])) as tf.Tensor4D;
    return (x: tf.Tensor2D, i: number, keys: tf.Tensor4D, values: tf.Tensor4D) => {
      const { q, k, v } = this.qkvHeads(x, i, B, 1, rope); // q (B, nh, 1, hs), k and v (B, nkv, 1, hs)
      const kc = write(keys, k); // (B, nkv, S, hs)
      const vc = write(values, v); // (B, nkv, S, hs)
      const y = attention(q, this.expandKv(kc), this.expandKv(vc), keyBias); // (B, nh, 1, hs)
      return { y, k: kc, v: vc };
    };
  }

  /**
   * The same on webgpu with the fused kernels: 3 programs a layer after the qkv projection, where the
   * composite runs 20 (fused/kv-append.ts, fused/decode-attention-qkv.ts). The keys are rotated and written
   * to their slot by one program, the values by another, and the attention program cuts, rotates and
   * scales the query itself; the rope tables are read at each row's position inside the programs, so
   * neither the per-token gather and tiling of rope() nor the slot indices are made.
   */
  private fusedDecodeAttention(positions: tf.Tensor1D, slot: number, keyBias: tf.Tensor4D) {
    const { qWidth, kvWidth, headSize: hs } = this.dims;
    let rope: DecodeRope | null = null;
    if (this.config.positions === 'rope') {
      const { cos, sin } = ropeTables(hs, this.config.blockSize, this.config.ropeBase); // (L, hs), kept
      rope = { cos, sin, positions };
    }
    const scale = 1 / Math.sqrt(hs);
    return (x: tf.Tensor2D, i: number, keys: tf.Tensor4D, values: tf.Tensor4D) => {
      const qkv = this.qkvProjection(x, i); // (B, qWidth + 2·kvWidth)
      const k = kvAppend(keys, qkv, qWidth, slot, rope); // (B, nkv, S, hs)
      const v = kvAppend(values, qkv, qWidth + kvWidth, slot, null); // (B, nkv, S, hs)
      const y = decodeAttentionQkv(qkv, k, v, keyBias, rope, scale); // (B, nh, 1, hs)
      return { y, k, v };
    };
  }

  /**
   * Assign named tensors to the weights (shape-checked). Unknown or missing names are errors, except
   * `WEIGHTS_ADDED_LATER`, which load as 0.
   */
  loadWeights(record: Record<string, tf.Tensor>): void {
    const expected = new Map(weightShapes(this.config));
    for (const name of Object.keys(record)) {
      if (!expected.has(name)) throw new Error(`unknown policy weight '${name}'`);
    }
    for (const [name, shape] of expected) {
      const t = record[name];
      if (!t && WEIGHTS_ADDED_LATER.has(name)) {
        this.weights[name].assign(tf.zeros(shape));
        continue;
      }
      if (!t) throw new Error(`policy weight '${name}' is missing from the record`);
      if (!sameShape(t.shape, shape))
        throw new Error(`policy weight '${name}' has shape [${t.shape}], want [${shape}]`);
      this.weights[name].assign(t.dtype === 'float32' ? t : tf.cast(t, 'float32'));
    }
  }

  dispose(): void {
    for (const w of Object.values(this.weights)) w.dispose();
  }

  // ---- internals -------------------------------------------------------------------------------

  private run(
    ids: tf.Tensor2D,
    options: ForwardOptions,
    wantCache: boolean,
  ): {
    logits: tf.Tensor2D;
    kv: Array<{ k: tf.Tensor4D; v: tf.Tensor4D }>;
    copy: CopyCache | null;
  } {
    const { blockSize, nLayer, nEmbd: C } = this.config;
    const { qWidth } = this.dims;
    const [B, T] = ids.shape;
    if (T > blockSize) throw new Error(`sequence length ${T} exceeds blockSize ${blockSize}`);
    const w = this.weights;
    let x = embed(w.wte as tf.Tensor2D, ids.reshape([B * T]) as tf.Tensor1D); // (B*T, C)
    let rope: Rope | null = null;
    if (this.config.positions === 'learned') {
      const wpe = w.wpe as tf.Tensor2D;
      const pos = options.positions
        ? embed(wpe, options.positions.reshape([B * T]) as tf.Tensor1D).reshape([B, T, C]) // (B, T, C)
        : tf.slice(wpe, [0, 0], [T, C]); // (T, C), broadcast over B
      x = tf.add(x.reshape([B, T, C]), pos).reshape([B * T, C]);
    } else {
      rope = this.rope(options.positions ?? null, T);
    }
    const bias = attentionBias(B, T, options.keyMask); // (B | 1, 1, T, T)
    const kv: Array<{ k: tf.Tensor4D; v: tf.Tensor4D }> = [];
    for (let i = 0; i < nLayer; i++) {
      const { q, k, v } = this.qkvHeads(x, i, B, T, rope); // q (B, nh, T, hs), k and v (B, nkv, T, hs)
      if (wantCache) kv.push({ k, v });
      const y = attention(q, this.expandKv(k), this.expandKv(v), bias); // (B, nh, T, hs)
      const merged = tf.transpose(y, [0, 2, 1, 3]).reshape([B * T, qWidth]); // (B*T, nh·hs)
      x = this.attnOut(x, merged as tf.Tensor2D, i); // (B*T, C)
      x = this.mlp(x, i); // (B*T, C)
    }
    const h = this.finalNorm(x); // (B*T, C)
    const Tq = options.lastOnly ? 1 : T; // query positions: the last, or all
    const rows = options.lastOnly ? lastPositions(h, B, T) : h; // (B*Tq, C)
    const logits = this.vocabLogits(rows); // (B*Tq, V)
    if (!this.config.copy) return { logits, kv, copy: null };

    // Copy head: its prompt side (keys (B, T, C), tokens and next (B, T), bias (B | 1, Tq, T)) from every
    // position, then the pointer for the Tq query positions — the same function the decode step calls.
    const prompt = copyPrompt(w, this.config, h, ids, Tq, options);
    const { current, previous } = queryTokens(ids, Tq); // each (B, Tq)
    const mixed = copyMixture(w, this.config, rows, logits, prompt, current, previous); // (B*Tq, V)
    // The decode step's cache: ids are the caller's, so cloned; the last token is the next step's previous.
    const copy = wantCache
      ? { ...prompt, tokens: tf.clone(ids), previous: tf.slice(ids, [0, T - 1], [B, 1]) as tf.Tensor2D }
      : null;
    return { logits: mixed, kv, copy };
  }

  /**
   * (residual +) x · W (+ b) (+ the adapter's delta) for the projection named `name`: the one place every
   * projection runs, so an adapter sees them all. x (N, in), W (in, out) → (N, out). `weight` defaults to
   * the weight of that name (the tied head passes wteᵀ); `residual` (N, out) is the stream the output
   * projections add to. On webgpu, fused/project.ts folds the residual (or bias) into the matMul program
   * and runs a whole-weight LoRA as loraLinear; elsewhere the ops below, bit for bit as before.
   */
  private project(
    name: string,
    x: tf.Tensor2D,
    bias?: tf.Tensor,
    weight?: tf.Tensor2D,
    residual?: tf.Tensor2D,
  ): tf.Tensor2D {
    const w = weight ?? (this.weights[name] as tf.Tensor2D); // (in, out)
    if (onWebGpu()) return projectFused(x, w, { bias, residual, adapter: this.adapter, name });
    let y = linear(x, w); // (N, out)
    if (bias) y = tf.add(y, bias);
    const delta = this.adapter?.delta(name, x); // (N, out) or null
    if (delta) y = tf.add(y, delta);
    return residual ? tf.add(residual, y) : y;
  }

  /**
   * q (B, nh, T, hs) and k, v (B, nkv, T, hs) for layer i from the residual stream x (B*T, C): one fused
   * projection whose columns are [q | k | v].
   */
  private qkvHeads(x: tf.Tensor, i: number, B: number, T: number, rope: Rope | null) {
    const { nHead: nh, nKvHead: nkv, headSize: hs, qWidth, kvWidth } = this.dims;
    const qkv = this.qkvProjection(x, i); // (B*T, qWidth + 2·kvWidth)
    let [q, k, v] = (
      qWidth === kvWidth ? tf.split(qkv, 3, 1) : tf.split(qkv, [qWidth, kvWidth, kvWidth], 1)
    ) as tf.Tensor2D[]; // (B*T, nh·hs), (B*T, nkv·hs) × 2
    if (rope) {
      q = applyRope(q, rope.cos, rope.sin, rope.rotate, B, T, hs);
      k = applyRope(k, rope.kCos, rope.kSin, rope.rotate, B, T, hs);
    }
    // Fold attention's 1/sqrt(hs) into q: (B*T, C) is smaller than the (B, nh, T, T) scores.
    q = tf.mul(q, 1 / Math.sqrt(hs));
    const heads = (t: tf.Tensor, n: number) =>
      tf.transpose(t.reshape([B, T, n, hs]), [0, 2, 1, 3]) as tf.Tensor4D; // (B, n, T, hs)
    return { q: heads(q, nh), k: heads(k, nkv), v: heads(v, nkv) };
  }

  /** The fused q | k | v projection of layer i: norm(x) (B*T, C) · wqkv (+ bqkv) → (B*T, qWidth + 2·kvWidth). */
  private qkvProjection(x: tf.Tensor, i: number): tf.Tensor2D {
    const h = this.norm(x as tf.Tensor2D, `h.${i}.ln_1`); // (B*T, C)
    return this.project(`h.${i}.attn.wqkv`, h, this.weights[`h.${i}.attn.bqkv`]);
  }

  /** Keys or values (B, nkv, T, hs) for all nh query heads (B, nh, T, hs); as they are without GQA. */
  private expandKv(t: tf.Tensor4D): tf.Tensor4D {
    const { nHead, nKvHead } = this.dims;
    return nKvHead === nHead ? t : repeatHeads(t, nHead / nKvHead);
  }

  /** The residual stream x (N, C) plus layer i's attention output projection of y (N, nh·hs): (N, C). */
  private attnOut(x: tf.Tensor2D, y: tf.Tensor2D, i: number): tf.Tensor2D {
    return this.project(`h.${i}.attn.wo`, y, this.weights[`h.${i}.attn.bo`], undefined, x);
  }

  /**
   * The residual stream x plus the MLP branch for layer i, (N, C) → (N, C): relu(norm(x) Wfc)² Wproj (relu2),
   * gelu_tanh(…) Wproj, or (silu(gate) ⊙ up) Wproj with norm(x) Wfc = [gate | up] (swiglu).
   */
  private mlp(x: tf.Tensor2D, i: number): tf.Tensor2D {
    const w = this.weights;
    const h = this.norm(x as tf.Tensor2D, `h.${i}.ln_2`); // (N, C)
    const fc = this.project(`h.${i}.mlp.wfc`, h, w[`h.${i}.mlp.bfc`]); // (N, H), swiglu (N, 2H)
    let hidden: tf.Tensor2D; // (N, H)
    if (this.config.mlp === 'relu2') hidden = tf.square(tf.relu(fc));
    else if (this.config.mlp === 'gelu_tanh') hidden = geluTanh(fc);
    else if (onWebGpu())
      hidden = swiglu(fc); // one program for the split, silu and product
    else {
      const [gate, up] = tf.split(fc, 2, 1) as tf.Tensor2D[]; // each (N, H)
      hidden = tf.mul(silu(gate), up);
    }
    return this.project(`h.${i}.mlp.wproj`, hidden, w[`h.${i}.mlp.bproj`], undefined, x); // (N, C)
  }

  /** The norm named `prefix` (its `.g`, and `.b` for LayerNorm): (N, C) → (N, C). */
  private norm(x: tf.Tensor2D, prefix: string): tf.Tensor2D {
    const gain = this.weights[`${prefix}.g`] as tf.Tensor1D;
    if (this.config.norm === 'layer')
      return layerNorm(x, gain, this.weights[`${prefix}.b`] as tf.Tensor1D, this.config.normEps);
    return onWebGpu() ? fusedRmsNorm(x, gain, this.config.normEps) : rmsNorm(x, gain, this.config.normEps);
  }

  /** The final norm: (N, C) → (N, C). */
  private finalNorm(x: tf.Tensor): tf.Tensor2D {
    return this.norm(x as tf.Tensor2D, 'ln_f');
  }

  /**
   * The output projection, tied (wteᵀ) or `lm_head`: (N, C) · (C, V) → (N, V). `keptHead` is a wteᵀ made
   * earlier (a KV cache's), which saves transposing the (V, C) embedding on every decoded token.
   */
  private vocabLogits(h: tf.Tensor2D, keptHead?: tf.Tensor2D): tf.Tensor2D {
    if (!this.config.tiedHead) return this.project('lm_head', h);
    return this.project('lm_head', h, undefined, keptHead ?? tf.transpose(this.weights.wte as tf.Tensor2D));
  }

  /**
   * Rotary tables for positions (B, T), or 0..T-1 when null: cos and sin (B | 1, T, nh·hs), each head's
   * half-pairs sharing one frequency, the same widened to the kv heads, and the "rotate half" matrix (hs, hs).
   */
  private rope(positions: tf.Tensor2D | null, T: number): Rope {
    const { blockSize } = this.config;
    const { nHead: nh, nKvHead: nkv, headSize: hs } = this.dims;
    // Cached and kept (rope.ts): built on the first forward, not on every forward and decoded token.
    const { cos: cosTable, sin: sinTable, rotate } = ropeTables(hs, blockSize, this.config.ropeBase);
    let cosRows: tf.Tensor; // (rows·T, hs)
    let sinRows: tf.Tensor;
    let rows = 1;
    if (positions) {
      rows = positions.shape[0];
      const flat = positions.reshape([rows * T]) as tf.Tensor1D;
      cosRows = tf.gather(cosTable, flat);
      sinRows = tf.gather(sinTable, flat);
    } else {
      cosRows = tf.slice(cosTable, [0, 0], [T, hs]);
      sinRows = tf.slice(sinTable, [0, 0], [T, hs]);
    }
    const widen = (t: tf.Tensor, heads: number) => tf.tile(t, [1, heads]).reshape([rows, T, heads * hs]); // (rows, T, heads·hs)
    const cos = widen(cosRows, nh);
    const sin = widen(sinRows, nh);
    if (nkv === nh) return { cos, sin, kCos: cos, kSin: sin, rotate };
    return { cos, sin, kCos: widen(cosRows, nkv), kSin: widen(sinRows, nkv), rotate };
  }
}

/**
 * Rotary embedding on x (B*T, n·hs): x·cos + rotate_half(x)·sin per head, rotate_half([x1, x2]) = [−x2, x1]
 * on each head's first and second halves (HF Llama's convention), as a matMul with a fixed matrix.
 */
function applyRope(
  x: tf.Tensor2D,
  cos: tf.Tensor,
  sin: tf.Tensor,
  rotate: tf.Tensor2D,
  B: number,
  T: number,
  hs: number,
): tf.Tensor2D {
  const W = x.shape[1]; // n·hs
  const rotated = rotateHalf(x.reshape([(B * T * W) / hs, hs]) as tf.Tensor2D, rotate).reshape([B, T, W]); // (B, T, W)
  const out = tf.add(tf.mul(x.reshape([B, T, W]), cos), tf.mul(rotated, sin)); // (B, T, W)
  return out.reshape([B * T, W]);
}

/** Causal bias (1, 1, T, T), plus key padding (B, 1, 1, T) when a key mask is given. */
function attentionBias(B: number, T: number, keyMask?: tf.Tensor2D): tf.Tensor {
  const causal = new Float32Array(T * T);
  for (let r = 0; r < T; r++) for (let c = r + 1; c < T; c++) causal[r * T + c] = MASKED;
  const bias = tf.tensor4d(causal, [1, 1, T, T]);
  if (!keyMask) return bias;
  const padding = tf.mul(tf.sub(1, tf.cast(keyMask, 'float32')), MASKED).reshape([B, 1, 1, T]); // (B, 1, 1, T)
  return tf.add(bias, padding); // (B, 1, T, T)
}

/** The last position of each row: (B*T, C) → (B, C). */
function lastPositions(x: tf.Tensor2D, B: number, T: number): tf.Tensor2D {
  const C = x.shape[1];
  return tf.slice(x.reshape([B, T, C]), [0, T - 1, 0], [B, 1, C]).reshape([B, C]);
}

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · g. x (N, C), g (C). */
function rmsNorm(x: tf.Tensor2D, gain: tf.Tensor1D, eps: number): tf.Tensor2D {
  const meanSquare = tf.mean(tf.square(x), -1, true); // (N, 1)
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), gain); // (N, C)
}

/** LayerNorm over the last axis: (x − mean) / sqrt(var + eps) · g + b. x (N, C), g and b (C). */
function layerNorm(x: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D, eps: number): tf.Tensor2D {
  const centred = tf.sub(x, tf.mean(x, -1, true)); // (N, C)
  const variance = tf.mean(tf.square(centred), -1, true); // (N, 1)
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), gain), bias); // (N, C)
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

let policyCounter = 0;

/** A fresh policy; the same config and seed give the same weights on every backend. */
export function createPolicy(
  configInput: ModelConfigInput,
  options: { seed: number; trainable?: boolean },
): Policy {
  const config = ModelConfigSchema.parse(configInput);
  const id = policyCounter++;
  const weights: Record<string, tf.Variable> = {};
  for (const [name, shape] of weightShapes(config)) {
    const initial = tf.tensor(initialValues(config, name, shape, options.seed), shape, 'float32');
    weights[name] = tf.variable(initial, options.trainable ?? true, `policy${id}/${name}`);
    initial.dispose();
  }
  return new Policy(config, weights);
}

/** A copy with its own variables (e.g. a frozen reference policy: `trainable: false`). */
export function clonePolicy(policy: Policy, options: { trainable?: boolean } = {}): Policy {
  const id = policyCounter++;
  const weights: Record<string, tf.Variable> = {};
  for (const [name] of weightShapes(policy.config)) {
    weights[name] = tf.variable(policy.weights[name], options.trainable ?? true, `policy${id}/${name}`);
  }
  return new Policy(policy.config, weights);
}
