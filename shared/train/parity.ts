// A fingerprint of one seeded train step on the current backend, for cross-backend parity checks
// (tests in Node and in Chromium, and anyone porting to a new backend): the loss and every gradient of a
// fixed micro batch, and the weights after one AdamW step on it. Compare fingerprints taken on two
// backends with `compareFingerprints`; float32 sums in different orders put them ~1e-6 apart.
import * as tf from '../policy/tfjs';
import { createPolicy, type ModelConfigInput } from '../policy/model';
import { packBatch, type SequencePair } from './batch';
import { tokenLogprobs } from './losses';
import { AdamW } from './optimizer';
import { sftStep } from './sft';

export type StepFingerprint = {
  backend: string;
  loss: number;
  grads: Record<string, number[]>;
  before: Record<string, number[]>;
  after: Record<string, number[]>;
};

export const PARITY_CONFIG: ModelConfigInput = {
  vocabSize: 40,
  blockSize: 32,
  nLayer: 2,
  nHead: 2,
  nEmbd: 32,
};
export const PARITY_BATCH: SequencePair[] = [
  { promptIds: [1, 2, 3], completionIds: [4, 5, 6, 7] },
  { promptIds: [1, 2, 3], completionIds: [8, 9] },
  { promptIds: [10, 11], completionIds: [12, 13, 14, 15, 16, 17] },
  { promptIds: [10, 11], completionIds: [18] },
];

/**
 * Replies that repeat earlier tokens, so the copy head's pointer gets a gradient (on PARITY_BATCH no
 * target occurs earlier in its row, and its pointer gradients are float noise around 0).
 */
export const PARITY_COPY_BATCH: SequencePair[] = [
  { promptIds: [1, 2, 3, 4], completionIds: [2, 3, 4, 5] },
  { promptIds: [6, 7, 8], completionIds: [9, 6, 7] },
  { promptIds: [10, 11, 12, 13, 14], completionIds: [12, 13, 10, 11, 12, 15] },
  { promptIds: [16, 17], completionIds: [17] },
];

export async function trainStepFingerprint(
  config: ModelConfigInput = PARITY_CONFIG,
  batch: SequencePair[] = PARITY_BATCH,
  seed = 42,
): Promise<StepFingerprint> {
  const policy = createPolicy(config, { seed });
  const read = async (record: Record<string, tf.Tensor>) => {
    const out: Record<string, number[]> = {};
    for (const [name, t] of Object.entries(record)) out[name] = Array.from(await t.data());
    return out;
  };
  try {
    const packed = packBatch(batch, policy.config.blockSize, policy.config.padId);
    const { value, grads } = tf.variableGrads(() => {
      const inputs = tf.tensor2d(packed.inputs, [packed.B, packed.T], 'int32');
      const logits = policy.forward(inputs, { promptLengths: packed.promptLength }); // (B*T, V)
      const logp = tokenLogprobs(logits, tf.tensor1d(packed.targets, 'int32')); // (B*T)
      const tokens = packed.lossMask.reduce((a, b) => a + b, 0);
      return tf.div(tf.neg(tf.sum(tf.mul(logp, tf.tensor1d(packed.lossMask)))), tokens) as tf.Scalar;
    }, policy.variables());
    const loss = (await value.data())[0];
    const byName: Record<string, tf.Tensor> = {};
    for (const [name, v] of Object.entries(policy.weights)) byName[name] = grads[v.name];
    const gradValues = await read(byName);
    tf.dispose([value, ...Object.values(grads)]);
    const before = await read(policy.weights);
    const optimizer = new AdamW(policy.weights, { weightDecay: 0.1 });
    await sftStep(policy, optimizer, batch, { lr: 1e-2 });
    optimizer.dispose();
    return { backend: tf.getBackend(), loss, grads: gradValues, before, after: await read(policy.weights) };
  } finally {
    policy.dispose();
  }
}

/**
 * What two backends may differ by on the fingerprint step (the Node and Chromium tests and
 * scripts/gpu-check.ts share these): float32 sums in different orders put them ~1e-6 apart, and AdamW's
 * normalised update of a near-zero gradient is the most sensitive quantity, hence 1e-4 on the weights.
 */
export const PARITY_TOLERANCE = { lossRelative: 1e-4, gradRelative: 1e-3, weightAbsolute: 1e-4 } as const;

export type ParityReport = {
  lossRelative: number;
  gradRelative: number;
  weightAbsolute: number;
  worst: string;
};

/**
 * Differences of b from a: the loss relative to |a.loss|; per weight, the largest gradient difference
 * relative to that gradient's largest magnitude; and the largest absolute difference of updated weights.
 */
export function compareFingerprints(a: StepFingerprint, b: StepFingerprint): ParityReport {
  const maxAbs = (xs: number[]) => xs.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  let gradRelative = 0;
  let weightAbsolute = 0;
  let worst = '';
  for (const name of Object.keys(a.grads)) {
    const g = maxAbs(a.grads[name].map((x, i) => x - b.grads[name][i])) / (maxAbs(a.grads[name]) + 1e-8);
    if (g > gradRelative) {
      gradRelative = g;
      worst = name;
    }
    weightAbsolute = Math.max(weightAbsolute, maxAbs(a.after[name].map((x, i) => x - b.after[name][i])));
  }
  return { lossRelative: Math.abs(a.loss - b.loss) / Math.abs(a.loss), gradRelative, weightAbsolute, worst };
}
