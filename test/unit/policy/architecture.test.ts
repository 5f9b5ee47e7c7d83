// The model's architecture options (issue 22): the presets keep their names, order and init; LayerNorm,
// GELU (tanh) / SwiGLU, biases, grouped-query attention and an untied head decode like the full forward and
// train (a finite gradient for every weight) on cpu and wasm; every projection reaches the adapter hook.
import { existsSync } from 'node:fs';
import * as tf from '../../../shared/policy/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ProjectionAdapter } from '../../../shared/policy/adapter';
import {
  createPolicy,
  disposeCache,
  type KVCache,
  ModelConfigSchema,
  modelDims,
  type ModelConfigInput,
  type Policy,
  presetConfig,
  weightShapes,
} from '../../../shared/policy/model';
import { countDispatches } from '../../../shared/policy/dispatches';
import { generate } from '../../../shared/policy/sampling';
import { useFusedKernels } from '../../../shared/policy/fused/webgpu-kernel';
import { selectBackend } from '../../../shared/train/backend';
import {
  compareFingerprints,
  PARITY_CONFIG,
  PARITY_TOLERANCE,
  trainStepFingerprint,
} from '../../../shared/train/parity';

const micro = { vocabSize: 40, blockSize: 24, nLayer: 2, nHead: 6, nEmbd: 24 };
/** Llama-like: GQA (6 query heads over 2 kv heads, head size 8 ≠ C / nh), SwiGLU, untied head. */
const llamaLike: ModelConfigInput = {
  ...micro,
  nKvHead: 2,
  headSize: 8,
  mlp: 'swiglu',
  mlpHidden: 20,
  tiedHead: false,
};
/** GPT-2-like: LayerNorm, GELU (tanh), every bias, learned positions. */
const gpt2Like: ModelConfigInput = {
  ...micro,
  nHead: 4,
  norm: 'layer',
  mlp: 'gelu_tanh',
  qkvBias: true,
  attnOutBias: true,
  mlpBias: true,
  positions: 'learned',
};

describe('the presets under the architecture options', () => {
  it('keep exactly their weight names and order', () => {
    const names = weightShapes(presetConfig('tiny', { nLayer: 1 })).map(([n]) => n);
    expect(names).toEqual([
      'wte',
      'h.0.ln_1.g',
      'h.0.attn.wqkv',
      'h.0.attn.wo',
      'h.0.ln_2.g',
      'h.0.mlp.wfc',
      'h.0.mlp.wproj',
      'ln_f.g',
    ]);
  });

  it('refuse inconsistent options with a message that names them', () => {
    expect(() => ModelConfigSchema.parse({ ...micro, nKvHead: 4 })).toThrow(/divisible by nKvHead/);
    expect(() => ModelConfigSchema.parse({ ...micro, nEmbd: 25 })).toThrow(/divisible by nHead/);
    expect(() => ModelConfigSchema.parse({ ...micro, headSize: 7 })).toThrow(/even head size/);
    expect(() => ModelConfigSchema.parse({ ...micro, mlp: 'swiglu', mlpBias: true })).toThrow(/mlpBias/);
  });

  it('resolve the sizes of the options', () => {
    const dims = modelDims(ModelConfigSchema.parse(llamaLike));
    expect(dims).toEqual({ nHead: 6, nKvHead: 2, headSize: 8, qWidth: 48, kvWidth: 16, mlpHidden: 20 });
    const shapes = new Map(weightShapes(ModelConfigSchema.parse(llamaLike)));
    expect(shapes.get('h.0.attn.wqkv')).toEqual([24, 48 + 2 * 16]);
    expect(shapes.get('h.0.attn.wo')).toEqual([48, 24]);
    expect(shapes.get('h.0.mlp.wfc')).toEqual([24, 40]);
    expect(shapes.get('lm_head')).toEqual([24, 40]);
  });
});

