// Hugging Face causal LMs as configurations of the project's one model (shared/policy/model.ts): their
// config.json read into a ModelConfig, their weights renamed and re-laid-out into the policy's, and back.
// Pure data code (no tfjs): it runs in the browser, the server and the CLI alike.
//
// API
//   HfConfigSchema / HfConfig              GPT-2 (model_type "gpt2") or Llama / Qwen2 ("llama", "qwen2")
//                                          config.json fields, validated (zod); parseHfConfig(json)
//   modelConfigFromHf(json, options)       the ModelConfig that runs it; blockSize defaults to the model's
//                                          max positions, capped by options.maxBlockSize
//   policyWeightsFromHf(tensors, config)   HF tensors → the policy's named weights (every one present, or an
//                                          error naming the missing HF key; unexpected keys are listed)
//   hfWeightsFromPolicy(weights, hf)       the inverse, for saving (e.g. merged LoRA) weights as an HF folder
//   hfConfigFromModelConfig(config, fam)   a config.json for a project model in the GPT-2 or Llama layout
//   hfFamilyOf(config)                     which HF layout a ModelConfig's weights map to
//
// Facts from Hugging Face transformers (models/gpt2, models/llama, models/qwen2):
// - GPT-2 (GPT2LMHeadModel) uses Conv1D, whose weight is stored (in, out): c_attn.weight is (C, 3C) with
//   columns [q | k | v], already this project's layout. Its `attn.bias` / `attn.masked_bias` are buffers
//   (the causal mask), not weights. LayerNorm eps is layer_norm_epsilon; the MLP is n_inner or 4·n_embd
//   wide with activation "gelu_new" (tanh GELU); the head is tied to wte.
// - Llama / Qwen2 use nn.Linear, stored (out, in): transposed here. q_proj is (nh·hs, C), k_proj and v_proj
//   (nkv·hs, C); head_dim defaults to hidden_size / num_attention_heads. MLP: down(silu(gate(x)) · up(x)).
//   Llama's attention_bias puts biases on q, k, v and o; Qwen2 always has q, k, v biases and none on o.
//   RoPE: inv_freq = 1 / theta^(2j / hs), cos/sin of [freqs, freqs] and rotate_half on each head's halves,
//   which is shared/policy/rope.ts's convention (the parity test proves it).
import { z } from 'zod';
import { type ModelConfig, ModelConfigSchema, modelDims, weightShapes } from '../policy/model';

export type HfTensor = { shape: number[]; data: Float32Array };
export type HfTensors = Record<string, HfTensor>;
export type HfFamily = 'gpt2' | 'llama' | 'qwen2';

const positiveInt = z.number().int().min(1);

export const Gpt2ConfigSchema = z.object({
  model_type: z.literal('gpt2'),
  vocab_size: positiveInt,
  n_positions: positiveInt,
  n_embd: positiveInt,
  n_layer: positiveInt,
  n_head: positiveInt,
  layer_norm_epsilon: z.number().positive().default(1e-5),
  activation_function: z
    .literal('gelu_new', {
      error: 'GPT-2 activation_function must be "gelu_new" (the tanh GELU; the only one this model runs)',
    })
    .default('gelu_new'),
  n_inner: positiveInt.nullable().default(null),
  tie_word_embeddings: z
    .literal(true, { error: 'GPT-2 with an untied head (tie_word_embeddings false) is not supported' })
    .default(true),
});
export type Gpt2Config = z.infer<typeof Gpt2ConfigSchema>;

export const LlamaConfigSchema = z.object({
  model_type: z.enum(['llama', 'qwen2']),
  vocab_size: positiveInt,
  hidden_size: positiveInt,
  intermediate_size: positiveInt,
  num_hidden_layers: positiveInt,
  num_attention_heads: positiveInt,
  num_key_value_heads: positiveInt.nullable().optional(),
  head_dim: positiveInt.nullable().optional(),
  rms_norm_eps: z.number().positive().default(1e-6),
  rope_theta: z.number().positive().default(10000),
  max_position_embeddings: positiveInt,
  tie_word_embeddings: z.boolean().default(false),
  hidden_act: z.literal('silu', {
    error: 'hidden_act must be "silu" (SwiGLU; the only one this model runs)',
  }),
  attention_bias: z.boolean().default(false),
  mlp_bias: z
    .literal(false, { error: 'mlp_bias true is not supported (SwiGLU here has no biases)' })
    .default(false),
  rope_scaling: z
    .unknown()
    .refine((v) => v === null || v === undefined, {
      error: (issue) =>
        `rope_scaling ${JSON.stringify(issue.input)} is not supported: only plain RoPE (rope_scaling null)`,
    })
    .optional(),
  use_sliding_window: z.literal(false, { error: 'use_sliding_window true is not supported' }).optional(),
});
export type LlamaConfig = z.infer<typeof LlamaConfigSchema>;

