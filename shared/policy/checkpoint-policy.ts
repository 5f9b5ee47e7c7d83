// Between a live policy (tfjs variables) and a checkpoint (named Float32 tensors): reading the weights
// out with `await data()` (never dataSync) and building a policy + tokenizer back from the files.
//
// A policy training a LoRA adapter (shared/policy/lora.ts) is saved whole: the base weights, the adapter's
// A and B beside them in model.safetensors (`lora.h.0.attn.wqkv.q_proj.A`, …) and the adapter's settings
// as config.json's `lora`. Read back, the adapter is folded into the weights (what serving, eval and the
// RL runners want: one matMul per projection, no adapter) unless the caller asks to keep it (the trainer).
import * as tf from './tfjs';
import type { Checkpoint } from './checkpoint';
import { CheckpointError } from './checkpoint';
import { attachLora, Lora, loraOf, mergeLora, ResolvedLoraSchema } from './lora';
import { createPolicy, ModelConfigSchema, type Policy, WEIGHTS_ADDED_LATER, weightShapes } from './model';
import type { NamedTensors } from './safetensors';
import { PolicyTokenizer } from './tokenizer';

/** Reads named tensors out of tfjs, in name order, as F32 (I32 for int tensors). */
export async function readNamedTensors(record: Record<string, tf.Tensor>): Promise<NamedTensors> {
  const out: NamedTensors = {};
  for (const name of Object.keys(record).sort()) {
    const t = record[name];
    const data = await t.data();
    out[name] =
      t.dtype === 'int32'
        ? { dtype: 'I32', shape: t.shape.slice(), data: Int32Array.from(data) }
        : { dtype: 'F32', shape: t.shape.slice(), data: Float32Array.from(data) };
  }
  return out;
}

/** Named tensors as tfjs tensors (the caller owns and disposes them). */
export function toTfTensors(named: NamedTensors): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, t] of Object.entries(named))
    out[name] = tf.tensor(
      t.data as Float32Array | Int32Array,
      t.shape,
      t.dtype === 'I32' ? 'int32' : 'float32',
    );
  return out;
}

export async function checkpointFromPolicy(
  policy: Policy,
  tokenizer: PolicyTokenizer,
  extra: Pick<Checkpoint, 'optimizer' | 'trainer'> = {},
): Promise<Checkpoint> {
  const lora = loraOf(policy);
  return {
    config: lora ? { ...policy.config, lora: lora.config } : { ...policy.config },
    weights: await readNamedTensors(lora ? { ...policy.weights, ...lora.weights } : policy.weights),
    tokenizer: tokenizer.toText(),
    ...(tokenizer.pretrained ? { tokenizerConfig: tokenizer.configJson(policy.config.blockSize) } : {}),
    ...extra,
  };
}

/** The LoRA adapter a checkpoint carries (config.json's `lora`), validated, or null. */
function checkpointLora(checkpoint: Checkpoint): ReturnType<typeof ResolvedLoraSchema.parse> | null {
  if (checkpoint.config.lora === undefined) return null;
  const parsed = ResolvedLoraSchema.safeParse(checkpoint.config.lora);
  if (!parsed.success)
    throw new CheckpointError(
      `config.json's lora is not a LoRA config: ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`,
    );
  return parsed.data;
}

/**
 * A policy with the checkpoint's config and weights, and its tokenizer; every weight must be present,
 * except those added after the checkpoint was written (`WEIGHTS_ADDED_LATER`). A checkpoint with a LoRA
 * adapter gives its weights with the adapter merged in, or with `adapter: 'attach'` the base weights with
 * the adapter attached (`lora`, owned by the caller with the policy; loraOf(policy) finds it), or with
 * `'separate'` the base weights and the adapter beside them, not attached (for export).
 */
export function policyFromCheckpoint(
  checkpoint: Checkpoint,
  options: { adapter?: 'merge' | 'attach' | 'separate' } = {},
): { policy: Policy; tokenizer: PolicyTokenizer; lora: Lora | null } {
  const parsed = ModelConfigSchema.safeParse(checkpoint.config);
  if (!parsed.success)
    throw new CheckpointError(
      `config.json is not a policy config: ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`,
    );
  const config = parsed.data;
  let tokenizer: PolicyTokenizer;
  try {
    tokenizer = checkpoint.tokenizerConfig
      ? PolicyTokenizer.fromFiles(JSON.parse(checkpoint.tokenizer), checkpoint.tokenizerConfig)
      : PolicyTokenizer.fromText(checkpoint.tokenizer, config.blockSize);
  } catch (error) {
    throw new CheckpointError(`tokenizer: ${(error as Error).message}`);
  }
  if (tokenizer.vocabSize > config.vocabSize)
    throw new CheckpointError(
      `tokenizer has ${tokenizer.vocabSize} tokens but the model only ${config.vocabSize}`,
    );
  for (const [name, shape] of weightShapes(config)) {
    const t = checkpoint.weights[name];
    if (!t && WEIGHTS_ADDED_LATER.has(name)) continue; // loadWeights gives it 0
    if (!t) throw new CheckpointError(`model.safetensors lacks weight ${name}`);
    if (t.dtype !== 'F32' || t.shape.join(',') !== shape.join(','))
      throw new CheckpointError(`weight ${name} is ${t.dtype} [${t.shape}], the config needs F32 [${shape}]`);
  }
  const loraConfig = checkpointLora(checkpoint);
  const isAdapter = (name: string) => name.startsWith('lora.');
  if (!loraConfig) {
    const stray = Object.keys(checkpoint.weights).find(isAdapter);
    if (stray)
      throw new CheckpointError(`model.safetensors has LoRA weight ${stray} but config.json no lora`);
  }
  const policy = createPolicy(config, { seed: 0 });
  const tensors = toTfTensors(checkpoint.weights);
  const base = Object.fromEntries(Object.entries(tensors).filter(([name]) => !isAdapter(name)));
  const adapter = Object.fromEntries(Object.entries(tensors).filter(([name]) => isAdapter(name)));
  let lora: Lora | null = null;
  try {
    policy.loadWeights(base);
    if (loraConfig) {
      lora = new Lora(config, loraConfig, { seed: 0 });
      lora.loadWeights(adapter);
      if (options.adapter === 'attach') attachLora(policy, lora);
      else if (options.adapter !== 'separate') {
        const merged = mergeLora(policy, lora);
        policy.loadWeights(merged);
        tf.dispose(Object.values(merged));
        lora.dispose();
        lora = null;
      }
    }
  } catch (error) {
    lora?.dispose();
    policy.dispose();
    throw error;
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return { policy, tokenizer, lora };
}
