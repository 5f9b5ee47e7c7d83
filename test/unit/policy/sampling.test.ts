import * as tf from '../../../shared/policy/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicy } from '../../../shared/policy/model';
import { generate, sampleRow } from '../../../shared/policy/sampling';
import { selectBackend } from '../../../shared/train/backend';
import { createRng } from '../../../shared/random';

const micro = { vocabSize: 40, blockSize: 48, nLayer: 2, nHead: 2, nEmbd: 32 };
const prompts = [
  [1, 2, 3],
  [4, 5],
  [6, 7, 8, 9, 10, 11],
];

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
});

describe('generate', () => {
  for (const [positions, copy] of [
    ['rope', false],
    ['learned', false],
    ['rope', true],
  ] as const) {
    it(`gives the same tokens with and without the KV cache (${positions} positions${copy ? ', copy head' : ''}, ragged prompts)`, async () => {
      const policy = createPolicy({ ...micro, positions, copy }, { seed: 5 });
      for (const opts of [
        { temperature: 1 },
        { temperature: 0.8, topK: 5 },
        { temperature: 1.2, topP: 0.9 },
      ]) {
        const common = { maxNewTokens: 10, samplesPerPrompt: 3, seed: 21, ...opts };
        const cached = await generate(policy, prompts, common);
        const full = await generate(policy, prompts, { ...common, useCache: false });
        expect(cached.map((s) => s.tokens)).toEqual(full.map((s) => s.tokens));
        cached.forEach((s, i) => {
          s.logprobs.forEach((lp, j) => {
            expect(Math.abs(lp - full[i].logprobs[j])).toBeLessThan(1e-4);
          });
        });
      }
      policy.dispose();
    });
  }

  it('is reproducible from the seed and varies across seeds', async () => {
    const policy = createPolicy(micro, { seed: 5 });
    const a = await generate(policy, prompts, { maxNewTokens: 8, samplesPerPrompt: 2, seed: 1 });
    const b = await generate(policy, prompts, { maxNewTokens: 8, samplesPerPrompt: 2, seed: 1 });
    const c = await generate(policy, prompts, { maxNewTokens: 8, samplesPerPrompt: 2, seed: 2 });
    expect(a.map((s) => s.tokens)).toEqual(b.map((s) => s.tokens));
    expect(a.map((s) => s.tokens)).not.toEqual(c.map((s) => s.tokens));
    expect(a.map((s) => [s.promptIndex, s.sample])).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
      [2, 0],
      [2, 1],
    ]);
    policy.dispose();
  });

  it('with promptSeeds, samples a prompt the same way whatever else shares the batch', async () => {
    const policy = createPolicy(micro, { seed: 5 });
    const common = { maxNewTokens: 8, samplesPerPrompt: 2 };
    const alone = await generate(policy, [prompts[1]], { ...common, promptSeeds: [77] });
    const batched = await generate(policy, [prompts[2], prompts[1], prompts[0]], {
      ...common,
      promptSeeds: [5, 77, 9],
    });
    const ofSecond = batched.filter((s) => s.promptIndex === 1);
    expect(ofSecond.map((s) => s.tokens)).toEqual(alone.map((s) => s.tokens));
    // The two samples of a prompt are different streams, and another seed gives other samples.
    expect(alone[0].tokens).not.toEqual(alone[1].tokens);
    const other = await generate(policy, [prompts[1]], { ...common, promptSeeds: [78] });
    expect(other.map((s) => s.tokens)).not.toEqual(alone.map((s) => s.tokens));
    await expect(generate(policy, prompts, { ...common, promptSeeds: [1] })).rejects.toThrow(/promptSeeds/);
    policy.dispose();
  });

  it('returns the policy log-probabilities of the sampled tokens (temperature 1, untruncated)', async () => {
    const policy = createPolicy(micro, { seed: 8 });
    const [out] = await generate(policy, [[3, 4, 5]], {
      maxNewTokens: 4,
      seed: 3,
      temperature: 0.7,
      topK: 3,
    });
    // Recompute log softmax of the full-sequence logits at each generated position.
    const seq = [3, 4, 5, ...out.tokens];
    const logits = policy.forward(tf.tensor2d([seq], [1, seq.length], 'int32'));
    const logp = await tf.logSoftmax(logits).data();
    out.tokens.forEach((tok, j) => {
      const pos = 2 + j; // the logits at position p predict token p + 1
      expect(Math.abs(out.logprobs[j] - logp[pos * micro.vocabSize + tok])).toBeLessThan(1e-4);
      expect(out.samplerLogprobs[j]).toBeGreaterThanOrEqual(out.logprobs[j] - 1e-6); // truncation only concentrates mass
    });
    logits.dispose();
    policy.dispose();
  });

  it('stops a row at a stop token (kept in the output) and caps at maxNewTokens', async () => {
    const policy = createPolicy({ ...micro, vocabSize: 4 }, { seed: 2 });
    const out = await generate(policy, [[1], [2]], {
      maxNewTokens: 30,
      samplesPerPrompt: 4,
      seed: 9,
      stopTokens: [0],
    });
    for (const s of out) {
      const stopAt = s.tokens.indexOf(0);
      if (s.finishReason === 'stop') expect(stopAt).toBe(s.tokens.length - 1);
      else {
        expect(stopAt).toBe(-1);
        expect(s.tokens.length).toBe(30);
      }
    }
    expect(out.some((s) => s.finishReason === 'stop')).toBe(true);
    policy.dispose();
  });

  it('does not leak tensors and rejects bad prompts clearly', async () => {
    const policy = createPolicy(micro, { seed: 2 });
    await generate(policy, prompts, { maxNewTokens: 3 });
    const before = tf.memory().numTensors;
    await generate(policy, prompts, { maxNewTokens: 6, samplesPerPrompt: 2 });
    await generate(policy, prompts, { maxNewTokens: 6, useCache: false });
    expect(tf.memory().numTensors).toBe(before);
    await expect(generate(policy, [[]], { maxNewTokens: 2 })).rejects.toThrow(/empty/);
    await expect(generate(policy, [[99]], { maxNewTokens: 2 })).rejects.toThrow(/outside the vocabulary/);
    await expect(generate(policy, [[1]], { maxNewTokens: 0 })).rejects.toThrow();
    policy.dispose();
  });
});

describe('sampleRow', () => {
  const logits = new Float32Array([2, 1, 0, -1, 5]);
  it('is greedy at temperature 0 and respects top-k / top-p', () => {
    const rng = createRng(1);
    expect(sampleRow(logits, 0, 5, { temperature: 0, topK: 0, topP: 1 }, rng).token).toBe(4);
    for (let i = 0; i < 200; i++) {
      expect([4, 0]).toContain(sampleRow(logits, 0, 5, { temperature: 2, topK: 2, topP: 1 }, rng).token);
      // p(4) = e^5 / Σ ≈ 0.93 ≥ 0.9: top-p 0.9 keeps only token 4.
      expect(sampleRow(logits, 0, 5, { temperature: 1, topK: 0, topP: 0.9 }, rng).token).toBe(4);
    }
  });

  it('samples in proportion to the probabilities', () => {
    const rng = createRng(7);
    const row = new Float32Array([0, Math.log(3)]); // p = 0.25, 0.75
    let ones = 0;
    for (let i = 0; i < 4000; i++)
      ones += sampleRow(row, 0, 2, { temperature: 1, topK: 0, topP: 1 }, rng).token;
    expect(ones / 4000).toBeGreaterThan(0.72);
    expect(ones / 4000).toBeLessThan(0.78);
  });
});
