// A LoRA adapter (shared/policy/lora.ts) as a PEFT adapter folder, and back: what `PeftModel.from_pretrained`
// reads and `save_pretrained` writes.
//
//   adapter_config.json         {peft_type: "LORA", task_type: "CAUSAL_LM", r, lora_alpha, lora_dropout,
//                                target_modules, bias: "none", fan_in_fan_out, base_model_name_or_path, …}
//   adapter_model.safetensors   `base_model.model.{module path}.lora_A.weight` (r, in) and `.lora_B.weight`
//                               (out, r), F32
//
// API
//   exportPeftAdapter(lora, options)      → { config, tensors, files } (files: name → bytes)
//   importPeftAdapter(policy, files)      → a Lora with the file's A and B (validated; every key mapped)
//   peftKey(family, part, matrix)         the PEFT key of one part's A or B
//   mergedWeights(policy, lora)           the policy's weights with the adapter folded in, as named F32
//                                         tensors in the policy's names (see the note there)
//   exportMergedHf(policy, lora)          the merged model as a Hugging Face folder: config.json and
//                                         model.safetensors in GPT-2's or Llama's layout (architecture.ts)
//   exportCheckpointAdapter(checkpoint)   the adapter files and merged weights of a LoRA run's checkpoint
//
// Facts taken from PEFT (huggingface/peft):
// - Key names: `get_peft_model_state_dict` (peft/utils/save_and_load.py) keeps the module path under the
//   wrapper's `base_model.model.` prefix and drops the adapter name ("default"), so Llama's first q_proj is
//   `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight` and GPT-2's fused attention is
//   `base_model.model.transformer.h.0.attn.c_attn.lora_A.weight`.
// - Shapes: `LoraLayer.update_layer` (peft/tuners/lora/layer.py) makes lora_A = nn.Linear(in, r) and
//   lora_B = nn.Linear(r, out), whose weights are (r, in) and (out, r): the transposes of this project's
//   A (in, r) and B (r, out). That holds for GPT-2's Conv1D too; `fan_in_fan_out: true` only tells PEFT
//   the base weight is stored (in, out), which it transposes when merging (`get_delta_weight`).
// - Target matching: a target name matches every module whose path ends in it, so GPT-2's `c_proj`
//   adapts both `attn.c_proj` and `mlp.c_proj`.
//
// The presets have no Hugging Face counterpart; their adapters are written in the policy's own module
// names (`base_model.model.h.0.attn.wqkv.lora_A.weight`) and read back here, though PEFT has no model to
// put them on.
import * as tf from '../policy/tfjs';
import { z } from 'zod';
import type { Checkpoint } from '../policy/checkpoint';
import { type HfFamily, hfConfigFromModelConfig, hfFamilyOf, hfWeightsFromPolicy } from './architecture';
import { policyFromCheckpoint, readNamedTensors } from '../policy/checkpoint-policy';
import {
  Lora,
  type LoraFamily,
  type LoraPart,
  loraFamilyOf,
  loraName,
  mergeLora,
  resolveLoraConfig,
} from '../policy/lora';
import type { ModelConfig, Policy } from '../policy/model';
import { decodeSafetensors, encodeSafetensors, type NamedTensors } from '../policy/safetensors';

export const PEFT_FILES = {
  config: 'adapter_config.json',
  weights: 'adapter_model.safetensors',
} as const;

