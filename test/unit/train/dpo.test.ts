// DPO and KTO (shared/train/preference.ts): the loss values against a hand computation from given
// sequence log-probs, DPO's gradient against a finite difference, and a few steps of a tiny random policy
// that learn to prefer the chosen replies of a handful of pairs over the rejected ones.
import { beforeAll, describe, expect, it } from 'vitest';
import { clonePolicy, createPolicy } from '../../../shared/policy/model';
import * as tf from '../../../shared/policy/tfjs';
import { selectBackend } from '../../../shared/train/backend';
import { AdamW } from '../../../shared/train/optimizer';
import {
  dpoLoss,
  dpoStep,
  type EncodedLabel,
  type EncodedPair,
  ktoLoss,
  ktoStep,
} from '../../../shared/train/preference';

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
});

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
/** −log σ(x), written out by hand. */
const minusLogSigmoid = (x: number) => Math.log(1 + Math.exp(-x));

// Sequence log-probs of three pairs: policy chosen / rejected, reference chosen / rejected.
const pc = [-12.5, -30.1, -8.0];
const pr = [-14.0, -29.0, -8.0];
const rc = [-13.0, -30.0, -9.5];
const rr = [-13.5, -30.5, -7.0];

async function values(t: tf.Tensor): Promise<number[]> {
  const out = Array.from(await t.data());
  t.dispose();
  return out;
}

describe('DPO loss', () => {
  it('is −log σ(β·margin) per pair, the margin of log-ratios', async () => {
    const beta = 0.1;
    const got = await values(
      dpoLoss(tf.tensor1d(pc), tf.tensor1d(pr), tf.tensor1d(rc), tf.tensor1d(rr), { beta }),
    );
    // Pair 0: (−12.5 + 13) − (−14 + 13.5) = 0.5 + 0.5 = 1; pair 1: −0.1 − 1.5 = −1.6; pair 2: 1.5 + 1 = 2.5.
    const margins = [1, -1.6, 2.5];
    margins.forEach((m, i) => {
      expect(got[i]).toBeCloseTo(minusLogSigmoid(beta * m), 5);
    });
    expect(got[0]).toBeCloseTo(0.6443966600735709, 5); // log(1 + e^−0.1)
  });

  it('with label smoothing ε is (1 − ε)·−log σ(β·m) + ε·−log σ(−β·m)', async () => {
    const beta = 0.5;
    const epsilon = 0.2;
    const got = await values(
      dpoLoss(tf.tensor1d(pc), tf.tensor1d(pr), tf.tensor1d(rc), tf.tensor1d(rr), {
        beta,
        labelSmoothing: epsilon,
      }),
    );
    [1, -1.6, 2.5].forEach((m, i) => {
      const expected = (1 - epsilon) * minusLogSigmoid(beta * m) + epsilon * minusLogSigmoid(-beta * m);
      expect(got[i]).toBeCloseTo(expected, 5);
    });
    // Pair 0 by hand: 0.8 · log(1 + e^−0.5) + 0.2 · log(1 + e^0.5) = 0.8 · 0.474077 + 0.2 · 0.974077.
    expect(got[0]).toBeCloseTo(0.8 * 0.474077 + 0.2 * 0.974077, 5);
  });

  it('has the gradient a finite difference measures, in each sequence log-prob', async () => {
    const beta = 0.7;
    const epsilon = 0.1;
    const lossOf = (x: number[][]) =>
      tf.sum(
        dpoLoss(tf.tensor1d(x[0]), tf.tensor1d(x[1]), tf.tensor1d(x[2]), tf.tensor1d(x[3]), {
          beta,
          labelSmoothing: epsilon,
        }),
      );
    const inputs = [pc, pr, rc, rr];
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
      tf.sum(
        dpoLoss(a as tf.Tensor1D, b as tf.Tensor1D, c as tf.Tensor1D, d as tf.Tensor1D, {
          beta,
          labelSmoothing: epsilon,
        }),
      ),
    )(inputs.map((x) => tf.tensor1d(x)));
    const analytic = await Promise.all(grads.map(values));
    const h = 1e-2;
    for (let k = 0; k < 4; k++) {
      for (let i = 0; i < 3; i++) {
        const plus = inputs.map((x, j) => x.map((v, n) => (j === k && n === i ? v + h : v)));
        const minus = inputs.map((x, j) => x.map((v, n) => (j === k && n === i ? v - h : v)));
        const [up] = await values(lossOf(plus));
        const [down] = await values(lossOf(minus));
        expect(analytic[k][i]).toBeCloseTo((up - down) / (2 * h), 3);
      }
    }
    // And the closed form for the chosen side: −β·((1 − ε)·σ(−β·m) − ε·σ(β·m)).
    const m = 1;
    expect(analytic[0][0]).toBeCloseTo(
      -beta * ((1 - epsilon) * sigmoid(-beta * m) - epsilon * sigmoid(beta * m)),
      5,
    );
  });
});

