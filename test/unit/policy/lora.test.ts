import * as tf from '../../../shared/policy/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createLora,
  type Lora,
  loraFamilyOf,
  loraParts,
  mergeLora,
  resolveLoraConfig,
} from '../../../shared/policy/lora';
import { createPolicy } from '../../../shared/policy/model';
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

function policyAndLora(config: Parameters<typeof createLora>[1], family?: 'llama' | 'gpt2' | 'edgelight') {
  const policy = createPolicy(micro, { seed: 1 });
  const lora = createLora(policy, config, { seed: 7, family });
  owned.push(policy, lora);
  return { policy, lora };
}

/** Gives every B seeded random values, as a trained adapter has (a fresh B is 0 and hides mistakes). */
function randomiseB(lora: Lora, seed = 3): void {
  const rng = createRng(seed);
  for (const part of lora.parts) {
    const values = Float32Array.from({ length: part.B.size }, () => rng.normal() * 0.1);
    part.B.assign(tf.tensor2d(values, part.B.shape as [number, number]));
  }
}

function randomInput(rows: number, cols: number, seed = 5): tf.Tensor2D {
  const rng = createRng(seed);
  return tf.tensor2d(
    Float32Array.from({ length: rows * cols }, () => rng.normal()),
    [rows, cols],
  );
}

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];

describe('LoRA config', () => {
  it('fills in PEFT-like defaults: alpha = rank, the family default targets', () => {
    expect(resolveLoraConfig({}, 'llama')).toEqual({
      rank: 8,
      alpha: 8,
      dropout: 0,
      targets: ['q_proj', 'v_proj'],
      family: 'llama',
    });
    expect(resolveLoraConfig({ rank: 4 }, 'gpt2').targets).toEqual(['c_attn']);
    expect(resolveLoraConfig({ rank: 4, alpha: 16 }, 'edgelight')).toMatchObject({
      alpha: 16,
      targets: ['wqkv', 'wo'],
    });
    // Listed once each in the family's order, whatever order they were asked in.
    expect(resolveLoraConfig({ targets: ['v_proj', 'q_proj', 'v_proj'] }, 'llama').targets).toEqual([
      'q_proj',
      'v_proj',
    ]);
  });

  it('refuses unknown targets with the valid ones, and bad numbers', () => {
    expect(() => resolveLoraConfig({ targets: ['q_proj'] }, 'gpt2')).toThrow(
      /'q_proj' is not a module of a GPT-2 model; valid: c_attn, c_proj, c_fc/,
    );
    expect(() => resolveLoraConfig({ rank: 0 }, 'llama')).toThrow(/rank/);
    expect(() => resolveLoraConfig({ dropout: 1 }, 'llama')).toThrow(/dropout must be < 1/);
    expect(() => resolveLoraConfig({ rank: 2, extra: 1 } as never, 'llama')).toThrow(/LoRA config/);
  });

  it('tells the family from the model config: the presets are their own', () => {
    expect(loraFamilyOf(createPolicyConfig())).toBe('edgelight');
  });
});

function createPolicyConfig() {
  const p = createPolicy(micro, { seed: 0 });
  const config = p.config;
  p.dispose();
  return config;
}

