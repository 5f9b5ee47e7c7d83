// The fused kernels (shared/policy/fused) compute what their composites compute — forward and gradient,
// to 1e-5 of the largest magnitude, on cpu, wasm and webgpu (Dawn in Node on SwiftShader, where the WGSL
// programs run) — and on webgpu each runs as the one program it promises (countDispatches), where the
// composite runs several. The decode-only kernels (decodeAttention, decodeAttentionQkv, kvAppend)
// refuse a gradient; at SmolLM2-135M's layer structure a decoded token runs 303 programs, not 1,454.
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { countDispatches } from '../../../shared/policy/dispatches';
import {
  type DecodeRope,
  decodeAttention,
  decodeAttentionComposite,
  decodeAttentionQkv,
  decodeAttentionQkvComposite,
  kvAppend,
  kvAppendComposite,
  loraLinear,
  loraLinearComposite,
  rmsNorm,
  rmsNormComposite,
  swiglu,
  swigluComposite,
  useFusedKernels,
} from '../../../shared/policy/fused';
import * as lora from '../../../shared/policy/lora';
import { createPolicy, disposeCache } from '../../../shared/policy/model';
import * as tf from '../../../shared/policy/tfjs';
import { type BackendName, selectBackend } from '../../../shared/train/backend';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;

const TOLERANCE = 1e-5;

/** Deterministic values in [−1, 1) (a small LCG), so every backend sees the same inputs. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let state = seed >>> 0;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

function random(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(
    values(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  );
}

/** max |a − b| / max(|b|) (b the composite): the difference relative to the quantity's scale. */
async function relativeDifference(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = [await a.data(), await b.data()];
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < y.length; i++) {
    worst = Math.max(worst, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(y[i]));
  }
  expect(scale).toBeGreaterThan(0); // a comparison of zeros would prove nothing
  return worst / scale;
}

type Case = {
  name: string;
  inputs: () => tf.Tensor[];
  fused: (...xs: tf.Tensor[]) => tf.Tensor;
  composite: (...xs: tf.Tensor[]) => tf.Tensor;
  differentiable: boolean;
};

/** Rope tables (L, hs) of random values (the kernels read them, whatever they hold) and int32 positions. */
function ropeCase(L: number, hs: number, positions: number[], seed: number): tf.Tensor[] {
  return [random([L, hs], seed), random([L, hs], seed + 1), tf.tensor1d(positions, 'int32')];
}

const asRope = (cos: tf.Tensor, sin: tf.Tensor, positions: tf.Tensor): DecodeRope => ({
  cos: cos as tf.Tensor2D,
  sin: sin as tf.Tensor2D,
  positions: positions as tf.Tensor1D,
});

// Decode-step shapes: B 2, 4 query heads on 2 kv heads, so qkv is (2, (4 + 2·2)·hs).
const [qkvB, qkvNh, qkvNkv] = [2, 4, 2];

