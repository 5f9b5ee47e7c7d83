// DPO and KTO: learning from people's choices against a frozen reference policy π_ref (the policy the run
// started from). A reply is scored whole: log π(y|x) is the sum of its completion tokens' log-probs
// (tokenised exactly as SFT does, shared/policy/sequence.ts), and its implicit reward is
// β·(log π(y|x) − log π_ref(y|x)).
//
// DPO (Rafailov et al. 2023), the sigmoid loss, with label smoothing ε (conservative DPO), per pair:
//   m = (log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))
//   ℓ = (1 − ε)·(−log σ(β·m)) + ε·(−log σ(−β·m))
// KTO (Ethayarajh et al. 2024), per reply with r = log π(y|x) − log π_ref(y|x):
//   desirable (label true)     ℓ = λ_D·(1 − σ(β·(r − z₀)))
//   undesirable (label false)  ℓ = λ_U·(1 − σ(β·(z₀ − r)))
//   z₀ = max(0, mean_i [log π(y_{i−1}|x_i) − log π_ref(y_{i−1}|x_i)]), detached: the KL estimate of TRL's
//        KTOTrainer, from mismatched pairs (each prompt of the batch with the previous row's reply), so
//        that it measures how far the policy drifted in general rather than on the replies being judged.
// Both losses are means over the batch (pairs / replies). Gradients by tfjs autodiff: the loss is
// tokenLogprobs (losses.ts, with its own stated gradient), a masked sum per row and elementwise ops
// (−log σ(x) as softplus(−x), stable for large |β·m|); no custom gradient is added here.
//
//   encodePreferencePair / encodePreferenceLabel    text → token ids, as SFT encodes a pair
//   dpoLoss(pc, pr, rc, rr, opts) / ktoLoss(p, r, desirable, z0, opts)   per-pair / per-reply losses
//   await dpoStep(policy, optimizer, reference, pairs, opts)    one AdamW step → its metrics
//   await ktoStep(policy, optimizer, reference, labelled, opts)
import type { PreferenceLabel, PreferencePair } from '../data/preference';
import type { Policy } from '../policy/model';
import { encodeSftPair } from '../policy/sequence';
import * as tf from '../policy/tfjs';
import type { PolicyTokenizer } from '../policy/tokenizer';
import { type PackedBatch, packBatch, type RowRange, rowChunks, type SequencePair, sliceRows } from './batch';
import type { StepMetrics } from './loop';
import { chunkLogits, tokenEntropy, tokenLogprobs } from './losses';
import type { AdamW } from './optimizer';
import { type LossOutput, optimizerStep } from './step';

/** A preference pair as token ids: the same prompt ids on both sides. */
export type EncodedPair = { chosen: SequencePair; rejected: SequencePair };
/** A labelled reply as token ids. */
export type EncodedLabel = { reply: SequencePair; desirable: boolean };

export function encodePreferencePair(
  tokenizer: PolicyTokenizer,
  pair: PreferencePair,
  blockSize: number,
  maxNewTokens: number,
): EncodedPair {
  return {
    chosen: encodeSftPair(tokenizer, pair.prompt, pair.chosen, blockSize, maxNewTokens),
    rejected: encodeSftPair(tokenizer, pair.prompt, pair.rejected, blockSize, maxNewTokens),
  };
}

export function encodePreferenceLabel(
  tokenizer: PolicyTokenizer,
  labelled: PreferenceLabel,
  blockSize: number,
  maxNewTokens: number,
): EncodedLabel {
  return {
    reply: encodeSftPair(tokenizer, labelled.prompt, labelled.completion, blockSize, maxNewTokens),
    desirable: labelled.label,
  };
}

export type DpoLossOptions = { beta: number; labelSmoothing?: number };
export type KtoLossOptions = { beta: number; desirableWeight?: number; undesirableWeight?: number };

/**
 * Per-pair DPO losses (N) from sequence log-probs (N each): policy chosen / rejected, reference chosen /
 * rejected. Differentiable in all four (the reference ones are constants in training).
 */
