// Every training setting, its default and what it means — once. The command line derives its flags and
// --help from this schema (kebab-case names), a server job's body is this schema (camelCase, as here),
// and the lab's Train page starts from its defaults. `resolveTrainConfig` fills the defaults that depend
// on the algorithm, so the resolved config (written into every run folder and checkpoint) says exactly
// what ran.
import { z } from 'zod';
import { REWARD_MODEL_FROM_REVIEWS } from '../agent/reward-model';
import type { LoraConfigInput } from '../policy/lora';
import { PresetNameSchema } from '../policy/preset-names';
import { BackendRequestSchema } from './backend-names';
import { algoDefaults, flagName, isPreference, isRl, TRAIN_DEFAULTS as D } from './config-defaults';

export { algoDefaults, flagName, isPreference, isRl };

export const TrainAlgo = z.enum(['sft', 'grpo', 'rloo', 'dpo', 'kto'], {
  error: 'sft, grpo, rloo, dpo or kto',
});
export type TrainAlgo = z.infer<typeof TrainAlgo>;

// Number rules with the wording the command line prints after "--flag must be …".
const int = (min: number, max: number) =>
  z
    .int({ error: `an integer from ${min} to ${max}` })
    .min(min, `an integer ≥ ${min}`)
    .max(max, `an integer ≤ ${max}`);
const positive = (max: number) =>
  z.number({ error: 'a number > 0' }).positive('a number > 0').max(max, `a number ≤ ${max}`);
const nonNegative = (max: number) =>
  z.number({ error: 'a number ≥ 0' }).min(0, 'a number ≥ 0').max(max, `a number ≤ ${max}`);

/**
 * The settings of a training run. Fields whose default depends on the algorithm are optional here and
 * filled by `resolveTrainConfig` (their descriptions give both defaults).
 */
