import * as tf from '../../../shared/policy/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { modelConfigFromHf, policyWeightsFromHf } from '../../../shared/hf/architecture';
import {
  exportCheckpointAdapter,
  exportMergedHf,
  exportPeftAdapter,
  importPeftAdapter,
  mergedWeights,
  PEFT_FILES,
  peftKey,
} from '../../../shared/hf/peft';
import type { Checkpoint } from '../../../shared/policy/checkpoint';
import {
  policyFromCheckpoint,
  readNamedTensors,
  toTfTensors,
} from '../../../shared/policy/checkpoint-policy';
import { PolicyTokenizer } from '../../../shared/policy/tokenizer';
import { trainByteLevelBpe } from '../../../shared/policy/tokenizer-train';
import { attachLora, createLora, detachLora, type Lora, type LoraFamily } from '../../../shared/policy/lora';
import { createPolicy } from '../../../shared/policy/model';
import { decodeSafetensors, encodeSafetensors } from '../../../shared/policy/safetensors';
import { selectBackend } from '../../../shared/train/backend';
import { createRng } from '../../../shared/random';

const micro = { vocabSize: 48, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16 };

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
});

const owned: Array<{ dispose(): void }> = [];
afterEach(() => {
  for (const o of owned.splice(0)) o.dispose();
});

/** A trained-looking adapter: B seeded random (a fresh B is 0, and a round trip of zeros proves little). */
/** Llama's shape in miniature: grouped-query attention (4 query, 2 key-value heads) and a SwiGLU MLP. */
const llamaLike = { ...micro, nHead: 4, nKvHead: 2, mlp: 'swiglu', mlpHidden: 24 } as const;

function trainedLora(family: LoraFamily, targets: string[], rank = 3, config: object = micro) {
  const policy = createPolicy(config as typeof micro, { seed: 1 });
  const lora = createLora(policy, { rank, alpha: 2 * rank, dropout: 0.05, targets }, { seed: 4, family });
  const rng = createRng(11);
  for (const part of lora.parts)
    part.B.assign(
      tf.tensor2d(
        Float32Array.from({ length: part.B.size }, () => rng.normal() * 0.1),
        part.B.shape as [number, number],
      ),
    );
  owned.push(policy, lora);
  return { policy, lora };
}

const valuesOf = (lora: Lora) =>
  Object.fromEntries(Object.entries(lora.weights).map(([n, v]) => [n, Array.from(v.dataSync())]));

describe('PEFT adapter export', () => {
  it("writes Llama's keys and PEFT's shapes: lora_A (r, in) = Aᵀ, lora_B (out, r) = Bᵀ", async () => {
    const { lora } = trainedLora('llama', ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'down_proj']);
    const { config, tensors, files } = await exportPeftAdapter(lora, { baseModel: 'org/tiny-llama' });
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 3,
      lora_alpha: 6,
      lora_dropout: 0.05,
      target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'down_proj'],
      bias: 'none',
      fan_in_fan_out: false,
      base_model_name_or_path: 'org/tiny-llama',
    });
    const q = tensors['base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight'];
    expect(q.shape).toEqual([3, 16]);
    expect(tensors['base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight'].shape).toEqual([16, 3]);
    expect(tensors['base_model.model.model.layers.0.mlp.down_proj.lora_A.weight'].shape).toEqual([3, 64]);
    expect(Object.keys(tensors)).toHaveLength(2 * 5 * 2);
    // lora_A[j][i] is A[i][j].
    const A = lora.weights['lora.h.1.attn.wqkv.q_proj.A'].arraySync() as number[][];
    expect(q.data[2 * 16 + 5]).toBeCloseTo(A[5][2], 7);
    // The files are what was returned: JSON config, safetensors with PEFT's "pt" format tag.
    const decoded = decodeSafetensors(files[PEFT_FILES.weights]);
    expect(decoded.metadata).toEqual({ format: 'pt' });
    expect(Object.keys(decoded.tensors).sort()).toEqual(Object.keys(tensors).sort());
    expect(JSON.parse(new TextDecoder().decode(files[PEFT_FILES.config])).r).toBe(3);
  });

  it("writes GPT-2's Conv1D modules with fan_in_fan_out and c_proj under both attn and mlp", async () => {
    const { lora } = trainedLora('gpt2', ['c_attn', 'c_proj', 'c_fc']);
    const { config, tensors } = await exportPeftAdapter(lora);
    expect(config.fan_in_fan_out).toBe(true);
    expect(config.base_model_name_or_path).toBeNull();
    expect(
      Object.keys(tensors)
        .filter((k) => k.includes('.h.0.'))
        .sort(),
    ).toEqual([
      'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight',
      'base_model.model.transformer.h.0.attn.c_attn.lora_B.weight',
      'base_model.model.transformer.h.0.attn.c_proj.lora_A.weight',
      'base_model.model.transformer.h.0.attn.c_proj.lora_B.weight',
      'base_model.model.transformer.h.0.mlp.c_fc.lora_A.weight',
      'base_model.model.transformer.h.0.mlp.c_fc.lora_B.weight',
      'base_model.model.transformer.h.0.mlp.c_proj.lora_A.weight',
      'base_model.model.transformer.h.0.mlp.c_proj.lora_B.weight',
    ]);
    expect(tensors['base_model.model.transformer.h.0.attn.c_attn.lora_B.weight'].shape).toEqual([48, 3]);
    expect(tensors['base_model.model.transformer.h.0.mlp.c_proj.lora_A.weight'].shape).toEqual([3, 64]);
  });
});

