// A dedicated Web Worker that trains the policy off the main thread, exposed with comlink. Minimal on
// purpose: pick a backend, build a model, take SFT steps on the pairs it was given, report the metrics,
// sample. The lab worker (worker/lab.worker.ts) drives the full store-backed loop; this one is the
// smallest host of the trainer, used by the browser test to show training on WebGPU inside a worker.
//
//   const trainer = wrap<TrainerWorkerApi>(new Worker('/worker/trainer.worker.ts', { type: 'module' }));
//   await trainer.start({ backend: 'webgpu', config, seed: 1, lr: 3e-3, pairs });
//   const metrics = await trainer.train(5);           // one TrainMetrics per step (one read per call)
import { expose } from 'comlink';
import { z } from 'zod';
import { createPolicy, ModelConfigSchema, type Policy } from '../shared/policy/model';
import { type GeneratedSequence, generate, type SamplingOptionsInput } from '../shared/policy/sampling';
import { type BackendInfo, BackendRequestSchema, selectBackend } from '../shared/train/backend';
import { SequencePairSchema } from '../shared/train/batch';
import { MetricsAccumulator, type TrainMetrics } from '../shared/train/metrics';
import { AdamW, AdamWConfigSchema } from '../shared/train/optimizer';
import { sftStep } from '../shared/train/sft';

export const TrainerStartSchema = z.object({
  backend: BackendRequestSchema.default('auto'),
  allowSoftware: z.boolean().default(false),
  config: ModelConfigSchema,
  seed: z.number().int().default(0),
  lr: z.number().positive().default(3e-3),
  optimizer: AdamWConfigSchema.prefault({}),
  pairs: z.array(SequencePairSchema).min(1),
});
export type TrainerStart = z.input<typeof TrainerStartSchema>;

export type TrainerWorkerApi = {
  start(options: TrainerStart): Promise<{ backend: BackendInfo; parameters: number }>;
  /** `steps` SFT steps on the pairs given to start(); metrics are read once, at the end. */
  train(steps: number): Promise<TrainMetrics[]>;
  generate(promptIds: number[][], options: SamplingOptionsInput): Promise<GeneratedSequence[]>;
  dispose(): void;
};

let state: {
  policy: Policy;
  optimizer: AdamW;
  lr: number;
  pairs: z.infer<typeof SequencePairSchema>[];
} | null = null;

function requireState() {
  if (!state) throw new Error('trainer not started: call start() first');
  return state;
}

const api: TrainerWorkerApi = {
  async start(input) {
    const options = TrainerStartSchema.parse(input);
    api.dispose();
    const backend = await selectBackend({ prefer: options.backend, allowSoftware: options.allowSoftware });
    const policy = createPolicy(options.config, { seed: options.seed });
    const optimizer = new AdamW(policy.weights, options.optimizer);
    state = { policy, optimizer, lr: options.lr, pairs: options.pairs };
    const parameters = Object.values(policy.weights).reduce((n, w) => n + w.size, 0);
    return { backend, parameters };
  },
  async train(steps) {
    const { policy, optimizer, lr, pairs } = requireState();
    const count = z.number().int().min(1).max(10_000).parse(steps);
    const metrics = new MetricsAccumulator();
    for (let i = 0; i < count; i++) await sftStep(policy, optimizer, pairs, { lr, metrics });
    return metrics.flush();
  },
  async generate(promptIds, options) {
    return generate(requireState().policy, promptIds, options);
  },
  dispose() {
    if (!state) return;
    state.optimizer.dispose();
    state.policy.dispose();
    state = null;
  },
};

expose(api);