describe('KTO loss', () => {
  it('is λ_D·(1 − σ(β(r − z₀))) for desirable replies and λ_U·(1 − σ(β(z₀ − r))) for the others', async () => {
    const beta = 0.5;
    const z0 = 0.3;
    const policy = [-10, -20, -5, -7];
    const ref = [-11, -19.5, -5, -9];
    const desirable = [true, true, false, false];
    const options = { beta, desirableWeight: 1.5, undesirableWeight: 0.75 };
    const got = await values(ktoLoss(tf.tensor1d(policy), tf.tensor1d(ref), desirable, z0, options));
    const r = policy.map((p, i) => p - ref[i]); // 1, −0.5, 0, 2
    const expected = r.map((ri, i) =>
      desirable[i] ? 1.5 * (1 - sigmoid(beta * (ri - z0))) : 0.75 * (1 - sigmoid(beta * (z0 - ri))),
    );
    expected.forEach((e, i) => {
      expect(got[i]).toBeCloseTo(e, 5);
    });
    // Reply 0 by hand: 1.5 · (1 − σ(0.35)) = 1.5 · 0.413382.
    expect(got[0]).toBeCloseTo(1.5 * 0.413382, 5);
  });
});

// A tiny random policy over a 24-token vocabulary: chosen and rejected replies of the same prompts.
const config = { vocabSize: 24, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16 };
const pairs: EncodedPair[] = [
  {
    chosen: { promptIds: [1, 2], completionIds: [3, 4, 5] },
    rejected: { promptIds: [1, 2], completionIds: [9, 10] },
  },
  {
    chosen: { promptIds: [7], completionIds: [3, 4, 11] },
    rejected: { promptIds: [7], completionIds: [12, 13, 14] },
  },
  {
    chosen: { promptIds: [15, 16, 2], completionIds: [5, 6] },
    rejected: { promptIds: [15, 16, 2], completionIds: [17] },
  },
  {
    chosen: { promptIds: [18], completionIds: [3, 19] },
    rejected: { promptIds: [18], completionIds: [20, 21, 22, 23] },
  },
];

describe('DPO and KTO steps on a tiny policy', () => {
  it('start at margin 0 (policy = reference) and raise the margin and the accuracy', async () => {
    const policy = createPolicy(config, { seed: 5 });
    const reference = clonePolicy(policy, { trainable: false });
    const optimizer = new AdamW(policy.weights);
    const first = await dpoStep(policy, optimizer, reference, pairs, { lr: 3e-3, beta: 0.1 });
    expect(first['rewards/margins']).toBe(0);
    expect(first['rewards/chosen']).toBe(0);
    expect(first['rewards/accuracies']).toBe(0); // a margin of exactly 0 is not a win
    expect(first.loss).toBeCloseTo(Math.log(2), 5);
    expect(first['logps/chosen']).toBeLessThan(0);
    expect(first.tokens).toBe(
      pairs.reduce((a, p) => a + p.chosen.completionIds.length + p.rejected.completionIds.length, 0),
    );
    let last = first;
    for (let i = 0; i < 8; i++)
      last = await dpoStep(policy, optimizer, reference, pairs, { lr: 3e-3, beta: 0.1 });
    expect(last['rewards/margins']).toBeGreaterThan(0.1);
    expect(last['rewards/accuracies']).toBe(1);
    expect(last['rewards/chosen']).toBeGreaterThan(last['rewards/rejected'] as number);
    expect(last.loss).toBeLessThan(Math.log(2));
    optimizer.dispose();
    policy.dispose();
    reference.dispose();
  });

  it('KTO raises desirable replies and lowers undesirable ones, with z₀ ≥ 0', async () => {
    const policy = createPolicy(config, { seed: 6 });
    const reference = clonePolicy(policy, { trainable: false });
    const optimizer = new AdamW(policy.weights);
    const labelled: EncodedLabel[] = pairs.flatMap((p) => [
      { reply: p.chosen, desirable: true },
      { reply: p.rejected, desirable: false },
    ]);
    const first = await ktoStep(policy, optimizer, reference, labelled, { lr: 3e-3, beta: 0.1 });
    expect(first.kl).toBe(0);
    expect(first['rewards/chosen']).toBe(0);
    expect(first.loss).toBeCloseTo(0.5, 5); // 1 − σ(0) for every reply
    let last = first;
    for (let i = 0; i < 8; i++)
      last = await ktoStep(policy, optimizer, reference, labelled, { lr: 3e-3, beta: 0.1 });
    expect(last['rewards/chosen']).toBeGreaterThan(0);
    expect(last['rewards/rejected']).toBeLessThan(0);
    expect(last['rewards/margins']).toBeGreaterThan(0.1);
    expect(last.kl).toBeGreaterThanOrEqual(0);
    expect(last.loss).toBeLessThan(0.5);
    optimizer.dispose();
    policy.dispose();
    reference.dispose();
  });
});
