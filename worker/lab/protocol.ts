import { z } from 'zod';
import type { QualityCheck } from '../../shared/agent/quality/checks';
import { CHECKPOINT_ID } from '../../shared/policy/checkpoint';
import { type BackendRequest, BackendRequestSchema } from '../../shared/train/backend-names';
import {
  shellTrainFields,
  TrainConfigFields,
  withShellDataRules,
  withTrainConfigRules,
} from '../../shared/train/config';

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

/** The backends a page may ask for: the trainer's own list. */
export const BackendChoice = BackendRequestSchema;
export type BackendChoice = BackendRequest;

const checkpointId = z.string().regex(CHECKPOINT_ID, 'a checkpoint id (64 lowercase hex)');

/**
 * Where a run's examples come from: `dataset` (the lab's dataset: its SFT corpus and feedback items) or
 * `reviews` (the Inbox's decisions in this lab's store: worker/lab/review-data.ts). DPO and KTO learn
 * from people's choices, so they always read reviews; SFT reads either; GRPO / RLOO draft for the
 * dataset's feedback and are rewarded by the reward function, so reviews give them nothing.
 */
const labFields = shellTrainFields('dataset');
export type TrainData = NonNullable<z.infer<typeof labFields.data>>;

/** The runs reviews can train (the algorithm, with SFT meaning SFT on the replies reviewers sent). */
export type ReviewRun = 'dpo' | 'kto' | 'sft';

/** What the reviews in this lab's store give, as the Train page shows it before a run. */
export type ReviewDataSummary = {
  /** Feedback items in the store, and those with a decision that counts. */
  items: number;
  decided: number;
  /** DPO's preference pairs, KTO's labelled replies, SFT's sent replies. */
  pairs: number;
  labels: number;
  sft: number;
  /** Per run, why these reviews cannot train it (a sentence for a person), or null when they can. */
  missing: Record<ReviewRun, string | null>;
};

/**
 * What the Train page asks for: the TrainConfig every trainer reads (shared/train/config.ts), with
 * `init` / `reference` as checkpoint ids of this lab and `data` (the lab's own field: it is not passed to
 * the trainer). An RL run without `init` starts from the newest checkpoint of the same preset and head,
 * or, with none, from the SFT warm-up (`sftSteps`); DPO and KTO without `init` start from that newest
 * checkpoint too, and with none they cannot start (they refine a trained policy).
 */
export const TrainRequest = withShellDataRules(
  withTrainConfigRules(
    TrainConfigFields.extend({
      init: checkpointId.optional(),
      reference: checkpointId.optional(),
      // `data`, and `rewardModel: "reviews"` (grpo / rloo: fitted from this lab's reviews when the run opens).
      ...labFields,
    }),
  ),
  'dataset',
);
/** The request as the page writes it (defaults unfilled). */
export type TrainRequest = z.input<typeof TrainRequest>;

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
  /** Share of the step's replies that passed every sendability check (shared/agent/quality); null for SFT. */
  sendableRate: number | null;
  /**
   * Share of the step's sampled replies that failed each sendability check (checks none failed left out);
   * absent from runs recorded before it existed.
   */
  failedChecks?: Partial<Record<QualityCheck, number>>;
  /**
   * DPO / KTO: the implicit reward β·log π/π_ref of the chosen (desirable) and rejected (undesirable)
   * replies, and for DPO the share of pairs ranked right; absent for other algorithms.
   */
  preference?: { chosen: number | null; rejected: number | null; accuracy: number | null };
  tokensPerSecond: number;
  seconds: number;
};

/** A reply sampled during training, with its reward and terms. */
export type { SampledReply } from '../../shared/train/sample-tap';
import type { SampledReply } from '../../shared/train/sample-tap';

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
  /** Passed every sendability check (shared/agent/quality): a reply a person could send. */
  sendable: boolean;
  /** The checks it failed; [] when sendable. */
  failedChecks: QualityCheck[];
  /** What each failed check found, "check: detail"; [] when the reply leaked PII (they would quote it). */
  findings: string[];
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
  /** Share of each side's replies that passed every sendability check. */
  sendable: [number, number];
  /** Share of each side's replies that failed each check (checks none failed left out). */
  failedChecks: [Partial<Record<QualityCheck, number>>, Partial<Record<QualityCheck, number>>];
};
export type ComparedReply = {
  text: string;
  reward: number;
  terms: Record<string, number>;
  decision: string;
  sendable: boolean;
  failedChecks: QualityCheck[];
  /** "check: detail"; [] when the reply leaked PII. */
  findings: string[];
};

