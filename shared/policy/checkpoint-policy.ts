// Between a live policy (tfjs variables) and a checkpoint (named Float32 tensors): reading the weights
// out with `await data()` (never dataSync) and building a policy + tokenizer back from the files.
import * as tf from './tfjs';
import type { Checkpoint } from './checkpoint';
import { CheckpointError } from './checkpoint';
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
  return {
    config: { ...policy.config },
    weights: await readNamedTensors(policy.weights),
    tokenizer: tokenizer.toText(),
    ...extra,
  };
}

/**
 * A policy with the checkpoint's config and weights, and its tokenizer; every weight must be present,
 * except those added after the checkpoint was written (`WEIGHTS_ADDED_LATER`).
 */
export function policyFromCheckpoint(checkpoint: Checkpoint): { policy: Policy; tokenizer: PolicyTokenizer } {
  const parsed = ModelConfigSchema.safeParse(checkpoint.config);
  if (!parsed.success)
    throw new CheckpointError(
      `config.json is not a policy config: ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`,
    );
  const config = parsed.data;
  const tokenizer = PolicyTokenizer.fromText(checkpoint.tokenizer, config.blockSize);
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
  const policy = createPolicy(config, { seed: 0 });
  const tensors = toTfTensors(checkpoint.weights);
  try {
    policy.loadWeights(tensors);
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return { policy, tokenizer };
}
