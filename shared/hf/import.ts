// A Hugging Face model folder (wherever its files are: a disk folder, picked files, the Hub cache) as an
// edgelight checkpoint: the policy's config and weights (shared/hf/architecture.ts) and the model's own
// tokenizer with its roles and chat template (shared/policy/tokenizer.ts). Once a checkpoint, a
// pretrained model is a run's `init` like any other: weights only, no optimizer or trainer state.
//
// The tokenizer_config.json kept in the checkpoint is the model's, completed where it leaves a role to
// other files: GPT-2's names no special token at all, and its eos is config.json's / generation_config's
// eos_token_id (transformers' GPT2Tokenizer defaults it to <|endoftext|>, the same token).
import type { Checkpoint } from '../policy/checkpoint';
import { ModelConfigSchema } from '../policy/model';
import type { NamedTensors } from '../policy/safetensors';
import { PolicyTokenizer } from '../policy/tokenizer';
import { type FromHfOptions, modelConfigFromHf, policyWeightsFromHf } from './architecture';
import { type FileSource, HfFilesError, type ReadHfModelOptions, readHfModel } from './files';

/** A pretrained model's context as a policy's, unless asked: rotary tables and KV caches scale with it. */
export const DEFAULT_MAX_BLOCK_SIZE = 2048;

export type ImportHfOptions = ReadHfModelOptions & FromHfOptions;

/** The id a JSON config gives for `key` (a number, or the first of a list), or null. */
function configTokenId(json: unknown, key: string): number | null {
  const value = (json as Record<string, unknown> | null)?.[key];
  const id = Array.isArray(value) ? value[0] : value;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 ? id : null;
}

/**
 * tokenizer_config.json with an eos_token (and bos_token) filled from generation_config.json or
 * config.json's token ids where it names none.
 */
export function completeTokenizerConfig(
  tokenizerJson: unknown,
  tokenizerConfig: unknown,
  sources: unknown[],
): Record<string, unknown> {
  const config = { ...((tokenizerConfig ?? {}) as Record<string, unknown>) };
  const added = ((tokenizerJson as { added_tokens?: { id: number; content: string }[] } | null)
    ?.added_tokens ?? []) as { id: number; content: string }[];
  const vocab = (tokenizerJson as { model?: { vocab?: unknown } } | null)?.model?.vocab;
  const textOf = (id: number): string | null => {
    const addedToken = added.find((t) => t.id === id);
    if (addedToken) return addedToken.content;
    if (vocab && typeof vocab === 'object' && !Array.isArray(vocab))
      for (const [text, value] of Object.entries(vocab as Record<string, unknown>))
        if (value === id) return text;
    return null;
  };
  for (const role of ['eos', 'bos'] as const) {
    if (config[`${role}_token`] != null) continue;
    for (const source of sources) {
      const id = configTokenId(source, `${role}_token_id`);
      const text = id === null ? null : textOf(id);
      if (text !== null) {
        config[`${role}_token`] = text;
        break;
      }
    }
  }
  return config;
}

/**
 * Reads a model folder and gives the checkpoint a run starts from: config.json (validated: GPT-2,
 * Llama or Qwen2), every weight in the policy's layout, tokenizer.json and the completed
 * tokenizer_config.json (its chat template included, from chat_template.jinja when there is one).
 */
export async function checkpointFromHfModel(
  source: FileSource,
  options: ImportHfOptions = {},
): Promise<Checkpoint> {
  const files = await readHfModel(source, options);
  const within = <T>(what: string, run: () => T): T => {
    try {
      return run();
    } catch (error) {
      throw new HfFilesError(`${what} in ${source.label}: ${(error as Error).message}`);
    }
  };
  const tokenizerConfig = completeTokenizerConfig(files.tokenizerJson, files.tokenizerConfig, [
    files.generationConfig,
    files.config,
  ]);
  if (files.chatTemplate !== null) tokenizerConfig.chat_template = files.chatTemplate;
  const tokenizer = within('the tokenizer', () =>
    PolicyTokenizer.fromFiles(files.tokenizerJson, tokenizerConfig),
  );
  const config = within('config.json', () => {
    const fromHf = modelConfigFromHf(files.config, { maxBlockSize: DEFAULT_MAX_BLOCK_SIZE, ...options });
    return ModelConfigSchema.parse({ ...fromHf, padId: tokenizer.padId });
  });
  if (tokenizer.vocabSize > config.vocabSize)
    throw new HfFilesError(
      `the tokenizer has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${config.vocabSize} (${source.label})`,
    );
  const weights: NamedTensors = {};
  within('the weights', () => {
    for (const [name, t] of Object.entries(policyWeightsFromHf(files.tensors, config)))
      weights[name] = { dtype: 'F32', shape: t.shape, data: t.data };
  });
  return {
    config: { ...config },
    weights,
    tokenizer: JSON.stringify(files.tokenizerJson),
    tokenizerConfig,
  };
}
