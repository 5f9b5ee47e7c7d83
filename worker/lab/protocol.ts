import { z } from 'zod';

// What the page and the lab worker exchange, beyond the shared/ types they pass through as-is.
// Inputs that come from the page are validated in the worker with these schemas.

export const LineError = z.object({ line: z.number().int().min(1), error: z.string() });
export type LineError = z.infer<typeof LineError>;

export const DatasetFilter = z.object({
  split: z.string().optional(),
  category: z.string().optional(),
  sentiment: z.string().optional(),
});
export type DatasetFilter = z.infer<typeof DatasetFilter>;

export const GenerateRequest = z.object({
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1),
  size: z.number().int().min(1).max(100_000),
  badHabitShare: z.number().min(0).max(1),
});
export type GenerateRequest = z.infer<typeof GenerateRequest>;

/** One example as the Dataset page lists it. */
export type DatasetRow = {
  id: string;
  split: string;
  category?: string;
  sentiment?: string;
  text: string;
  tags: string[];
};

export type DatasetSummary = {
  total: number;
  bySplit: Record<string, number>;
  splits: string[];
  categories: string[];
  sentiments: string[];
};

export const Page = z.object({
  offset: z.number().int().min(0),
  limit: z.number().int().min(1).max(1000),
});

export const TraceFilter = z.object({
  status: z.string().optional(),
  mode: z.string().optional(),
  minReward: z.number().optional(),
  maxReward: z.number().optional(),
  search: z.string().max(200).optional(),
});
export type TraceFilter = z.infer<typeof TraceFilter>;

/** A rollout row of the trace explorer; reward null when no reward span was recorded. */
export type TraceRow = {
  rollout_id: string;
  status: string;
  mode: string;
  reward: number | null;
  start_time: number;
  end_time: number | null;
  attempts: number;
  preview: string;
};

export const BackendChoice = z.enum(['auto', 'webgpu', 'webgl', 'wasm', 'cpu']);
export type BackendChoice = z.infer<typeof BackendChoice>;

export const TrainAlgorithm = z.enum(['sft', 'grpo', 'rloo']);
export type TrainAlgorithm = z.infer<typeof TrainAlgorithm>;

/** What the Train page asks for. */
export const TrainRequest = z.object({
  preset: z.enum(['tiny', 'small']),
  /**
   * A copy head on a new model (the command line's `--copy`): the policy may point at the feedback's own
   * words as well as draw from its vocabulary. Checkpoints keep the head they were trained with; RL starts
   * from the newest checkpoint of the same preset and head.
   */
  copy: z.boolean().default(false),
  algorithm: TrainAlgorithm,
  groupSize: z.number().int().min(2).max(64),
  steps: z.number().int().min(1).max(100_000),
  /** A wall-clock budget; null runs until `steps`. */
  minutes: z
    .number()
    .positive()
    .max(24 * 60)
    .nullable(),
  backend: BackendChoice,
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1),
  /** RL: feedback items per step (one rollout each, G replies per rollout); SFT: sequences per step. */
  batchSize: z.number().int().min(1).max(256).default(4),
  /** Longest sampled reply, in tokens. */
  maxNewTokens: z.number().int().min(8).max(256).default(96),
  /**
   * RL with no checkpoint of this preset to start from first runs this many SFT steps on the
   * dataset's corpus (the SFT → RL recipe); 0 starts RL from random weights.
   */
  sftWarmupSteps: z.number().int().min(0).max(10_000).default(20),
  /**
   * RL: KL in the reward. Each reply's reward loses this × its mean per-token log π/π_ref, where π_ref
   * is the policy the RL phase started from; with β below, it keeps RL from trading fluent replies for
   * keyword lists that game the reward (docs/training.md). 0 turns it off.
   */
  klReward: z.number().min(0).max(10).default(0.2),
  /** RL: β of the loss's per-token KL to the same reference. 0 turns it off. */
  beta: z.number().min(0).max(10).default(0.1),
  /**
   * RL: μ, clipped optimizer steps per sampled batch. 3 is the command line's default, the setting that
   * met the learning goal (docs/training.md, r12); 1 cuts a wasm step's time by about 40 % (updates are ~60 % of it).
   */
  mu: z.number().int().min(1).max(16).default(3),
  /** Save a checkpoint every this many steps (and always when pausing, stopping or finishing). */
  checkpointEvery: z.number().int().min(1).max(100_000).default(10),
});
export type TrainRequest = z.infer<typeof TrainRequest>;
export type TrainRequestInput = z.input<typeof TrainRequest>;

