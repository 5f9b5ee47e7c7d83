// The same seeded train step on cpu, wasm and webgpu (Dawn in Node on SwiftShader) agrees:
// the loss within 1e-4 relative, every gradient within 1e-3 of its own largest magnitude, and the
// weights after one AdamW step within 1e-4 absolute. (float32 sums in different orders differ by ~1e-6
// relative; AdamW's update of a near-zero gradient is the most sensitive quantity, hence 1e-4.)
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createPolicy } from '../../../shared/policy/model';
import { type BackendName, selectBackend } from '../../../shared/train/backend';
import { packBatch } from '../../../shared/train/batch';
import { tokenLogprobs } from '../../../shared/train/losses';
import { AdamW } from '../../../shared/train/optimizer';
import { policyGradientUpdate } from '../../../shared/train/policy-gradient';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;

const config = { vocabSize: 40, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32 };
const samples = [
  {
    promptIds: [1, 2, 3],
    completionIds: [4, 5, 6, 7],
    oldLogprobs: [-3.5, -3.6, -3.7, -3.8],
    reward: 1,
    group: 0,
  },
  { promptIds: [1, 2, 3], completionIds: [8, 9], oldLogprobs: [-3.6, -3.7], reward: 0, group: 0 },
  {
    promptIds: [10, 11],
    completionIds: [12, 13, 14, 15, 16, 17],
    oldLogprobs: [-3.7, -3.6, -3.5, -3.7, -3.6, -3.8],
    reward: 0.5,
    group: 1,
  },
  { promptIds: [10, 11], completionIds: [18], oldLogprobs: [-3.6], reward: 0.2, group: 1 },
];

type Result = {
  loss: number;
  grads: Record<string, Float32Array>;
  before: Float32Array;
  after: Record<string, Float32Array>;
};

async function runStep(backend: BackendName): Promise<Result> {
  await selectBackend({ prefer: backend });
  const policy = createPolicy(config, { seed: 42 });
  const before = (await policy.weights['h.0.attn.wqkv'].data()) as Float32Array;
  const packed = packBatch(samples, config.blockSize, 0);
  const { value, grads } = tf.variableGrads(() => {
    const logits = policy.forward(tf.tensor2d(packed.inputs, [packed.B, packed.T], 'int32'));
    const logp = tokenLogprobs(logits, tf.tensor1d(packed.targets, 'int32'));
    return tf.neg(
      tf.div(tf.sum(tf.mul(logp, tf.tensor1d(packed.lossMask))), tf.sum(packed.lossMask)),
    ) as tf.Scalar;
  }, policy.variables());
  const loss = (await value.data())[0];
  const byName: Record<string, Float32Array> = {};
  for (const [name, v] of Object.entries(policy.weights))
    byName[name] = (await grads[v.name].data()) as Float32Array;
  tf.dispose([value, ...Object.values(grads)]);
  const optimizer = new AdamW(policy.weights, { weightDecay: 0.1 });
  await policyGradientUpdate(policy, optimizer, samples, { mu: 1 }, { lr: 1e-2 });
  const after: Record<string, Float32Array> = {};
  for (const [name, v] of Object.entries(policy.weights)) after[name] = (await v.data()) as Float32Array;
  optimizer.dispose();
  policy.dispose();
  return { loss, grads: byName, before, after };
}

function maxAbs(xs: Float32Array): number {
  return xs.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

function expectClose(a: Result, b: Result, label: string) {
  expect(Math.abs(a.loss - b.loss) / Math.abs(a.loss), `${label} loss`).toBeLessThan(1e-4);
  for (const name of Object.keys(a.grads)) {
    const scale = maxAbs(a.grads[name]) + 1e-8;
    const diff = maxAbs(a.grads[name].map((x, i) => x - b.grads[name][i]));
    expect(diff / scale, `${label} grad ${name}`).toBeLessThan(1e-3);
    const wdiff = maxAbs(a.after[name].map((x, i) => x - b.after[name][i]));
    expect(wdiff, `${label} weights after step ${name}`).toBeLessThan(1e-4);
  }
}

describe('backend parity of one train step', () => {
  it('cpu, wasm and webgpu (SwiftShader) agree on loss, gradients and the updated weights', async () => {
    const cpu = await runStep('cpu');
    const wasm = await runStep('wasm');
    expectClose(cpu, wasm, 'wasm vs cpu');
    const webgpu = await runStep('webgpu');
    expectClose(cpu, webgpu, 'webgpu vs cpu');
    // The step moved the weights (so the comparison above is not of untouched initial values).
    expect(maxAbs(cpu.after['h.0.attn.wqkv'].map((x, i) => x - cpu.before[i]))).toBeGreaterThan(1e-3);
    expect(cpu.loss).toBeGreaterThan(3);
  });
});
