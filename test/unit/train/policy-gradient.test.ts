import { beforeAll, describe, expect, it } from 'vitest';
import { clonePolicy, createPolicy } from '../../../shared/policy/model';
import { generate } from '../../../shared/policy/sampling';
import { computeAdvantages } from '../../../shared/train/advantages';
import { selectBackend } from '../../../shared/train/backend';
import { MetricsAccumulator } from '../../../shared/train/metrics';
import { AdamW } from '../../../shared/train/optimizer';
import {
  type PolicyGradientSample,
  completionLogprobs,
  policyGradientUpdate,
} from '../../../shared/train/policy-gradient';

const config = { vocabSize: 24, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32 };
const pairs = [
  { promptIds: [1, 2], completionIds: [3, 4, 5], reward: 1, group: 0 },
  { promptIds: [1, 2], completionIds: [6], reward: 0, group: 0 },
  { promptIds: [7], completionIds: [8, 9, 10, 11, 12], reward: 0.3, group: 1 },
  { promptIds: [7], completionIds: [13, 14], reward: 0.9, group: 1 },
];

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
});

/** Samples whose old log-probs are the policy's own, so the first ratio is exactly 1. */
async function onPolicySamples(policy: ReturnType<typeof createPolicy>): Promise<PolicyGradientSample[]> {
  const lp = await completionLogprobs(policy, pairs);
  return pairs.map((p, i) => ({ ...p, oldLogprobs: lp[i] }));
}

describe('policy-gradient losses', () => {
  it('normalise per lossType: dapo (tokens), grpo (per sequence), dr_grpo (B · max length)', async () => {
    const advantages = computeAdvantages(
      pairs.map((p) => p.reward),
      pairs.map((p) => p.group),
      { estimator: 'grpo' },
    );
    const lengths = pairs.map((p) => p.completionIds.length);
    const tokens = lengths.reduce((a, b) => a + b);
    const expected = {
      dapo: -advantages.reduce((a, adv, i) => a + adv * lengths[i], 0) / tokens,
      grpo: -advantages.reduce((a, adv) => a + adv, 0) / pairs.length,
      dr_grpo:
        -advantages.reduce((a, adv, i) => a + adv * lengths[i], 0) / (pairs.length * Math.max(...lengths)),
    };
    for (const lossType of ['dapo', 'grpo', 'dr_grpo'] as const) {
      const policy = createPolicy(config, { seed: 3 });
      const optimizer = new AdamW(policy.weights);
      const [m] = await policyGradientUpdate(
        policy,
        optimizer,
        await onPolicySamples(policy),
        { lossType },
        { lr: 0 },
      );
      expect(m.loss).toBeCloseTo(expected[lossType], 4);
      expect(m.ratioMean).toBeCloseTo(1, 4);
      expect(m.clipFraction).toBe(0);
      expect(m.kl).toBe(0);
      expect(m.tokens).toBe(tokens);
      expect(m.entropy).toBeGreaterThan(2.5); // near log(24) ≈ 3.18 at init
      expect(m.rewardMean).toBeCloseTo(0.55, 6);
      optimizer.dispose();
      policy.dispose();
    }
  });

  it('counts clipped tokens as TRL does and stops their gradient', async () => {
    const policy = createPolicy(config, { seed: 3 });
    const optimizer = new AdamW(policy.weights);
    const samples = await onPolicySamples(policy);
    // π_old 1 nat more likely than π_θ: ratio e^-1 < 1 − ε. Low-clipped where A < 0 (the two losers).
    const shifted = samples.map((s) => ({ ...s, oldLogprobs: s.oldLogprobs.map((x) => x + 1) }));
    const [m] = await policyGradientUpdate(policy, optimizer, shifted, {}, { lr: 0 });
    const losers = [1, 2].reduce((a, i) => a + pairs[i].completionIds.length, 0);
    expect(m.clipLow).toBeCloseTo(losers / 11, 5);
    expect(m.clipHigh).toBe(0);
    expect(m.ratioMean).toBeCloseTo(Math.exp(-1), 4);
    optimizer.dispose();
    policy.dispose();
  });

  it('adds β · k3 KL to a frozen reference; KL is 0 against itself and positive once they differ', async () => {
    const policy = createPolicy(config, { seed: 3 });
    const reference = clonePolicy(policy, { trainable: false });
    const optimizer = new AdamW(policy.weights);
    const samples = await onPolicySamples(policy);
    const first = await policyGradientUpdate(
      policy,
      optimizer,
      samples,
      { beta: 0.1, mu: 3 },
      { lr: 5e-2, reference },
    );
    expect(first[0].kl).toBeCloseTo(0, 6);
    expect(first[2].kl).toBeGreaterThan(0);
    expect(first.map((m) => m.step)).toEqual([1, 2, 3]); // μ = 3 optimizer steps on one batch
    expect(first[2].ratioMean).not.toBeCloseTo(1, 3); // later iterations see π_θ ≠ π_old
    await expect(
      policyGradientUpdate(policy, optimizer, samples, { beta: 0.1 }, { lr: 1e-3 }),
    ).rejects.toThrow(/reference/);
    optimizer.dispose();
    reference.dispose();
    policy.dispose();
  });

  it('defers metric reads to an accumulator (one read for many steps)', async () => {
    const policy = createPolicy(config, { seed: 3 });
    const optimizer = new AdamW(policy.weights);
    const metrics = new MetricsAccumulator();
    const samples = await onPolicySamples(policy);
    expect(await policyGradientUpdate(policy, optimizer, samples, { mu: 2 }, { lr: 1e-3, metrics })).toEqual(
      [],
    );
    expect(metrics.size).toBe(2);
    const read = await metrics.flush();
    expect(read.map((m) => m.step)).toEqual([1, 2]);
    expect(metrics.size).toBe(0);
    optimizer.dispose();
    policy.dispose();
  });

  it('rejects malformed samples with the sample index', async () => {
    const policy = createPolicy(config, { seed: 3 });
    const optimizer = new AdamW(policy.weights);
    const bad = [{ promptIds: [1], completionIds: [2, 3], oldLogprobs: [-1], reward: 1, group: 0 }];
    await expect(policyGradientUpdate(policy, optimizer, bad, {}, { lr: 1e-3 })).rejects.toThrow(/sample 0/);
    await expect(policyGradientUpdate(policy, optimizer, [], {}, { lr: 1e-3 })).rejects.toThrow(
      /needs samples/,
    );
    optimizer.dispose();
    policy.dispose();
  });
});