export function dpoLoss(
  policyChosen: tf.Tensor1D,
  policyRejected: tf.Tensor1D,
  refChosen: tf.Tensor1D,
  refRejected: tf.Tensor1D,
  options: DpoLossOptions,
): tf.Tensor1D {
  const epsilon = options.labelSmoothing ?? 0;
  return tf.tidy(() => {
    const margin = tf.sub(tf.sub(policyChosen, refChosen), tf.sub(policyRejected, refRejected));
    const z = tf.mul(margin, options.beta);
    // −log σ(x) = softplus(−x), stable for large |x|. (tf.logSigmoid's gradient reads its input from a
    // closure instead of saving it, so it fails once a tidy has disposed that input.)
    const preferChosen = tf.softplus(tf.neg(z)); // −log σ(β·m)
    if (epsilon === 0) return preferChosen as tf.Tensor1D;
    const preferRejected = tf.softplus(z); // −log σ(−β·m)
    return tf.add(tf.mul(preferChosen, 1 - epsilon), tf.mul(preferRejected, epsilon)) as tf.Tensor1D;
  });
}

/**
 * Per-reply KTO losses (N) from sequence log-probs (N each) of the policy and the reference, each reply's
 * label and the batch's z₀ (a number: detached by construction).
 */
export function ktoLoss(
  policyLogps: tf.Tensor1D,
  refLogps: tf.Tensor1D,
  desirable: readonly boolean[],
  z0: number,
  options: KtoLossOptions,
): tf.Tensor1D {
  const lambdaD = options.desirableWeight ?? 1;
  const lambdaU = options.undesirableWeight ?? 1;
  return tf.tidy(() => {
    const r = tf.sub(policyLogps, refLogps);
    const d = tf.tensor1d(desirable.map((x) => (x ? 1 : 0)));
    const desirableLoss = tf.mul(tf.sub(1, tf.sigmoid(tf.mul(tf.sub(r, z0), options.beta))), lambdaD);
    const undesirableLoss = tf.mul(tf.sub(1, tf.sigmoid(tf.mul(tf.sub(z0, r), options.beta))), lambdaU);
    return tf.add(tf.mul(d, desirableLoss), tf.mul(tf.sub(1, d), undesirableLoss)) as tf.Tensor1D;
  });
}

/** log π(completion | prompt) of rows `range` of a packed batch (rows), and the per-token logits. */
function rowLogprobs(
  policy: Policy,
  packed: PackedBatch,
  range: RowRange,
): { sums: tf.Tensor1D; logits: tf.Tensor2D; mask: tf.Tensor1D } {
  const rows = range[1] - range[0];
  const mask = tf.tensor1d(sliceRows(packed.lossMask, packed.T, range)); // (rows·T)
  const { logits, targets } = chunkLogits(policy, packed, range);
  const logp = tf.mul(tokenLogprobs(logits, targets), mask).reshape([rows, packed.T]);
  return { sums: tf.sum(logp, 1) as tf.Tensor1D, logits, mask };
}

/**
 * log π of every row's completion, without gradients, over the same row chunks the loss uses: with the
 * same weights and shapes the values are the loss forward's bit for bit, so a run's first margins are
 * exactly 0 (the reference is the starting policy).
 */
async function sequenceLogprobs(
  policy: Policy,
  packed: PackedBatch,
  chunks: RowRange[],
): Promise<Float32Array> {
  const out = new Float32Array(packed.B);
  for (const range of chunks) {
    const sums = tf.tidy(() => rowLogprobs(policy, packed, range).sums);
    out.set(await sums.data(), range[0]);
    sums.dispose();
  }
  return out;
}

/** The step's figures beside the loss: what the loop adds to StepMetrics. */
export type PreferenceStepMetrics = Pick<StepMetrics, 'loss' | 'gradNorm' | 'entropy' | 'kl' | 'tokens'> &
  Partial<
    Pick<
      StepMetrics,
      | 'rewards/chosen'
      | 'rewards/rejected'
      | 'rewards/margins'
      | 'rewards/accuracies'
      | 'logps/chosen'
      | 'logps/rejected'
    >
  >;

type StepOptions = { lr: number; chunkTokens?: number };

const mean = (xs: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < xs.length; i++) sum += xs[i];
  return xs.length ? sum / xs.length : Number.NaN;
};