export const TrainConfigFields = z.strictObject({
  algo: TrainAlgo.describe(
    'sft: teacher forcing on the SFT corpus; grpo / rloo: RL through the store; dpo: preference pairs {prompt, chosen, rejected}; kto: labelled replies {prompt, completion, label} (dpo / kto need init)',
  ),
  preset: PresetNameSchema.default(D.preset).describe(
    'model shape of a new policy (tiny ≈ 0.85 M, small ≈ 5.3 M parameters; llama-tiny: tiny in Llama’s configuration, exportable as LlamaForCausalLM; a checkpoint keeps its own)',
  ),
  copy: z
    .boolean()
    .default(D.copy)
    .describe(
      'a copy head on a new policy: it may point at the feedback’s own words as well as draw from its vocabulary',
    ),
  nLayer: int(1, 64).optional().describe('override the preset’s layer count (new policies only)'),
  nHead: int(1, 64).optional().describe('override the preset’s attention heads (new policies only)'),
  nEmbd: int(2, 4096).optional().describe('override the preset’s width (new policies only)'),
  blockSize: int(8, 8192).optional().describe('override the preset’s context length (new policies only)'),
  vocabSize: int(260, 65_536)
    .default(D.vocabSize)
    .describe('tokenizer vocabulary when a tokenizer is trained for a new policy'),
  backend: BackendRequestSchema.default(D.backend).describe(
    'tfjs backend: auto picks WebGPU, then WebGL, WASM, CPU (under Node: wasm unless asked)',
  ),
  steps: int(1, 1_000_000)
    .optional()
    .describe('optimizer steps to run now (a resumed run continues its count)'),
  minutes: positive(24 * 60)
    .optional()
    .describe('stop after this much wall-clock time instead (or as well)'),
  seed: int(-(2 ** 31), 2 ** 31 - 1)
    .default(D.seed)
    .describe('seed of the initial weights, the data order and sampling'),
  init: z
    .string()
    .min(1)
    .optional()
    .describe(
      'checkpoint to start from: a folder on the command line, an id in the lab and server jobs. With its optimizer state and the same algorithm family the run resumes exactly; otherwise only the weights are taken (SFT → GRPO, SFT → DPO)',
    ),
  reference: z
    .string()
    .min(1)
    .optional()
    .describe(
      'the frozen policy of beta / klReward and of dpo / kto’s implicit reward (default: the one a resumed run recorded, else init)',
    ),
  sftSteps: int(0, 100_000)
    .default(D.sftSteps)
    .describe(
      'grpo / rloo without init: SFT steps on the corpus first (the SFT → RL recipe); 0 starts RL from random weights',
    ),
  batch: int(1, 1024)
    .optional()
    .describe(
      'sft: sequences per step (default 16); grpo / rloo: feedback items per step (default 4); dpo: pairs, kto: labelled replies per step (default 8)',
    ),
  group: int(2, 64).default(D.group).describe('grpo / rloo: replies per feedback item, the group G'),
  recorded: z
    .boolean()
    .default(D.recorded)
    .describe(
      'grpo / rloo: train on recorded chat-completion rollouts with rewards from the store (groups: replies to the same prompt) instead of drafting; needs init, the policy whose tokenizer recorded them; batch is groups per step',
    ),
  lr: positive(1).optional().describe('peak learning rate (default sft 2e-3, grpo / rloo / dpo / kto 3e-4)'),
  warmup: int(0, 1_000_000).optional().describe('warm-up steps (default sft 20, others 0)'),
  lrHorizon: int(1, 10_000_000)
    .optional()
    .describe(
      'step at which the cosine decay ends (default: the run’s last step, else 2000; kept on resume)',
    ),
  maxNewTokens: int(1, 4096).default(D.maxNewTokens).describe('reply length limit, in tokens'),
  temperature: nonNegative(10).default(D.temperature).describe('sampling temperature for RL'),
  beta: nonNegative(10)
    .default(D.beta)
    .describe(
      'KL coefficient to the reference policy: grpo / rloo weigh the k3 KL in the loss by it; dpo / kto take it as the β of the implicit reward β·log π/π_ref (> 0 there)',
    ),
  klReward: nonNegative(10)
    .default(D.klReward)
    .describe('KL in the reward: each reply loses this × its mean per-token log π/π_ref (0: off)'),
  rewardModel: z
    .string()
    .min(1)
    .optional()
    .describe(
      'grpo / rloo: a reward model learned from reviewers’ pairs (edgelight reward-model) whose calibrated score joins the reward as a term: a file or folder on the command line; "reviews" in the lab and server jobs (fitted from their store’s reviews when the run opens)',
    ),
  rewardModelWeight: nonNegative(100)
    .default(D.rewardModelWeight)
    .describe(
      'grpo / rloo: the reward model term’s weight in the weighted mean, beside the five heuristic terms (0.2 each)',
    ),
  labelSmoothing: z
    .number({ error: 'a number from 0 to below 0.5' })
    .min(0, 'a number ≥ 0')
    .lt(0.5, 'a number < 0.5')
    .default(D.labelSmoothing)
    .describe(
      'dpo: the share ε of pairs taken to be mislabelled (conservative DPO: (1−ε)·loss(chosen ≻ rejected) + ε·loss(rejected ≻ chosen)); 0: plain DPO',
    ),
  desirableWeight: positive(100)
    .optional()
    .describe(
      'kto: λ_D, the weight of a desirable (label true) reply’s loss (default: balanced, λ_U × undesirable / desirable replies, so both sides weigh the same)',
    ),
  undesirableWeight: positive(100)
    .default(D.undesirableWeight)
    .describe('kto: λ_U, the weight of an undesirable (label false) reply’s loss'),
  mu: int(1, 16).default(D.mu).describe('optimizer steps per RL batch'),
  logEvery: int(1, 1_000_000)
    .optional()
    .describe('metrics read back (and a progress line) every N steps (default sft 10, others 1)'),
  saveEvery: int(1, 1_000_000)
    .default(D.saveEvery)
    .describe('checkpoint every N steps (the final, paused or stopped state is always saved)'),
  loraRank: int(1, 1024)
    .optional()
    .describe(
      'train a LoRA adapter of this rank on the frozen policy instead of every weight (absent: full fine-tuning); checkpoints carry the adapter',
    ),
  loraAlpha: positive(100_000)
    .optional()
    .describe(
      'LoRA: the update is scaled by alpha / rank (default alpha = rank, i.e. 1, as PEFT’s r 8, lora_alpha 8)',
    ),
  loraDropout: z
    .number({ error: 'a number from 0 to below 1' })
    .min(0, 'a number ≥ 0')
    .lt(1, 'a number < 1')
    .optional()
    .describe('LoRA: dropout on the adapter’s input while training (default 0)'),
  loraTargets: z
    .string()
    .regex(/^[a-z_]+(,[a-z_]+)*$/, 'module names separated by commas (q_proj,v_proj)')
    .optional()
    .describe(
      'LoRA: PEFT target modules, comma-separated: llama q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj (default q_proj,v_proj); gpt2 c_attn,c_proj,c_fc (default c_attn); the presets wqkv,wo,wfc,wproj (default wqkv,wo)',
    ),
});

/** The rules across fields, shared by every schema built on TrainConfigFields (a server job's body). */
export function withTrainConfigRules<T extends z.ZodType<z.output<typeof TrainConfigFields>>>(schema: T) {
  return schema
    .refine((c) => c.steps !== undefined || c.minutes !== undefined, {
      message: 'give steps or minutes (or both)',
      path: ['steps'],
    })
    .refine((c) => !(c.recorded && !isRl(c.algo)), {
      message: 'recorded rollouts are for grpo / rloo (sft, dpo and kto read their data)',
      path: ['recorded'],
    })
    .refine((c) => !(c.rewardModel && (!isRl(c.algo) || c.recorded)), {
      // Recorded rollouts carry the rewards the store holds; only drafted replies are scored here.
      message: 'a reward model scores drafted replies: it is for grpo / rloo without recorded',
      path: ['rewardModel'],
    })
    .refine(
      (c) =>
        c.loraRank !== undefined ||
        (c.loraAlpha === undefined && c.loraDropout === undefined && c.loraTargets === undefined),
      {
        message:
          'loraAlpha, loraDropout and loraTargets (--lora-alpha, --lora-dropout, --lora-targets) set up a LoRA adapter: give loraRank (--lora-rank) too',
        path: ['loraRank'],
      },
    )
    .refine((c) => !(isPreference(c.algo) && c.beta === 0), {
      // β scales the implicit reward β·log π/π_ref: at 0 every pair's loss is log 2 and nothing is learnt.
      message: 'dpo / kto need beta > 0 (the implicit reward is beta · log π/π_ref)',
      path: ['beta'],
    });
}