export type HfConfig = Gpt2Config | LlamaConfig;

/** config.json → a validated GPT-2 or Llama / Qwen2 config; other model types are refused by name. */
export function parseHfConfig(json: unknown): HfConfig {
  const type = (json as { model_type?: unknown } | null)?.model_type;
  if (type === 'gpt2') return Gpt2ConfigSchema.parse(json);
  if (type === 'llama' || type === 'qwen2') return LlamaConfigSchema.parse(json);
  throw new Error(
    `config.json model_type ${JSON.stringify(type)} is not supported: expected "gpt2", "llama" or "qwen2"`,
  );
}

function maxPositions(hf: HfConfig): number {
  return hf.model_type === 'gpt2' ? hf.n_positions : hf.max_position_embeddings;
}

export type FromHfOptions = {
  /** The policy's context length; default the model's max positions, capped by maxBlockSize. */
  blockSize?: number;
  /** Cap on the default blockSize (a 32k-position model need not get 32k-row rotary tables). */
  maxBlockSize?: number;
};

/** The ModelConfig that runs an HF config.json (GPT-2, Llama or Qwen2). */
export function modelConfigFromHf(json: unknown, options: FromHfOptions = {}): ModelConfig {
  const hf = parseHfConfig(json);
  const limit = maxPositions(hf);
  const blockSize = options.blockSize ?? Math.min(limit, options.maxBlockSize ?? limit);
  if (blockSize > limit) throw new Error(`blockSize ${blockSize} exceeds the model's ${limit} positions`);
  if (hf.model_type === 'gpt2') {
    return ModelConfigSchema.parse({
      vocabSize: hf.vocab_size,
      blockSize,
      nLayer: hf.n_layer,
      nHead: hf.n_head,
      nEmbd: hf.n_embd,
      mlpHidden: hf.n_inner ?? 4 * hf.n_embd,
      positions: 'learned',
      normEps: hf.layer_norm_epsilon,
      norm: 'layer',
      mlp: 'gelu_tanh',
      qkvBias: true,
      attnOutBias: true,
      mlpBias: true,
      tiedHead: true,
    });
  }
  return ModelConfigSchema.parse({
    vocabSize: hf.vocab_size,
    blockSize,
    nLayer: hf.num_hidden_layers,
    nHead: hf.num_attention_heads,
    nEmbd: hf.hidden_size,
    nKvHead: hf.num_key_value_heads ?? hf.num_attention_heads,
    headSize: hf.head_dim ?? hf.hidden_size / hf.num_attention_heads,
    mlpHidden: hf.intermediate_size,
    positions: 'rope',
    ropeBase: hf.rope_theta,
    normEps: hf.rms_norm_eps,
    norm: 'rms',
    mlp: 'swiglu',
    qkvBias: hf.model_type === 'qwen2' || hf.attention_bias,
    attnOutBias: hf.model_type === 'llama' && hf.attention_bias,
    tiedHead: hf.tie_word_embeddings,
  });
}

/** The HF layout a ModelConfig's weights map to: GPT-2's (LayerNorm, learned positions) or Llama's. */
export function hfFamilyOf(config: ModelConfig): 'gpt2' | 'llama' {
  return config.norm === 'layer' && config.positions === 'learned' ? 'gpt2' : 'llama';
}

/** Keys that hold buffers, not weights: the causal masks of GPT-2's attention, Llama's rotary inv_freq. */
const BUFFER_KEY = /(^|\.)attn\.(bias|masked_bias)$|rotary_emb\.inv_freq$/;

/**
 * One entry per policy weight: the HF keys it is made of (concatenated along columns, in order) and
 * whether each is transposed from (out, in).
 */
type WeightSource = { policy: string; hf: string[]; transpose: boolean };

