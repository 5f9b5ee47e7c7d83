// LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models") as a ProjectionAdapter
// (adapter.ts): for each targeted projection W (in, out), two small matrices A (in, r) and B (r, out) whose
// product, scaled by alpha / r, is added to the projection's output. The base stays frozen; only A and B
// train, so an optimizer holds moments for r·(in + out) numbers per target instead of in·out.
//
//   y = x · W  +  dropout(x) · A · B · (alpha / r)           x (N, in), A (in, r), B (r, out)
//
// API
//   LoraConfigSchema / LoraConfig     rank, alpha, dropout, targets (PEFT module names), all validated
//   resolveLoraConfig(input, family)  defaults filled in: alpha = rank, the family's default targets
//   loraFamilyOf(modelConfig)         'llama' (SwiGLU MLP), 'gpt2' (LayerNorm) or 'edgelight' (the presets)
//   loraTargets(family)               every target module name a family accepts
//   createLora(policy, config, opts)  a fresh adapter: A Kaiming-uniform as PEFT, B zeros (starts as a no-op)
//   Lora                              .delta(weightName, x), .variables(), .weights (named), .loadWeights()
//   attachLora / detachLora / loraOf  put an adapter on a policy (policy.setAdapter) and find it again
//   mergeLora(policy, lora)           the policy's weights with W + scale·A·B folded in (for export)
//
// Names and layouts follow PEFT so an adapter can go to Python and back (shared/hf/peft.ts):
// - Target names per family, and the defaults: PEFT's `TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING`
//   (peft/utils/constants.py) gives llama ["q_proj", "v_proj"] and gpt2 ["c_attn"]. The presets (one fused
//   `attn.wqkv`, no HF names) take the policy's own names, with `wqkv, wo` (all attention) as the default.
// - Init: PEFT's `LoraLayer.reset_lora_parameters` (peft/tuners/lora/layer.py) draws lora_A with
//   `nn.init.kaiming_uniform_(a=math.sqrt(5))` and zeroes lora_B. Kaiming-uniform's bound is
//   gain·sqrt(3 / fan_in) with gain = sqrt(2 / (1 + a²)) = sqrt(1/3), i.e. U(−1/√in, 1/√in); fan_in = in.
// - Scale: `LoraLayer.update_layer` sets scaling = lora_alpha / r (no rsLoRA here).
// - Dropout: PEFT applies it to the layer's input before lora_A, in training mode only.
//
// A fused weight (`attn.wqkv` = [q | k | v], SwiGLU's `mlp.wfc` = [gate | up]) gets one delta of its whole
// width: the targeted parts' products side by side with zeros where nothing is targeted, so the gradient
// reaches only the targeted parts' A and B.
//
// Dropout is on only while the gradient tape records (a training step's forward), never when sampling or
// computing reference log-probs; its masks come from the project's seeded PRNG (shared/random), so a run
// replays identically on every backend.
import * as tf from './tfjs';
import { z } from 'zod';
import { createRng, deriveSeed } from '../random';
import type { ProjectionAdapter } from './adapter';
import { type ModelConfig, type Policy, weightShapes } from './model';

export const LORA_FAMILIES = ['llama', 'gpt2', 'edgelight'] as const;
export type LoraFamily = (typeof LORA_FAMILIES)[number];

/** Every target module name a family accepts, in the order an adapter lists them. */
const FAMILY_TARGETS: Record<LoraFamily, readonly string[]> = {
  llama: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  gpt2: ['c_attn', 'c_proj', 'c_fc'],
  edgelight: ['wqkv', 'wo', 'wfc', 'wproj'],
};

/** PEFT's default targets for Llama and GPT-2 (constants.py); the presets adapt all of attention. */
const DEFAULT_TARGETS: Record<LoraFamily, readonly string[]> = {
  llama: ['q_proj', 'v_proj'],
  gpt2: ['c_attn'],
  edgelight: ['wqkv', 'wo'],
};

const FAMILY_LABELS: Record<LoraFamily, string> = {
  llama: 'a Llama-family model',
  gpt2: 'a GPT-2 model',
  edgelight: 'the built-in presets',
};

export function loraTargets(family: LoraFamily): readonly string[] {
  return FAMILY_TARGETS[family];
}

