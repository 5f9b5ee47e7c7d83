// The durable outbox of webhook deliveries: one row per winning decision that sends a reply, keyed on
// the decision id, so a restart, a replayed change feed or a duplicate sync never makes a second
// delivery. A due row is POSTed; a transient failure is tried again after an exponential, jittered
// backoff (base, 2×base, 4×base, ... capped; never sooner than a 429/503's Retry-After) until it is
// delivered or has used its attempts (`failed`). Every attempt is also an `edgelight.delivery` span on
// the item's rollout, which sync carries to the labs: the Inbox's delivery log.
//
// Delivery is at least once: a crash after the receiver answered and before the row was updated sends
// that attempt again after the restart, with the same X-Edgelight-Delivery id (receivers dedupe on it).
import type Database from 'better-sqlite3';
import { DELIVERY_ATTR, DELIVERY_SPAN, type DeliveryStatus } from '../../shared/review/contract';
import type { LightningStore } from '../../shared/store/store';
import { childSpan, type DecisionPlace, derivedSpanId } from './spans';
import { type AttemptResult, postWebhook, type WebhookConfig } from './webhook';

/** `pending`: not tried yet (or no webhook configured); the rest as the delivery spans say. */
export type OutboxStatus = 'pending' | DeliveryStatus;

export type RetryPolicy = {
  /** Attempts before a delivery is `failed` (default 12). */
  maxAttempts: number;
  /** The first retry's delay; each next one doubles (default 1000 ms). */
  baseDelayMs: number;
  /** The longest delay between attempts, Retry-After included (default 1 h). */
  maxDelayMs: number;
};

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 12,
  baseDelayMs: 1000,
  maxDelayMs: 3_600_000,
};

/** The wait after failed attempt `attempt` (1-based): base·2^(attempt−1), × 0.5–1.5 jitter, capped. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponential = policy.baseDelayMs * 2 ** Math.min(attempt - 1, 40);
  // Jitter, so deliveries a receiver's outage failed together do not all return in the same second.
  return Math.min(policy.maxDelayMs, exponential * (0.5 + random()));
}

export type OutboxRow = {
  decision_id: string;
  rollout_id: string;
  delivery_id: string;
  body: string;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: number;
  last_http_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
};

type PlacedRow = OutboxRow & Omit<DecisionPlace, 'rollout_id'>;

export type OutboxOptions = {
  db: Database.Database;
  store: LightningStore;
  retry?: Partial<RetryPolicy>;
  /** Milliseconds since the epoch (tests may pin it). */
  now?: () => number;
  random?: () => number;
  /** Deliveries sent at the same time (default 4). */
  concurrency?: number;
  log?: (message: string) => void;
};

export class Outbox {
  readonly retry: RetryPolicy;
  private readonly db: Database.Database;
  private readonly store: LightningStore;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly concurrency: number;
  private readonly log: (message: string) => void;
  private readonly inFlight = new Set<string>();

  constructor(options: OutboxOptions) {
    this.db = options.db;
    this.store = options.store;
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    if (!Number.isInteger(this.retry.maxAttempts) || this.retry.maxAttempts < 1)
      throw new Error(`maxAttempts must be a positive integer, got ${this.retry.maxAttempts}`);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.concurrency = options.concurrency ?? 4;
    this.log = options.log ?? (() => {});
  }