describe('PEFT adapter import', () => {
  for (const [family, targets] of [
    ['llama', ['q_proj', 'v_proj', 'o_proj']],
    ['gpt2', ['c_attn', 'c_proj']],
    ['edgelight', ['wqkv', 'wo', 'wfc', 'wproj']],
  ] as const) {
    it(`reads back what it wrote (${family}): the same config, A, B and deltas`, async () => {
      const { policy, lora } = trainedLora(family, [...targets]);
      const { files } = await exportPeftAdapter(lora);
      const back = importPeftAdapter(policy, files, { family });
      owned.push(back);
      expect(back.config).toEqual(lora.config);
      expect(valuesOf(back)).toEqual(valuesOf(lora));
      const x = tf.randomNormal([4, 16], 0, 1, 'float32', 3) as tf.Tensor2D;
      const a = lora.delta('h.1.attn.wqkv', x) as tf.Tensor2D;
      const b = back.delta('h.1.attn.wqkv', x) as tf.Tensor2D;
      expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
      tf.dispose([x, a, b]);
    });
  }

  it('refuses what it cannot map, naming the file and the key', async () => {
    const { policy, lora } = trainedLora('llama', ['q_proj', 'v_proj']);
    const { files, tensors, config } = await exportPeftAdapter(lora);
    const withConfig = (patch: Record<string, unknown>) => ({
      ...files,
      [PEFT_FILES.config]: new TextEncoder().encode(JSON.stringify({ ...config, ...patch })),
    });
    const withTensors = (t: typeof tensors) => ({ ...files, [PEFT_FILES.weights]: encodeSafetensors(t) });
    const load = (f: Record<string, Uint8Array>) => () => importPeftAdapter(policy, f, { family: 'llama' });

    expect(load(withConfig({ peft_type: 'IA3' }))).toThrow(/peft_type must be "LORA"/);
    expect(load(withConfig({ target_modules: '.*q_proj' }))).toThrow(/regular expression is not supported/);
    expect(load(withConfig({ target_modules: ['c_attn'] }))).toThrow(
      /'c_attn' is not a module of a Llama-family model; valid: q_proj/,
    );
    expect(load(withConfig({ fan_in_fan_out: true }))).toThrow(
      /fan_in_fan_out true does not fit a llama policy/,
    );
    expect(load(withConfig({ use_rslora: true }))).toThrow(/rsLoRA/);
    expect(load(withConfig({ r: 4 }))).toThrow(/want a float \[4, 16\]/);

    const missing = { ...tensors };
    const key = peftKey('llama', { layer: 1, target: 'v_proj', weightName: 'h.1.attn.wqkv' }, 'B');
    delete missing[key];
    expect(load(withTensors(missing))).toThrow(`lacks '${key}'`);
    const extra = { ...tensors, 'base_model.model.model.layers.0.mlp.up_proj.lora_A.weight': tensors[key] };
    expect(load(withTensors(extra))).toThrow(
      /'base_model.model.model.layers.0.mlp.up_proj.lora_A.weight' is not a LoRA weight/,
    );
    expect(() => importPeftAdapter(policy, { [PEFT_FILES.config]: files[PEFT_FILES.config] })).toThrow(
      /missing adapter_model.safetensors/,
    );
  });
});