export const LoraConfigSchema = z
  .object({
    /** r: the adapter's rank. PEFT's default is 8. */
    rank: z.number().int().min(1).default(8),
    /**
     * lora_alpha; the update is scaled by alpha / rank. Default: alpha = rank, i.e. scale 1, which is what
     * PEFT's own defaults (r 8, lora_alpha 8) give, and keeps the first steps' size the same at any rank.
     */
    alpha: z.number().positive().optional(),
    /** lora_dropout on the adapter's input while training, in [0, 1). PEFT's default is 0. */
    dropout: z.number().min(0).lt(1, 'dropout must be < 1').default(0),
    /** PEFT target module names (loraTargets(family)); default: the family's (PEFT's defaults). */
    targets: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();
export type LoraConfig = z.infer<typeof LoraConfigSchema>;
export type LoraConfigInput = z.input<typeof LoraConfigSchema>;

/** A LoRA config with every default filled in: what a checkpoint records. */
export const ResolvedLoraSchema = z
  .object({
    rank: z.number().int().min(1),
    alpha: z.number().positive(),
    dropout: z.number().min(0).lt(1),
    targets: z.array(z.string().min(1)).min(1),
    family: z.enum(LORA_FAMILIES),
  })
  .strict();
export type ResolvedLora = z.infer<typeof ResolvedLoraSchema>;

/** The fields issue 22 adds to ModelConfig, read where present (the presets have none of them). */
type ArchitectureFields = {
  mlp?: 'relu2' | 'gelu_tanh' | 'swiglu';
  norm?: 'rms' | 'layer';
  nKvHead?: number;
  headSize?: number;
};

/** Which target names apply: Llama's (SwiGLU), GPT-2's (LayerNorm) or the presets' own. */
export function loraFamilyOf(config: ModelConfig): LoraFamily {
  const c = config as ModelConfig & ArchitectureFields;
  if (c.mlp === 'swiglu') return 'llama';
  if (c.norm === 'layer') return 'gpt2';
  return 'edgelight';
}

export function resolveLoraConfig(input: LoraConfigInput, family: LoraFamily): ResolvedLora {
  const parsed = LoraConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`LoRA config: ${issue.path.join('.') || 'value'}: ${issue.message}`);
  }
  const { rank, alpha, dropout, targets } = parsed.data;
  const valid = FAMILY_TARGETS[family];
  const chosen = targets ?? [...DEFAULT_TARGETS[family]];
  const unknown = chosen.filter((t) => !valid.includes(t));
  if (unknown.length > 0)
    throw new Error(
      `LoRA target${unknown.length > 1 ? 's' : ''} ${unknown.map((t) => `'${t}'`).join(', ')} ${unknown.length > 1 ? 'are not modules' : 'is not a module'} of ${FAMILY_LABELS[family]}; valid: ${valid.join(', ')}`,
    );
  // Listed once each, in the family's order, so equal settings record equal configs.
  const ordered = valid.filter((t) => chosen.includes(t));
  return { rank, alpha: alpha ?? rank, dropout, targets: ordered, family };
}

/** One targeted slice of a projection: columns [start, start + width) of weight `weightName`. */
export type LoraPart = {
  /** The PEFT module name this part is (q_proj, c_attn, wqkv…). */
  target: string;
  /** The layer it belongs to, or null for weights outside the blocks. */
  layer: number;
  weightName: string;
  start: number;
  width: number;
  /** The projection's input width (A's rows). */
  inDim: number;
};

/**
 * Where each target lands in the policy's weights, layer by layer: the contract's mapping (q/k/v_proj →
 * column ranges of `attn.wqkv`, gate/up_proj → halves of SwiGLU's `mlp.wfc`, GPT-2's c_proj → both
 * `attn.wo` and `mlp.wproj`).
 */