/**
 * What the lab's request and a server job's body add to the config: `data`, where examples come from
 * (reviews, or the shell's built-in data: the lab's dataset, the server's generated split; the shell's own
 * field, not passed to the trainer), and `rewardModel` restricted to "reviews" (a tab has no files, a job
 * takes no paths from the network). Reviews feed dpo, kto and sft; grpo / rloo draft for the built-in
 * feedback; dpo / kto have no built-in data.
 */
export function shellTrainFields<B extends string>(builtIn: B) {
  return {
    data: z.enum([builtIn, 'reviews']).optional(),
    rewardModel: z.literal(REWARD_MODEL_FROM_REVIEWS).optional(),
  };
}

/** The rules of shellTrainFields' `data` across fields. */
export function withShellDataRules<S extends z.ZodType<{ algo: string; data?: string }>>(
  schema: S,
  builtIn: string,
) {
  return schema
    .refine((c) => !(c.data === 'reviews' && isRl(c.algo)), {
      message: `grpo / rloo draft for the ${builtIn} feedback: reviews are data for dpo, kto and sft`,
      path: ['data'],
    })
    .refine((c) => !(c.data === builtIn && isPreference(c.algo)), {
      message: `dpo / kto learn from reviewers’ choices: their data is reviews (the ${builtIn} data has none)`,
      path: ['data'],
    });
}

export const TrainConfigSchema = withTrainConfigRules(TrainConfigFields);
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** A config with every default filled in: what a run records and what the session reads. */
export type TrainConfig = z.output<typeof TrainConfigSchema> & {
  batch: number;
  lr: number;
  warmup: number;
  logEvery: number;
};

/** Validates (throws a ZodError) and fills every default. */
export function resolveTrainConfig(input: unknown): TrainConfig {
  const parsed = TrainConfigSchema.parse(input);
  const defaults = algoDefaults(parsed.algo);
  return {
    ...parsed,
    batch: parsed.batch ?? defaults.batch,
    lr: parsed.lr ?? defaults.lr,
    warmup: parsed.warmup ?? defaults.warmup,
    logEvery: parsed.logEvery ?? defaults.logEvery,
  };
}

/**
 * The LoRA adapter a run trains, or null for full fine-tuning: the flat settings (one flag each) as the
 * adapter's config (shared/policy/lora.ts fills alpha and the targets per model family).
 */
export function loraSettingsOf(config: TrainConfig): LoraConfigInput | null {
  if (config.loraRank === undefined) return null;
  return {
    rank: config.loraRank,
    ...(config.loraAlpha !== undefined ? { alpha: config.loraAlpha } : {}),
    ...(config.loraDropout !== undefined ? { dropout: config.loraDropout } : {}),
    ...(config.loraTargets !== undefined ? { targets: config.loraTargets.split(',') } : {}),
  };
}

/** The defaults a form starts from (the lab's Train page): every field the schema gives a default. */
export function defaultTrainConfig(algo: TrainAlgo = 'grpo', steps = 20): TrainConfig {
  return resolveTrainConfig({ algo, steps });
}

/** The settings a new policy's shape takes from (a checkpoint keeps the shape it was trained with). */
export const SHAPE_KEYS = ['nLayer', 'nHead', 'nEmbd', 'blockSize'] as const;

/** What a field of the schema is, for deriving flags and forms. */
export type SettingInfo = {
  key: keyof TrainConfigInput;
  kind: 'number' | 'integer' | 'boolean' | 'enum' | 'string';
  values?: readonly string[];
  default?: unknown;
  description: string;
};

/** Every setting with its kind, default and description, in schema order. */
export function trainSettings(): SettingInfo[] {
  const shape = TrainConfigFields.shape as Record<string, z.ZodType>;
  return Object.entries(shape).map(([key, field]) => {
    let inner: z.ZodType = field;
    let fallback: unknown;
    for (;;) {
      if (inner instanceof z.ZodDefault) {
        fallback = inner.def.defaultValue;
        inner = inner.def.innerType as z.ZodType;
      } else if (inner instanceof z.ZodOptional) inner = inner.def.innerType as z.ZodType;
      else break;
    }
    const info: SettingInfo = {
      key: key as SettingInfo['key'],
      kind: 'string',
      default: fallback,
      description: field.description ?? inner.description ?? '',
    };
    if (inner instanceof z.ZodBoolean) info.kind = 'boolean';
    else if (inner instanceof z.ZodEnum) {
      info.kind = 'enum';
      info.values = inner.options as string[];
    } else if (inner instanceof z.ZodNumber) info.kind = inner.format === 'safeint' ? 'integer' : 'number';
    return info;
  });
}
