// The starter policy the lab ships (web/public/starter-policy/, served at `<base>starter-policy/`): the
// default recipe's SFT checkpoint, weights only, so RL in a browser starts from replies that are already
// mostly sendable. scripts/starter-policy.ts reproduces it byte for byte; the lab worker imports it
// (worker/lab/starter.ts). Zod-free and tfjs-free, so the Train page's bundle can read it.
import type { TrainConfigInput } from './config';

/**
 * The recipe: `edgelight data generate` with its defaults (seed 7), then
 * `edgelight train --algo sft --steps 1200 --batch 8 --lr 3e-3 --warmup 10 --lr-horizon 1200 --backend wasm
 * --data DATA/sft.jsonl` (preset tiny, every other setting its default).
 */
export const STARTER_RECIPE = {
  algo: 'sft',
  preset: 'tiny',
  steps: 1200,
  batch: 8,
  lr: 3e-3,
  warmup: 10,
  lrHorizon: 1200,
  seed: 1,
  backend: 'wasm',
} as const satisfies TrainConfigInput;

export const STARTER_POLICY = {
  /** How the lab lists it. */
  name: 'starter policy (SFT)',
  /** Where the app serves its files, relative to the app's base URL. */
  path: 'starter-policy/',
  /** The lab's model label for it (preset, no copy head): RL of that model may start from it. */
  model: STARTER_RECIPE.preset,
  /** Its run step (the recipe's SFT steps). */
  step: STARTER_RECIPE.steps,
  /** A weights-only checkpoint: no optimizer.safetensors, no trainer_state.json. */
  files: ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'manifest.json'],
} as const;