export function loraParts(config: ModelConfig, lora: Pick<ResolvedLora, 'targets' | 'family'>): LoraPart[] {
  const shapes = new Map(weightShapes(config));
  const c = config as ModelConfig & ArchitectureFields;
  const hs = c.headSize ?? config.nEmbd / config.nHead;
  const qWidth = config.nHead * hs;
  const kvWidth = (c.nKvHead ?? config.nHead) * hs;
  const swiglu = c.mlp === 'swiglu';
  const parts: LoraPart[] = [];
  for (let i = 0; i < config.nLayer; i++) {
    const shapeOf = (suffix: string) => {
      const shape = shapes.get(`h.${i}.${suffix}`);
      if (!shape) throw new Error(`the policy has no weight h.${i}.${suffix}`);
      return shape;
    };
    const whole = (target: string, suffix: string) => {
      const [inDim, out] = shapeOf(suffix);
      parts.push({ target, layer: i, weightName: `h.${i}.${suffix}`, start: 0, width: out, inDim });
    };
    const slice = (target: string, suffix: string, start: number, width: number) => {
      const [inDim] = shapeOf(suffix);
      parts.push({ target, layer: i, weightName: `h.${i}.${suffix}`, start, width, inDim });
    };
    for (const target of lora.targets) {
      if (lora.family === 'llama') {
        const hidden = shapeOf('mlp.wproj')[0];
        if ((target === 'gate_proj' || target === 'up_proj') && !swiglu)
          throw new Error(`LoRA target '${target}' needs a SwiGLU MLP, and this policy's MLP has no gate`);
        if (target === 'q_proj') slice(target, 'attn.wqkv', 0, qWidth);
        else if (target === 'k_proj') slice(target, 'attn.wqkv', qWidth, kvWidth);
        else if (target === 'v_proj') slice(target, 'attn.wqkv', qWidth + kvWidth, kvWidth);
        else if (target === 'o_proj') whole(target, 'attn.wo');
        else if (target === 'gate_proj') slice(target, 'mlp.wfc', 0, hidden);
        else if (target === 'up_proj') slice(target, 'mlp.wfc', hidden, hidden);
        else if (target === 'down_proj') whole(target, 'mlp.wproj');
      } else if (lora.family === 'gpt2') {
        if (target === 'c_attn') whole(target, 'attn.wqkv');
        else if (target === 'c_proj') {
          whole(target, 'attn.wo');
          whole(target, 'mlp.wproj');
        } else if (target === 'c_fc') whole(target, 'mlp.wfc');
      } else if (target === 'wqkv') whole(target, 'attn.wqkv');
      else if (target === 'wo') whole(target, 'attn.wo');
      else if (target === 'wfc') whole(target, 'mlp.wfc');
      else if (target === 'wproj') whole(target, 'mlp.wproj');
    }
  }
  return parts;
}

/** The adapter's variable names: `lora.{weightName}.{target}.A` and `.B`. */
export const loraName = (part: Pick<LoraPart, 'weightName' | 'target'>, matrix: 'A' | 'B') =>
  `lora.${part.weightName}.${part.target}.${matrix}`;

type LivePart = LoraPart & { A: tf.Variable; B: tf.Variable };

let loraCounter = 0;

export class Lora implements ProjectionAdapter {
  readonly config: ResolvedLora;
  /** alpha / rank. */
  readonly scale: number;
  readonly parts: readonly LivePart[];
  /** A and B by name (`lora.h.0.attn.wqkv.q_proj.A`), in a fixed order: what an optimizer and a checkpoint see. */
  readonly weights: Record<string, tf.Variable>;
  private readonly byWeight = new Map<string, { out: number; parts: LivePart[] }>();
  private readonly seed: number;
  private dropoutCalls = 0;

  constructor(modelConfig: ModelConfig, config: ResolvedLora, options: { seed: number }) {
    this.config = ResolvedLoraSchema.parse(config);
    this.scale = config.alpha / config.rank;
    this.seed = options.seed;
    const id = loraCounter++;
    const r = config.rank;
    const shapes = new Map(weightShapes(modelConfig));
    const live: LivePart[] = [];
    this.weights = {};
    for (const part of loraParts(modelConfig, config)) {
      // PEFT's init: A ~ U(−1/√in, 1/√in) (kaiming_uniform_ with a = √5), B = 0, so the adapter starts as a no-op.
      const bound = 1 / Math.sqrt(part.inDim);
      const rng = createRng(deriveSeed(options.seed, loraName(part, 'A')));
      const a = new Float32Array(part.inDim * r);
      for (let k = 0; k < a.length; k++) a[k] = (2 * rng.next() - 1) * bound;
      const A = tf.variable(tf.tensor2d(a, [part.inDim, r]), true, `lora${id}/${loraName(part, 'A')}`); // (in, r)
      const B = tf.variable(tf.zeros([r, part.width]), true, `lora${id}/${loraName(part, 'B')}`); // (r, width)
      this.weights[loraName(part, 'A')] = A;
      this.weights[loraName(part, 'B')] = B;
      const livePart = { ...part, A, B };
      live.push(livePart);
      const entry = this.byWeight.get(part.weightName) ?? {
        out: (shapes.get(part.weightName) as number[])[1],
        parts: [],
      };
      entry.parts.push(livePart);
      this.byWeight.set(part.weightName, entry);
    }
    for (const entry of this.byWeight.values()) entry.parts.sort((p, q) => p.start - q.start);
    this.parts = live;
  }