/** The adapter_config.json fields this project reads; PEFT writes many more, which pass through. */
export const PeftAdapterConfigSchema = z
  .object({
    peft_type: z.literal('LORA', { message: 'peft_type must be "LORA" (only LoRA adapters are read)' }),
    task_type: z.string().nullish(),
    r: z.number().int().min(1),
    lora_alpha: z.number().positive(),
    lora_dropout: z.number().min(0).lt(1).default(0),
    target_modules: z.array(z.string().min(1), {
      message: 'target_modules must be a list of module names (a regular expression is not supported)',
    }),
    bias: z.literal('none', {
      message: 'bias must be "none" (adapters with trained biases are not supported)',
    }),
    fan_in_fan_out: z.boolean().default(false),
    base_model_name_or_path: z.string().nullish(),
    inference_mode: z.boolean().default(true),
    use_rslora: z.literal(false, { message: 'rsLoRA scaling (alpha/√r) is not supported' }).optional(),
    use_dora: z.literal(false, { message: 'DoRA adapters are not supported' }).optional(),
    layers_to_transform: z.null({ message: 'layers_to_transform is not supported' }).optional(),
    modules_to_save: z.null({ message: 'modules_to_save is not supported' }).optional(),
    rank_pattern: z.record(z.string(), z.unknown()).optional(),
    alpha_pattern: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough()
  .refine((c) => Object.keys(c.rank_pattern ?? {}).length === 0, {
    message: 'rank_pattern (a rank per module) is not supported',
  })
  .refine((c) => Object.keys(c.alpha_pattern ?? {}).length === 0, {
    message: 'alpha_pattern (an alpha per module) is not supported',
  });
export type PeftAdapterConfig = z.infer<typeof PeftAdapterConfigSchema>;

/** Where each family's module lives under PEFT's `base_model.model.` prefix, by (layer, target, weight). */
function modulePath(family: LoraFamily, part: Pick<LoraPart, 'layer' | 'target' | 'weightName'>): string {
  const i = part.layer;
  if (family === 'llama') {
    const attention = ['q_proj', 'k_proj', 'v_proj', 'o_proj'].includes(part.target);
    return `model.layers.${i}.${attention ? 'self_attn' : 'mlp'}.${part.target}`;
  }
  if (family === 'gpt2') {
    // c_proj is two modules; the policy weight says which.
    const block = part.weightName.endsWith('.attn.wo') || part.target === 'c_attn' ? 'attn' : 'mlp';
    return `transformer.h.${i}.${block}.${part.target}`;
  }
  return part.weightName; // the presets: the policy's own names (h.0.attn.wqkv)
}

export function peftKey(
  family: LoraFamily,
  part: Pick<LoraPart, 'layer' | 'target' | 'weightName'>,
  matrix: 'A' | 'B',
): string {
  return `base_model.model.${modulePath(family, part)}.lora_${matrix}.weight`;
}

const encodeJson = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);

/** Transposes a row-major (rows, cols) Float32 matrix. */
function transposed(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/**
 * The adapter as PEFT writes it. `baseModel` is the Hugging Face id or path of the base (PEFT's
 * `base_model_name_or_path`), which `PeftModel.from_pretrained` does not need but AutoPeftModel does.
 */
export async function exportPeftAdapter(
  lora: Lora,
  options: { baseModel?: string } = {},
): Promise<{ config: PeftAdapterConfig; tensors: NamedTensors; files: Record<string, Uint8Array> }> {
  const { rank: r, alpha, dropout, targets, family } = lora.config;
  const config: PeftAdapterConfig = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    r,
    lora_alpha: alpha,
    lora_dropout: dropout,
    target_modules: [...targets],
    bias: 'none',
    // GPT-2's Conv1D stores its weight (in, out) (the HF → policy mapping in shared/hf/architecture.ts).
    fan_in_fan_out: family === 'gpt2',
    base_model_name_or_path: options.baseModel ?? null,
    inference_mode: true,
    use_rslora: false,
    use_dora: false,
    init_lora_weights: true,
    layers_to_transform: null,
    modules_to_save: null,
  };
  const tensors: NamedTensors = {};
  for (const part of lora.parts) {
    const a = (await part.A.data()) as Float32Array; // (in, r)
    const b = (await part.B.data()) as Float32Array; // (r, width)
    tensors[peftKey(family, part, 'A')] = {
      dtype: 'F32',
      shape: [r, part.inDim],
      data: transposed(a, part.inDim, r), // (r, in)
    };
    tensors[peftKey(family, part, 'B')] = {
      dtype: 'F32',
      shape: [part.width, r],
      data: transposed(b, r, part.width), // (out, r)
    };
  }
  return {
    config,
    tensors,
    files: {
      [PEFT_FILES.config]: encodeJson(config),
      // PEFT saves with metadata {"format": "pt"}, which transformers' loader checks for.
      [PEFT_FILES.weights]: encodeSafetensors(tensors, { format: 'pt' }),
    },
  };
}

/** Raised for an adapter folder this project cannot read; the message says what is wrong. */
export class PeftAdapterError extends Error {
  override name = 'PeftAdapterError';
}

/**
 * A Lora for `policy` from a PEFT adapter folder's files. The family (which module names apply) comes
 * from the policy's config unless given. Every tensor must map onto one of the adapter's parts and every
 * part must be present, with PEFT's shapes, or nothing is loaded.
 */
export function importPeftAdapter(
  policy: Policy,
  files: Record<string, Uint8Array>,
  options: { family?: LoraFamily } = {},
): Lora {
  for (const name of [PEFT_FILES.config, PEFT_FILES.weights])
    if (!files[name]) throw new PeftAdapterError(`the adapter is missing ${name}`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(files[PEFT_FILES.config]));
  } catch (error) {
    throw new PeftAdapterError(`${PEFT_FILES.config} is not JSON: ${(error as Error).message}`);
  }
  const parsed = PeftAdapterConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PeftAdapterError(`${PEFT_FILES.config}: ${issue.path.join('.') || 'value'}: ${issue.message}`);
  }
  const config = parsed.data;
  const family = options.family ?? loraFamilyOf(policy.config);
  if (config.fan_in_fan_out !== (family === 'gpt2'))
    throw new PeftAdapterError(
      `${PEFT_FILES.config}: fan_in_fan_out ${config.fan_in_fan_out} does not fit a ${family} policy (true only for GPT-2's Conv1D)`,
    );
  let resolved: ReturnType<typeof resolveLoraConfig>;
  try {
    resolved = resolveLoraConfig(
      {
        rank: config.r,
        alpha: config.lora_alpha,
        dropout: config.lora_dropout,
        targets: config.target_modules,
      },
      family,
    );
  } catch (error) {
    throw new PeftAdapterError(`${PEFT_FILES.config}: ${(error as Error).message}`);
  }
  let tensors: NamedTensors;
  try {
    tensors = decodeSafetensors(files[PEFT_FILES.weights]).tensors;
  } catch (error) {
    throw new PeftAdapterError(`${PEFT_FILES.weights}: ${(error as Error).message}`);
  }
  const lora = new Lora(policy.config, resolved, { seed: 0 });
  try {
    const byKey = new Map<string, { name: string; shape: number[]; rows: number; cols: number }>();
    for (const part of lora.parts) {
      byKey.set(peftKey(family, part, 'A'), {
        name: loraName(part, 'A'),
        shape: [resolved.rank, part.inDim],
        rows: resolved.rank,
        cols: part.inDim,
      });
      byKey.set(peftKey(family, part, 'B'), {
        name: loraName(part, 'B'),
        shape: [part.width, resolved.rank],
        rows: part.width,
        cols: resolved.rank,
      });
    }
    const record: Record<string, tf.Tensor> = {};
    try {
      for (const [key, t] of Object.entries(tensors)) {
        const target = byKey.get(key);
        if (!target)
          throw new PeftAdapterError(
            `${PEFT_FILES.weights}: '${key}' is not a LoRA weight of this ${family} policy with targets ${resolved.targets.join(', ')} (e.g. ${byKey.keys().next().value})`,
          );
        // F16 / BF16 / F64 adapters (what PEFT saves under torch_dtype) are widened to float32 on reading.
        if (!(t.data instanceof Float32Array) || t.shape.join(',') !== target.shape.join(','))
          throw new PeftAdapterError(
            `${PEFT_FILES.weights}: '${key}' is ${t.dtype} [${t.shape.join(', ')}], want a float [${target.shape.join(', ')}]`,
          );
        // PEFT's (r, in) and (out, r) are the transposes of this project's A (in, r) and B (r, out).
        const data = transposed(t.data as Float32Array, target.rows, target.cols);
        record[target.name] = tf.tensor2d(data, [target.cols, target.rows]);
      }
      for (const [key, target] of byKey)
        if (!record[target.name]) throw new PeftAdapterError(`${PEFT_FILES.weights} lacks '${key}'`);
      lora.loadWeights(record);
    } finally {
      tf.dispose(Object.values(record));
    }
  } catch (error) {
    lora.dispose();
    throw error;
  }
  return lora;
}

