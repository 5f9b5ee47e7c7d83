import { countParameters, presetConfig } from '../../shared/policy/model';
import { isRl, resolveTrainConfig, SHAPE_KEYS } from '../../shared/train/config';

// What a training job asks of the machine, estimated before a thread starts, so one request cannot
// exhaust it (issue 19: 64 layers × 4096 wide passed the schema). A job that starts from a checkpoint
// keeps that checkpoint's shape, already bounded by the blob size limit, so only new policies are
// estimated.

export type JobEstimate = {
  parameters: number;
  /** Weights, gradients and Adam's two moments (4 × float32 per parameter) plus activations. */
  memoryBytes: number;
};

export const DEFAULT_MAX_JOB_PARAMETERS = 100_000_000;
export const DEFAULT_MAX_JOB_MEMORY_BYTES = 4 * 1024 ** 3;

/**
 * Rough on purpose, erring high: activations are batch (× group for RL) × context × layers × (16 × width
 * for the residual stream, norms and MLP + heads × context for attention scores) float32s, kept for
 * the backward pass. The tiny preset's GRPO defaults come to 0.27 GB, the small preset's to 1.1 GB,
 * 64 layers × 4096 wide to 292 GB (12.9 B parameters).
 */
export function estimateTrainJob(config: Record<string, unknown>): JobEstimate | undefined {
  if (config.init !== undefined) return undefined;
  // `data` is a job's own field (jobs/config.ts), not one of the trainer's settings.
  const { data: _data, ...settings } = config;
  const resolved = resolveTrainConfig(settings);
  const overrides = Object.fromEntries(
    SHAPE_KEYS.filter((k) => resolved[k] !== undefined).map((k) => [k, resolved[k]]),
  );
  const model = presetConfig(resolved.preset, {
    ...overrides,
    vocabSize: resolved.vocabSize,
    copy: resolved.copy,
  });
  const parameters = countParameters(model).total;
  const sequences = resolved.batch * (isRl(resolved.algo) ? resolved.group : 1);
  const T = model.blockSize;
  const activations = sequences * T * model.nLayer * (16 * model.nEmbd + model.nHead * T);
  return { parameters, memoryBytes: (4 * parameters + activations) * 4 };
}

export class JobTooLargeError extends Error {
  constructor(
    message: string,
    readonly estimate: JobEstimate,
  ) {
    super(message);
  }
}

/** Throws JobTooLargeError when the job's estimate exceeds either limit. */
export function assertJobFits(
  config: Record<string, unknown>,
  limits: { maxParameters?: number; maxMemoryBytes?: number } = {},
): void {
  const estimate = estimateTrainJob(config);
  if (!estimate) return;
  const maxParameters = limits.maxParameters ?? DEFAULT_MAX_JOB_PARAMETERS;
  const maxMemory = limits.maxMemoryBytes ?? DEFAULT_MAX_JOB_MEMORY_BYTES;
  const mb = (bytes: number) => `${Math.round(bytes / 1024 ** 2)} MiB`;
  if (estimate.parameters > maxParameters)
    throw new JobTooLargeError(
      `the job's model has ${estimate.parameters.toLocaleString('en')} parameters; this server allows ${maxParameters.toLocaleString('en')}`,
      estimate,
    );
  if (estimate.memoryBytes > maxMemory)
    throw new JobTooLargeError(
      `the job needs about ${mb(estimate.memoryBytes)} of memory; this server allows ${mb(maxMemory)}`,
      estimate,
    );
}
