// The Bradley–Terry reward model: it learns a preference it was shown from pairs alone and orders pairs of
// prompts it never saw; training is a pure function of (pairs, seed); the file round-trips and a wrong
// file is refused naming the defect.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_REWARD_MODEL_CONFIG,
  decodeRewardModel,
  dimOf,
  encodeRewardModel,
  learnedRewardOf,
  RewardModelFormatError,
  rewardFeatures,
  rewardModelTerm,
  rewardScore,
} from '../../../shared/agent/reward-model';
import type { PreferencePair } from '../../../shared/data/preference';
import { encodeSafetensors } from '../../../shared/policy/safetensors';
import { createDatasetRandom } from '../../../shared/random';
import { fitRewardModel, isHeldOutPrompt, RewardModelFitError } from '../../../shared/train/reward-model';

// A made-up reviewer who wants the reply to say when the person will hear back. The replies are built
// from shuffled sentence pools, so no single word or length gives the choice away.
const OPENERS = [
  'Thanks for writing in.',
  'Sorry about this.',
  'Thank you for the report.',
  'We read your note.',
];
const FILLER = [
  'The team has your message.',
  'We know this matters to you.',
  'Your details help us a lot.',
  'This is useful to hear.',
  'We appreciate the time you took.',
];
const WHEN = [
  'You will hear from us by Friday.',
  'We will write back within two days.',
  'Expect an answer from us tomorrow.',
  'We will reply to you next week.',
];
const SUBJECTS = ['login page', 'export button', 'search box', 'billing form', 'upload dialog', 'dark mode'];

function syntheticPairs(n: number, seed: number): PreferencePair[] {
  const random = createDatasetRandom(seed);
  const body = (k: number) => random.shuffle(FILLER).slice(0, k);
  return Array.from({ length: n }, (_, i) => {
    const subject = random.pick(SUBJECTS);
    const prompt = `Category: website-bug\nSentiment: negative\nFeedback: The ${subject} fails (#${i}).\nReply:`;
    const opener = random.pick(OPENERS);
    const k = random.int(1, 4);
    return {
      prompt,
      chosen: [opener, ...body(k), random.pick(WHEN)].join(' '),
      // The passed-over draft is as long or longer: length alone does not tell them apart.
      rejected: [opener, ...body(k + 1)].join(' '),
    };
  });
}