/**
 * The full weights of base + adapter (W + scale·A·B folded in), as F32 tensors in the policy's names:
 * a checkpoint's model.safetensors that runs without the adapter. Turning them into a Hugging Face
 * layout is the architecture mapping's job (shared/hf/architecture.ts, `hfWeightsFromPolicy`).
 */
export async function mergedWeights(policy: Policy, lora: Lora): Promise<NamedTensors> {
  const merged = mergeLora(policy, lora);
  try {
    return await readNamedTensors(merged);
  } finally {
    tf.dispose(Object.values(merged));
  }
}

/**
 * Base + adapter merged, as a Hugging Face model folder that `AutoModelForCausalLM.from_pretrained` reads
 * without PEFT: config.json (hfConfigFromModelConfig) and model.safetensors in the family's key names and
 * orientation (hfWeightsFromPolicy: Llama's (out, in) projections split out of the fused ones, GPT-2's
 * Conv1D (in, out) as they are). The family defaults to the one the config is; a preset has none and is
 * refused with what it lacks.
 */
export async function exportMergedHf(
  policy: Policy,
  lora: Lora,
  options: { family?: HfFamily } = {},
): Promise<{ config: Record<string, unknown>; files: Record<string, Uint8Array> }> {
  // every tensor F32 (readNamedTensors of float weights)
  return hfModelFiles(policy.config, await mergedWeights(policy, lora), options);
}

