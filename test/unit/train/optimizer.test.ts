import * as tf from '../../../shared/policy/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicy } from '../../../shared/policy/model';
import { selectBackend } from '../../../shared/train/backend';
import { AdamW } from '../../../shared/train/optimizer';
import { ScheduleConfigSchema, learningRateAt } from '../../../shared/train/schedule';
import { sftStep } from '../../../shared/train/sft';

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
});

describe('AdamW', () => {
  it('matches torch.optim.AdamW arithmetic (decoupled decay on matrices only) for two steps', async () => {
    const weights = { m: tf.variable(tf.tensor2d([[1, -2]])), g: tf.variable(tf.tensor1d([0.5])) };
    const opt = new AdamW(weights, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, clipNorm: 0 });
    const lr = 0.01;
    // Hand computation, element m[0][0] with gradient 0.3 then -0.1; the 1-D gain is never decayed.
    let p = 1;
    let m = 0;
    let v = 0;
    for (const [t, grad] of [
      [1, 0.3],
      [2, -0.1],
    ]) {
      p *= 1 - lr * 0.1;
      m = 0.9 * m + 0.1 * grad;
      v = 0.999 * v + 0.001 * grad * grad;
      p -= (lr * (m / (1 - 0.9 ** t))) / (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-8);
      const norm = opt.update({ m: tf.tensor2d([[grad, 0]]), g: tf.tensor1d([0]) }, lr);
      expect((await norm.data())[0]).toBeCloseTo(Math.abs(grad), 6);
      norm.dispose();
    }
    expect((await weights.m.data())[0]).toBeCloseTo(p, 6);
    expect((await weights.g.data())[0]).toBe(0.5); // zero gradient and no decay on a 1-D weight
    expect(opt.step).toBe(2);
  });

  it('clips by the global norm before the update', async () => {
    const w = { a: tf.variable(tf.zeros([2])), b: tf.variable(tf.zeros([2])) };
    const clipped = new AdamW(w, { clipNorm: 1, weightDecay: 0 });
    const norm = clipped.update({ a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) }, 0.1);
    expect((await norm.data())[0]).toBeCloseTo(5, 5);
    const state = clipped.exportState();
    // First moment after one step = (1 − β1) · g · (1 / 5).
    expect(Array.from(await state.tensors['exp_avg.a'].data())[0]).toBeCloseTo(0.1 * 3 * 0.2, 6);
    expect(Array.from(await state.tensors['exp_avg.b'].data())[1]).toBeCloseTo(0.1 * 4 * 0.2, 6);
  });

  it('exports and imports its state so a resumed run continues bit for bit', async () => {
    const config = { vocabSize: 32, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16 };
    const batches = [0, 1, 2, 3].map((k) => [{ promptIds: [1, 2 + k], completionIds: [5 + k, 6, 7, 8] }]);
    const straight = createPolicy(config, { seed: 4 });
    const straightOpt = new AdamW(straight.weights);
    for (const batch of batches) await sftStep(straight, straightOpt, batch, { lr: 1e-2 });

    const first = createPolicy(config, { seed: 4 });
    const firstOpt = new AdamW(first.weights);
    for (const batch of batches.slice(0, 2)) await sftStep(first, firstOpt, batch, { lr: 1e-2 });
    // "Save": copy weights and optimizer state to host arrays, then rebuild from them.
    const savedWeights: Record<string, tf.Tensor> = {};
    for (const [n, v] of Object.entries(first.weights)) savedWeights[n] = tf.tensor(await v.data(), v.shape);
    const state = firstOpt.exportState();
    const savedState: Record<string, tf.Tensor> = {};
    for (const [n, t] of Object.entries(state.tensors)) savedState[n] = tf.tensor(await t.data(), t.shape);
    const resumed = createPolicy(config, { seed: 99 });
    resumed.loadWeights(savedWeights);
    const resumedOpt = new AdamW(resumed.weights);
    resumedOpt.importState({ step: state.step, tensors: savedState });
    for (const batch of batches.slice(2)) await sftStep(resumed, resumedOpt, batch, { lr: 1e-2 });

    for (const name of Object.keys(straight.weights)) {
      expect(Array.from(await resumed.weights[name].data())).toEqual(
        Array.from(await straight.weights[name].data()),
      );
    }
    expect(() => resumedOpt.importState({ step: 1, tensors: {} })).toThrow(/lacks 'exp_avg\.wte'/);
  });
});

describe('learning-rate schedule', () => {
  const schedule = ScheduleConfigSchema.parse({ lr: 1e-3, warmupSteps: 10, totalSteps: 110, minLr: 1e-4 });
  it('warms up linearly, then decays on a cosine to minLr', () => {
    expect(learningRateAt(0, schedule)).toBeCloseTo(1e-3 / 11, 10);
    expect(learningRateAt(9, schedule)).toBeCloseTo((1e-3 * 10) / 11, 10);
    expect(learningRateAt(10, schedule)).toBeCloseTo(1e-3, 10);
    expect(learningRateAt(60, schedule)).toBeCloseTo(1e-4 + 0.5 * 9e-4, 10);
    expect(learningRateAt(110, schedule)).toBe(1e-4);
    expect(learningRateAt(500, schedule)).toBe(1e-4);
    for (let s = 10; s < 110; s++)
      expect(learningRateAt(s + 1, schedule)).toBeLessThanOrEqual(learningRateAt(s, schedule));
  });
  it('rejects minLr above lr', () => {
    expect(() => ScheduleConfigSchema.parse({ lr: 1e-4, totalSteps: 5, minLr: 1e-3 })).toThrow(/minLr/);
  });
});