describe('LoRA adapter', () => {
  it('starts as PEFT does: A uniform within ±1/√in, B zero, so the delta is 0', () => {
    const { lora } = policyAndLora({ rank: 4 });
    expect(Object.keys(lora.weights)).toContain('lora.h.0.attn.wqkv.wqkv.A');
    for (const part of lora.parts) {
      const a = part.A.dataSync();
      const bound = 1 / Math.sqrt(part.inDim);
      expect(Math.max(...Array.from(a, Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...Array.from(a, Math.abs))).toBeGreaterThan(bound / 2);
      expect(Array.from(part.B.dataSync()).every((v) => v === 0)).toBe(true);
    }
    const x = randomInput(3, 16);
    const d = lora.delta('h.1.attn.wqkv', x) as tf.Tensor2D;
    expect(d.shape).toEqual([3, 48]);
    expect(tf.max(tf.abs(d)).dataSync()[0]).toBe(0);
    expect(lora.delta('h.1.mlp.wfc', x)).toBeNull(); // not a target
    tf.dispose([x, d]);
  });

  it('is seeded: the same seed gives the same A, another seed another', () => {
    const { policy, lora } = policyAndLora({ rank: 2 });
    const again = createLora(policy, { rank: 2 }, { seed: 7 });
    const other = createLora(policy, { rank: 2 }, { seed: 8 });
    owned.push(again, other);
    const name = 'lora.h.0.attn.wo.wo.A';
    expect(Array.from(again.weights[name].dataSync())).toEqual(Array.from(lora.weights[name].dataSync()));
    expect(Array.from(other.weights[name].dataSync())).not.toEqual(Array.from(lora.weights[name].dataSync()));
  });

  it('computes x·A·B·(alpha/r) for a whole projection', () => {
    const { lora } = policyAndLora({ rank: 3, alpha: 6, targets: ['wqkv', 'wo', 'wfc', 'wproj'] });
    randomiseB(lora);
    expect(lora.scale).toBe(2);
    for (const name of ['h.0.attn.wqkv', 'h.1.attn.wo', 'h.0.mlp.wfc', 'h.1.mlp.wproj']) {
      const part = lora.parts.find((p) => p.weightName === name)!;
      const x = randomInput(5, part.inDim); // (5, in)
      const want = tf.mul(tf.matMul(tf.matMul(x, part.A), part.B), 2); // (5, out)
      const got = lora.delta(name, x) as tf.Tensor2D;
      expect(got.shape).toEqual(want.shape);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
      tf.dispose([x, want, got]);
    }
  });

  it('fills the columns of a fused weight it does not target with 0 (llama q_proj, v_proj of [q|k|v])', () => {
    const { lora } = policyAndLora({ rank: 2, targets: ['q_proj', 'v_proj'] }, 'llama');
    randomiseB(lora);
    const parts = loraParts(createPolicyConfig(), lora.config);
    expect(parts.filter((p) => p.layer === 0).map((p) => [p.target, p.start, p.width])).toEqual([
      ['q_proj', 0, 16],
      ['v_proj', 32, 16],
    ]);
    const x = randomInput(4, 16);
    const d = lora.delta('h.0.attn.wqkv', x) as tf.Tensor2D; // (4, 48)
    const [q, k, v] = tf.split(d, 3, 1);
    const part = (t: string) => lora.parts.find((p) => p.layer === 0 && p.target === t)!;
    const expectPart = (got: tf.Tensor, p: ReturnType<typeof part>) => {
      const want = tf.matMul(tf.matMul(x, p.A), p.B);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
      want.dispose();
    };
    expectPart(q, part('q_proj'));
    expectPart(v, part('v_proj'));
    expect(tf.max(tf.abs(k)).dataSync()[0]).toBe(0);

    // The gradient of anything computed from the fused delta reaches exactly the targeted A and B.
    const weight = randomInput(4, 48, 9);
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(lora.delta('h.0.attn.wqkv', x) as tf.Tensor2D, weight)) as tf.Scalar,
      lora.variables(),
    );
    const layer0 = lora.parts.filter((p) => p.layer === 0).flatMap((p) => [p.A.name, p.B.name]);
    for (const v of lora.variables()) {
      const g = grads[v.name];
      const norm = g ? tf.max(tf.abs(g)).dataSync()[0] : 0;
      if (layer0.includes(v.name)) expect(norm).toBeGreaterThan(0);
      else expect(norm).toBe(0);
    }
    tf.dispose([x, d, q, k, v, weight, ...Object.values(grads)]);
  });

  it('maps GPT-2 c_proj onto both attn.wo and mlp.wproj, and refuses gate_proj without SwiGLU', () => {
    const { lora } = policyAndLora({ rank: 2, targets: ['c_proj'] }, 'gpt2');
    expect(lora.parts.filter((p) => p.layer === 1).map((p) => p.weightName)).toEqual([
      'h.1.attn.wo',
      'h.1.mlp.wproj',
    ]);
    expect(Object.keys(lora.weights)).toContain('lora.h.1.mlp.wproj.c_proj.B');
    const policy = createPolicy(micro, { seed: 1 });
    owned.push(policy);
    expect(() => createLora(policy, { targets: ['gate_proj'] }, { seed: 1, family: 'llama' })).toThrow(
      /SwiGLU/,
    );
  });

  it('merges into the weights: x·(W + s·A·B) = x·W + delta', () => {
    const { policy, lora } = policyAndLora(
      { rank: 2, alpha: 3, targets: ['q_proj', 'v_proj', 'o_proj'] },
      'llama',
    );
    randomiseB(lora);
    const merged = mergeLora(policy, lora);
    expect(Object.keys(merged).sort()).toEqual(Object.keys(policy.weights).sort());
    const x = randomInput(6, 16);
    for (const name of ['h.0.attn.wqkv', 'h.1.attn.wo']) {
      const base = tf.matMul(x, policy.weights[name]); // (6, out)
      const adapted = tf.add(base, lora.delta(name, x) as tf.Tensor2D);
      const folded = tf.matMul(x, merged[name] as tf.Tensor2D);
      expect(maxAbsDiff(folded, adapted)).toBeLessThan(1e-5);
      expect(maxAbsDiff(folded, base)).toBeGreaterThan(1e-3);
      tf.dispose([base, adapted, folded]);
    }
    // Weights the adapter does not touch come back unchanged.
    expect(maxAbsDiff(merged['h.0.mlp.wfc'], policy.weights['h.0.mlp.wfc'])).toBe(0);
    tf.dispose([x, ...Object.values(merged)]);
  });

  it('applies dropout only while a gradient is taken, from its seeded masks', () => {
    const { lora } = policyAndLora({ rank: 2, dropout: 0.5, targets: ['wo'] });
    randomiseB(lora);
    const x = randomInput(8, 16);
    const plain = lora.delta('h.0.attn.wo', x) as tf.Tensor2D;
    const again = lora.delta('h.0.attn.wo', x) as tf.Tensor2D;
    expect(maxAbsDiff(plain, again)).toBe(0); // sampling: no dropout, deterministic
    const part = lora.parts[0];
    const noDropout = tf.matMul(tf.matMul(x, part.A), part.B);
    expect(maxAbsDiff(plain, noDropout)).toBeLessThan(1e-6);
    let dropped: tf.Tensor2D | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const d = lora.delta('h.0.attn.wo', x) as tf.Tensor2D;
      dropped = tf.keep(d);
      return tf.sum(d) as tf.Scalar;
    }, lora.variables());
    expect(maxAbsDiff(dropped!, plain)).toBeGreaterThan(1e-3);
    tf.dispose([x, plain, again, noDropout, dropped!, value, ...Object.values(grads)]);
  });
});

