// The public intake's one write: a visitor's feedback, governed BEFORE anything is stored, becomes a
// feedback item rollout (shared/review/contract.ts). What is kept is the redacted text, the PII types
// and governance's verdict; the submitted text lives only in this request's memory. The rollout is
// opened with store.startRollout (its own attempt, outside the FIFO queue training runners share) and
// handed to the drafter, which drafts replies with the served policy.
//
// A text governance BLOCKS is still stored (redacted, `metadata.verdict.decision = "block"`) so the
// reviewer sees spam and abuse and can mark it, but it is not drafted: no compute and no reply for it.
// (Today's rule set blocks only replies, never feedback; a custom rule set may block feedback.)
import { z } from 'zod';
import { FeedbackCategory } from '../../shared/agent/task';
import { loadNameData } from '../../shared/governance/pii/names';
import { createGovernancePipeline } from '../../shared/governance';
import type { GovernancePipeline } from '../../shared/governance/types';
import type { BlobStorage } from '../../shared/policy/checkpoint';
import {
  DECISION_SPAN,
  FEEDBACK_ITEM_KIND,
  FeedbackItemInput,
  intakeVerdictOf,
  OUTCOME_ATTR,
  OUTCOME_SPAN,
  readDecision,
  SENDS_REPLY,
} from '../../shared/review/contract';
import type { LightningStore } from '../../shared/store/store';
import type { AttemptedRollout, Rollout } from '../../shared/store/types';
import { ensureServed, readServed } from '../serving/served';
import { bodyFingerprint, type Claim, IdempotencyLedger, idempotencyLookup } from './idempotency';
import type { IntakeKey, IntakeKeyConfig } from './keys';
import { IntakeKeys } from './keys';
import { AdmissionQueue, QueueFullError } from './queue';

export const MAX_FEEDBACK_CHARS = 5000;

/** What a visitor sends (JSON, or the same fields of a form post). */
export const FeedbackSubmission = z.strictObject({
  text: z
    .string()
    .trim()
    .min(1, 'text is empty')
    .max(MAX_FEEDBACK_CHARS, `text is longer than ${MAX_FEEDBACK_CHARS} characters`),
  category: FeedbackCategory.optional(),
  /** The page the feedback is about; kept as origin + path only (a query string may carry anything). */
  page: z.string().max(2048).optional(),
  locale: z
    .string()
    .max(35)
    .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}$/, 'locale is a language tag such as en or en-GB')
    .optional(),
});
export type FeedbackSubmission = z.infer<typeof FeedbackSubmission>;

/** What the visitor's status URL answers: nothing of the text, nothing of the review. */
export const ITEM_STATUSES = ['received', 'drafting', 'awaiting review', 'replied', 'rejected'] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];
export type ItemStatusView = { id: string; status: ItemStatus; received_at: string };

/** Rollout metadata key of an item's idempotency record (hashes only; see idempotency.ts). */
export const IDEMPOTENCY_METADATA = 'edgelight_intake_idempotency';
/** Rollout metadata key the drafter sets when it did not draft an item (governance blocked it). */
export const DRAFTING_METADATA = 'edgelight_intake_drafting';
/**
 * The item id a rollout carries between its creation and the update that writes its rollout id into
 * the input (the store names rollouts); the drafter repairs one a crash left in between.
 */
export const PROVISIONAL_ITEM_ID = 'pending';

export interface IntakeLimits {
  /** Largest request body in bytes (default 16 KiB). */
  maxBodyBytes: number;
  /** Sustained posts per second per client address and intake key (default 1). */
  perSecond: number;
  /** Posts a client may send at once (default 5). */
  burst: number;
  /** Submissions that may wait for governance behind the one being governed (default 64). */
  queueCapacity: number;
  /** Items accepted and not yet drafted past which new ones are refused with 429 (default 1000). */
  maxBacklog: number;
}

export const DEFAULT_INTAKE_LIMITS: IntakeLimits = {
  maxBodyBytes: 16 * 1024,
  perSecond: 1,
  burst: 5,
  queueCapacity: 64,
  maxBacklog: 1000,
};

/** What the intake needs of the drafter (drafter.ts); absent with `serve --drafting off`. */
export interface DraftingQueue {
  enqueue(rolloutId: string): void;
  /** Items accepted and not yet drafted (the one being drafted included). */
  readonly backlog: number;
  retryAfterSeconds(): number;
}

export interface FeedbackIntakeOptions {
  store: LightningStore;
  /** Checkpoint blobs: the served policy is imported into them on a fresh server. */
  checkpoints: BlobStorage;
  keys: readonly IntakeKeyConfig[];
  governance?: GovernancePipeline;
  limits?: Partial<IntakeLimits>;
  drafter?: DraftingQueue | null;
  now?: () => number;
}