  /**
   * Adds a delivery unless the decision already has one (idempotent on the decision id). `refused`
   * records a delivery the server will not make (a reply with governance findings and no override):
   * it is `failed` at once, with the reason, and never sent.
   */
  enqueue(entry: {
    decisionId: string;
    rolloutId: string;
    deliveryId: string;
    body: string;
    refused?: string;
  }): boolean {
    const now = this.now() / 1000;
    const result = this.db
      .prepare(
        `INSERT OR IGNORE INTO outbox (decision_id, rollout_id, delivery_id, body, status, attempts,
           next_attempt_at, last_error, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
      )
      .run(
        entry.decisionId,
        entry.rolloutId,
        entry.deliveryId,
        entry.body,
        entry.refused ? 'failed' : 'pending',
        now,
        entry.refused ?? null,
        now,
        now,
      );
    return result.changes === 1;
  }

  get(decisionId: string): OutboxRow | null {
    return (
      (this.db.prepare('SELECT * FROM outbox WHERE decision_id = ?').get(decisionId) as OutboxRow) ?? null
    );
  }

  /** When the next pending or retrying delivery is due (ms since the epoch), or null when none is. */
  nextDueAt(): number | null {
    const at = this.db
      .prepare(`SELECT MIN(next_attempt_at) FROM outbox WHERE status IN ('pending', 'retrying')`)
      .pluck()
      .get() as number | null;
    return at === null ? null : at * 1000;
  }

  /** Sends every delivery that is due now, `concurrency` at a time; resolves when they are recorded. */
  async deliverDue(webhook: WebhookConfig, signal?: AbortSignal): Promise<number> {
    let sent = 0;
    for (;;) {
      if (signal?.aborted) return sent;
      const due = this.db
        .prepare(
          `SELECT o.*, d.attempt_id, d.span_id, d.trace_id FROM outbox o
           JOIN decisions d ON d.decision_id = o.decision_id
           WHERE o.status IN ('pending', 'retrying') AND o.next_attempt_at <= ?
           ORDER BY o.next_attempt_at LIMIT ?`,
        )
        .all(this.now() / 1000, this.concurrency + this.inFlight.size) as PlacedRow[];
      const batch = due.filter((row) => !this.inFlight.has(row.decision_id)).slice(0, this.concurrency);
      if (batch.length === 0) return sent;
      await Promise.all(batch.map((row) => this.attempt(row, webhook, signal)));
      sent += batch.length;
    }
  }

  private async attempt(row: PlacedRow, webhook: WebhookConfig, signal?: AbortSignal): Promise<void> {
    this.inFlight.add(row.decision_id);
    try {
      const attempt = row.attempts + 1;
      const started = this.now() / 1000;
      let result: AttemptResult;
      try {
        result = await postWebhook(
          webhook,
          { body: row.body, deliveryId: row.delivery_id, attempt, maxRetryAfterMs: this.retry.maxDelayMs },
          signal,
        );
      } catch (error) {
        // Aborted by shutdown: nothing is recorded, the attempt is made again after the restart.
        if (signal?.aborted) return;
        throw error;
      }
      const ended = this.now() / 1000;
      let status: DeliveryStatus;
      let nextAt = ended;
      if (result.ok) status = 'delivered';
      else if (!result.transient || attempt >= this.retry.maxAttempts) status = 'failed';
      else {
        status = 'retrying';
        nextAt = ended + Math.max(backoffMs(attempt, this.retry, this.random), result.retryAfterMs) / 1000;
      }
      this.db
        .prepare(
          `UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_http_status = ?,
             last_error = ?, updated_at = ? WHERE decision_id = ?`,
        )
        .run(
          status,
          attempt,
          nextAt,
          result.httpStatus,
          result.ok ? null : result.error,
          ended,
          row.decision_id,
        );
      this.log(
        `delivery ${row.delivery_id} attempt ${attempt}: ${status}${result.ok ? '' : ` (${result.error})`}`,
      );
      await this.recordSpan(row, attempt, status, result, { start: started, end: ended, nextAt });
    } finally {
      this.inFlight.delete(row.decision_id);
    }
  }

  /** The attempt as an `edgelight.delivery` span on the item's rollout (the Inbox's delivery log). */
  private async recordSpan(
    row: PlacedRow,
    attempt: number,
    status: DeliveryStatus,
    result: AttemptResult,
    times: { start: number; end: number; nextAt: number },
  ): Promise<void> {
    const attributes: Record<string, string | number> = {
      [DELIVERY_ATTR.decision]: row.decision_id,
      [DELIVERY_ATTR.attempt]: attempt,
      [DELIVERY_ATTR.status]: status,
    };
    if (result.httpStatus !== null) attributes[DELIVERY_ATTR.httpStatus] = result.httpStatus;
    if (!result.ok) attributes[DELIVERY_ATTR.error] = result.error;
    if (status === 'retrying') attributes[DELIVERY_ATTR.nextAttemptAt] = times.nextAt;
    const span = childSpan(
      { ...row, rollout_id: row.rollout_id },
      DELIVERY_SPAN,
      derivedSpanId('delivery', row.decision_id, attempt),
      attributes,
      { start: times.start, end: times.end, error: result.ok ? undefined : result.error },
    );
    try {
      await this.store.addSpan(span);
    } catch (error) {
      // The outbox row is the record that counts; a store that refused the span only loses a log line.
      this.log(
        `delivery ${row.delivery_id}: could not record attempt ${attempt}: ${(error as Error).message}`,
      );
    }
  }

  /** A delivery refused before sending, as a `failed` span (attempt 0: nothing went out). */
  async recordRefusal(place: DecisionPlace, decisionId: string, reason: string): Promise<void> {
    const now = this.now() / 1000;
    await this.store.addSpan(
      childSpan(
        place,
        DELIVERY_SPAN,
        derivedSpanId('delivery', decisionId, 0),
        {
          [DELIVERY_ATTR.decision]: decisionId,
          [DELIVERY_ATTR.attempt]: 0,
          [DELIVERY_ATTR.status]: 'failed',
          [DELIVERY_ATTR.error]: reason,
        },
        { start: now, end: now, error: reason },
      ),
    );
  }
}