const eps = 1e-5;
const CASES: Case[] = [
  {
    name: 'rmsNorm',
    // 130 columns: more than the 64 threads of a row's workgroup, not a multiple of them.
    inputs: () => [random([5, 130], 1), tf.add(random([130], 2), 1.5)],
    fused: (x, g) => rmsNorm(x as tf.Tensor2D, g as tf.Tensor1D, eps),
    composite: (x, g) => rmsNormComposite(x as tf.Tensor2D, g as tf.Tensor1D, eps),
    differentiable: true,
  },
  {
    name: 'swiglu',
    inputs: () => [tf.mul(random([3, 2 * 37], 3), 4)],
    fused: (h) => swiglu(h as tf.Tensor2D),
    composite: (h) => swigluComposite(h as tf.Tensor2D),
    differentiable: true,
  },
  {
    name: 'loraLinear (scale 2)',
    inputs: () => [random([4, 24], 4), random([24, 40], 5), random([24, 3], 6), random([3, 40], 7)],
    fused: (x, w, a, b) =>
      loraLinear(x as tf.Tensor2D, w as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, 2),
    composite: (x, w, a, b) =>
      loraLinearComposite(x as tf.Tensor2D, w as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, 2),
    differentiable: true,
  },
  {
    name: 'loraLinear (scale 1)',
    inputs: () => [random([2, 8], 8), random([8, 6], 9), random([8, 2], 10), random([2, 6], 11)],
    fused: (x, w, a, b) =>
      loraLinear(x as tf.Tensor2D, w as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, 1),
    composite: (x, w, a, b) =>
      loraLinearComposite(x as tf.Tensor2D, w as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, 1),
    differentiable: true,
  },
  {
    name: 'decodeAttention (GQA 4 query heads on 2 kv heads, hs 80, 70 slots, masked slots)',
    inputs: () => {
      const [B, nh, nkv, S, hs] = [2, 4, 2, 70, 80];
      // Row 0 sees slots 0..69, row 1 only slots 0..40 (the rest masked as the model's key bias masks).
      const bias = new Float32Array(B * S);
      for (let s = 41; s < S; s++) bias[S + s] = -1e9;
      return [
        random([B, nh, 1, hs], 12),
        tf.mul(random([B, nkv, S, hs], 13), 0.5),
        random([B, nkv, S, hs], 14),
        tf.tensor4d(bias, [B, 1, 1, S]),
      ];
    },
    fused: (q, k, v, bias) =>
      decodeAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, bias as tf.Tensor4D),
    composite: (q, k, v, bias) =>
      decodeAttentionComposite(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, bias as tf.Tensor4D),
    differentiable: false,
  },
  {
    name: 'kvAppend (keys: rope, hs 10, slot 4 of 7, rows at positions 5 and 2)',
    inputs: () => [
      random([qkvB, qkvNkv, 7, 10], 15),
      random([qkvB, (qkvNh + 2 * qkvNkv) * 10], 16),
      ...ropeCase(9, 10, [5, 2], 17),
    ],
    // The keys sit after the 4 query heads: columns [40, 60).
    fused: (c, qkv, cos, sin, p) =>
      kvAppend(c as tf.Tensor4D, qkv as tf.Tensor2D, qkvNh * 10, 4, asRope(cos, sin, p)),
    composite: (c, qkv, cos, sin, p) =>
      kvAppendComposite(c as tf.Tensor4D, qkv as tf.Tensor2D, qkvNh * 10, 4, asRope(cos, sin, p)),
    differentiable: false,
  },
  {
    name: 'kvAppend (values: no rope, slot 0)',
    inputs: () => [random([qkvB, qkvNkv, 7, 10], 19), random([qkvB, (qkvNh + 2 * qkvNkv) * 10], 20)],
    fused: (c, qkv) => kvAppend(c as tf.Tensor4D, qkv as tf.Tensor2D, (qkvNh + qkvNkv) * 10, 0, null),
    composite: (c, qkv) =>
      kvAppendComposite(c as tf.Tensor4D, qkv as tf.Tensor2D, (qkvNh + qkvNkv) * 10, 0, null),
    differentiable: false,
  },
  {
    name: 'decodeAttentionQkv (rope, GQA 4 on 2, hs 80, 70 slots, masked slots)',
    inputs: () => {
      const [B, nkv, S, hs] = [qkvB, qkvNkv, 70, 80];
      const bias = new Float32Array(B * S);
      for (let s = 41; s < S; s++) bias[S + s] = -1e9;
      return [
        random([B, (qkvNh + 2 * nkv) * hs], 21),
        tf.mul(random([B, nkv, S, hs], 22), 0.5),
        random([B, nkv, S, hs], 23),
        tf.tensor4d(bias, [B, 1, 1, S]),
        ...ropeCase(12, hs, [11, 3], 24),
      ];
    },
    fused: (qkv, k, v, bias, cos, sin, p) =>
      decodeAttentionQkv(
        qkv as tf.Tensor2D,
        k as tf.Tensor4D,
        v as tf.Tensor4D,
        bias as tf.Tensor4D,
        asRope(cos, sin, p),
        1 / Math.sqrt(80),
      ),
    composite: (qkv, k, v, bias, cos, sin, p) =>
      decodeAttentionQkvComposite(
        qkv as tf.Tensor2D,
        k as tf.Tensor4D,
        v as tf.Tensor4D,
        bias as tf.Tensor4D,
        asRope(cos, sin, p),
        1 / Math.sqrt(80),
      ),
    differentiable: false,
  },
  {
    name: 'decodeAttentionQkv (no rope, 3 heads, hs 16, one key bias for every row)',
    inputs: () => {
      const [B, n, S, hs] = [3, 3, 5, 16];
      return [
        random([B, 3 * n * hs], 26),
        random([B, n, S, hs], 27),
        random([B, n, S, hs], 28),
        tf.tensor4d([0, 0, 0, -1e9, -1e9], [1, 1, 1, S]),
      ];
    },
    fused: (qkv, k, v, bias) =>
      decodeAttentionQkv(
        qkv as tf.Tensor2D,
        k as tf.Tensor4D,
        v as tf.Tensor4D,
        bias as tf.Tensor4D,
        null,
        0.25,
      ),
    composite: (qkv, k, v, bias) =>
      decodeAttentionQkvComposite(
        qkv as tf.Tensor2D,
        k as tf.Tensor4D,
        v as tf.Tensor4D,
        bias as tf.Tensor4D,
        null,
        0.25,
      ),
    differentiable: false,
  },
  {
    name: 'loraLinear (scale 2, a residual (N, out) added)',
    inputs: () => [
      random([4, 24], 30),
      random([24, 40], 31),
      random([24, 3], 32),
      random([3, 40], 33),
      random([4, 40], 34),
    ],
    fused: (x, w, a, b, r) =>
      loraLinear(x as tf.Tensor2D, w as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, 2, r),
    composite: (x, w, a, b, r) =>
      loraLinearComposite(x as tf.Tensor2D, w as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, 2, r),
    differentiable: true,
  },
  {
    name: 'loraLinear (scale 0.5, a bias (out) added)',
    inputs: () => [
      random([3, 8], 35),
      random([8, 6], 36),
      random([8, 2], 37),
      random([2, 6], 38),
      random([6], 39),
    ],
    fused: (x, w, a, b, bias) =>
      loraLinear(x as tf.Tensor2D, w as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, 0.5, bias),
    composite: (x, w, a, b, bias) =>
      loraLinearComposite(x as tf.Tensor2D, w as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, 0.5, bias),
    differentiable: true,
  },
];