describe('LoRA on a grouped-query, SwiGLU policy (the Llama configuration)', () => {
  const llamaLike = { ...micro, nHead: 4, nKvHead: 2, mlp: 'swiglu', mlpHidden: 24 } as const;

  it('maps q/k/v_proj onto [q | k | v] of the GQA width and gate/up_proj onto the halves of mlp.wfc', () => {
    const policy = createPolicy(llamaLike, { seed: 1 });
    owned.push(policy);
    expect(loraFamilyOf(policy.config)).toBe('llama');
    const lora = createLora(
      policy,
      { rank: 2, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
      { seed: 5 },
    );
    owned.push(lora);
    // hs = 16 / 4 = 4: q 4·4 = 16 columns, k and v 2·4 = 8 each; SwiGLU's wfc is [gate | up], 24 each.
    expect(
      lora.parts.filter((p) => p.layer === 0).map((p) => [p.target, p.weightName, p.start, p.width]),
    ).toEqual([
      ['q_proj', 'h.0.attn.wqkv', 0, 16],
      ['k_proj', 'h.0.attn.wqkv', 16, 8],
      ['v_proj', 'h.0.attn.wqkv', 24, 8],
      ['o_proj', 'h.0.attn.wo', 0, 16],
      ['gate_proj', 'h.0.mlp.wfc', 0, 24],
      ['up_proj', 'h.0.mlp.wfc', 24, 24],
      ['down_proj', 'h.0.mlp.wproj', 0, 16],
    ]);
    randomiseB(lora);
    const x = randomInput(3, 16);
    const d = lora.delta('h.0.mlp.wfc', x) as tf.Tensor2D; // (3, 48)
    expect(d.shape).toEqual([3, 48]);
    const merged = mergeLora(policy, lora);
    const folded = tf.matMul(x, merged['h.0.mlp.wfc'] as tf.Tensor2D);
    const adapted = tf.add(tf.matMul(x, policy.weights['h.0.mlp.wfc']), d);
    expect(maxAbsDiff(folded, adapted)).toBeLessThan(1e-5);
    tf.dispose([x, d, folded, adapted, ...Object.values(merged)]);
  });
});