export type AcceptResult = { id: string; replayed: boolean };

export class IdempotencyConflictError extends Error {}

export class FeedbackIntake {
  readonly keys: IntakeKeys;
  readonly limits: IntakeLimits;
  readonly governance: GovernancePipeline;
  private readonly queue: AdmissionQueue;
  private readonly ledger: IdempotencyLedger;
  private readonly now: () => number;
  private served: { resourcesId: string; checkedAt: number } | null = null;
  drafter: DraftingQueue | null;

  private constructor(private readonly options: FeedbackIntakeOptions) {
    this.keys = new IntakeKeys(options.keys);
    this.limits = { ...DEFAULT_INTAKE_LIMITS, ...options.limits };
    this.governance = options.governance ?? createGovernancePipeline();
    this.queue = new AdmissionQueue(this.limits.queueCapacity);
    this.now = options.now ?? (() => Date.now() / 1000);
    this.ledger = new IdempotencyLedger(this.now);
    this.drafter = options.drafter ?? null;
  }

  /**
   * Loads the name data and governance's models (the first govern costs hundreds of ms), makes sure a
   * policy is served, and rebuilds the idempotency ledger from the last day's items.
   */
  static async open(options: FeedbackIntakeOptions): Promise<FeedbackIntake> {
    if (options.keys.length === 0) throw new Error('the intake needs at least one intake key');
    await loadNameData();
    const intake = new FeedbackIntake(options);
    intake.governance.govern('Warming up: Anna Berg, anna@example.com.', 'feedback');
    await intake.servedResourcesId();
    await intake.rebuildLedger();
    return intake;
  }

  /** The served resources update new items point at (re-read at most every 5 s: promotions are rare). */
  private async servedResourcesId(): Promise<string> {
    const t = this.now();
    if (this.served && t - this.served.checkedAt < 5) return this.served.resourcesId;
    const served =
      (await readServed(this.options.store)) ??
      (await ensureServed(this.options.store, this.options.checkpoints));
    this.served = { resourcesId: served.resourcesId, checkedAt: t };
    return served.resourcesId;
  }

  /** The admission state, for a 429's Retry-After. */
  private capacityError(): QueueFullError | null {
    const drafter = this.drafter;
    if (drafter && drafter.backlog >= this.limits.maxBacklog)
      return new QueueFullError(Math.min(3600, drafter.retryAfterSeconds()));
    return null;
  }

  /**
   * Governs and stores one submission. Throws QueueFullError past capacity (nothing stored) and
   * IdempotencyConflictError for a reused idempotency key with another body.
   */
  async accept(
    submission: FeedbackSubmission,
    key: IntakeKey,
    source: 'form' | 'api',
    idempotencyKey?: string,
  ): Promise<AcceptResult> {
    let claim: Claim | null = null;
    let lookup: string | null = null;
    let fingerprint: string | null = null;
    if (idempotencyKey !== undefined) {
      lookup = idempotencyLookup(key.name, idempotencyKey);
      const canonical = JSON.stringify([
        submission.text,
        submission.category ?? null,
        submission.page ?? null,
        submission.locale ?? null,
      ]);
      fingerprint = bodyFingerprint(idempotencyKey, canonical);
      claim = this.ledger.claim(lookup, fingerprint);
      if (claim.kind === 'conflict')
        throw new IdempotencyConflictError('this Idempotency-Key was used with a different body');
      if (claim.kind === 'replay') {
        try {
          return { id: await claim.itemId, replayed: true };
        } catch {
          // The first request failed (capacity, storage): this one is a fresh attempt.
          return this.accept(submission, key, source, idempotencyKey);
        }
      }
    }
    try {
      const full = this.capacityError();
      if (full) throw full;
      const rollout = await this.queue.run(() =>
        this.store(submission, key, source, lookup && fingerprint ? { lookup, fingerprint } : null),
      );
      if (claim?.kind === 'new') claim.settle(rollout.rollout_id);
      this.drafter?.enqueue(rollout.rollout_id);
      return { id: rollout.rollout_id, replayed: false };
    } catch (error) {
      if (claim?.kind === 'new') claim.fail();
      throw error;
    }
  }

