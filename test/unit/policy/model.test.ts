import * as tf from '../../../shared/policy/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ModelConfigSchema,
  clonePolicy,
  countParameters,
  createPolicy,
  describeParameters,
  presetConfig,
  weightShapes,
} from '../../../shared/policy/model';
import { logMixture } from '../../../shared/policy/ops';
import { selectBackend } from '../../../shared/train/backend';
import { AdamW } from '../../../shared/train/optimizer';
import { createRng } from '../../../shared/random';
import { sftStep } from '../../../shared/train/sft';

const micro = { vocabSize: 48, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32 };

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
});

describe('policy model', () => {
  it('counts parameters exactly and prints them for the presets', () => {
    for (const name of ['tiny', 'small'] as const) {
      const config = presetConfig(name);
      const summed = weightShapes(config).reduce((a, [, s]) => a + s.reduce((x, y) => x * y, 1), 0);
      expect(countParameters(config).total).toBe(summed);
      expect(describeParameters(config)).toContain(`(${summed})`);
    }
    expect(countParameters(presetConfig('tiny')).total).toBeGreaterThan(500_000);
    expect(countParameters(presetConfig('tiny')).total).toBeLessThan(1_000_000);
    expect(countParameters(presetConfig('small')).total).toBeGreaterThan(3_000_000);
    expect(countParameters(presetConfig('small')).total).toBeLessThan(6_000_000);
  });

  it('rejects inconsistent configs with a clear message', () => {
    expect(() => ModelConfigSchema.parse({ ...micro, nHead: 3 })).toThrow(/divisible/);
    expect(() => ModelConfigSchema.parse({ ...micro, padId: 48 })).toThrow(/padId/);
    expect(() => ModelConfigSchema.parse({ ...micro, nEmbd: 6, nHead: 2 })).toThrow(/even head size/);
  });

  it('initialises deterministically from the seed, with stable weight names', async () => {
    const a = createPolicy(micro, { seed: 11 });
    const b = createPolicy(micro, { seed: 11 });
    const c = createPolicy(micro, { seed: 12 });
    expect(Object.keys(a.weights)).toEqual(weightShapes(a.config).map(([n]) => n));
    expect(Object.keys(a.weights)).toContain('h.0.attn.wqkv');
    const wa = await a.weights['h.1.mlp.wfc'].data();
    expect(Array.from(await b.weights['h.1.mlp.wfc'].data())).toEqual(Array.from(wa));
    expect(Array.from(await c.weights['h.1.mlp.wfc'].data())).not.toEqual(Array.from(wa));
    for (const p of [a, b, c]) p.dispose();
  });

  it('produces logits of the right shape and a near-uniform loss at init', async () => {
    const policy = createPolicy(micro, { seed: 1 });
    const ids = tf.tensor2d(
      [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ],
      [2, 4],
      'int32',
    );
    const logits = policy.forward(ids);
    expect(logits.shape).toEqual([8, 48]);
    const lse = tf.logSumExp(logits, 1);
    const meanLoss = (await tf.mean(tf.sub(lse, tf.mean(logits, 1))).data())[0];
    expect(Math.abs(meanLoss - Math.log(48))).toBeLessThan(0.2);
    tf.dispose([ids, logits, lse]);
    policy.dispose();
  });

  it('loads weights by name with shape checks, and clones into independent variables', async () => {
    const a = createPolicy(micro, { seed: 1 });
    const b = createPolicy(micro, { seed: 2 });
    b.loadWeights(a.weights);
    expect(Array.from(await b.weights.wte.data())).toEqual(Array.from(await a.weights.wte.data()));
    expect(() => b.loadWeights({ ...a.weights, extra: tf.zeros([1]) })).toThrow(
      /unknown policy weight 'extra'/,
    );
    const { wte: _dropped, ...missing } = a.weights;
    expect(() => b.loadWeights(missing)).toThrow(/'wte' is missing/);
    expect(() => b.loadWeights({ ...a.weights, wte: tf.zeros([2, 2]) })).toThrow(/shape/);
    const frozen = clonePolicy(a, { trainable: false });
    a.weights.wte.assign(tf.zerosLike(a.weights.wte));
    expect((await tf.sum(tf.abs(frozen.weights.wte)).data())[0]).toBeGreaterThan(0);
    expect(frozen.weights.wte.trainable).toBe(false);
    for (const p of [a, b, frozen]) p.dispose();
  });

  it('gives learned-position models the same interface', () => {
    const policy = createPolicy({ ...micro, positions: 'learned' }, { seed: 3 });
    expect(policy.weights.wpe.shape).toEqual([32, 32]);
    const logits = policy.forward(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32'));
    expect(logits.shape).toEqual([3, 48]);
    logits.dispose();
    policy.dispose();
  });

  it('with a copy head, returns a normalised mixture whose pointer never sees the future', async () => {
    const policy = createPolicy({ ...micro, copy: true }, { seed: 4 });
    expect(Object.keys(policy.weights)).toEqual(
      expect.arrayContaining(['copy.wq', 'copy.wk', 'copy.match', 'copy.gate.w']),
    );
    const row = [3, 7, 3, 9, 7, 5];
    const logits = policy.forward(tf.tensor2d([row], [1, 6], 'int32')); // (6, V) log-probabilities
    const lse = await tf.logSumExp(logits, 1).data();
    // Position 0 has nothing to point at: its row holds the vocabulary part alone, g·softmax (mass g < 1).
    expect(lse[0]).toBeLessThan(0);
    for (let t = 1; t < 6; t++) expect(Math.abs(lse[t])).toBeLessThan(1e-4);
    // Changing token 4 may change the predictions made at positions ≥ 4 only (position 3 predicts it).
    const changed = policy.forward(tf.tensor2d([[3, 7, 3, 9, 11, 5]], [1, 6], 'int32'));
    const a = await logits.data();
    const b = await changed.data();
    const V = micro.vocabSize;
    for (let i = 0; i < 4 * V; i++) expect(b[i]).toBeCloseTo(a[i], 5);
    expect(Math.max(...Array.from(a.slice(4 * V), (x, i) => Math.abs(x - b[4 * V + i])))).toBeGreaterThan(
      1e-3,
    );
    tf.dispose([logits, changed]);
    policy.dispose();
  });

  it('with a copy head, points into the prompt only (promptLengths), never at the reply', async () => {
    const policy = createPolicy({ ...micro, copy: true }, { seed: 4 });
    policy.weights['copy.gate.b'].assign(tf.tensor1d([-30])); // gate ≈ 0: the pointer alone
    const row = tf.tensor2d([[5, 6, 7, 8, 9, 10]], [1, 6], 'int32'); // prompt 5 6 7, reply 8 9 10
    const probs = await tf.exp(policy.forward(row, { promptLengths: [3] })).array();
    for (let t = 2; t < 6; t++) {
      const mass = (ids: number[]) => ids.reduce((a, id) => a + probs[t][id], 0);
      expect(mass([6, 7]), `position ${t}`).toBeCloseTo(1, 4); // the prompt tokens a pointer can emit
      expect(mass([8, 9, 10]), `position ${t}`).toBeLessThan(1e-6); // reply tokens only via the vocabulary
    }
    const whole = await tf.exp(policy.forward(row)).array(); // default: the whole row is prompt
    expect(whole[5][9] + whole[5][10]).toBeGreaterThan(1e-3);
    row.dispose();
    policy.dispose();
  });

  it('with a copy head, continues a copied span word for word (copy.match), and loads heads saved without it', async () => {
    const policy = createPolicy({ ...micro, copy: true }, { seed: 4 });
    policy.weights['copy.gate.b'].assign(tf.tensor1d([-30])); // gate ≈ 0: the pointer alone
    policy.weights['copy.wq'].assign(tf.zerosLike(policy.weights['copy.wq'])); // no learned match
    // Token 8 appears twice in the prompt, after 6 and after 7. The reply has just emitted 7, 8 (as if
    // copied from positions 4–5): pointing at 5 emits 9, the next word; pointing at 2 would emit 5.
    const prompt = [5, 6, 8, 5, 7, 8, 9, 10];
    const row = tf.tensor2d([[...prompt, 7, 8]], [1, 10], 'int32');
    const options = { promptLengths: [prompt.length] };
    const next = async (match: [number, number]) => {
      policy.weights['copy.match'].assign(tf.tensor1d(match));
      const probs = await tf.exp(policy.forward(row, options)).array();
      return probs[9];
    };
    const bigram = await next([0, 12]);
    expect(bigram[9]).toBeGreaterThan(0.99);
    // One matching token is ambiguous: both 8s, so 9 and 5 alike.
    const unigram = await next([12, 0]);
    expect(unigram[9]).toBeCloseTo(0.5, 3);
    expect(unigram[5]).toBeCloseTo(0.5, 3);
    // Without the term the pointer is uniform over the seven positions it may read.
    const uniform = await next([0, 0]);
    expect(uniform[9]).toBeCloseTo(1 / 7, 3);
    // A record without copy.match (a head saved before it) loads with 0: exactly how that head ran.
    const older = Object.fromEntries(
      Object.entries(policy.weights)
        .filter(([name]) => name !== 'copy.match')
        .map(([name, w]) => [name, tf.clone(w)]),
    );
    policy.weights['copy.match'].assign(tf.tensor1d([5, 5]));
    policy.loadWeights(older);
    expect(Array.from(await policy.weights['copy.match'].data())).toEqual([0, 0]);
    tf.dispose([row, ...Object.values(older)]);
    policy.dispose();
  });

  it('with a copy head, learns to repeat a span much sooner than without', async () => {
    // Each row: marker, five random tokens, marker, then the same five tokens (the reply). Every span is
    // new, so only copying lowers the loss. Both models get there (the plain one with its own attention);
    // the copy head gets there sooner. Measured on wasm: mean training loss over 60 steps 0.88 vs 1.82.
    const rng = createRng(9);
    const rows = (n: number) =>
      Array.from({ length: n }, () => {
        const span = Array.from({ length: 5 }, () => 4 + Math.floor(rng.next() * 24));
        return { promptIds: [1, ...span, 1], completionIds: span };
      });
    const meanLoss = async (copy: boolean) => {
      const policy = createPolicy({ ...micro, copy }, { seed: 1 });
      const optimizer = new AdamW(policy.weights, { weightDecay: 0 });
      let sum = 0;
      for (let step = 0; step < 60; step++)
        sum += (await sftStep(policy, optimizer, rows(16), { lr: 1e-2 }))!.loss;
      optimizer.dispose();
      policy.dispose();
      return sum / 60;
    };
    const withCopy = await meanLoss(true);
    const without = await meanLoss(false);
    expect(withCopy).toBeLessThan(0.6 * without);
  });

  it("computes the copy head's mixture with a fused gradient equal to autodiff's", async () => {
    const logits = tf.randomNormal([6, 10], 0, 2, 'float32', 1) as tf.Tensor2D;
    const gate = tf.sigmoid(tf.randomNormal([6, 1], 0, 1, 'float32', 2)) as tf.Tensor2D;
    const probs = tf.softmax(tf.randomNormal([6, 10], 0, 3, 'float32', 3)) as tf.Tensor2D;
    const weights = tf.randomNormal([6, 10], 0, 1, 'float32', 4);
    const plain = (l: tf.Tensor, g: tf.Tensor, p: tf.Tensor) =>
      tf.log(tf.add(tf.add(tf.mul(g, tf.softmax(l)), tf.mul(tf.sub(1, g), p)), 1e-20));
    const objective = (f: typeof plain) => (l: tf.Tensor, g: tf.Tensor, p: tf.Tensor) =>
      tf.sum(tf.mul(f(l, g, p), weights));
    const fused = tf.grads(
      objective((l, g, p) => logMixture(l as tf.Tensor2D, g as tf.Tensor2D, p as tf.Tensor2D)),
    );
    const reference = tf.grads(objective(plain));
    const a = fused([logits, gate, probs]);
    const b = reference([logits, gate, probs]);
    for (let i = 0; i < 3; i++) {
      const diff = (await tf.max(tf.abs(tf.sub(a[i], b[i]))).data())[0];
      expect(diff, `input ${i}`).toBeLessThan(1e-5);
    }
    const value = await logMixture(logits, gate, probs).data();
    const expected = await plain(logits, gate, probs).data();
    for (const [i, v] of value.entries()) expect(v).toBeCloseTo(expected[i], 5);
  });
});
