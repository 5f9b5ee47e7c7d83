// Hugging Face parity (issue 22): tiny random GPT-2, Llama (GQA, untied), Llama (tied, head_dim ≠ C / nh) and
// Qwen2 (q/k/v biases) models written by scripts/hf-reference/tiny_models.py, loaded through
// shared/hf/architecture.ts into the project's one model, against an independent float64 numpy forward
// (scripts/hf-reference/reference.py): logits, greedy generations (with and without the KV cache) and the
// HF ↔ policy weight mapping round trip.
//
// Relative error = max|a − b| / max|b| over every logit of the sequence (a: the policy, float32, cpu
// backend as the other policy tests; b: numpy float64).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '../../../shared/policy/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type HfTensors,
  hfConfigFromModelConfig,
  hfWeightsFromPolicy,
  modelConfigFromHf,
  parseHfConfig,
  policyWeightsFromHf,
} from '../../../shared/hf/architecture';
import { createPolicy, type Policy } from '../../../shared/policy/model';
import { decodeSafetensors } from '../../../shared/policy/safetensors';
import { generate } from '../../../shared/policy/sampling';
import { selectBackend } from '../../../shared/train/backend';

const SCRIPTS = join(__dirname, '../../../scripts/hf-reference');
const MODELS = ['gpt2', 'llama-gqa', 'llama-tied', 'qwen2'] as const;
const IDS = [3, 17, 42, 5, 88, 17, 42, 60, 1, 29];
const GREEDY = 12;

function python(args: string[]): string {
  try {
    return execFileSync('python3', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error('hf-parity needs python3 on PATH (with numpy: apt-get install python3-numpy)');
    if (String(e.stderr).includes("No module named 'numpy'"))
      throw new Error('hf-parity needs numpy for python3 (apt-get install python3-numpy)');
    throw new Error(`python3 ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

let dir = '';

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
  dir = mkdtempSync(join(tmpdir(), 'hf-parity-'));
  python([join(SCRIPTS, 'tiny_models.py'), dir]);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function readModel(name: string) {
  const json = JSON.parse(readFileSync(join(dir, name, 'config.json'), 'utf8'));
  const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(join(dir, name, 'model.safetensors'))));
  const hf: HfTensors = {};
  for (const [key, t] of Object.entries(tensors)) hf[key] = { shape: t.shape, data: t.data as Float32Array };
  return { json, hf };
}

function loadPolicy(name: string): Policy {
  const { json, hf } = readModel(name);
  const config = modelConfigFromHf(json);
  const weights = policyWeightsFromHf(hf, config);
  const policy = createPolicy(config, { seed: 0 });
  policy.loadWeights(
    Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, tf.tensor(w.data, w.shape)])),
  );
  return policy;
}

describe.each(MODELS)('Hugging Face parity: %s', (name) => {
  it('logits match the numpy reference to 1e-4 relative, and greedy generations are identical', async () => {
    const reference = JSON.parse(
      python([
        join(SCRIPTS, 'reference.py'),
        join(dir, name),
        '--ids',
        IDS.join(','),
        '--greedy',
        String(GREEDY),
      ]),
    ) as { logits: number[][]; greedy: number[] };
    const policy = loadPolicy(name);
    const logits = tf.tidy(() => policy.forward(tf.tensor2d([IDS], [1, IDS.length], 'int32')));
    const ours = await logits.data();
    logits.dispose();
    const theirs = reference.logits.flat();
    expect(ours.length).toBe(theirs.length);
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < theirs.length; i++) {
      worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
      scale = Math.max(scale, Math.abs(theirs[i]));
    }
    console.log(
      `${name}: max|Δlogit| ${worst.toExponential(2)}, max|logit| ${scale.toFixed(3)}, relative ${(worst / scale).toExponential(2)}`,
    );
    expect(worst / scale).toBeLessThan(1e-4);
    for (const useCache of [true, false]) {
      const [out] = await generate(policy, [IDS], { maxNewTokens: GREEDY, temperature: 0, useCache });
      expect(out.tokens, `useCache ${useCache}`).toEqual(reference.greedy);
    }
    policy.dispose();
  });

  it('hfWeightsFromPolicy inverts policyWeightsFromHf exactly, and the saved config reloads the same model', () => {
    const { json, hf } = readModel(name);
    const config = modelConfigFromHf(json);
    const policyWeights = policyWeightsFromHf(hf, config);
    const back = hfWeightsFromPolicy(policyWeights, json);
    // Everything but GPT-2's causal-mask buffers comes back.
    const kept = Object.keys(hf).filter((k) => !/(^|\.)attn\.bias$/.test(k));
    expect(Object.keys(back).sort()).toEqual(kept.sort());
    for (const key of kept) {
      expect(back[key].shape, key).toEqual(hf[key].shape);
      expect(Buffer.from(back[key].data.buffer).equals(Buffer.from(hf[key].data.slice().buffer)), key).toBe(
        true,
      );
    }
    const family = parseHfConfig(json).model_type;
    expect(modelConfigFromHf(hfConfigFromModelConfig(config, family))).toEqual(config);
  });
});

describe('the HF mapping refuses what it cannot run', () => {
  it('names a missing key, lists unexpected ones, and refuses rope_scaling and unknown model types', () => {
    const { json, hf } = readModel('llama-gqa');
    const config = modelConfigFromHf(json);
    const missing = { ...hf };
    delete missing['model.layers.1.mlp.up_proj.weight'];
    expect(() => policyWeightsFromHf(missing, config)).toThrow(
      /'model\.layers\.1\.mlp\.up_proj\.weight' is missing/,
    );
    const extra = { ...hf, 'model.layers.2.mlp.up_proj.weight': hf['model.layers.1.mlp.up_proj.weight'] };
    expect(() => policyWeightsFromHf(extra, config)).toThrow(
      /unexpected .*model\.layers\.2\.mlp\.up_proj\.weight/,
    );
    expect(() => modelConfigFromHf({ ...json, rope_scaling: { rope_type: 'llama3', factor: 8 } })).toThrow(
      /rope_scaling .*llama3.* is not supported/,
    );
    expect(() => modelConfigFromHf({ ...json, model_type: 'mistral' })).toThrow(/"mistral" is not supported/);
    expect(modelConfigFromHf(json, { maxBlockSize: 16 }).blockSize).toBe(16);
  });

  it('refuses to save a model as a family that cannot express it', () => {
    const config = modelConfigFromHf(readModel('llama-gqa').json);
    expect(() => hfConfigFromModelConfig(config, 'gpt2')).toThrow(
      /cannot be saved as gpt2: GPT-2 uses LayerNorm/,
    );
    expect(() => hfConfigFromModelConfig(config, 'qwen2')).toThrow(/Qwen2 has q, k, v biases/);
  });
});