describe('merged weights', () => {
  it('are the policy weights with scale·A·B folded into each target, in the policy names', async () => {
    const { policy, lora } = trainedLora('llama', ['q_proj', 'v_proj']);
    const merged = await mergedWeights(policy, lora);
    expect(Object.keys(merged).sort()).toEqual(Object.keys(policy.weights).sort());
    const x = tf.randomNormal([5, 16], 0, 1, 'float32', 8) as tf.Tensor2D;
    const W = tf.tensor2d(merged['h.0.attn.wqkv'].data as Float32Array, [16, 48]);
    const folded = tf.matMul(x, W);
    const adapted = tf.add(tf.matMul(x, policy.weights['h.0.attn.wqkv']), lora.delta('h.0.attn.wqkv', x)!);
    expect(tf.max(tf.abs(tf.sub(folded, adapted))).dataSync()[0]).toBeLessThan(1e-5);
    expect(Array.from(merged.wte.data)).toEqual(Array.from(policy.weights.wte.dataSync()));
    tf.dispose([x, W, folded, adapted]);
  });
});

describe('a LoRA checkpoint', () => {
  it('exports its adapter and merged weights, and loads for serving with the adapter folded in', async () => {
    const policy = createPolicy({ ...micro, vocabSize: 300 }, { seed: 1 });
    const lora = createLora(policy, { rank: 2, targets: ['wqkv', 'wo'] }, { seed: 3 });
    owned.push(policy, lora);
    const rng = createRng(12);
    for (const part of lora.parts)
      part.B.assign(
        tf.tensor2d(
          Float32Array.from({ length: part.B.size }, () => rng.normal() * 0.1),
          part.B.shape as [number, number],
        ),
      );
    const tokenizer = PolicyTokenizer.fromJson(
      trainByteLevelBpe(['thanks for the feedback', 'we will fix it soon'], { vocabSize: 270 }),
    );
    // What checkpointFromPolicy writes for a policy with an adapter attached.
    const checkpoint: Checkpoint = {
      config: { ...policy.config, lora: lora.config },
      weights: await readNamedTensors({ ...policy.weights, ...lora.weights }),
      tokenizer: tokenizer.toText(),
    };
    const { adapter, merged } = await exportCheckpointAdapter(checkpoint, { baseModel: 'local/base' });
    const back = importPeftAdapter(policy, adapter);
    owned.push(back);
    expect(valuesOf(back)).toEqual(valuesOf(lora));
    expect(merged).toEqual(await mergedWeights(policy, lora));

    const served = policyFromCheckpoint(checkpoint);
    owned.push(served.policy);
    expect(served.lora).toBeNull();
    for (const [name, t] of Object.entries(merged))
      expect(Array.from(served.policy.weights[name].dataSync()), name).toEqual(Array.from(t.data));

    const plain: Checkpoint = { ...checkpoint, config: { ...policy.config } };
    await expect(
      exportCheckpointAdapter({ ...plain, weights: await readNamedTensors(policy.weights) }),
    ).rejects.toThrow(/carries no LoRA adapter/);
    expect(() => policyFromCheckpoint(plain)).toThrow(
      /has LoRA weight lora\.h\.0\.attn\.wo\.wo\.A but config.json no lora/,
    );
  });
});

