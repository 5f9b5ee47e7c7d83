// The policy-gradient family in one place: GRPO (DeepSeekMath; TRL's GRPOTrainer), RLOO and REINFORCE with
// a baseline share one clipped surrogate and differ only in their advantages (advantages.ts).
//
// Per completion token t of sample i, with ratio ρ = exp(log π_θ − log π_old) and advantage A_i:
//   ℓ = −min(ρ·A, clip(ρ, 1 − ε, 1 + ε_high)·A) + β·KL_k3,   KL_k3 = exp(r − l) − (r − l) − 1
// where l = log π_θ and r = log π_ref. The per-token losses are combined by `lossType`:
//   dapo     Σ ℓ / (completion tokens in the batch)                 token-level, the default (DAPO; TRL)
//   grpo     mean over samples of (Σ_t ℓ / |o_i|)                    the original sequence-level mean
//   dr_grpo  Σ ℓ / (samples · maxCompletionLength)                  Dr. GRPO's constant normaliser
// With μ = 1 and π_old the sampling policy, ρ = 1 and this is plain policy gradient; μ > 1 re-uses one
// batch for μ optimizer steps against the same π_old, which is where the clip matters.
//
// API
//   PolicyGradientSampleSchema    { promptIds, completionIds, oldLogprobs, reward, group, refLogprobs? }
//   PolicyGradientConfigSchema    estimator, lossType, epsilon, epsilonHigh, beta, mu, scaleRewards, ...
//   await policyGradientUpdate(policy, optimizer, samples, config, { lr | lrAt, reference?, metrics? })
//       μ optimizer steps on one batch; returns the metrics of each (or [] when deferred to `metrics`)
//   await completionLogprobs(policy, pairs)   per-completion-token log π (temperature 1), no gradient
//
// oldLogprobs are log π_old(token) at temperature 1 over the full vocabulary (no top-k / top-p
// truncation): exactly `logprobs` from sampling.ts's generate().
import * as tf from '../policy/tfjs';
import { z } from 'zod';
import type { Policy } from '../policy/model';
import { AdvantageEstimatorSchema, RewardScalingSchema, computeAdvantages } from './advantages';
import {
  type PackedBatch,
  packBatch,
  type RowRange,
  rowChunks,
  type SequencePair,
  SequencePairSchema,
  scatterPerToken,
  sliceRows,
} from './batch';
import { chunkLogits, tokenEntropy, tokenLogprobs } from './losses';
import { MetricsAccumulator, type TrainMetrics, meanStd } from './metrics';
import type { AdamW } from './optimizer';
import { type LossOutput, optimizerStep } from './step';

export const PolicyGradientSampleSchema = SequencePairSchema.extend({
  oldLogprobs: z.array(z.number()),
  reward: z.number().refine(Number.isFinite, 'reward must be finite'),
  group: z.number().int(),
  refLogprobs: z.array(z.number()).optional(),
}).refine((s) => s.oldLogprobs.length === s.completionIds.length, {
  message: 'oldLogprobs needs one value per completion token',
});
export type PolicyGradientSample = z.infer<typeof PolicyGradientSampleSchema>;

export const LossTypeSchema = z.enum(['dapo', 'grpo', 'dr_grpo']);
export type LossType = z.infer<typeof LossTypeSchema>;

export const PolicyGradientConfigSchema = z.object({
  estimator: AdvantageEstimatorSchema.default('grpo'),
  lossType: LossTypeSchema.default('dapo'),
  /** Lower clip ε (and upper, unless epsilonHigh is set). */
  epsilon: z.number().positive().default(0.2),
  /** Upper clip ε_high (DAPO's clip-higher); defaults to epsilon. */
  epsilonHigh: z.number().positive().optional(),
  /** KL coefficient β to the reference policy; 0 (the default) needs no reference. */
  beta: z.number().min(0).default(0),
  /** Optimizer steps per batch (μ). */
  mu: z.number().int().min(1).default(1),
  scaleRewards: RewardScalingSchema.default('group'),
  /** REINFORCE baseline; the batch mean reward when absent. */
  baseline: z.number().optional(),
  /** dr_grpo's normaliser; defaults to the longest completion in the batch. */
  maxCompletionLength: z.number().int().positive().optional(),
});
export type PolicyGradientConfig = z.infer<typeof PolicyGradientConfigSchema>;
export type PolicyGradientConfigInput = z.input<typeof PolicyGradientConfigSchema>;

