// Whose decision counts. Reviewers decide in their own labs, offline if need be, and their decision
// spans reach the server by sync (or POST /v1/items/{id}/decisions) in some order; the reviewers'
// clocks are not to be trusted with it. The rule: the first decision the SERVER RECEIVED for an item
// wins. "Received" is the store's change sequence: every row written to the SQLite store takes the next
// number of one server-wide counter inside the write's transaction, and a span is written once (a
// duplicate push is skipped and keeps its number), so a decision span's `seq` is exactly its place in
// arrival order, the same after a restart, and readable from the change feed the sync pull serves.
//
// The resolver reads that feed from where it stopped (a cursor in the review database), records each
// decision with its seq, and for every item that got one writes an `edgelight.review.outcome` span: the
// winner, its reviewer, and the decisions that lost. A later decision writes a new outcome span (its id
// derived from the winner and the number of losers), which sync brings to the losing lab. A winning
// decision that sends a reply is put in the outbox.
import type Database from 'better-sqlite3';
import { Mutex } from '../../shared/store/engine';
import type { GovernancePipeline } from '../../shared/governance/types';
import { replyFindings } from '../../shared/review/findings';
import {
  DECISION_SPAN,
  type FeedbackItemInput,
  isFeedbackItem,
  OUTCOME_ATTR,
  OUTCOME_SPAN,
  type ReviewDecision,
  readDecision,
  SENDS_REPLY,
} from '../../shared/review/contract';
import type { LightningStore } from '../../shared/store/store';
import type { Span } from '../../shared/store/types';
import type { ChangePage } from '../store/sqlite';
import type { Outbox } from './outbox';
import { childSpan, type DecisionPlace, derivedSpanId } from './spans';
import type { WebhookBody } from './webhook';

/** The store the resolver reads: the LightningStore plus the SQLite store's change feed. */
export type ReviewStore = LightningStore & {
  changesSince(after: number, limit: number): Promise<ChangePage>;
};

export type DecisionRow = DecisionPlace & {
  decision_id: string;
  seq: number;
  received_at: number;
  decision: ReviewDecision;
};

export type Ruling = {
  winner: DecisionRow;
  /** Decisions that arrived after the winner, in arrival order. */
  superseded: DecisionRow[];
};

type RawDecisionRow = DecisionPlace & { decision_id: string; seq: number; received_at: number; data: string };
const fromRaw = (r: RawDecisionRow): DecisionRow => ({
  rollout_id: r.rollout_id,
  attempt_id: r.attempt_id,
  span_id: r.span_id,
  trace_id: r.trace_id,
  decision_id: r.decision_id,
  seq: r.seq,
  received_at: r.received_at,
  decision: JSON.parse(r.data),
});

export type ResolverOptions = {
  db: Database.Database;
  store: ReviewStore;
  outbox: Outbox;
  /** Checks a winning reply again before it is queued (a lab may have sent one ungoverned). */
  governance: () => GovernancePipeline;
  /** Seconds since the epoch. */
  now?: () => number;
  /** Feed rows read per page. */
  pageSize?: number;
  log?: (message: string) => void;
};

export class ReviewResolver {
  private readonly mutex = new Mutex();
  private readonly db: Database.Database;
  private readonly store: ReviewStore;
  private readonly now: () => number;
  private readonly log: (message: string) => void;

  constructor(private readonly options: ResolverOptions) {
    this.db = options.db;
    this.store = options.store;
    this.now = options.now ?? (() => Date.now() / 1000);
    this.log = options.log ?? (() => {});
  }

  /** The change sequence read so far. */
  cursor(): number {
    return this.db.prepare('SELECT seq FROM feed_cursor WHERE id = 1').pluck().get() as number;
  }

  /**
   * Reads the change feed to its end, ruling on every item that got a decision. One pass at a time;
   * an aborted `signal` stops it between pages (shutdown during the first read of a large store).
   */
  catchUp(signal?: AbortSignal): Promise<number> {
    return this.mutex.run(async () => {
      let decisions = 0;
      for (;;) {
        if (signal?.aborted) return decisions;
        const page = await this.store.changesSince(this.cursor(), this.options.pageSize ?? 500);
        decisions += await this.readPage(page);
        this.db.prepare('UPDATE feed_cursor SET seq = ? WHERE id = 1').run(page.next);
        if (!page.has_more) return decisions;
      }
    });
  }

  private async readPage(page: ChangePage): Promise<number> {
    const putItem = this.db.prepare(
      `INSERT INTO items (rollout_id, item_id, submitted_at) VALUES (?, ?, ?)
       ON CONFLICT (rollout_id) DO UPDATE SET item_id = excluded.item_id, submitted_at = excluded.submitted_at`,
    );
    const affected = new Set<string>();
    let count = 0;
    for (const change of page.changes) {
      if (change.kind === 'rollout' && isFeedbackItem(change.row.input)) {
        const input = change.row.input as FeedbackItemInput;
        putItem.run(change.row.rollout_id, input.id, input.metadata.submitted_at);
      } else if (change.kind === 'span' && change.row.name === DECISION_SPAN) {
        if (await this.record(change.row, change.seq)) {
          affected.add(change.row.rollout_id);
          count++;
        }
      }
    }
    // Affected items are ruled on again even when the decision was already recorded (a replay after a
    // crash between recording and ruling): the outcome span and the outbox row are idempotent.
    for (const rolloutId of affected) await this.rule(rolloutId);
    return count;
  }

