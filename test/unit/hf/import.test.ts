// checkpointFromHfModel: a Hugging Face model folder (here GPT-2-shaped, written by the project's HF writer,
// with a tokenizer_config.json that names no token, as gpt2's own) becomes a checkpoint whose policy gives
// the original logits and whose tokenizer knows its eos and bos from config.json's token ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSourceFromFiles } from '../../../shared/hf/files';
import { checkpointFromHfModel, completeTokenizerConfig } from '../../../shared/hf/import';
import { hfModelFiles } from '../../../shared/hf/peft';
import { checkpointToFiles } from '../../../shared/policy/checkpoint';
import { policyFromCheckpoint, readNamedTensors } from '../../../shared/policy/checkpoint-policy';
import { createPolicy, ModelConfigSchema, type Policy } from '../../../shared/policy/model';
import * as tf from '../../../shared/policy/tfjs';
import { trainByteLevelBpe } from '../../../shared/policy/tokenizer-train';
import { selectBackend } from '../../../shared/train/backend';

const tokenizerJson = trainByteLevelBpe(['hello there, a tiny gpt-2 model', 'thanks for the feedback'], {
  vocabSize: 300,
  specialTokens: ['<|endoftext|>'],
});
const config = ModelConfigSchema.parse({
  vocabSize: 304,
  blockSize: 24,
  nLayer: 1,
  nHead: 2,
  nEmbd: 16,
  positions: 'learned',
  norm: 'layer',
  mlp: 'gelu_tanh',
  qkvBias: true,
  attnOutBias: true,
  mlpBias: true,
});
let original: Policy;
let folder: File[];

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
  original = createPolicy(config, { seed: 5 });
  const model = hfModelFiles(config, await readNamedTensors(original.weights), { family: 'gpt2' });
  const hfConfig = { ...model.config, bos_token_id: 0, eos_token_id: 0 };
  const text = (s: string) => new TextEncoder().encode(s);
  const file = (name: string, bytes: Uint8Array) => new File([bytes as Uint8Array<ArrayBuffer>], name);
  folder = [
    file('config.json', text(JSON.stringify(hfConfig))),
    file('model.safetensors', model.files['model.safetensors']),
    file('tokenizer.json', text(JSON.stringify(tokenizerJson))),
    file('tokenizer_config.json', text('{"model_max_length": 1024}')),
  ];
});

afterAll(() => original?.dispose());

describe('checkpointFromHfModel', () => {
  it('gives the policy the original logits and the tokenizer its roles from config.json', async () => {
    const progress: number[] = [];
    const checkpoint = await checkpointFromHfModel(fileSourceFromFiles(folder), {
      onProgress: (p) => progress.push(p.bytesRead),
    });
    expect(progress.length).toBeGreaterThan(0);
    expect(checkpoint.tokenizerConfig).toEqual({
      model_max_length: 1024,
      eos_token: '<|endoftext|>',
      bos_token: '<|endoftext|>',
    });
    expect(checkpoint.config).toMatchObject({ positions: 'learned', blockSize: 24, padId: 0 });
    const { policy, tokenizer } = policyFromCheckpoint(checkpoint);
    try {
      expect([tokenizer.bosId, tokenizer.eosId, tokenizer.padId, tokenizer.pretrained]).toEqual([
        0,
        0,
        0,
        true,
      ]);
      const ids = tf.tensor2d([[0, ...tokenizer.encode('thanks for the feedback')]], undefined, 'int32');
      const [a, b] = [original.forward(ids), policy.forward(ids)];
      expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
      tf.dispose([ids, a, b]);
    } finally {
      policy.dispose();
    }
    // The same folder gives the same checkpoint id.
    const again = await checkpointFromHfModel(fileSourceFromFiles(folder));
    expect((await checkpointToFiles(again)).id).toBe((await checkpointToFiles(checkpoint)).id);
  });

  it('names the file at fault', async () => {
    // config.json without eos_token_id, and a tokenizer_config.json naming no token: no reply end.
    const noEos = folder.map((f) => (f.name === 'config.json' ? new File(['{}'], 'config.json') : f));
    await expect(checkpointFromHfModel(fileSourceFromFiles(noEos))).rejects.toThrow(
      /the tokenizer in the chosen files: .*names no eos_token/,
    );
  });

  it('completes only the roles the config leaves out', () => {
    const filled = completeTokenizerConfig(tokenizerJson, { eos_token: '<|endoftext|>' }, [
      { bos_token_id: [0, 1] },
    ]);
    expect(filled).toEqual({ eos_token: '<|endoftext|>', bos_token: '<|endoftext|>' });
    expect(completeTokenizerConfig(tokenizerJson, null, [{ eos_token_id: 99999 }])).toEqual({});
  });
});
