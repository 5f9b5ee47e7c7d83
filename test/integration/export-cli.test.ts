// `edgelight export`: a LoRA checkpoint of a Llama-configuration policy goes out as a PEFT adapter folder and as
// a merged Hugging Face model folder; both load back (the adapter through importPeftAdapter, the merged model
// through the Hugging Face reading path) with the logits of base + adapter. Bad requests are one-line errors.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelConfigFromHf, policyWeightsFromHf } from '../../shared/hf/architecture';
import { readHfModel } from '../../shared/hf/files';
import { importPeftAdapter } from '../../shared/hf/peft';
import type { Checkpoint } from '../../shared/policy/checkpoint';
import { readNamedTensors } from '../../shared/policy/checkpoint-policy';
import { attachLora, createLora } from '../../shared/policy/lora';
import { createPolicy, type Policy } from '../../shared/policy/model';
import * as tf from '../../shared/policy/tfjs';
import { PolicyTokenizer } from '../../shared/policy/tokenizer';
import { trainByteLevelBpe } from '../../shared/policy/tokenizer-train';
import { selectBackend } from '../../shared/train/backend';
import { folderSource } from '../../server/hf/folder-source';
import { writeCheckpointDirectory } from '../../server/checkpoints/directory';
import { runCli } from '../helpers/cli';

let dir: string;
let policy: Policy;
const tokenizer = PolicyTokenizer.fromJson(
  trainByteLevelBpe(['a small corpus for a tiny tokenizer', 'the export writes folders'], { vocabSize: 300 }),
);
const config = {
  vocabSize: tokenizer.vocabSize,
  blockSize: 16,
  nLayer: 2,
  nHead: 4,
  nKvHead: 2,
  nEmbd: 16,
  mlp: 'swiglu',
  mlpHidden: 24,
  tiedHead: false,
} as const;
const ids = () => tf.tensor2d([[1, 5, 9, 13, 2, 7]], [1, 6], 'int32');

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
  dir = await mkdtemp(join(tmpdir(), 'edgelight-export-'));
  policy = createPolicy(config, { seed: 1 });
  const lora = createLora(policy, { rank: 2, targets: ['q_proj', 'v_proj', 'down_proj'] }, { seed: 3 });
  // A trained-looking adapter: B is 0 when fresh, and exporting zeros proves little.
  for (const [name, v] of Object.entries(lora.weights))
    if (name.endsWith('.B')) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', 7));
  const checkpoint: Checkpoint = {
    config: { ...policy.config, lora: lora.config },
    weights: await readNamedTensors({ ...policy.weights, ...lora.weights }),
    tokenizer: tokenizer.toText(),
  };
  await writeCheckpointDirectory(join(dir, 'ckpt'), checkpoint);
  attachLora(policy, lora); // the reference: base + adapter
});

afterAll(async () => {
  policy?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('edgelight export', () => {
  it('writes a PEFT adapter and a merged Hugging Face folder that load back with the same logits', async () => {
    const peft = join(dir, 'peft');
    const merged = join(dir, 'merged');
    const out = await runCli(
      'export',
      '--checkpoint',
      join(dir, 'ckpt'),
      '--peft',
      peft,
      '--merged',
      merged,
      '--base-model',
      'local/base',
    );
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout).written).toEqual({
      peft: ['adapter_config.json', 'adapter_model.safetensors'],
      merged: ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'],
    });
    expect((await readdir(peft)).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const adapterConfig = JSON.parse(await readFile(join(peft, 'adapter_config.json'), 'utf8'));
    expect(adapterConfig).toMatchObject({ peft_type: 'LORA', r: 2, base_model_name_or_path: 'local/base' });

    const expected = await tf.tidy(() => policy.forward(ids())).data();

    // The adapter onto a fresh copy of the base.
    const base = createPolicy(config, { seed: 1 });
    const files: Record<string, Uint8Array> = {};
    for (const name of await readdir(peft)) files[name] = new Uint8Array(await readFile(join(peft, name)));
    const plain = await tf.tidy(() => base.forward(ids())).data(); // the base alone
    const back = importPeftAdapter(base, files);
    attachLora(base, back);
    const viaAdapter = await tf.tidy(() => base.forward(ids())).data();
    back.dispose();
    base.dispose();

    // The merged folder through the Hugging Face reading path, as if downloaded.
    const hf = await readHfModel(await folderSource(merged));
    const hfConfig = modelConfigFromHf(hf.config, { blockSize: config.blockSize });
    const weights = policyWeightsFromHf(hf.tensors, hfConfig);
    const loaded = createPolicy(hfConfig, { seed: 9 });
    loaded.loadWeights(
      Object.fromEntries(Object.entries(weights).map(([n, t]) => [n, tf.tensor(t.data, t.shape)])),
    );
    const viaMerged = await tf.tidy(() => loaded.forward(ids())).data();
    loaded.dispose();

    const worst = (a: ArrayLike<number>) =>
      Math.max(...Array.from(a, (x, i) => Math.abs(x - expected[i]))) /
      Math.max(...Array.from(expected, Math.abs));
    expect(worst(plain)).toBeGreaterThan(1e-3); // the adapter moves the logits, so agreement means something
    expect(worst(viaAdapter)).toBeLessThan(1e-6);
    expect(worst(viaMerged)).toBeLessThan(1e-5);
  });

  it('refuses what it cannot do, in one line', async () => {
    const none = await runCli('export', '--checkpoint', join(dir, 'ckpt'));
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--peft DIR, --merged DIR or both/);
    const missing = await runCli('export', '--checkpoint', join(dir, 'nowhere'), '--peft', join(dir, 'x'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--checkpoint .*nowhere/);
  });
});