describe('round trips through the policy (its projections routed through the adapter)', () => {
  const ids = () =>
    tf.tensor2d(
      [
        [1, 5, 9, 13, 2, 7],
        [3, 3, 8, 21, 40, 11],
      ],
      [2, 6],
      'int32',
    );
  const logitsOf = (policy: ReturnType<typeof createPolicy>) => {
    const x = ids();
    const out = policy.forward(x); // (B*T, V)
    const values = Array.from(out.dataSync());
    tf.dispose([x, out]);
    return values;
  };
  const maxDiff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

  for (const [label, family, targets, config] of [
    ['llama', 'llama', ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'down_proj'], micro],
    ['llama, GQA + SwiGLU', 'llama', ['q_proj', 'v_proj', 'gate_proj', 'up_proj', 'down_proj'], llamaLike],
    ['gpt2', 'gpt2', ['c_attn', 'c_proj', 'c_fc'], micro],
    ['edgelight', 'edgelight', ['wqkv', 'wo'], micro],
  ] as const) {
    it(`${label}: export → import gives identical logits; merged weights give base + adapter's (1e-5)`, async () => {
      const { policy, lora } = trainedLora(family, [...targets], 3, config);
      const base = logitsOf(policy);
      attachLora(policy, lora);
      const adapted = logitsOf(policy);
      expect(maxDiff(adapted, base)).toBeGreaterThan(1e-3); // the trained adapter changes the output

      const { files } = await exportPeftAdapter(lora);
      const back = importPeftAdapter(policy, files, { family });
      owned.push(back);
      attachLora(policy, back);
      expect(logitsOf(policy)).toEqual(adapted);

      detachLora(policy);
      expect(logitsOf(policy)).toEqual(base); // the adapter off: the base untouched
      const merged = await mergedWeights(policy, lora);
      const folded = createPolicy(config as typeof micro, { seed: 99 });
      owned.push(folded);
      const tensors = toTfTensors(merged);
      folded.loadWeights(tensors);
      tf.dispose(Object.values(tensors));
      expect(maxDiff(logitsOf(folded), adapted)).toBeLessThan(1e-5);
    });
  }
});

describe('the merged model in Hugging Face layout', () => {
  it('reads back through the HF loader with the logits of base + adapter (Llama, GQA + SwiGLU)', async () => {
    const { policy, lora } = trainedLora('llama', ['q_proj', 'v_proj', 'o_proj', 'up_proj'], 3, llamaLike);
    const x = tf.tensor2d([[1, 5, 9, 13, 2, 7]], [1, 6], 'int32');
    attachLora(policy, lora);
    const adapted = policy.forward(x); // (6, V)
    detachLora(policy);
    const { config, files } = await exportMergedHf(policy, lora);
    expect(config.model_type).toBe('llama');
    expect(config.num_key_value_heads).toBe(2);
    const read = decodeSafetensors(files['model.safetensors']).tensors;
    expect(read['model.layers.0.self_attn.q_proj.weight'].shape).toEqual([16, 16]); // (out, in)
    expect(read['model.layers.0.self_attn.k_proj.weight'].shape).toEqual([8, 16]);

    const modelConfig = modelConfigFromHf(JSON.parse(new TextDecoder().decode(files['config.json'])));
    const hf = Object.fromEntries(
      Object.entries(read).map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]),
    );
    const weights = policyWeightsFromHf(hf, modelConfig);
    const loaded = createPolicy(modelConfig, { seed: 0 });
    owned.push(loaded);
    const tensors = Object.fromEntries(
      Object.entries(weights).map(([n, t]) => [n, tf.tensor(t.data, t.shape)]),
    );
    loaded.loadWeights(tensors);
    const folded = loaded.forward(x);
    expect(tf.max(tf.abs(tf.sub(folded, adapted))).dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([x, adapted, folded, ...Object.values(tensors)]);
  });

  it('refuses a preset, which has no Hugging Face family', async () => {
    const { policy, lora } = trainedLora('edgelight', ['wqkv']);
    await expect(exportMergedHf(policy, lora)).rejects.toThrow(/cannot be saved as llama/);
  });
});
