// Promotion: making a checkpoint the served policy (served.ts) through a gate. The candidate and the
// policy served now are evaluated on the same small held-out set — the seeded synthetic dataset's test
// split, the families training never sees — by the same path as `edgelight eval` (loop-eval.ts: the
// feedback agent drafts, governance and the reward score); the candidate is refused when its violation
// rate rises, or its mean reward falls, by more than a stated margin. An override (with a reason) takes
// a refused candidate anyway. Every promotion's figures, margins and settings go into the served
// update's metadata, so the history says why each policy was served.
//
// A gate takes tens of seconds (two policies drafting on wasm), so it runs as a job: `start` returns at
// once, `wait` lets a route answer synchronously when the gate is quick. One gate at a time: two would
// share the tfjs backend and the served policy they compare against could change under them.
import { randomUUID } from 'node:crypto';
import type { FeedbackTask } from '../../shared/agent/task';
import { DEFAULT_GENERATE_OPTIONS, generateFeedback } from '../../shared/data/generator';
import { createGovernancePipeline } from '../../shared/governance';
import type { GovernancePipeline } from '../../shared/governance/types';
import { type BlobStorage, CheckpointError, loadCheckpoint } from '../../shared/policy/checkpoint';
import { policyFromCheckpoint } from '../../shared/policy/checkpoint-policy';
import { DEFAULT_MAX_NEW_TOKENS } from '../../shared/policy/sequence';
import { InMemoryLightningStore } from '../../shared/store/memory';
import type { LightningStore } from '../../shared/store/store';
import { selectBackend } from '../../shared/train/backend';
import type { BackendRequest } from '../../shared/train/backend-names';
import { batchIndices } from '../../shared/train/loop';
import { type EvaluationReport, evaluatePolicy } from '../../shared/train/loop-eval';
import type { GateFigures, GateResult, PromotionRecord, PromotionStatus } from '../../shared/sync/promotion';
import { ensureServed, readServed, type ServedPolicy, writeServed } from './served';

/** How the gate evaluates and what it tolerates. Every field has a default (docs/promotion.md). */
export interface GateSettings {
  /** Held-out feedback items each policy drafts for (the test split, in a seeded order). */
  items: number;
  /** Replies per item (K). */
  samples: number;
  /** Sampling seed and the items' order: both policies see the same items and the same draws. */
  seed: number;
  /** Reply length limit, in tokens. */
  maxNewTokens: number;
  /** Refuse when the candidate's any-violation rate exceeds the served one's by more than this (a share, 0–1). */
  maxViolationRise: number;
  /** Refuse when the candidate's mean reward is below the served one's by more than this (reward units). */
  maxRewardDrop: number;
  /** tfjs backend the gate drafts on. */
  backend: BackendRequest;
}

/**
 * 24 items × 2 replies: 48 replies a policy at training's reply length, about 10 s for the tiny policy
 * on wasm (two policies, about 20 s on two cores; a checkpoint's figures are cached). Margins: 5 points
 * of violation rate and 0.05 of mean reward (rewards lie in 0–1). Both policies draft for the same
 * items with the same seeds, so a policy against itself differs by exactly 0; a policy that forgot how
 * to write loses far more than the margins (docs/promotion.md has the figures).
 */
export const DEFAULT_GATE_SETTINGS: GateSettings = {
  items: 24,
  samples: 2,
  seed: 1,
  maxNewTokens: DEFAULT_MAX_NEW_TOKENS,
  maxViolationRise: 0.05,
  maxRewardDrop: 0.05,
  backend: 'wasm',
};

export type { GateFigures, GateResult, PromotionRecord, PromotionStatus };

export class PromotionBusyError extends Error {
  constructor(readonly running: PromotionRecord) {
    super(`promotion ${running.promotion_id} of ${running.checkpoint_id} is still running`);
  }
}

export class UnknownCheckpointError extends Error {}

/** The held-out items, in the seeded order the gate takes its first `items` from. */
export function gateTasks(settings: Pick<GateSettings, 'items' | 'seed'>): FeedbackTask[] {
  const test = generateFeedback(DEFAULT_GENERATE_OPTIONS).filter((i) => i.metadata.split === 'test');
  const count = Math.min(settings.items, test.length);
  return batchIndices(test.length, count, settings.seed, 0).map((i) => test[i]);
}

