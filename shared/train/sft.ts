// Supervised fine-tuning: teacher forcing on (prompt, reply) pairs, cross-entropy on the reply tokens only
// (the prompt and the padding are masked out), mean over the batch's reply tokens.
//
//   await sftStep(policy, optimizer, pairs, { lr })   one AdamW step; returns its TrainMetrics, or null when
//                                                      `metrics` (a MetricsAccumulator) is given to defer reads
//   sftLoss(policy, pairs)                             the loss alone, no update (evaluation)
import * as tf from '../policy/tfjs';
import type { Policy } from '../policy/model';
import {
  type PackedBatch,
  packBatch,
  type RowRange,
  rowChunks,
  type SequencePair,
  SequencePairSchema,
  sliceRows,
} from './batch';
import { chunkLogits, tokenEntropy, tokenLogprobs } from './losses';
import { MetricsAccumulator, type TrainMetrics } from './metrics';
import type { AdamW } from './optimizer';
import { type LossOutput, optimizerStep } from './step';

/** The loss of rows `range`, normalised by the whole batch's reply tokens (parts add up). */
function sftObjective(policy: Policy, packed: PackedBatch, range: RowRange): LossOutput {
  const mask = tf.tensor1d(sliceRows(packed.lossMask, packed.T, range)); // (rows*T)
  const count = packed.lossMask.reduce((a, b) => a + b, 0);
  const { logits, targets } = chunkLogits(policy, packed, range); // (rows*T, V), (rows*T)
  const logp = tokenLogprobs(logits, targets); // (rows*T)
  const loss = tf.div(tf.neg(tf.sum(tf.mul(logp, mask))), count) as tf.Scalar;
  const entropy = tf.div(tf.sum(tf.mul(tokenEntropy(logits), mask)), count) as tf.Scalar;
  return {
    loss,
    kl: tf.scalar(0),
    entropy,
    clipLow: tf.scalar(0),
    clipHigh: tf.scalar(0),
    ratioMean: tf.scalar(1),
  };
}

function validPairs(pairs: SequencePair[]): SequencePair[] {
  if (!Array.isArray(pairs) || pairs.length === 0) throw new Error('an SFT batch needs at least one pair');
  return pairs.map((p, i) => {
    const parsed = SequencePairSchema.safeParse(p);
    if (!parsed.success) throw new Error(`SFT pair ${i} is invalid: ${parsed.error.message}`);
    return parsed.data;
  });
}

export async function sftStep(
  policy: Policy,
  optimizer: AdamW,
  pairs: SequencePair[],
  options: { lr: number; metrics?: MetricsAccumulator; chunkTokens?: number },
): Promise<TrainMetrics | null> {
  const packed = packBatch(validPairs(pairs), policy.config.blockSize, policy.config.padId);
  const parts = rowChunks(packed.B, packed.T, policy.config.vocabSize, options.chunkTokens).map(
    (rows) => () => sftObjective(policy, packed, rows),
  );
  const device = optimizerStep(policy, optimizer, options.lr, parts);
  const accumulator = options.metrics ?? new MetricsAccumulator();
  accumulator.push(device, {
    kind: 'sft',
    step: optimizer.step,
    lr: options.lr,
    tokens: packed.completionLength.reduce((a, b) => a + b, 0),
    rewardMean: 0,
    rewardStd: 0,
  });
  if (options.metrics) return null;
  return (await accumulator.flush())[0];
}

/** Mean reply-token cross-entropy (nats) without updating anything. */
export async function sftLoss(policy: Policy, pairs: SequencePair[]): Promise<number> {
  const packed = packBatch(validPairs(pairs), policy.config.blockSize, policy.config.padId);
  const loss = tf.tidy(() =>
    rowChunks(packed.B, packed.T, policy.config.vocabSize)
      .map((rows) => sftObjective(policy, packed, rows).loss)
      .reduce((a, b) => tf.add(a, b)),
  );
  const value = (await loss.data())[0];
  loss.dispose();
  return value;
}
