import { z } from 'zod';

/**
 * A training job's config: the flags of `edgelight train` as JSON (snake_case), with the same
 * rules the CLI checks, so a bad request is a 422 before any thread starts. Paths are not
 * accepted from the network: data is the built-in synthetic train split, the run folder is the
 * server's own, and `init` names a checkpoint already in the blob store ("latest" = the newest
 * published policy).
 */
export const TrainJobConfig = z
  .strictObject({
    algo: z.enum(['sft', 'grpo', 'rloo']),
    preset: z.enum(['tiny', 'small']).default('tiny'),
    backend: z.enum(['wasm', 'cpu', 'webgpu']).default('wasm'),
    steps: z.int().min(1).max(1_000_000).optional(),
    minutes: z
      .number()
      .positive()
      .max(24 * 60)
      .optional(),
    init: z
      .union([z.literal('latest'), z.string().regex(/^[0-9a-f]{64}$/, 'a checkpoint id: 64 lowercase hex')])
      .optional(),
    group: z.int().min(1).max(64).default(8),
    seed: z.int().default(1),
    batch: z.int().min(1).max(1024).optional(),
    lr: z.number().positive().optional(),
    warmup: z.int().min(0).optional(),
    log_every: z.int().min(1).optional(),
    save_every: z.int().min(1).default(100),
    temperature: z.number().min(0).optional(),
    beta: z.number().min(0).optional(),
    kl_reward: z.number().min(0).optional(),
    mu: z.int().min(1).optional(),
    max_new_tokens: z.int().min(1).max(4096).optional(),
    vocab_size: z.int().min(260).max(65_536).optional(),
    n_layer: z.int().min(1).max(64).optional(),
    n_head: z.int().min(1).max(64).optional(),
    n_embd: z.int().min(1).max(4096).optional(),
    block_size: z.int().min(8).max(8192).optional(),
    /** A copy head on a new model (`train --copy`). */
    copy: z.boolean().optional(),
  })
  .refine((c) => c.steps !== undefined || c.minutes !== undefined, {
    message: 'give steps or minutes',
    path: ['steps'],
  })
  .refine((c) => c.algo === 'sft' || c.init !== undefined, {
    message: 'grpo and rloo start from a trained policy: give init (a checkpoint id or "latest")',
    path: ['init'],
  })
  .refine((c) => c.algo === 'sft' || c.group >= 2, {
    message: 'group must be ≥ 2 for grpo/rloo (advantages compare samples)',
    path: ['group'],
  });
export type TrainJobConfig = z.infer<typeof TrainJobConfig>;

/** The `edgelight train` argv for a job: `init` and `out` are resolved by the worker to folders. */
export function trainArgv(config: TrainJobConfig, paths: { out: string; init?: string }): string[] {
  const argv = [
    '--algo',
    config.algo,
    '--preset',
    config.preset,
    '--backend',
    config.backend,
    '--out',
    paths.out,
  ];
  if (paths.init) argv.push('--init', paths.init);
  const flags: Array<[keyof TrainJobConfig, string]> = [
    ['steps', 'steps'],
    ['minutes', 'minutes'],
    ['group', 'group'],
    ['seed', 'seed'],
    ['batch', 'batch'],
    ['lr', 'lr'],
    ['warmup', 'warmup'],
    ['log_every', 'log-every'],
    ['save_every', 'save-every'],
    ['temperature', 'temperature'],
    ['beta', 'beta'],
    ['kl_reward', 'kl-reward'],
    ['mu', 'mu'],
    ['max_new_tokens', 'max-new-tokens'],
    ['vocab_size', 'vocab-size'],
    ['n_layer', 'n-layer'],
    ['n_head', 'n-head'],
    ['n_embd', 'n-embd'],
    ['block_size', 'block-size'],
  ];
  for (const [key, flag] of flags) {
    const value = config[key];
    if (value !== undefined) argv.push(`--${flag}`, String(value));
  }
  if (config.copy) argv.push('--copy');
  return argv;
}

/**
 * Reads one progress line of `edgelight train` ("step 3/10  reward 0.412±0.100  viol 12.5%  kl 0.0010
 * loss 1.2345  lr 2.00e-3  tok/s 812  eta 5s") into numbers; null for any other line.
 */
export function parseProgressLine(line: string): Record<string, number> | null {
  const step = /^step (\d+)(?:\/(\d+))?/.exec(line);
  if (!step) return null;
  const metrics: Record<string, number> = { step: Number(step[1]) };
  if (step[2]) metrics.until_step = Number(step[2]);
  const reward = /reward (-?[\d.]+)±([\d.]+)/.exec(line);
  if (reward) {
    metrics.reward_mean = Number(reward[1]);
    metrics.reward_std = Number(reward[2]);
  }
  const number = (label: string, key: string, scale = 1) => {
    const m = new RegExp(`(?:^|\\s)${label} (-?[\\d.]+(?:e[-+]?\\d+)?)`).exec(line);
    if (m) metrics[key] = Number(m[1]) * scale;
  };
  const violation = /viol ([\d.]+)%/.exec(line);
  if (violation) metrics.violation_rate = Number(violation[1]) / 100;
  number('kl', 'kl');
  number('loss', 'loss');
  number('lr', 'lr');
  number('tok/s', 'tokens_per_s');
  return metrics;
}