/** A fixed random cotangent for the gradient comparison: Σ out ⊙ c, so every output element matters. */
function weightedSum(out: tf.Tensor): tf.Scalar {
  return tf.sum(tf.mul(out, random(out.shape, 99)));
}

describe.each(['cpu', 'wasm', 'webgpu'] as BackendName[])('fused kernels on %s', (backend) => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each(CASES)('$name matches its composite', async (c) => {
    const info = await selectBackend({ prefer: backend });
    expect(info.name).toBe(backend);
    const inputs = c.inputs();
    const fused = c.fused(...inputs);
    const composite = c.composite(...inputs);
    expect(await relativeDifference(fused, composite)).toBeLessThan(TOLERANCE);
    if (c.differentiable) {
      const fusedGrads = tf.grads((...xs: tf.Tensor[]) => weightedSum(c.fused(...xs)))(inputs);
      const compositeGrads = tf.grads((...xs: tf.Tensor[]) => weightedSum(c.composite(...xs)))(inputs);
      for (let i = 0; i < inputs.length; i++) {
        expect(
          await relativeDifference(fusedGrads[i], compositeGrads[i]),
          `${c.name} gradient ${i}`,
        ).toBeLessThan(TOLERANCE);
      }
      tf.dispose([...fusedGrads, ...compositeGrads]);
    } else {
      // Only the float inputs: the int32 positions are no variable of the function.
      const floats = inputs.filter((x) => x.dtype === 'float32');
      const rest = inputs.filter((x) => x.dtype !== 'float32');
      expect(() => tf.grads((...xs: tf.Tensor[]) => weightedSum(c.fused(...xs, ...rest)))(floats)).toThrow(
        /(decodeAttention|decodeAttentionQkv|kvAppend) has no gradient/,
      );
    }
    tf.dispose([...inputs, fused, composite]);
  });
});