describe('policy-gradient learning', () => {
  for (const estimator of ['grpo', 'rloo', 'reinforce'] as const) {
    it(`${estimator} raises the reward of a toy task (emit token 5)`, async () => {
      const policy = createPolicy({ ...config, vocabSize: 12 }, { seed: 1 });
      const optimizer = new AdamW(policy.weights, { weightDecay: 0 });
      const prompts = [[1, 2], [3]];
      const reward = (tokens: number[]) => tokens.filter((t) => t === 5).length / tokens.length;
      const meanReward = async (seed: number) => {
        const out = await generate(policy, prompts, { maxNewTokens: 4, samplesPerPrompt: 16, seed });
        return out.reduce((a, s) => a + reward(s.tokens), 0) / out.length;
      };
      const before = await meanReward(1000);
      for (let it = 0; it < 8; it++) {
        const out = await generate(policy, prompts, { maxNewTokens: 4, samplesPerPrompt: 8, seed: it });
        const samples = out.map((s) => ({
          promptIds: prompts[s.promptIndex],
          completionIds: s.tokens,
          oldLogprobs: s.logprobs,
          reward: reward(s.tokens),
          group: s.promptIndex,
        }));
        await policyGradientUpdate(policy, optimizer, samples, { estimator, mu: 2 }, { lr: 3e-2 });
      }
      const after = await meanReward(1000);
      expect(after).toBeGreaterThan(before + 0.25);
      optimizer.dispose();
      policy.dispose();
    });
  }
});
