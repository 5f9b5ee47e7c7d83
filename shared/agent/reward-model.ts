// A reward model learned from reviewers' choices: a linear Bradley–Terry scorer over the reply's words.
//
//   s(x, y) = w · φ(x, y)                     x: the prompt, y: the reply
//   P(y_w ≻ y_l | x) = σ(s(x, y_w) − s(x, y_l))   (Bradley & Terry 1952; the reward model of RLHF)
//
// φ is a sparse vector: hashed counts of the reply's lower-cased words and word pairs (the "hashing
// trick", 2^16 buckets), a few shape features (words, sentences, words per sentence, questions) and the
// share of the reply's longer words that the prompt holds (does it talk about what the person wrote?).
// Features of the prompt alone would cancel in s(y_w) − s(y_l), so there are none. Counts are not
// normalised by length, so a model can learn that a longer reply costs (every word adds its weight).
//
// Why a small separate model and not a head on the policy's trunk: it trains in well under a second on
// a few hundred pairs in a tab or under Node, scores a reply in microseconds inside the synchronous reward
// (shared/agent/reward.ts) with no second forward pass per sample, and stays the same whatever policy is
// trained against it. What it cannot do is read meaning beyond word pairs; docs/training.md reports its
// held-out accuracy per reviewer.
//
// As a reward term it is calibrated to [0, 1]: term = σ((s − μ) / σ_s), with μ and σ_s the mean and
// spread of its scores over the replies it was trained on, so 0.5 is an average reviewed reply and the
// term sits beside the heuristic terms (also in [0, 1]) with a weight.
//
// Saved as one safetensors file (weights `w`, F32 [dim + extra]) whose metadata holds the kind, version,
// feature settings, calibration and training figures: readable by Python's safetensors too.
import { z } from 'zod';
import { decodeSafetensors, encodeSafetensors } from '../policy/safetensors';
import { hashString } from '../random/hash';

export const REWARD_MODEL_KIND = 'edgelight.reward-model';
export const REWARD_MODEL_VERSION = 1;
/** The `rewardModel` value that asks for a model fitted from the run's own store's reviews (lab, jobs). */
export const REWARD_MODEL_FROM_REVIEWS = 'reviews';
/** The file name a reward model is saved under (a run folder, `--out DIR`). */
export const REWARD_MODEL_FILE = 'reward_model.safetensors';

/** Shape features after the hashed buckets, in this order. */
export const SHAPE_FEATURES = [
  'words',
  'sentences',
  'words_per_sentence',
  'questions',
  'prompt_overlap',
] as const;

export const RewardModelConfig = z.object({
  /** log2 of the number of hashed word / word-pair buckets. */
  hashBits: z.number().int().min(8).max(22),
  /** Each word or pair adds this to its bucket (keeps w·φ in a sane range for a reply of 100 words). */
  countScale: z.number().positive(),
});
export type RewardModelConfig = z.infer<typeof RewardModelConfig>;
export const DEFAULT_REWARD_MODEL_CONFIG: RewardModelConfig = { hashBits: 16, countScale: 0.25 };

/** What a saved model says about how it was trained (reported, never used to score). */
export const RewardModelTraining = z.object({
  pairs: z.number().int().nonnegative(),
  heldOutPairs: z.number().int().nonnegative(),
  /** Share of held-out pairs it orders as the reviewer did (a tie half); null without a held-out part. */
  heldOutAccuracy: z.number().min(0).max(1).nullable(),
  trainAccuracy: z.number().min(0).max(1),
  epochs: z.number().int().positive(),
  seed: z.number().int(),
});
export type RewardModelTraining = z.infer<typeof RewardModelTraining>;

const Metadata = z.object({
  kind: z.literal(REWARD_MODEL_KIND),
  version: z.literal(REWARD_MODEL_VERSION),
  config: RewardModelConfig,
  calibration: z.object({ mean: z.number(), std: z.number().positive() }),
  training: RewardModelTraining,
});

export type RewardModel = z.infer<typeof Metadata> & {
  /** Weights: hashed buckets then SHAPE_FEATURES (length dimOf(config)). */
  weights: Float32Array;
};

/** Raised for a file that is not a reward model this version reads; the message says what is wrong. */
export class RewardModelFormatError extends Error {
  override name = 'RewardModelFormatError';
}

export const dimOf = (config: RewardModelConfig): number => 2 ** config.hashBits + SHAPE_FEATURES.length;

/** A sparse feature vector: parallel index / value arrays, indices unique. */
export type SparseFeatures = { index: Int32Array; value: Float32Array };