export type BackendInfo = {
  /** The tfjs backend in use. */
  name: string;
  /** The adapter or device behind it, as the platform names it. */
  adapter: string;
  /** True when it runs on the CPU (SwiftShader, llvmpipe, wasm, cpu): fine for correctness, slow. */
  software: boolean;
};

export type TrainStatus =
  | 'idle'
  | 'loading'
  | 'compiling'
  | 'running'
  | 'pausing'
  | 'paused'
  | 'stopping'
  | 'stopped'
  | 'finished'
  | 'failed';

/** One point of the live charts: a training step's figures. */
export type MetricPoint = {
  step: number;
  phase: string;
  loss: number;
  rewardMean: number | null;
  rewardStd: number | null;
  /** Mean of each reward term over the step's sampled replies. */
  terms: Record<string, number>;
  /** Standard deviation of each reward term over the same replies. */
  termStd: Record<string, number>;
  kl: number | null;
  entropy: number | null;
  violationRate: number | null;
  tokensPerSecond: number;
  seconds: number;
};

/** A reply sampled during training, with its reward and terms. */
export type SampledReply = {
  step: number;
  prompt: string;
  reply: string;
  reward: number;
  terms: Record<string, number>;
};

export type CheckpointSummary = {
  id: string;
  step: number;
  createdAt: number;
  preset: string;
  algorithm: string;
  metrics: Record<string, number>;
};

export type TrainSnapshot = {
  runId: string | null;
  status: TrainStatus;
  request: TrainRequest | null;
  backend: BackendInfo | null;
  step: number;
  totalSteps: number;
  startedAt: number | null;
  etaSeconds: number | null;
  message: string;
  error: string;
  metrics: MetricPoint[];
  samples: SampledReply[];
  lastCheckpoint: CheckpointSummary | null;
  /** A stopped or interrupted run that can continue from its last checkpoint. */
  resumable: boolean;
  /** The phase in progress: `sft` (warm-up or SFT run) or the RL algorithm. */
  phase: string;
};

export const SyncSettings = z.object({
  /** The edgelight server, e.g. http://127.0.0.1:8787; empty means offline. */
  url: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
  token: z.string().max(4096),
  /** Sync every 30 s while the page is open. */
  auto: z.boolean(),
});
export type SyncSettings = z.infer<typeof SyncSettings>;

export type SyncState = {
  settings: SyncSettings;
  running: boolean;
  /** Outbox entries (changed rows) not yet acknowledged by the server. */
  pending: number;
  cursor: number;
  lastSyncAt: number | null;
  lastReport: {
    pushedRows: number;
    pushedWritten: number;
    pulledRows: number;
    serverSeq: number;
    missingCheckpoints: string[];
  } | null;
  errors: Array<{ at: number; message: string }>;
};

export const DraftRequest = z.object({
  text: z.string().min(1).max(20_000),
  group: z.number().int().min(1).max(16).default(4),
});

/** One reply the agent drafted for a feedback, as the Feedback page shows it. */
export type DraftedReplyView = {
  index: number;
  /** Redacted when the draft leaked personal data or was blocked. */
  text: string;
  decision: string;
  violations: string[];
  reward: number;
  terms: Record<string, number>;
  hardZero: string | null;
};

export type DraftResult = {
  policyId: string;
  policyKind: 'checkpoint' | 'baseline';
  rolloutId: string;
  replies: DraftedReplyView[];
};

export const CompareRequest = z.object({
  a: z.string().regex(/^[0-9a-f]{64}$/),
  b: z.string().regex(/^[0-9a-f]{64}$/),
  prompts: z.number().int().min(1).max(32).default(4),
  maxNewTokens: z.number().int().min(8).max(256).default(64),
  seed: z.number().int().min(0).default(1),
});

/** Two checkpoints' replies to the same test-split feedback, side by side. */
export type Comparison = {
  a: string;
  b: string;
  rows: Array<{
    taskId: string;
    feedback: string;
    replies: [ComparedReply, ComparedReply];
  }>;
  mean: [number, number];
};
export type ComparedReply = { text: string; reward: number; terms: Record<string, number>; decision: string };

export type CheckpointRow = {
  id: string;
  createdAt: number;
  step: number;
  runId: string | null;
  preset: string;
  algorithm: string;
  metrics: Record<string, number>;
  source: string;
};