/** Compares two policies' figures against the margins (pure: the route and the docs' examples use it). */
export function judge(
  candidate: GateFigures,
  served: GateFigures,
  margins: Pick<GateSettings, 'maxViolationRise' | 'maxRewardDrop'>,
): Pick<GateResult, 'violation_rise' | 'reward_drop' | 'passed' | 'reasons'> {
  const violationRise = candidate.violation_rate - served.violation_rate;
  const rewardDrop = served.reward_mean - candidate.reward_mean;
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const reasons: string[] = [];
  // A tiny epsilon: equal figures computed in a different order must not fail a zero margin.
  if (violationRise > margins.maxViolationRise + 1e-9)
    reasons.push(
      `violation rate rose from ${pct(served.violation_rate)} to ${pct(candidate.violation_rate)} (margin ${pct(margins.maxViolationRise)})`,
    );
  if (rewardDrop > margins.maxRewardDrop + 1e-9)
    reasons.push(
      `mean reward fell from ${served.reward_mean.toFixed(3)} to ${candidate.reward_mean.toFixed(3)} (margin ${margins.maxRewardDrop})`,
    );
  return { violation_rise: violationRise, reward_drop: rewardDrop, passed: reasons.length === 0, reasons };
}

function figuresOf(checkpointId: string, report: EvaluationReport, samples: number): GateFigures {
  return {
    checkpoint_id: checkpointId,
    n: report.n,
    replies: report.n * samples,
    reward_mean: report.reward_mean,
    reward_std: report.reward_std,
    violation_rate: report.violation_rate.any,
    sendable_rate: report.sendable_rate,
  };
}

export interface PromotionOptions {
  store: LightningStore;
  /** The server's blob folder, read as checkpoint storage. */
  blobs: BlobStorage;
  settings?: Partial<GateSettings>;
  /** Finished promotions kept for GET (oldest forgotten first); default 100. */
  keep?: number;
  log?: (message: string) => void;
}

/** Runs promotion gates one at a time and remembers the recent ones. */
export class PromotionManager {
  readonly settings: GateSettings;
  private readonly records = new Map<string, PromotionRecord>();
  private readonly done = new Map<string, Promise<PromotionRecord>>();
  private running: PromotionRecord | null = null;
  /** Figures per checkpoint id: a checkpoint is immutable and the settings fixed, so they do not change. */
  private readonly figures = new Map<string, GateFigures>();
  private governance: GovernancePipeline | undefined;
  private backendReady: Promise<unknown> | undefined;

  constructor(readonly options: PromotionOptions) {
    this.settings = { ...DEFAULT_GATE_SETTINGS, ...options.settings };
  }

  /** The served policy now (the starter on a server that never promoted anything). */
  served(): Promise<ServedPolicy> {
    return ensureServed(this.options.store, this.options.blobs);
  }

  get(id: string): PromotionRecord | undefined {
    return this.records.get(id);
  }

  list(): PromotionRecord[] {
    return [...this.records.values()].reverse();
  }

  /**
   * Starts a gate for `checkpointId`. Throws UnknownCheckpointError when the blob folder lacks it and
   * PromotionBusyError while another gate runs.
   */
  async start(request: {
    checkpointId: string;
    override?: { reason: string };
    requestedBy: string;
  }): Promise<PromotionRecord> {
    if (this.running) throw new PromotionBusyError(this.running);
    const record: PromotionRecord = {
      promotion_id: `promo-${randomUUID()}`,
      checkpoint_id: request.checkpointId,
      status: 'running',
      created_at: Date.now() / 1000,
      finished_at: null,
      requested_by: request.requestedBy,
      override: request.override ?? null,
      against: null,
      gate: null,
      served: null,
      error: null,
    };
    this.running = record; // taken before the first await: a second start sees it
    try {
      await this.assertPresent(request.checkpointId);
    } catch (error) {
      this.running = null;
      throw error;
    }
    this.remember(record);
    const finished = this.gate(record).finally(() => {
      this.running = null;
    });
    this.done.set(record.promotion_id, finished);
    return { ...record };
  }