describe('dispatches on webgpu (SwiftShader)', () => {
  it('each fused op is one program (loraLinear three) where its composite is several', async () => {
    await selectBackend({ prefer: 'webgpu' });
    const env = tf.env();
    const forward = env.getBool('WEBGPU_CPU_FORWARD');
    env.set('WEBGPU_CPU_FORWARD', false); // every kernel on the GPU, so the count is exact
    try {
      const figures: Record<string, { composite: number; fused: number }> = {};
      for (const c of CASES) {
        const inputs = c.inputs();
        const warm = tf.add(inputs[0], 0); // uploads the inputs before the count
        await warm.data();
        const programs = async (fn: (...xs: tf.Tensor[]) => tf.Tensor) => {
          const counted = await countDispatches(async () => {
            const out = fn(...inputs);
            await out.data();
            out.dispose();
          });
          return counted.webgpu?.programs ?? Number.NaN;
        };
        figures[c.name] = { composite: await programs(c.composite), fused: await programs(c.fused) };
        tf.dispose([...inputs, warm]);
      }
      console.log('webgpu programs per call (composite → fused):', JSON.stringify(figures));
      expect(figures.rmsNorm).toEqual({ composite: 6, fused: 1 });
      expect(figures.swiglu.fused).toBe(1);
      expect(figures.swiglu.composite).toBeGreaterThanOrEqual(4);
      expect(figures['loraLinear (scale 2)']).toEqual({ composite: 5, fused: 3 });
      expect(figures['loraLinear (scale 1)']).toEqual({ composite: 4, fused: 3 });
      const attention = figures[CASES[4].name];
      expect(attention.fused).toBe(1);
      expect(attention.composite).toBeGreaterThanOrEqual(6);
      // kvAppend: 1 where the composite slices, rotates (rope: neg, 3 slices, concat, 2 gathers, 2 multiplies,
      // an add) and scatters (a copy and the scatter).
      for (const c of CASES.slice(5, 9)) expect(figures[c.name].fused, c.name).toBe(1);
      expect(figures[CASES[5].name].composite).toBeGreaterThanOrEqual(10);
      expect(figures[CASES[6].name].composite).toBeGreaterThanOrEqual(3);
      expect(figures[CASES[7].name].composite).toBeGreaterThanOrEqual(14);
      expect(figures[CASES[8].name].composite).toBeGreaterThanOrEqual(6);
      // loraLinear with an addend: still 3 (it rides in x·W's matMul), where the composite adds a 6th.
      expect(figures[CASES[9].name]).toEqual({ composite: 6, fused: 3 });
      expect(figures[CASES[10].name]).toEqual({ composite: 6, fused: 3 });
    } finally {
      env.set('WEBGPU_CPU_FORWARD', forward);
      await tf.setBackend('cpu');
    }
  });
});