function weightSources(config: ModelConfig): WeightSource[] {
  const names = new Set(weightShapes(config).map(([name]) => name));
  const sources: WeightSource[] = [];
  const add = (policy: string, hf: string[], transpose = false) => {
    if (names.has(policy)) sources.push({ policy, hf, transpose });
  };
  if (hfFamilyOf(config) === 'gpt2') {
    add('wte', ['wte.weight']);
    add('wpe', ['wpe.weight']);
    for (let i = 0; i < config.nLayer; i++) {
      const [p, h] = [`h.${i}`, `h.${i}`];
      for (const ln of ['ln_1', 'ln_2']) {
        add(`${p}.${ln}.g`, [`${h}.${ln}.weight`]);
        add(`${p}.${ln}.b`, [`${h}.${ln}.bias`]);
      }
      add(`${p}.attn.wqkv`, [`${h}.attn.c_attn.weight`]);
      add(`${p}.attn.bqkv`, [`${h}.attn.c_attn.bias`]);
      add(`${p}.attn.wo`, [`${h}.attn.c_proj.weight`]);
      add(`${p}.attn.bo`, [`${h}.attn.c_proj.bias`]);
      add(`${p}.mlp.wfc`, [`${h}.mlp.c_fc.weight`]);
      add(`${p}.mlp.bfc`, [`${h}.mlp.c_fc.bias`]);
      add(`${p}.mlp.wproj`, [`${h}.mlp.c_proj.weight`]);
      add(`${p}.mlp.bproj`, [`${h}.mlp.c_proj.bias`]);
    }
    add('ln_f.g', ['ln_f.weight']);
    add('ln_f.b', ['ln_f.bias']);
    add('lm_head', ['lm_head.weight'], true);
  } else {
    add('wte', ['model.embed_tokens.weight']);
    for (let i = 0; i < config.nLayer; i++) {
      const [p, h] = [`h.${i}`, `model.layers.${i}`];
      const qkv = ['q_proj', 'k_proj', 'v_proj'].map((m) => `${h}.self_attn.${m}`);
      add(`${p}.ln_1.g`, [`${h}.input_layernorm.weight`]);
      add(
        `${p}.attn.wqkv`,
        qkv.map((m) => `${m}.weight`),
        true,
      );
      add(
        `${p}.attn.bqkv`,
        qkv.map((m) => `${m}.bias`),
      );
      add(`${p}.attn.wo`, [`${h}.self_attn.o_proj.weight`], true);
      add(`${p}.attn.bo`, [`${h}.self_attn.o_proj.bias`]);
      add(`${p}.ln_2.g`, [`${h}.post_attention_layernorm.weight`]);
      add(`${p}.mlp.wfc`, [`${h}.mlp.gate_proj.weight`, `${h}.mlp.up_proj.weight`], true);
      add(`${p}.mlp.wproj`, [`${h}.mlp.down_proj.weight`], true);
    }
    add('ln_f.g', ['model.norm.weight']);
    add('lm_head', ['lm_head.weight'], true);
  }
  const mapped = new Set(sources.map((s) => s.policy));
  const unmapped = [...names].filter((n) => !mapped.has(n));
  if (unmapped.length)
    throw new Error(`no Hugging Face counterpart for policy weights: ${unmapped.join(', ')}`);
  return sources;
}

/** (rows, cols) row-major → (cols, rows). */
function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** Matrices (rows, w_k) side by side → (rows, Σ w_k); vectors end to end. */
function concatColumns(parts: HfTensor[]): HfTensor {
  if (parts.length === 1) return parts[0];
  if (parts[0].shape.length === 1) {
    const total = parts.reduce((n, p) => n + p.data.length, 0);
    const data = new Float32Array(total);
    let at = 0;
    for (const p of parts) {
      data.set(p.data, at);
      at += p.data.length;
    }
    return { shape: [total], data };
  }
  const rows = parts[0].shape[0];
  const width = parts.reduce((n, p) => n + p.shape[1], 0);
  const data = new Float32Array(rows * width);
  let offset = 0;
  for (const p of parts) {
    const w = p.shape[1];
    for (let r = 0; r < rows; r++) data.set(p.data.subarray(r * w, (r + 1) * w), r * width + offset);
    offset += w;
  }
  return { shape: [rows, width], data };
}