describe('reward model', () => {
  it('learns the preference behind the pairs and orders held-out prompts’ pairs by it', () => {
    const model = fitRewardModel(syntheticPairs(240, 1), { seed: 1 });
    expect(model.training.pairs + model.training.heldOutPairs).toBe(240);
    expect(model.training.heldOutPairs).toBeGreaterThan(20);
    expect(model.training.heldOutAccuracy).toBeGreaterThan(0.9);
    // And on fresh pairs from another seed.
    const fresh = syntheticPairs(100, 99);
    const right = fresh.filter(
      (p) => rewardScore(model, p.prompt, p.chosen) > rewardScore(model, p.prompt, p.rejected),
    );
    expect(right.length / fresh.length).toBeGreaterThan(0.9);
    // As a reward term: in [0, 1], higher for the reply the reviewer would choose.
    const term = learnedRewardOf(model, 0.5);
    expect(term.weight).toBe(0.5);
    for (const p of fresh.slice(0, 10)) {
      const [a, b] = [term.score(p.prompt, p.chosen), term.score(p.prompt, p.rejected)];
      expect(a).toBeGreaterThan(0);
      expect(a).toBeLessThan(1);
      expect(a).toBeGreaterThan(b);
    }
  });

  it('without the signal (labels at random) it stays near chance on held-out prompts', () => {
    const random = createDatasetRandom(5);
    const shuffled = syntheticPairs(240, 2).map((p) =>
      random.chance(0.5) ? p : { ...p, chosen: p.rejected, rejected: p.chosen },
    );
    const model = fitRewardModel(shuffled, { seed: 1 });
    expect(model.training.heldOutAccuracy).toBeLessThan(0.75);
  });

  it('is a pure function of the pairs and the seed', () => {
    const pairs = syntheticPairs(80, 3);
    const a = encodeRewardModel(fitRewardModel(pairs, { seed: 4 }));
    const b = encodeRewardModel(fitRewardModel(pairs, { seed: 4 }));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const c = encodeRewardModel(fitRewardModel(pairs, { seed: 5 }));
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });

  it('holds out whole prompts, decided by (seed, prompt) only', () => {
    const pairs = syntheticPairs(60, 6);
    const twice = [...pairs, ...pairs.map((p) => ({ ...p, chosen: `${p.chosen} Again.` }))];
    const held = twice.filter((p) => isHeldOutPrompt(p.prompt, 0.3, 1));
    for (const p of held) expect(isHeldOutPrompt(p.prompt, 0.3, 1)).toBe(true);
    // Both pairs of a prompt fall on the same side.
    expect(held.length % 2).toBe(0);
    expect(fitRewardModel(twice, { heldOut: 0 }).training).toMatchObject({
      heldOutPairs: 0,
      heldOutAccuracy: null,
    });
  });

  it('refuses to fit nothing, and a held-out share outside [0, 1)', () => {
    expect(() => fitRewardModel([])).toThrow(RewardModelFitError);
    expect(() => fitRewardModel([])).toThrow(/no preference pairs/);
    expect(() => fitRewardModel(syntheticPairs(4, 1), { heldOut: 1 })).toThrow(/heldOut must be in \[0, 1\)/);
  });

  it('features: words and word pairs hashed, shape last; prompt-only words add nothing', () => {
    const f = rewardFeatures(
      'Feedback: the export fails\nReply:',
      'Sorry the export fails. We will fix it?',
      DEFAULT_REWARD_MODEL_CONFIG,
    );
    expect(new Set(f.index).size).toBe(f.index.length);
    const buckets = 2 ** DEFAULT_REWARD_MODEL_CONFIG.hashBits;
    const shape = [...f.index].filter((i) => i >= buckets).sort((a, b) => a - b);
    expect(shape).toEqual([0, 1, 2, 3, 4].map((k) => buckets + k));
    expect(Math.max(...f.index)).toBeLessThan(dimOf(DEFAULT_REWARD_MODEL_CONFIG));
    // Two sentences, one a question; "export" and "fails" of the 4 longer words are in the prompt.
    const value = (k: number) => f.value[[...f.index].indexOf(buckets + k)];
    expect(value(1)).toBeCloseTo(Math.log1p(2));
    expect(value(3)).toBeCloseTo(0.5);
    expect(value(4)).toBeCloseTo(2 / 4);
  });

  it('round-trips through its safetensors file, and a wrong file is refused saying why', () => {
    const model = fitRewardModel(syntheticPairs(40, 7), { epochs: 2 });
    const back = decodeRewardModel(encodeRewardModel(model));
    expect(back.training).toEqual(model.training);
    expect(back.calibration).toEqual(model.calibration);
    const p = syntheticPairs(1, 8)[0];
    expect(rewardModelTerm(back, p.prompt, p.chosen)).toBe(rewardModelTerm(model, p.prompt, p.chosen));

    expect(() => decodeRewardModel(new Uint8Array([1, 2, 3]))).toThrow(RewardModelFormatError);
    expect(() => decodeRewardModel(new Uint8Array([1, 2, 3]))).toThrow(/not a safetensors file/);
    const policyLike = encodeSafetensors(
      { w: { dtype: 'F32', shape: [2], data: new Float32Array(2) } },
      { format: 'pt' },
    );
    expect(() => decodeRewardModel(policyLike)).toThrow(/not a reward model \(metadata kind is null/);
    const bytes = encodeRewardModel(model);
    const short = encodeSafetensors(
      { w: { dtype: 'F32', shape: [3], data: new Float32Array(3) } },
      { ...decodeMetadata(bytes) },
    );
    expect(() => decodeRewardModel(short)).toThrow(/"w" has 3 values, its config needs/);
    const badCalibration = encodeSafetensors(
      { w: { dtype: 'F32', shape: [model.weights.length], data: model.weights } },
      { ...decodeMetadata(bytes), calibration: '{"mean":0,"std":0}' },
    );
    expect(() => decodeRewardModel(badCalibration)).toThrow(/calibration\.std/);
  });
});

function decodeMetadata(bytes: Uint8Array): Record<string, string> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))).__metadata__;
}