/**
 * One optimizer step on `parts` (each returns its LossOutput and the sequence log-probs of its rows, to
 * be read back with the step's device metrics in one read). Returns those metrics and the log-probs (B).
 */
async function stepAndRead(
  policy: Policy,
  optimizer: AdamW,
  lr: number,
  parts: Array<() => { out: LossOutput; sums: tf.Tensor1D }>,
): Promise<{ loss: number; entropy: number; gradNorm: number; sums: Float32Array }> {
  const kept: tf.Tensor1D[] = [];
  const device = optimizerStep(
    policy,
    optimizer,
    lr,
    parts.map((part) => () => {
      const { out, sums } = part();
      kept.push(tf.keep(sums)); // the log-probs before the update, as TRL logs them
      return out;
    }),
  );
  const all = tf.concat([device, ...kept]);
  const values = await all.data();
  tf.dispose([all, device, ...kept]);
  // DEVICE_METRICS order: loss, kl, entropy, clipLow, clipHigh, ratioMean, gradNorm.
  return { loss: values[0], entropy: values[2], gradNorm: values[6], sums: values.slice(7) as Float32Array };
}

/** The parts of a LossOutput a preference loss does not have. */
const noClipping = () => ({
  kl: tf.scalar(0),
  clipLow: tf.scalar(0),
  clipHigh: tf.scalar(0),
  ratioMean: tf.scalar(1),
});

/** Entropy of π per completion token, summed over the rows' tokens and divided by the batch's. */
function entropyOf(logits: tf.Tensor2D, mask: tf.Tensor1D, tokens: number): tf.Scalar {
  return tf.div(tf.sum(tf.mul(tokenEntropy(logits), mask)), Math.max(1, tokens)) as tf.Scalar;
}

/** One DPO step on a batch of pairs: the reference's log-probs first (no gradient), then the update. */
export async function dpoStep(
  policy: Policy,
  optimizer: AdamW,
  reference: Policy,
  pairs: readonly EncodedPair[],
  options: StepOptions & DpoLossOptions,
): Promise<PreferenceStepMetrics> {
  if (pairs.length === 0) throw new Error('a DPO batch needs at least one pair');
  const N = pairs.length;
  // Rows chosen₀, rejected₀, chosen₁, …: chunks of whole pairs, so the parts' losses add up.
  const packed = packBatch(
    pairs.flatMap((p) => [p.chosen, p.rejected]),
    policy.config.blockSize,
    policy.config.padId,
  );
  const chunks = rowChunks(N, 2 * packed.T, policy.config.vocabSize, options.chunkTokens).map(
    ([a, b]): RowRange => [2 * a, 2 * b],
  );
  const tokens = packed.completionLength.reduce((a, b) => a + b, 0);
  const ref = await sequenceLogprobs(reference, packed, chunks);
  const pick = (from: Float32Array, range: RowRange, side: 0 | 1) =>
    tf.tensor1d(from.subarray(range[0], range[1]).filter((_, i) => i % 2 === side));
  const read = await stepAndRead(
    policy,
    optimizer,
    options.lr,
    chunks.map((range) => () => {
      const { sums, logits, mask } = rowLogprobs(policy, packed, range);
      const byPair = sums.reshape([(range[1] - range[0]) / 2, 2]);
      // Column picks by a masked sum: gather's gradient needs a kernel tfjs-wasm lacks.
      const policyChosen = tf.sum(tf.mul(byPair, tf.tensor2d([[1, 0]])), 1) as tf.Tensor1D;
      const policyRejected = tf.sum(tf.mul(byPair, tf.tensor2d([[0, 1]])), 1) as tf.Tensor1D;
      const losses = dpoLoss(policyChosen, policyRejected, pick(ref, range, 0), pick(ref, range, 1), options);
      return {
        out: {
          loss: tf.div(tf.sum(losses), N) as tf.Scalar,
          entropy: entropyOf(logits, mask, tokens),
          ...noClipping(),
        },
        sums,
      };
    }),
  );
  const { beta } = options;
  const chosen: number[] = [];
  const rejected: number[] = [];
  const logpChosen: number[] = [];
  const logpRejected: number[] = [];
  for (let i = 0; i < N; i++) {
    logpChosen.push(read.sums[2 * i]);
    logpRejected.push(read.sums[2 * i + 1]);
    chosen.push(beta * (read.sums[2 * i] - ref[2 * i]));
    rejected.push(beta * (read.sums[2 * i + 1] - ref[2 * i + 1]));
  }
  return {
    loss: read.loss,
    gradNorm: read.gradNorm,
    entropy: read.entropy,
    tokens,
    'rewards/chosen': mean(chosen),
    'rewards/rejected': mean(rejected),
    'rewards/margins': mean(chosen.map((c, i) => c - rejected[i])),
    'rewards/accuracies': mean(chosen.map((c, i) => (c > rejected[i] ? 1 : 0))),
    'logps/chosen': mean(logpChosen),
    'logps/rejected': mean(logpRejected),
  };
}