/** Host-side tensors of one packed batch, shared by the μ iterations. */
type PreparedBatch = {
  packed: PackedBatch;
  oldLogprobs: Float32Array; // (B*T)
  refLogprobs: Float32Array | null; // (B*T)
  advantages: Float32Array; // (B*T) the row's advantage at each of its completion tokens
  weights: Float32Array; // (B*T) per-token loss weight: mask × the lossType normaliser
  mask: Float32Array; // (B*T)
  tokens: number;
};

function prepare(
  samples: PolicyGradientSample[],
  config: PolicyGradientConfig,
  policy: Policy,
): PreparedBatch {
  const packed = packBatch(samples, policy.config.blockSize, policy.config.padId);
  const rowAdvantages = computeAdvantages(
    samples.map((s) => s.reward),
    samples.map((s) => s.group),
    { estimator: config.estimator, scaleRewards: config.scaleRewards, baseline: config.baseline },
  );
  const n = packed.B * packed.T;
  const advantages = new Float32Array(n);
  const weights = new Float32Array(n);
  const tokens = packed.completionLength.reduce((a, b) => a + b, 0);
  const maxLength = config.maxCompletionLength ?? Math.max(...packed.completionLength);
  packed.completionLength.forEach((length, b) => {
    const start = packed.completionStart[b];
    const weight =
      config.lossType === 'dapo'
        ? 1 / tokens
        : config.lossType === 'grpo'
          ? 1 / (length * packed.B)
          : 1 / (packed.B * maxLength);
    for (let i = 0; i < length; i++) {
      advantages[start + i] = rowAdvantages[b];
      weights[start + i] = weight;
    }
  });
  return {
    packed,
    oldLogprobs: scatterPerToken(
      packed,
      samples.map((s) => s.oldLogprobs),
    ),
    refLogprobs: samples.every((s) => s.refLogprobs)
      ? scatterPerToken(
          packed,
          samples.map((s) => s.refLogprobs as number[]),
        )
      : null,
    advantages,
    weights,
    mask: packed.lossMask,
    tokens,
  };
}

/** The loss of rows `range`, normalised by the whole batch (parts add up). */
function policyGradientObjective(
  policy: Policy,
  batch: PreparedBatch,
  config: PolicyGradientConfig,
  range: RowRange,
): LossOutput {
  const rows = (x: Float32Array) => tf.tensor1d(sliceRows(x, batch.packed.T, range)); // (rows*T)
  const epsLow = config.epsilon;
  const epsHigh = config.epsilonHigh ?? config.epsilon;
  const mask = rows(batch.mask);
  const weights = rows(batch.weights);
  const advantages = rows(batch.advantages);
  const { logits, targets } = chunkLogits(policy, batch.packed, range); // (rows*T, V), (rows*T)
  const logp = tokenLogprobs(logits, targets); // (rows*T)
  // Padding rows have logp of arbitrary size; mask before exp so a ratio never overflows there.
  const logRatio = tf.mul(tf.sub(logp, rows(batch.oldLogprobs)), mask); // (rows*T)
  const ratio = tf.exp(logRatio); // (rows*T)
  const unclipped = tf.mul(ratio, advantages);
  const clipped = tf.mul(tf.clipByValue(ratio, 1 - epsLow, 1 + epsHigh), advantages);
  let perToken = tf.neg(tf.minimum(unclipped, clipped)); // (rows*T)
  let kl: tf.Tensor = tf.zerosLike(logp); // (rows*T)
  if (config.beta > 0) {
    if (!batch.refLogprobs)
      throw new Error('beta > 0 needs refLogprobs on every sample or a reference policy');
    const delta = tf.mul(tf.sub(rows(batch.refLogprobs), logp), mask); // r − l
    kl = tf.sub(tf.sub(tf.exp(delta), delta), 1); // (rows*T) k3 ≥ 0
    perToken = tf.add(perToken, tf.mul(kl, config.beta));
  }
  const loss = tf.sum(tf.mul(perToken, weights)) as tf.Scalar;
  const count = Math.max(1, batch.tokens);
  const tokenMean = (x: tf.Tensor) => tf.div(tf.sum(tf.mul(x, mask)), count) as tf.Scalar;
  const negative = tf.cast(tf.less(advantages, 0), 'float32');
  const positive = tf.cast(tf.greater(advantages, 0), 'float32');
  const clipLow = tokenMean(tf.mul(tf.cast(tf.less(ratio, 1 - epsLow), 'float32'), negative));
  const clipHigh = tokenMean(tf.mul(tf.cast(tf.greater(ratio, 1 + epsHigh), 'float32'), positive));
  return {
    loss,
    kl: tokenMean(kl),
    entropy: tokenMean(tokenEntropy(logits)),
    clipLow,
    clipHigh,
    ratioMean: tokenMean(ratio),
  };
}

