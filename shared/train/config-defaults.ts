// The defaults of TrainConfig (shared/train/config.ts), zod-free so the lab's main-thread bundle can
// show them in its form without loading the schema.
import { DEFAULT_VOCAB_SIZE } from '../policy/defaults';
import { DEFAULT_MAX_NEW_TOKENS } from '../policy/sequence';

export const TRAIN_DEFAULTS = {
  preset: 'tiny',
  copy: false,
  vocabSize: DEFAULT_VOCAB_SIZE,
  backend: 'auto',
  seed: 1,
  sftSteps: 20,
  group: 8,
  recorded: false,
  maxNewTokens: DEFAULT_MAX_NEW_TOKENS,
  temperature: 1,
  beta: 0.1,
  klReward: 0.2,
  rewardModelWeight: 1,
  labelSmoothing: 0,
  undesirableWeight: 1,
  mu: 3,
  saveEvery: 100,
} as const;

/** RL through the store: the policy drafts replies and learns from their rewards. */
export const isRl = (algo: string) => algo === 'grpo' || algo === 'rloo';
/** Learning from people's choices in a data file: DPO's pairs, KTO's labelled replies. */
export const isPreference = (algo: string) => algo === 'dpo' || algo === 'kto';

/**
 * The defaults that depend on the algorithm. The RL ones are the measured recipe of docs/training.md
 * ("Learning", r12): lr 3e-4, 4 feedback × G 8, μ 3, β 0.1, KL in the reward 0.2. DPO / KTO start from
 * a trained policy and move it a little (docs/training.md, "Preference learning").
 */
export function algoDefaults(algo: string) {
  if (isRl(algo)) return { batch: 4, lr: 3e-4, warmup: 0, logEvery: 1 };
  if (isPreference(algo)) return { batch: 8, lr: 3e-4, warmup: 0, logEvery: 1 };
  return { batch: 16, lr: 2e-3, warmup: 20, logEvery: 10 };
}

/** Setting names as flags: `lrHorizon` ↔ `lr-horizon`. */
export const flagName = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