  /** The record once finished, or as it stands after `seconds`. */
  async wait(id: string, seconds: number): Promise<PromotionRecord | undefined> {
    const pending = this.done.get(id);
    if (pending && seconds > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        pending,
        new Promise((resolve) => {
          timer = setTimeout(resolve, seconds * 1000);
        }),
      ]).finally(() => clearTimeout(timer));
    }
    const record = this.records.get(id);
    return record ? { ...record } : undefined;
  }

  private remember(record: PromotionRecord): void {
    this.records.set(record.promotion_id, record);
    const keep = this.options.keep ?? 100;
    for (const [id, r] of this.records) {
      if (this.records.size <= keep) break;
      if (r.status !== 'running') {
        this.records.delete(id);
        this.done.delete(id);
      }
    }
  }

  private async assertPresent(checkpointId: string): Promise<void> {
    try {
      await loadCheckpoint(this.options.blobs, checkpointId);
    } catch (error) {
      if (error instanceof CheckpointError)
        throw new UnknownCheckpointError(`checkpoint ${checkpointId}: ${error.message}`);
      throw error;
    }
  }

  private async gate(record: PromotionRecord): Promise<PromotionRecord> {
    const started = performance.now();
    try {
      const served = await this.served();
      record.against = served.checkpointId;
      const candidate = await this.evaluate(record.checkpoint_id);
      const current = await this.evaluate(served.checkpointId);
      const { maxViolationRise, maxRewardDrop, ...settings } = this.settings;
      const gate: GateResult = {
        candidate,
        served: current,
        ...judge(candidate, current, this.settings),
        margins: { max_violation_rise: maxViolationRise, max_reward_drop: maxRewardDrop },
        settings,
        seconds: (performance.now() - started) / 1000,
      };
      record.gate = gate;
      if (!gate.passed && !record.override) {
        record.status = 'refused';
      } else {
        // The gate compared against a served policy; if another promotion (or a sync) changed it
        // meanwhile, these figures no longer say anything about the step being taken.
        const now = await readServed(this.options.store);
        if (now && now.resourcesId !== served.resourcesId)
          throw new Error(
            `the served policy changed to ${now.checkpointId} while the gate ran; promote again`,
          );
        record.served = await writeServed(this.options.store, record.checkpoint_id, {
          source: 'promotion',
          promotion_id: record.promotion_id,
          promoted_by: record.requested_by,
          previous: served.checkpointId,
          gate,
          ...(record.override
            ? {
                override: {
                  reason: record.override.reason,
                  by: record.requested_by,
                  gate_passed: gate.passed,
                },
              }
            : {}),
        });
        record.status = 'promoted';
      }
    } catch (error) {
      record.status = 'failed';
      record.error = error instanceof Error ? error.message : String(error);
      this.options.log?.(`promotion ${record.promotion_id} failed: ${record.error}`);
    }
    record.finished_at = Date.now() / 1000;
    return record;
  }

  /** One policy's figures on the gate's set (cached per checkpoint id). */
  private async evaluate(checkpointId: string): Promise<GateFigures> {
    const cached = this.figures.get(checkpointId);
    if (cached) return cached;
    this.backendReady ??= selectBackend({ prefer: this.settings.backend });
    await this.backendReady;
    this.governance ??= createGovernancePipeline();
    const checkpoint = await loadCheckpoint(this.options.blobs, checkpointId);
    const { policy, tokenizer } = policyFromCheckpoint(checkpoint);
    try {
      const report = await evaluatePolicy({
        store: new InMemoryLightningStore(),
        checkpoints: this.options.blobs,
        checkpointId,
        policy,
        tokenizer,
        tasks: gateTasks(this.settings),
        samples: this.settings.samples,
        seed: this.settings.seed,
        governance: this.governance,
        sampling: { temperature: 1, maxNewTokens: this.settings.maxNewTokens },
      });
      const figures = figuresOf(checkpointId, report, this.settings.samples);
      this.figures.set(checkpointId, figures);
      return figures;
    } finally {
      policy.dispose();
    }
  }
}