  /** Governance, then the two writes: the rollout, then its input with the item id the store gave it. */
  private async store(
    submission: FeedbackSubmission,
    key: IntakeKey,
    source: 'form' | 'api',
    idempotency: { lookup: string; fingerprint: string } | null,
  ): Promise<AttemptedRollout> {
    const verdict = this.governance.govern(submission.text, 'feedback');
    const page = this.keptPage(submission.page);
    // Parsed, so what is stored is exactly what the Inbox and the feedback agent read back.
    const input: FeedbackItemInput = FeedbackItemInput.parse({
      id: PROVISIONAL_ITEM_ID,
      kind: FEEDBACK_ITEM_KIND,
      text: verdict.redacted,
      ...(submission.category ? { category: submission.category } : {}),
      ...(submission.locale ? { locale: submission.locale } : {}),
      metadata: {
        submitted_at: this.now(),
        source,
        intake: key.name,
        verdict: intakeVerdictOf(verdict),
        ...(page ? { page } : {}),
      },
    });
    const store = this.options.store;
    const rollout = await store.startRollout({
      input,
      resources_id: await this.servedResourcesId(),
      metadata: idempotency
        ? { [IDEMPOTENCY_METADATA]: { lookup: idempotency.lookup, fingerprint: idempotency.fingerprint } }
        : {},
    });
    const withId = { ...input, id: rollout.rollout_id };
    await store.updateRollout(rollout.rollout_id, { input: withId });
    return { ...rollout, input: withId };
  }

  /** The page as origin + path, and not at all when it does not parse or governance finds PII in it. */
  private keptPage(page: string | undefined): string | undefined {
    if (!page) return undefined;
    let kept: string;
    try {
      const url = new URL(page);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
      kept = `${url.origin}${url.pathname}`;
    } catch {
      return undefined;
    }
    return this.governance.govern(decodeURIComponentSafe(kept), 'feedback').pii.length > 0 ? undefined : kept;
  }

  /** The visitor-facing status of item `id`; null when no feedback item has that id. */
  async status(id: string): Promise<ItemStatusView | null> {
    const store = this.options.store;
    const rollout = await store.getRolloutById(id);
    if (!rollout || !isItemRollout(rollout)) return null;
    const input = rollout.input as FeedbackItemInput;
    const receivedAt = new Date(input.metadata.submitted_at * 1000).toISOString();
    return { id, status: await this.statusOf(rollout), received_at: receivedAt };
  }

  private async statusOf(rollout: Rollout): Promise<ItemStatus> {
    const store = this.options.store;
    const [outcomes, decisions] = await Promise.all([
      store.querySpans({ rollout_id: rollout.rollout_id, name: OUTCOME_SPAN }),
      store.querySpans({ rollout_id: rollout.rollout_id, name: DECISION_SPAN }),
    ]);
    // The server's ruling names the decision that counts; before it, the first decision in server order.
    const winnerId = outcomes.items
      .map((s) => s.attributes[OUTCOME_ATTR.winner])
      .find((w): w is string => typeof w === 'string');
    const parsed = decisions.items.map((s) => readDecision(s)).filter((d) => d !== null);
    const decision = (winnerId ? parsed.find((d) => d.id === winnerId) : undefined) ?? parsed[0];
    if (decision) return SENDS_REPLY.has(decision.action) ? 'replied' : 'rejected';
    switch (rollout.status) {
      case 'queuing':
      case 'requeuing':
      case 'preparing':
        return 'received';
      case 'running':
        return 'drafting';
      default:
        return 'awaiting review';
    }
  }

  /** Refills the idempotency ledger from items of the last day (newest first, stopping at the cutoff). */
  private async rebuildLedger(): Promise<void> {
    const cutoff = this.now() - 24 * 60 * 60;
    for (let offset = 0; ; offset += 500) {
      const page = await this.options.store.queryRollouts({
        sort_by: 'start_time',
        sort_order: 'desc',
        limit: 500,
        offset,
      });
      for (const rollout of page.items) {
        if (rollout.start_time < cutoff) return;
        const record = rollout.metadata?.[IDEMPOTENCY_METADATA] as
          | { lookup?: unknown; fingerprint?: unknown }
          | undefined;
        if (
          isItemRollout(rollout) &&
          typeof record?.lookup === 'string' &&
          typeof record.fingerprint === 'string'
        )
          this.ledger.remember(record.lookup, record.fingerprint, rollout.rollout_id, rollout.start_time);
      }
      if (page.items.length < 500) return;
    }
  }
}

/** A feedback item's rollout (its input's kind), without validating the whole input. */
export function isItemRollout(rollout: Pick<Rollout, 'input'>): boolean {
  const input = rollout.input as { kind?: unknown } | null;
  return typeof input === 'object' && input !== null && input.kind === FEEDBACK_ITEM_KIND;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export { QueueFullError };