function validSamples(samples: PolicyGradientSample[]): PolicyGradientSample[] {
  if (!Array.isArray(samples) || samples.length === 0)
    throw new Error('a policy-gradient batch needs samples');
  return samples.map((s, i) => {
    const parsed = PolicyGradientSampleSchema.safeParse(s);
    if (!parsed.success) throw new Error(`sample ${i} is invalid: ${parsed.error.message}`);
    return parsed.data;
  });
}

export type PolicyGradientOptions = {
  /** A fixed learning rate, or one per optimizer step (e.g. `(s) => learningRateAt(s, schedule)`). */
  lr: number | ((step: number) => number);
  /** Frozen reference policy for the KL term (needed when beta > 0 and samples carry no refLogprobs). */
  reference?: Policy;
  /** Defer metric reads to this accumulator (then the call returns []). */
  metrics?: MetricsAccumulator;
};

/** μ optimizer steps on one batch of samples. */
export async function policyGradientUpdate(
  policy: Policy,
  optimizer: AdamW,
  samplesInput: PolicyGradientSample[],
  configInput: PolicyGradientConfigInput,
  options: PolicyGradientOptions,
): Promise<TrainMetrics[]> {
  const config = PolicyGradientConfigSchema.parse(configInput);
  let samples = validSamples(samplesInput);
  if (config.beta > 0 && !samples.every((s) => s.refLogprobs)) {
    if (!options.reference)
      throw new Error('beta > 0 needs a reference policy or refLogprobs on every sample');
    const ref = await completionLogprobs(options.reference, samples);
    samples = samples.map((s, i) => ({ ...s, refLogprobs: ref[i] }));
  }
  const batch = prepare(samples, config, policy);
  const rewards = meanStd(samples.map((s) => s.reward));
  const accumulator = options.metrics ?? new MetricsAccumulator();
  for (let iteration = 0; iteration < config.mu; iteration++) {
    const lr = typeof options.lr === 'number' ? options.lr : options.lr(optimizer.step);
    const parts = rowChunks(batch.packed.B, batch.packed.T, policy.config.vocabSize).map(
      (rows) => () => policyGradientObjective(policy, batch, config, rows),
    );
    const device = optimizerStep(policy, optimizer, lr, parts);
    accumulator.push(device, {
      kind: 'policy_gradient',
      step: optimizer.step,
      lr,
      tokens: batch.tokens,
      rewardMean: rewards.mean,
      rewardStd: rewards.std,
    });
  }
  return options.metrics ? [] : accumulator.flush();
}

/** log π(completion token) at temperature 1 for each pair, without gradients. One read per row chunk. */
export async function completionLogprobs(policy: Policy, pairs: SequencePair[]): Promise<number[][]> {
  const packed = packBatch(pairs, policy.config.blockSize, policy.config.padId);
  const { T } = packed;
  const values = new Float32Array(packed.B * T);
  for (const [start, end] of rowChunks(packed.B, T, policy.config.vocabSize)) {
    const logp = tf.tidy(() => {
      const { logits, targets } = chunkLogits(policy, packed, [start, end]);
      return tokenLogprobs(logits, targets);
    });
    values.set(await logp.data(), start * T);
    logp.dispose();
  }
  return packed.completionStart.map((start, b) =>
    Array.from(values.subarray(start, start + packed.completionLength[b])),
  );
}