  /** Records a decision span; false when it is malformed or not on a feedback item. */
  private async record(span: Span, seq: number): Promise<boolean> {
    const decision = readDecision(span);
    if (!decision) {
      this.log(`review: ignored a malformed decision span ${span.span_id} on ${span.rollout_id}`);
      return false;
    }
    const rollout = await this.store.getRolloutById(span.rollout_id);
    if (!rollout || !isFeedbackItem(rollout.input)) {
      this.log(`review: ignored decision ${decision.id}: ${span.rollout_id} is not a feedback item`);
      return false;
    }
    const input = rollout.input as FeedbackItemInput;
    this.db
      .prepare(
        `INSERT INTO items (rollout_id, item_id, submitted_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
      )
      .run(rollout.rollout_id, input.id, input.metadata.submitted_at);
    // A decision id seen before (the same decision in a second span) keeps its first place.
    this.db
      .prepare(
        `INSERT OR IGNORE INTO decisions (decision_id, rollout_id, attempt_id, span_id, trace_id, seq,
           received_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        decision.id,
        span.rollout_id,
        span.attempt_id,
        span.span_id,
        span.trace_id,
        seq,
        this.now(),
        JSON.stringify(decision),
      );
    return true;
  }

  /** An item's decisions in arrival order. */
  decisionsOf(rolloutId: string): DecisionRow[] {
    return (
      this.db
        .prepare('SELECT * FROM decisions WHERE rollout_id = ? ORDER BY seq')
        .all(rolloutId) as RawDecisionRow[]
    ).map(fromRaw);
  }

  decision(decisionId: string): DecisionRow | null {
    const row = this.db.prepare('SELECT * FROM decisions WHERE decision_id = ?').get(decisionId) as
      | RawDecisionRow
      | undefined;
    return row ? fromRaw(row) : null;
  }

  /** The item's ruling, or null while it has no decision. */
  ruling(rolloutId: string): Ruling | null {
    const [winner, ...superseded] = this.decisionsOf(rolloutId);
    return winner ? { winner, superseded } : null;
  }

  private async rule(rolloutId: string): Promise<void> {
    const ruling = this.ruling(rolloutId);
    if (!ruling) return;
    const { winner, superseded } = ruling;
    const now = this.now();
    await this.store.addSpan(
      childSpan(
        winner,
        OUTCOME_SPAN,
        derivedSpanId('outcome', winner.decision_id, superseded.length),
        {
          [OUTCOME_ATTR.winner]: winner.decision_id,
          [OUTCOME_ATTR.winnerReviewer]: winner.decision.reviewer,
          [OUTCOME_ATTR.superseded]: superseded.map((d) => d.decision_id),
        },
        { start: now, end: now },
      ),
    );
    if (superseded.length > 0)
      this.log(
        `review: ${rolloutId} decided by ${winner.decision.reviewer} (${winner.decision_id}); ` +
          `${superseded.length} later decision(s) superseded`,
      );
    if (SENDS_REPLY.has(winner.decision.action) && !this.options.outbox.get(winner.decision_id))
      await this.queueDelivery(winner);
  }

  private async queueDelivery(winner: DecisionRow): Promise<void> {
    const rollout = await this.store.getRolloutById(winner.rollout_id);
    if (!rollout || !isFeedbackItem(rollout.input)) return;
    const input = rollout.input as FeedbackItemInput;
    const d = winner.decision;
    const reply = d.reply ?? '';
    const deliveryId = `dl-${d.id}`;
    const body: WebhookBody = {
      type: 'edgelight.reply',
      delivery_id: deliveryId,
      decision_id: d.id,
      item_id: input.id,
      rollout_id: winner.rollout_id,
      action: d.action,
      reply,
      feedback: input.text,
      category: input.category ?? null,
      reviewer: d.reviewer,
      decided_at: d.decidedAt,
    };
    // The lab governs a reply before it lets a reviewer send it; the server checks again, so a lab
    // that did not (an old build, a hand-made span) cannot send PII or a rule violation unnoticed.
    const findings = replyFindings(this.options.governance().govern(reply, 'response'));
    const refused =
      findings.length > 0 && !d.override
        ? `refused: the reply has governance findings (${findings.join(', ')}) and no override`
        : undefined;
    const added = this.options.outbox.enqueue({
      decisionId: d.id,
      rolloutId: winner.rollout_id,
      deliveryId,
      body: JSON.stringify(body),
      refused,
    });
    if (added && refused) {
      this.log(`review: ${d.id} not delivered: ${refused}`);
      await this.options.outbox.recordRefusal(winner, d.id, refused);
    }
  }
}