/**
 * A model's weights (policy names) as a Hugging Face model folder: config.json (hfConfigFromModelConfig)
 * and model.safetensors in the family's key names and orientation (hfWeightsFromPolicy). The one writer
 * of that folder: `exportMergedHf` (an adapter folded in) and `edgelight export --merged` (a full model).
 */
export function hfModelFiles(
  modelConfig: ModelConfig,
  weights: NamedTensors,
  options: { family?: HfFamily } = {},
): { config: Record<string, unknown>; files: Record<string, Uint8Array> } {
  const config = hfConfigFromModelConfig(modelConfig, options.family ?? hfFamilyOf(modelConfig));
  const asHf = Object.fromEntries(
    Object.entries(weights).map(([name, t]) => [name, { shape: t.shape, data: t.data as Float32Array }]),
  );
  const tensors: NamedTensors = {};
  for (const [key, t] of Object.entries(hfWeightsFromPolicy(asHf, config)))
    tensors[key] = { dtype: 'F32', shape: t.shape, data: t.data };
  return {
    config,
    files: {
      'config.json': encodeJson(config),
      'model.safetensors': encodeSafetensors(tensors, { format: 'pt' }),
    },
  };
}

/**
 * A LoRA run's checkpoint as what Python takes: the PEFT adapter folder's files and the merged weights
 * (policy names). A checkpoint without an adapter is an error that says so.
 */
export async function exportCheckpointAdapter(
  checkpoint: Checkpoint,
  options: { baseModel?: string } = {},
): Promise<{ adapter: Record<string, Uint8Array>; merged: NamedTensors }> {
  const { policy, lora } = policyFromCheckpoint(checkpoint, { adapter: 'separate' });
  try {
    if (!lora) throw new PeftAdapterError('the checkpoint carries no LoRA adapter (config.json has no lora)');
    const { files } = await exportPeftAdapter(lora, options);
    return { adapter: files, merged: await mergedWeights(policy, lora) };
  } finally {
    lora?.dispose();
    policy.dispose();
  }
}