/** Largest |log-softmax difference| between prefill + decodeStep and the full forward, greedy steps. */
async function decodeAgainstForward(policy: Policy, prompt: number[][], steps: number): Promise<number> {
  const B = prompt.length;
  const P = prompt[0].length;
  const S = P + steps;
  const rows = prompt.map((r) => [...r]);
  let { logits, cache }: { logits: tf.Tensor2D; cache: KVCache } = tf.tidy(() =>
    policy.prefill(tf.tensor2d(rows, [B, P], 'int32'), {}, S),
  );
  let worst = 0;
  for (let step = 0; ; step++) {
    const L = P + step;
    const full = tf.tidy(() =>
      tf.logSoftmax(policy.forward(tf.tensor2d(rows, [B, L], 'int32'), { lastOnly: true })),
    );
    const cached = tf.logSoftmax(logits);
    const [a, b] = [await cached.data(), await full.data()];
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    const picks = (await tf.argMax(full, 1).data()) as Int32Array;
    tf.dispose([cached, full, logits]);
    if (step === steps - 1) break;
    for (const [i, r] of rows.entries()) r.push(picks[i]);
    const bias = new Float32Array(B * S).fill(-1e9);
    for (let i = 0; i < B; i++) for (let j = 0; j <= L; j++) bias[i * S + j] = 0;
    const previous = cache;
    const out = tf.tidy(() =>
      policy.decodeStep(
        tf.tensor1d(Int32Array.from(picks), 'int32'),
        tf.tensor1d(new Int32Array(B).fill(L), 'int32'),
        L,
        tf.tensor4d(bias, [B, 1, 1, S]),
        previous,
      ),
    );
    disposeCache(previous);
    ({ logits, cache } = out);
  }
  disposeCache(cache);
  return worst;
}