export type CheckpointRow = {
  id: string;
  createdAt: number;
  step: number;
  runId: string | null;
  preset: string;
  algorithm: string;
  metrics: Record<string, number>;
  source: string;
  /** A name to show beside the id ("starter policy (SFT)"); most checkpoints have none. */
  name?: string;
};

// ── Inbox (worker/lab/inbox.ts, web/pages/Inbox.tsx) ───────────────────────────────────────────────────

/** Which items the Inbox lists: not decided yet, decided (here or by another reviewer), or every item. */
export const InboxFilter = z.enum(['open', 'decided', 'all']);
export type InboxFilter = z.infer<typeof InboxFilter>;

/**
 * Where an item stands: `open` (no decision), `waiting` (decided, the server has not ruled yet),
 * `won` (the server counts this lab's decision), `lost` (another reviewer's decision came first),
 * `settled` (the server ruled on decisions made elsewhere).
 */
export type InboxState = 'open' | 'waiting' | 'won' | 'lost' | 'settled';

/** A feedback item as the Inbox list shows it; the text is the intake's redacted text. */
export type InboxRow = {
  rolloutId: string;
  itemId: string;
  text: string;
  category: string | null;
  sentiment: string;
  sentimentScore: number;
  boundaries: string[];
  /** PII types the intake redacted (never the values). */
  pii: string[];
  /** The intake governance's decision on the feedback. */
  intakeDecision: string;
  /** Epoch seconds at the server. */
  submittedAt: number;
  source: string;
  drafts: number;
  state: InboxState;
  /** The status of the latest delivery attempt (`delivered`, `retrying`, `failed`), null before any. */
  delivery: string | null;
};

export type InboxDraft = {
  /** The reply index the agent gave it (what a decision's draftIndex names). */
  index: number;
  text: string;
  /** Stored redacted because it leaked personal data or was blocked. */
  redacted: boolean;
  reward: number | null;
  terms: Record<string, number>;
  /** Rule ids and `pii` (shared/train/rl-data's violation kinds). */
  violations: string[];
  failedChecks: string[];
  /** "check: detail"; [] when the reply leaked PII (they would quote it). */
  findings: string[];
  decision: string;
};

export type InboxDecisionView = {
  id: string;
  action: string;
  reviewer: string;
  decidedAt: number;
  draftIndex: number | null;
  reply: string | null;
  diff: string | null;
  reason: string | null;
  findings: string[];
  override: string | null;
  /** Made in this lab. */
  mine: boolean;
};

export type InboxOutcome = { winner: string; winnerReviewer: string | null; superseded: string[] };

export type InboxDelivery = {
  decision: string | null;
  attempt: number;
  status: string;
  httpStatus: number | null;
  error: string | null;
  /** Epoch seconds of the next try (status `retrying`). */
  nextAttemptAt: number | null;
  /** Epoch seconds when the attempt was recorded. */
  at: number | null;
};

export type InboxItem = InboxRow & {
  /** Sorted by reward, best first. */
  draftList: InboxDraft[];
  policyId: string | null;
  decisions: InboxDecisionView[];
  outcome: InboxOutcome | null;
  deliveries: InboxDelivery[];
};

/** A reviewer's action on an item, as the page asks for it; the worker fills in who, when and the diff. */
export const DecideRequest = z.object({
  rolloutId: z.string().min(1),
  action: z.enum(['approve', 'edit', 'write', 'reject', 'spam']),
  draftIndex: z.number().int().min(0).optional(),
  reply: z.string().max(20_000).optional(),
  reason: z.string().max(2000).optional(),
  /** The reviewer's reason to send a reply despite governance findings (an explicit, logged override). */
  override: z.string().max(2000).optional(),
});
export type DecideRequest = z.input<typeof DecideRequest>;

/** Governance's findings on a reply about to be sent: "pii:EMAIL", "rule:inst_017". */
export type ReplyCheck = { findings: string[]; decision: string };

export type DecideResult =
  | { status: 'decided'; decisionId: string }
  /** The reply has findings and no override reason was given: nothing was written. */
  | { status: 'refused'; findings: string[] };

// ── Promotion (worker/lab/promote.ts, the Checkpoints page) ───────────────────────────────────────────

/** "Promote to served": a checkpoint the server has; an override needs a reason (it is recorded). */
export const PromoteCheckpointRequest = z.object({
  checkpointId: checkpointId,
  overrideReason: z.string().trim().min(1, 'an override needs a reason').max(2000).optional(),
});
export type PromoteCheckpointRequest = z.input<typeof PromoteCheckpointRequest>;

/** What the gate decided, with its figures (both policies') when it ran. */
export type PromotionOutcome = {
  status: 'promoted' | 'refused' | 'failed';
  message: string;
  promotion: import('../../shared/sync/promotion').PromotionRecord | null;
};