describe('programs per decoded token with SmolLM2-135M layers on webgpu (SwiftShader)', () => {
  it('the fused kernels leave 10 programs per layer and 3 besides: 303 at 30 layers, 4.8× fewer than 1,454', async () => {
    await selectBackend({ prefer: 'webgpu' });
    const env = tf.env();
    const forward = env.getBool('WEBGPU_CPU_FORWARD');
    env.set('WEBGPU_CPU_FORWARD', false);
    // SmolLM2-135M's layer structure (its config.json: 9 query / 3 kv heads, SwiGLU, RMSNorm, RoPE) at
    // small widths: with CPU forwarding off, the program count does not depend on the sizes.
    const decodePrograms = async (nLayer: number, fused: boolean) => {
      const previous = useFusedKernels(fused);
      try {
        const policy = createPolicy(
          {
            vocabSize: 64,
            blockSize: 16,
            nLayer,
            nHead: 9,
            nKvHead: 3,
            nEmbd: 72,
            headSize: 8,
            mlp: 'swiglu',
            mlpHidden: 48,
            ropeBase: 100000,
          },
          { seed: 1, trainable: false },
        );
        const { logits, cache } = policy.prefill(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32'), {}, 8);
        const ids = tf.tensor1d([4], 'int32');
        const positions = tf.tensor1d([3], 'int32');
        const keyBias = tf.tensor4d([0, 0, 0, 0, -1e9, -1e9, -1e9, -1e9], [1, 1, 1, 8]);
        await Promise.all([logits.data(), ids.data(), positions.data(), keyBias.data()]);
        const counted = await countDispatches(async () => {
          const step = policy.decodeStep(ids, positions, 3, keyBias, cache);
          await step.logits.data();
          return step;
        });
        disposeCache(counted.value.cache);
        disposeCache(cache);
        tf.dispose([logits, counted.value.logits, ids, positions, keyBias]);
        policy.dispose();
        return counted.webgpu?.programs ?? Number.NaN;
      } finally {
        useFusedKernels(previous);
      }
    };
    try {
      const figures = { composite: { perLayer: 0, fixed: 0 }, fused: { perLayer: 0, fixed: 0 } };
      for (const mode of ['composite', 'fused'] as const) {
        const [one, two] = [
          await decodePrograms(1, mode === 'fused'),
          await decodePrograms(2, mode === 'fused'),
        ];
        figures[mode] = { perLayer: two - one, fixed: 2 * one - two };
      }
      const at30 = (f: { perLayer: number; fixed: number }) => f.fixed + 30 * f.perLayer;
      console.log(
        'webgpu programs per decoded token, SmolLM2-135M layer structure:',
        JSON.stringify({
          ...figures,
          at30Layers: { composite: at30(figures.composite), fused: at30(figures.fused) },
        }),
      );
      // Per layer, composite 48: two RMSNorms (6 each), the 4 projections, 2 residual adds, SwiGLU (5),
      // and attention's 25: the qkv split (3), rope on q and k (8), the 1/√hs scale, the head transposes
      // (3), two tensorScatterUpdates (2 each), the kv-head tiles (2), scores, bias, softmax and weights.
      // Fused, 10: two rmsNorm, the 4 projections (the attention and MLP outputs with the residual add in
      // their matMul program, fused/project.ts), swiglu, kvAppend for the keys and for the values, and
      // decodeAttentionQkv. Besides the layers: the embedding gather, the final norm and the head's matMul
      // (3; the composite's 14 add the norm's 5 and rope()'s per-token gathers and tiles).
      expect(figures.composite).toEqual({ perLayer: 48, fixed: 14 });
      expect(figures.fused).toEqual({ perLayer: 10, fixed: 3 });
      expect(at30(figures.fused)).toBeLessThanOrEqual(1454 / 3); // issue 22's target: 3× fewer
    } finally {
      env.set('WEBGPU_CPU_FORWARD', forward);
      await tf.setBackend('cpu');
    }
  });
});

describe('a LoRA adapter in the model on webgpu (SwiftShader)', () => {
  // SmolLM2-135M's layer structure at small widths, with o_proj and down_proj (whole weights: loraLinear,
  // fused/project.ts) and q_proj and v_proj (two slices of attn.wqkv: the adapter's own delta) adapted.
  const config = {
    vocabSize: 64,
    blockSize: 16,
    nLayer: 2,
    nHead: 9,
    nKvHead: 3,
    nEmbd: 72,
    headSize: 8,
    mlp: 'swiglu' as const,
    mlpHidden: 48,
    ropeBase: 100000,
  };

  /** A policy with an attached adapter whose B is random (PEFT's B = 0 would make every delta 0). */
  function adapted() {
    const policy = createPolicy(config, { seed: 3, trainable: false });
    const adapter = lora.createLora(
      policy,
      { rank: 4, alpha: 8, targets: ['q_proj', 'v_proj', 'o_proj', 'down_proj'] },
      { seed: 4 },
    );
    let seed = 40;
    for (const [name, v] of Object.entries(adapter.weights))
      if (name.endsWith('.B')) v.assign(tf.mul(random(v.shape, seed++), 0.5));
    lora.attachLora(policy, adapter);
    return { policy, adapter };
  }

  it('logits and the adapter gradients equal the composite; a whole-weight LoRA costs a decode step 2 programs, not 4', async () => {
    await selectBackend({ prefer: 'webgpu' });
    const env = tf.env();
    const forward = env.getBool('WEBGPU_CPU_FORWARD');
    env.set('WEBGPU_CPU_FORWARD', false);
    const { policy, adapter } = adapted();
    try {
      const ids = tf.tensor2d(
        [
          [1, 5, 9, 13, 2],
          [7, 3, 3, 8, 60],
        ],
        [2, 5],
        'int32',
      );
      const run = (fused: boolean) => {
        const previous = useFusedKernels(fused);
        try {
          const logits = policy.forward(ids);
          const { grads } = tf.variableGrads(
            () => tf.sum(tf.mul(tf.logSoftmax(policy.forward(ids)), random([10, 64], 50))) as tf.Scalar,
            adapter.variables(),
          );
          return { logits, grads };
        } finally {
          useFusedKernels(previous);
        }
      };
      const fused = run(true);
      const composite = run(false);
      expect(await relativeDifference(fused.logits, composite.logits)).toBeLessThan(TOLERANCE);
      for (const name of Object.keys(composite.grads))
        expect(await relativeDifference(fused.grads[name], composite.grads[name]), name).toBeLessThan(1e-4);

      // One decode step's programs: with the adapter, without it (fused), and the composite with it.
      const decodePrograms = async (fusedOn: boolean) => {
        const previous = useFusedKernels(fusedOn);
        try {
          const { logits, cache } = policy.prefill(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32'), {}, 8);
          const step = [tf.tensor1d([4], 'int32'), tf.tensor1d([3], 'int32')] as const;
          const keyBias = tf.tensor4d([0, 0, 0, 0, -1e9, -1e9, -1e9, -1e9], [1, 1, 1, 8]);
          await Promise.all([logits.data(), keyBias.data()]);
          const counted = await countDispatches(async () => {
            const out = policy.decodeStep(step[0], step[1], 3, keyBias, cache);
            await out.logits.data();
            return out;
          });
          disposeCache(counted.value.cache);
          disposeCache(cache);
          tf.dispose([logits, counted.value.logits, ...step, keyBias]);
          return counted.webgpu?.programs ?? Number.NaN;
        } finally {
          useFusedKernels(previous);
        }
      };
      const withAdapter = { fused: await decodePrograms(true), composite: await decodePrograms(false) };
      const detached = lora.detachLora(policy);
      const plainFused = await decodePrograms(true);
      if (detached) lora.attachLora(policy, detached);
      console.log(
        'webgpu programs per decode step, 2 layers, LoRA on q, v, o and down:',
        JSON.stringify({ ...withAdapter, fusedWithoutAdapter: plainFused }),
      );
      // Per layer the adapter adds 2 programs to the fused step for each of o_proj and down_proj (x·A and
      // loraLinear's update; x·W with its residual was there already) where the composite adds 4 (x·A,
      // ×scale, ·B, the add), and 8 for q_proj + v_proj on both (x·A, ×scale, ·B twice, the concat, the
      // add). Without the adapter: 2 × 10 + 3 fused, 2 × 48 + 14 composite.
      expect(plainFused).toBe(2 * 10 + 3);
      expect(withAdapter.fused).toBe(plainFused + 2 * (2 + 2 + 8));
      expect(withAdapter.composite).toBe(2 * 48 + 14 + 2 * (4 + 4 + 8));
      tf.dispose([
        ids,
        fused.logits,
        composite.logits,
        ...Object.values(fused.grads),
        ...Object.values(composite.grads),
      ]);
    } finally {
      lora.detachLora(policy);
      adapter.dispose();
      policy.dispose();
      env.set('WEBGPU_CPU_FORWARD', forward);
      await tf.setBackend('cpu');
    }
  });
});