/** Randomises every weight (biases and gains too) so that no option hides behind an init of 0 or 1. */
function randomise(policy: Policy, seed: number): void {
  let s = seed;
  for (const [name, v] of Object.entries(policy.weights)) {
    s++;
    v.assign(tf.randomNormal(v.shape, name.endsWith('.g') ? 1 : 0, 0.2, 'float32', s));
  }
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`architecture options on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend({ prefer: backend });
    });

    for (const [label, config] of [
      ['llama-like (GQA, SwiGLU, untied)', llamaLike],
      ['gpt2-like (LayerNorm, GELU, biases, learned positions)', gpt2Like],
    ] as const) {
      it(`${label}: the KV-cache decode equals the full forward`, async () => {
        const policy = createPolicy(config, { seed: 5 });
        randomise(policy, 11);
        const prompt = [
          [3, 7, 9, 3, 7, 11, 5],
          [2, 2, 8, 6, 2, 8, 1],
        ];
        expect(await decodeAgainstForward(policy, prompt, 8)).toBeLessThan(1e-4);
        policy.dispose();
      });

      it(`${label}: every weight gets a finite, non-zero gradient`, async () => {
        const policy = createPolicy(config, { seed: 5 });
        randomise(policy, 12);
        const ids = tf.tensor2d([[1, 4, 9, 16, 25, 36, 2, 3]], [1, 8], 'int32');
        const targets = tf.tensor1d([4, 9, 16, 25, 36, 2, 3, 5], 'int32');
        const { grads } = tf.variableGrads(() =>
          tf.losses.softmaxCrossEntropy(tf.oneHot(targets, 40), policy.forward(ids)),
        );
        for (const [name] of weightShapes(policy.config)) {
          const g = grads[policy.weights[name].name];
          expect(g, name).toBeDefined();
          const values = await g.data();
          expect(values.every(Number.isFinite), name).toBe(true);
          expect(Math.max(...Array.from(values, Math.abs)), name).toBeGreaterThan(0);
        }
        tf.dispose([ids, targets, ...Object.values(grads)]);
        policy.dispose();
      });
    }
  });
}

describe('the fused kernels in the model on webgpu (SwiftShader)', () => {
  beforeAll(async () => {
    const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
    if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;
    await selectBackend({ prefer: 'webgpu' });
  });

  it('llama-like: the decode step (fused RMSNorm, SwiGLU and GQA attention) equals the full forward', async () => {
    expect(tf.getBackend()).toBe('webgpu');
    const policy = createPolicy(llamaLike, { seed: 5 });
    randomise(policy, 13);
    const prompt = [
      [3, 7, 9, 3, 7, 11, 5],
      [2, 2, 8, 6, 2, 8, 1],
    ];
    expect(await decodeAgainstForward(policy, prompt, 6)).toBeLessThan(1e-4);
    policy.dispose();
  });

  it('gpt2-like: the decode step (kvAppend and decodeAttentionQkv without rope, with the qkv bias) equals the full forward', async () => {
    expect(tf.getBackend()).toBe('webgpu');
    const policy = createPolicy(gpt2Like, { seed: 5 });
    randomise(policy, 17);
    const prompt = [
      [3, 7, 9, 3, 7],
      [2, 2, 8, 6, 2],
    ];
    expect(await decodeAgainstForward(policy, prompt, 5)).toBeLessThan(1e-4);
    policy.dispose();
  });

  it('llama-like: greedy sampling of left-padded prompts (a position per row) is the same fused and composite', async () => {
    const policy = createPolicy(llamaLike, { seed: 5 });
    randomise(policy, 21);
    const prompts = [
      [3, 7, 9, 3, 7, 11, 5],
      [2, 8],
      [6, 1, 4, 4],
    ];
    const run = async (fused: boolean) => {
      const previous = useFusedKernels(fused);
      try {
        return await generate(policy, prompts, { maxNewTokens: 6, temperature: 0 });
      } finally {
        useFusedKernels(previous);
      }
    };
    const [fused, composite] = [await run(true), await run(false)];
    for (const [i, row] of composite.entries()) {
      expect(fused[i].tokens, `row ${i}`).toEqual(row.tokens);
      for (const [t, lp] of row.logprobs.entries()) expect(fused[i].logprobs[t]).toBeCloseTo(lp, 4);
    }
    policy.dispose();
  }, 180_000); // two generate runs compile their programs on SwiftShader: a minute under load

  it('llama-like: a decode step records fewer programs with the fused kernels than the composite ops', async () => {
    const policy = createPolicy(llamaLike, { seed: 5 });
    const B = 2;
    const S = 8;
    const { cache } = tf.tidy(() =>
      policy.prefill(
        tf.tensor2d(
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          [B, 3],
          'int32',
        ),
        {},
        S,
      ),
    );
    const step = () =>
      tf.tidy(() => {
        const out = policy.decodeStep(
          tf.tensor1d([7, 8], 'int32'),
          tf.tensor1d([3, 3], 'int32'),
          3,
          tf.zeros([B, 1, 1, S]) as tf.Tensor4D,
          cache,
        );
        disposeCache(out.cache);
        return out.logits;
      });
    const fused = await countDispatches(async () => (await step().data()).length);
    // The same step with the fused kernels' names taken away runs the composite ops.
    const previous = useFusedKernels(false);
    const composite = await countDispatches(async () => (await step().data()).length).finally(() =>
      useFusedKernels(previous),
    );
    expect(fused.webgpu?.programs).toBeLessThan(composite.webgpu?.programs ?? 0);
    disposeCache(cache);
    policy.dispose();
  });
});

describe('the adapter hook', () => {
  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
  });

  it('sees every projection, and its delta moves the logits', async () => {
    const policy = createPolicy(llamaLike, { seed: 5 });
    const seen = new Map<string, number[]>();
    let bump = 0;
    const adapter: ProjectionAdapter = {
      delta(name, x) {
        seen.set(name, x.shape);
        if (name !== 'lm_head' || bump === 0) return null;
        return tf.fill([x.shape[0], 40], bump) as tf.Tensor2D;
      },
      variables: () => [],
    };
    const ids = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    const plain = await policy.forward(ids).data();
    policy.setAdapter(adapter);
    const same = await policy.forward(ids).data();
    expect(Array.from(same)).toEqual(Array.from(plain));
    expect([...seen.keys()].sort()).toEqual(
      [
        'lm_head',
        ...[0, 1].flatMap((i) => ['attn.wqkv', 'attn.wo', 'mlp.wfc', 'mlp.wproj'].map((p) => `h.${i}.${p}`)),
      ].sort(),
    );
    expect(seen.get('h.0.attn.wo')).toEqual([3, 48]);
    expect(seen.get('h.0.mlp.wproj')).toEqual([3, 20]);
    bump = 0.5;
    const moved = await policy.forward(ids).data();
    expect(moved[0]).toBeCloseTo(plain[0] + 0.5, 5);
    policy.setAdapter(null);
    ids.dispose();
    policy.dispose();
  });
});

describe('backend parity of one train step under the architecture options', () => {
  it.each([
    ['llama-like (GQA, SwiGLU, untied)', llamaLike],
    ['gpt2-like (LayerNorm, GELU, biases)', gpt2Like],
  ] as const)('%s: cpu, wasm and webgpu (SwiftShader) agree', async (_, config) => {
    const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
    if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;
    const full = { ...PARITY_CONFIG, ...config };
    await selectBackend({ prefer: 'cpu' });
    const cpu = await trainStepFingerprint(full);
    for (const backend of ['wasm', 'webgpu'] as const) {
      await selectBackend({ prefer: backend });
      const other = await trainStepFingerprint(full);
      expect(other.backend).toBe(backend);
      const report = compareFingerprints(cpu, other);
      expect(report.lossRelative, backend).toBeLessThan(PARITY_TOLERANCE.lossRelative);
      expect(report.gradRelative, `${backend} worst gradient ${report.worst}`).toBeLessThan(
        PARITY_TOLERANCE.gradRelative,
      );
      expect(report.weightAbsolute, backend).toBeLessThan(PARITY_TOLERANCE.weightAbsolute);
    }
  });
});