/** The inverse of concatColumns: (rows, Σ w_k) → matrices (rows, w_k), or a vector into pieces. */
function splitColumns(t: HfTensor, widths: number[]): HfTensor[] {
  if (widths.length === 1) return [t];
  if (t.shape.length === 1) {
    let at = 0;
    return widths.map((w) => {
      const part = { shape: [w], data: t.data.slice(at, at + w) };
      at += w;
      return part;
    });
  }
  const [rows, width] = t.shape;
  let offset = 0;
  return widths.map((w) => {
    const data = new Float32Array(rows * w);
    for (let r = 0; r < rows; r++)
      data.set(t.data.subarray(r * width + offset, r * width + offset + w), r * w);
    offset += w;
    return { shape: [rows, w], data };
  });
}

/** GPT-2 checkpoints name keys with or without the `transformer.` prefix (GPT2LMHeadModel vs GPT2Model). */
function withoutPrefix(tensors: HfTensors): HfTensors {
  const out: HfTensors = {};
  for (const [key, t] of Object.entries(tensors))
    out[key.startsWith('transformer.') ? key.slice(12) : key] = t;
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * HF tensors (F32) → the policy's named weights for `config` (from modelConfigFromHf). Every policy weight
 * must be found (else an error naming the missing HF key); keys that map to nothing are an error that
 * lists them, except buffers (attention masks, inv_freq) and a tied model's duplicate lm_head.weight.
 * GPT-2's wpe is cut to the policy's blockSize rows.
 */
export function policyWeightsFromHf(tensors: HfTensors, config: ModelConfig): HfTensors {
  const family = hfFamilyOf(config);
  const input = family === 'gpt2' ? withoutPrefix(tensors) : tensors;
  const expected = new Map(weightShapes(config));
  const used = new Set<string>();
  const out: HfTensors = {};
  for (const source of weightSources(config)) {
    const parts = source.hf.map((key) => {
      const t = input[key];
      if (!t)
        throw new Error(`Hugging Face weight '${key}' is missing (needed for policy '${source.policy}')`);
      if (!(t.data instanceof Float32Array)) throw new Error(`Hugging Face weight '${key}' must be float32`);
      const size = t.shape.reduce((a, b) => a * b, 1);
      if (size !== t.data.length)
        throw new Error(`Hugging Face weight '${key}' has shape [${t.shape}] but ${t.data.length} values`);
      used.add(key);
      if (!source.transpose) return t;
      if (t.shape.length !== 2) throw new Error(`Hugging Face weight '${key}' must be 2-D, has [${t.shape}]`);
      const [rows, cols] = t.shape;
      return { shape: [cols, rows], data: transpose2d(t.data, rows, cols) };
    });
    let weight = concatColumns(parts);
    const want = expected.get(source.policy) as number[];
    if (source.policy === 'wpe' && weight.shape[0] > want[0]) {
      weight = { shape: [want[0], weight.shape[1]], data: weight.data.slice(0, want[0] * weight.shape[1]) };
    }
    if (!sameShape(weight.shape, want)) {
      throw new Error(
        `Hugging Face ${source.hf.join(' + ')} gives policy '${source.policy}' shape [${weight.shape}], want [${want}]`,
      );
    }
    out[source.policy] = weight;
  }
  const unexpected = Object.keys(input).filter(
    (key) => !used.has(key) && !BUFFER_KEY.test(key) && !(config.tiedHead && key === 'lm_head.weight'),
  );
  if (unexpected.length)
    throw new Error(`unexpected Hugging Face weights (not part of this model): ${unexpected.join(', ')}`);
  return out;
}

/**
 * The policy's named weights → HF tensors in `hf`'s layout (keys without GPT-2's `transformer.` prefix,
 * as GPT-2's own model.safetensors). The inverse of policyWeightsFromHf; GPT-2's wpe must have all of
 * n_positions rows.
 */
export function hfWeightsFromPolicy(weights: HfTensors, hfConfig: unknown): HfTensors {
  const hf = parseHfConfig(hfConfig);
  const config = modelConfigFromHf(hf);
  const dims = modelDims(config);
  const expected = new Map(weightShapes(config));
  const out: HfTensors = {};
  for (const source of weightSources(config)) {
    const w = weights[source.policy];
    if (!w) throw new Error(`policy weight '${source.policy}' is missing`);
    const want = expected.get(source.policy) as number[];
    if (!sameShape(w.shape, want))
      throw new Error(
        `policy weight '${source.policy}' has shape [${w.shape}], want [${want}] for this config`,
      );
    const widths = source.policy.endsWith('qkv')
      ? [dims.qWidth, dims.kvWidth, dims.kvWidth]
      : source.policy.endsWith('mlp.wfc') && source.hf.length === 2
        ? [dims.mlpHidden, dims.mlpHidden]
        : [w.shape[w.shape.length - 1]];
    const parts = source.hf.length === 1 ? [w] : splitColumns(w, widths);
    source.hf.forEach((key, k) => {
      const part = parts[k];
      if (!source.transpose) out[key] = { shape: [...part.shape], data: part.data.slice() };
      else {
        const [rows, cols] = part.shape;
        out[key] = { shape: [cols, rows], data: transpose2d(part.data, rows, cols) };
      }
    });
  }
  const extra = Object.keys(weights).filter((name) => !expected.has(name));
  if (extra.length) throw new Error(`policy weights with no Hugging Face counterpart: ${extra.join(', ')}`);
  return out;
}

/**
 * A config.json for `config` in `family`'s layout, refusing what that family cannot express (GPT-2: LayerNorm,
 * tanh GELU, learned positions, every bias, tied head; Llama: RMSNorm, SwiGLU, RoPE, q/k/v and o biases
 * together or not at all; Qwen2: the same with q/k/v biases and none on o). Its n_positions /
 * max_position_embeddings is the policy's blockSize.
 */
export function hfConfigFromModelConfig(config: ModelConfig, family: HfFamily): Record<string, unknown> {
  const dims = modelDims(config);
  const refuse = (why: string) => {
    throw new Error(`this model cannot be saved as ${family}: ${why}`);
  };
  if (family === 'gpt2') {
    if (config.norm !== 'layer') refuse("GPT-2 uses LayerNorm (norm 'layer')");
    if (config.mlp !== 'gelu_tanh') refuse("GPT-2's MLP is mlp 'gelu_tanh'");
    if (config.positions !== 'learned') refuse("GPT-2 has learned positions (positions 'learned')");
    if (!config.qkvBias || !config.attnOutBias || !config.mlpBias) refuse('GPT-2 has every bias');
    if (!config.tiedHead) refuse('GPT-2 ties its head (tiedHead true)');
    if (dims.nKvHead !== config.nHead || dims.qWidth !== config.nEmbd)
      refuse('GPT-2 has nKvHead = nHead and headSize = nEmbd / nHead');
    return {
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      vocab_size: config.vocabSize,
      n_positions: config.blockSize,
      n_ctx: config.blockSize,
      n_embd: config.nEmbd,
      n_layer: config.nLayer,
      n_head: config.nHead,
      n_inner: dims.mlpHidden,
      activation_function: 'gelu_new',
      layer_norm_epsilon: config.normEps,
      tie_word_embeddings: true,
      torch_dtype: 'float32',
    };
  }
  if (config.norm !== 'rms') refuse("Llama / Qwen2 use RMSNorm (norm 'rms')");
  if (config.mlp !== 'swiglu') refuse("Llama / Qwen2's MLP is mlp 'swiglu'");
  if (config.positions !== 'rope') refuse("Llama / Qwen2 use rotary positions (positions 'rope')");
  if (family === 'llama' && config.qkvBias !== config.attnOutBias)
    refuse("Llama's attention_bias puts biases on q, k, v and o together");
  if (family === 'qwen2' && (!config.qkvBias || config.attnOutBias))
    refuse('Qwen2 has q, k, v biases and no o bias');
  return {
    architectures: [family === 'llama' ? 'LlamaForCausalLM' : 'Qwen2ForCausalLM'],
    model_type: family,
    vocab_size: config.vocabSize,
    hidden_size: config.nEmbd,
    intermediate_size: dims.mlpHidden,
    num_hidden_layers: config.nLayer,
    num_attention_heads: config.nHead,
    num_key_value_heads: dims.nKvHead,
    head_dim: dims.headSize,
    hidden_act: 'silu',
    max_position_embeddings: config.blockSize,
    rms_norm_eps: config.normEps,
    rope_theta: config.ropeBase,
    rope_scaling: null,
    tie_word_embeddings: config.tiedHead,
    ...(family === 'llama' ? { attention_bias: config.qkvBias, mlp_bias: false } : {}),
    torch_dtype: 'float32',
  };
}