const WORD = /[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu;
const SENTENCE_END = /[.!?]+(?=\s|$)/g;

/** φ(prompt, reply) as a sparse vector (see the header for what it holds). */
export function rewardFeatures(prompt: string, reply: string, config: RewardModelConfig): SparseFeatures {
  const buckets = 2 ** config.hashBits;
  const mask = buckets - 1;
  const counts = new Map<number, number>();
  const add = (i: number, v: number) => counts.set(i, (counts.get(i) ?? 0) + v);
  const words = (reply.toLowerCase().match(WORD) ?? []) as string[];
  for (let i = 0; i < words.length; i++) {
    add(hashString(`w:${words[i]}`) & mask, config.countScale);
    if (i > 0) add(hashString(`p:${words[i - 1]} ${words[i]}`) & mask, config.countScale);
  }
  const sentences = Math.max(1, reply.match(SENTENCE_END)?.length ?? 0);
  const long = [...new Set(words.filter((w) => w.length >= 4))];
  const promptWords = new Set(prompt.toLowerCase().match(WORD) ?? []);
  const shape = [
    Math.log1p(words.length),
    Math.log1p(sentences),
    words.length / sentences / 20,
    (reply.match(/\?/g)?.length ?? 0) / sentences,
    long.length ? long.filter((w) => promptWords.has(w)).length / long.length : 0,
  ];
  for (const [k, v] of shape.entries()) add(buckets + k, v);
  const index = Int32Array.from(counts.keys());
  const value = Float32Array.from(index, (i) => counts.get(i) ?? 0);
  return { index, value };
}

/** w · φ for a sparse φ. */
export function dot(weights: Float32Array, features: SparseFeatures): number {
  let s = 0;
  for (let k = 0; k < features.index.length; k++) s += weights[features.index[k]] * features.value[k];
  return s;
}

/** The raw Bradley–Terry score s(prompt, reply): only differences between replies to one prompt mean anything. */
export function rewardScore(model: RewardModel, prompt: string, reply: string): number {
  return dot(model.weights, rewardFeatures(prompt, reply, model.config));
}

/** The score as a reward term in [0, 1]: σ((s − μ) / σ_s). */
export function rewardModelTerm(model: RewardModel, prompt: string, reply: string): number {
  const z = (rewardScore(model, prompt, reply) - model.calibration.mean) / model.calibration.std;
  return 1 / (1 + Math.exp(-z));
}

/** A reward model as the feedback agent's learned term: its calibrated score of (prompt, reply), weighted. */
export type LearnedReward = { weight: number; score(prompt: string, reply: string): number };

export function learnedRewardOf(model: RewardModel, weight: number): LearnedReward {
  if (!(weight >= 0)) throw new Error(`a reward model's weight must be ≥ 0, got ${weight}`);
  return { weight, score: (prompt, reply) => rewardModelTerm(model, prompt, reply) };
}

/** The model as safetensors bytes (deterministic: equal models give equal bytes). */
export function encodeRewardModel(model: RewardModel): Uint8Array {
  const { weights, ...meta } = model;
  if (weights.length !== dimOf(model.config))
    throw new Error(`reward model has ${weights.length} weights, its config needs ${dimOf(model.config)}`);
  const metadata = {
    kind: meta.kind,
    version: String(meta.version),
    config: JSON.stringify(meta.config),
    calibration: JSON.stringify(meta.calibration),
    training: JSON.stringify(meta.training),
  };
  return encodeSafetensors({ w: { dtype: 'F32', shape: [weights.length], data: weights } }, metadata);
}

/** Reads a model saved by encodeRewardModel; anything else is a RewardModelFormatError naming the defect. */
export function decodeRewardModel(bytes: Uint8Array): RewardModel {
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (error) {
    throw new RewardModelFormatError(`not a safetensors file: ${(error as Error).message}`);
  }
  const raw = decoded.metadata ?? {};
  if (raw.kind !== REWARD_MODEL_KIND)
    throw new RewardModelFormatError(
      `not a reward model (metadata kind is ${JSON.stringify(raw.kind ?? null)}, expected "${REWARD_MODEL_KIND}")`,
    );
  const json = (key: string) => {
    try {
      return JSON.parse(raw[key] ?? 'null');
    } catch {
      return null;
    }
  };
  const parsed = Metadata.safeParse({
    kind: raw.kind,
    version: Number(raw.version),
    config: json('config'),
    calibration: json('calibration'),
    training: json('training'),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RewardModelFormatError(
      `reward model metadata: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
  }
  const w = decoded.tensors.w;
  if (w?.dtype !== 'F32' || !(w.data instanceof Float32Array))
    throw new RewardModelFormatError('reward model has no F32 tensor "w"');
  if (w.data.length !== dimOf(parsed.data.config))
    throw new RewardModelFormatError(
      `reward model "w" has ${w.data.length} values, its config needs ${dimOf(parsed.data.config)}`,
    );
  return { ...parsed.data, weights: w.data };
}