  /** The low-rank update of projection `weightName` for input x (N, in): (N, out), or null if not adapted. */
  delta(weightName: string, x: tf.Tensor2D): tf.Tensor2D | null {
    const entry = this.byWeight.get(weightName);
    if (!entry) return null;
    const training = this.config.dropout > 0 && tf.engine().isTapeOn();
    return tf.tidy(() => {
      const N = x.shape[0];
      const pieces: tf.Tensor2D[] = [];
      let column = 0;
      for (const part of entry.parts) {
        if (part.start > column) pieces.push(tf.zeros([N, part.start - column])); // (N, gap): not targeted
        const input = training ? this.dropout(x) : x; // (N, in)
        const low = tf.matMul(input, part.A); // (N, r)
        // The scale applied to the (N, r) product, the smallest tensor on the way; none at scale 1.
        const scaled = this.scale === 1 ? low : tf.mul(low, this.scale); // (N, r)
        pieces.push(tf.matMul(scaled, part.B)); // (N, width)
        column = part.start + part.width;
      }
      if (column < entry.out) pieces.push(tf.zeros([N, entry.out - column])); // (N, rest)
      return pieces.length === 1 ? pieces[0] : (tf.concat(pieces, 1) as tf.Tensor2D); // (N, out)
    });
  }

  variables(): tf.Variable[] {
    return Object.values(this.weights);
  }

  /** Assigns A and B from named tensors (shape-checked); every name must be present and known. */
  loadWeights(record: Record<string, tf.Tensor>): void {
    for (const name of Object.keys(record))
      if (!this.weights[name]) throw new Error(`unknown LoRA weight '${name}'`);
    for (const [name, v] of Object.entries(this.weights)) {
      const t = record[name];
      if (!t) throw new Error(`LoRA weight '${name}' is missing`);
      if (t.shape.join(',') !== v.shape.join(','))
        throw new Error(`LoRA weight '${name}' has shape [${t.shape}], want [${v.shape}]`);
      v.assign(t.dtype === 'float32' ? t : tf.cast(t, 'float32'));
    }
  }

  /** The number of trainable values. */
  size(): number {
    return this.variables().reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    for (const v of this.variables()) v.dispose();
  }

  /** Inverted dropout with a mask from the seeded PRNG: x (N, in) → x ⊙ mask / (1 − p). */
  private dropout(x: tf.Tensor2D): tf.Tensor2D {
    const p = this.config.dropout;
    const rng = createRng(deriveSeed(this.seed, `lora.dropout.${this.dropoutCalls++}`));
    const mask = new Float32Array(x.size);
    for (let k = 0; k < mask.length; k++) mask[k] = rng.next() < p ? 0 : 1 / (1 - p);
    return tf.mul(x, tf.tensor2d(mask, x.shape)) as tf.Tensor2D; // (N, in)
  }
}

/** A fresh adapter for `policy` (its shapes), B = 0: the adapted policy starts equal to the base. */
export function createLora(
  policy: Policy,
  config: LoraConfigInput,
  options: { seed: number; family?: LoraFamily },
): Lora {
  const family = options.family ?? loraFamilyOf(policy.config);
  return new Lora(policy.config, resolveLoraConfig(config, family), { seed: options.seed });
}

/** Adapters put on policies here, so the trainer can find the trainable set of a policy (loraOf). */
const attached = new WeakMap<Policy, Lora>();

/** Routes the policy's projections through `lora` (policy.setAdapter) and remembers it. */
export function attachLora(policy: Policy, lora: Lora): void {
  policy.setAdapter(lora);
  attached.set(policy, lora);
}

/** Takes the adapter off (the base alone again); returns it, the caller still owns it. */
export function detachLora(policy: Policy): Lora | null {
  const lora = attached.get(policy) ?? null;
  policy.setAdapter(null);
  attached.delete(policy);
  return lora;
}

/** The LoRA adapter attached to `policy` (attachLora), or null (none, or another kind of adapter). */
export function loraOf(policy: Policy): Lora | null {
  const lora = attached.get(policy);
  return lora && policy.getAdapter() === lora ? lora : null;
}

/**
 * The policy's weights with the adapter folded in: W + scale·A·B for every adapted weight (the untargeted
 * columns of a fused weight unchanged), the rest as they are. New tensors in the policy's names; the
 * caller disposes them. A policy loading them computes what base + adapter computes, without the adapter.
 */
export function mergeLora(policy: Policy, lora: Lora): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name] of weightShapes(policy.config)) {
    const w = policy.weights[name];
    const parts = lora.parts.filter((p) => p.weightName === name);
    if (parts.length === 0) {
      out[name] = tf.clone(w);
      continue;
    }
    out[name] = tf.tidy(() => {
      const [inDim, outDim] = w.shape;
      let merged: tf.Tensor = w;
      for (const part of parts) {
        const product = tf.mul(tf.matMul(part.A, part.B), lora.scale); // (in, width)
        const placed = tf.pad(product, [
          [0, 0],
          [part.start, outDim - part.start - part.width],
        ]); // (in, out): zeros outside the part's columns
        merged = tf.add(merged, placed); // (in, out)
      }
      return merged.reshape([inDim, outDim]);
    });
  }
  return out;
}