/**
 * z₀ of a KTO batch: TRL's estimate, the mean log π − log π_ref of each prompt with the previous row's
 * reply (a batch of one pairs its prompt with its own reply), clipped at 0.
 */
export async function ktoKlEstimate(
  policy: Policy,
  reference: Policy,
  replies: readonly SequencePair[],
): Promise<number> {
  const B = replies.length;
  const mismatched = replies.map((r, i) => ({
    promptIds: r.promptIds,
    completionIds: replies[(i + B - 1) % B].completionIds,
  }));
  const packed = packBatch(mismatched, policy.config.blockSize, policy.config.padId);
  const chunks = rowChunks(B, packed.T, policy.config.vocabSize);
  const own = await sequenceLogprobs(policy, packed, chunks);
  const ref = await sequenceLogprobs(reference, packed, chunks);
  return Math.max(0, mean(own.map((x, i) => x - ref[i])));
}

/** One KTO step on a batch of labelled replies: z₀ and the reference's log-probs first, then the update. */
export async function ktoStep(
  policy: Policy,
  optimizer: AdamW,
  reference: Policy,
  labelled: readonly EncodedLabel[],
  options: StepOptions & KtoLossOptions,
): Promise<PreferenceStepMetrics> {
  if (labelled.length === 0) throw new Error('a KTO batch needs at least one labelled reply');
  const B = labelled.length;
  const replies = labelled.map((l) => l.reply);
  const z0 = await ktoKlEstimate(policy, reference, replies);
  const packed = packBatch(replies, policy.config.blockSize, policy.config.padId);
  const chunks = rowChunks(B, packed.T, policy.config.vocabSize, options.chunkTokens);
  const tokens = packed.completionLength.reduce((a, b) => a + b, 0);
  const ref = await sequenceLogprobs(reference, packed, chunks);
  const read = await stepAndRead(
    policy,
    optimizer,
    options.lr,
    chunks.map((range) => () => {
      const { sums, logits, mask } = rowLogprobs(policy, packed, range);
      const losses = ktoLoss(
        sums,
        tf.tensor1d(ref.subarray(range[0], range[1])),
        labelled.slice(range[0], range[1]).map((l) => l.desirable),
        z0,
        options,
      );
      return {
        out: {
          loss: tf.div(tf.sum(losses), B) as tf.Scalar,
          entropy: entropyOf(logits, mask, tokens),
          ...noClipping(),
        },
        sums,
      };
    }),
  );
  const side = (desirable: boolean) => {
    const rows = labelled.flatMap((l, i) => (l.desirable === desirable ? [i] : []));
    if (rows.length === 0) return null;
    return {
      reward: mean(rows.map((i) => options.beta * (read.sums[i] - ref[i]))),
      logp: mean(rows.map((i) => read.sums[i])),
    };
  };
  const good = side(true);
  const bad = side(false);
  return {
    loss: read.loss,
    gradNorm: read.gradNorm,
    entropy: read.entropy,
    kl: z0,
    tokens,
    ...(good ? { 'rewards/chosen': good.reward, 'logps/chosen': good.logp } : {}),
    ...(bad ? { 'rewards/rejected': bad.reward, 'logps/rejected': bad.logp } : {}),
    ...(good && bad ? { 'rewards/margins': good.reward - bad.reward } : {}),
  };
}
