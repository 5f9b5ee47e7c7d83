// Decided items as JSON Lines (GET /v1/replies/export): one line per item that has a ruling, in the
// order the server received the winning decisions, with what was decided and how its delivery went.
// Only what the store holds goes out: the REDACTED feedback, never the visitor's text.
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { type FeedbackItemInput, isFeedbackItem, SENDS_REPLY } from '../../shared/review/contract';
import type { LightningStore } from '../../shared/store/store';
import type { OutboxStatus } from './outbox';

/** A delivery's state in the export: the outbox's, or `none` for a decision that sends nothing. */
export const EXPORT_STATUSES = ['pending', 'retrying', 'delivered', 'failed', 'none'] as const;
export type ExportStatus = OutboxStatus | 'none';

/** `since`: epoch seconds or an ISO 8601 date, compared with when the server received the decision. */
const Since = z.union([
  z.coerce.number().finite().nonnegative(),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s) / 1000),
  z.iso.date().transform((s) => Date.parse(s) / 1000),
]);

export const ExportQuery = z.object({
  since: Since.optional(),
  status: z.enum(EXPORT_STATUSES).optional(),
});
export type ExportQuery = z.infer<typeof ExportQuery>;

export type ExportLine = {
  item_id: string;
  rollout_id: string;
  decision_id: string;
  /** The feedback as governance redacted it. */
  feedback: string;
  category: string | null;
  action: string;
  /** The reply sent (approve, edit, write); null for reject and spam. */
  reply: string | null;
  reason: string | null;
  reviewer: string;
  /** Epoch seconds, the reviewer's clock. */
  decided_at: number;
  /** Epoch seconds, the server's clock: when the resolver recorded the decision. */
  received_at: number;
  delivery_status: ExportStatus;
  delivery_attempts: number;
};

type WinnerRow = {
  decision_id: string;
  rollout_id: string;
  seq: number;
  received_at: number;
  data: string;
  delivery_status: OutboxStatus | null;
  delivery_attempts: number | null;
};

const PAGE = 200;

/** The export's lines (each without its newline), read a page of decisions at a time. */
export async function* exportLines(
  db: Database.Database,
  store: LightningStore,
  query: ExportQuery,
): AsyncGenerator<ExportLine> {
  // The winner of an item is its decision with the lowest seq (resolver.ts).
  const statement = db.prepare(`
    SELECT d.decision_id, d.rollout_id, d.seq, d.received_at, d.data,
           o.status AS delivery_status, o.attempts AS delivery_attempts
    FROM decisions d LEFT JOIN outbox o ON o.decision_id = d.decision_id
    WHERE d.seq = (SELECT MIN(x.seq) FROM decisions x WHERE x.rollout_id = d.rollout_id)
      AND d.seq > @after AND d.received_at >= @since
      AND (@status IS NULL OR COALESCE(o.status, 'none') = @status)
    ORDER BY d.seq LIMIT @limit`);
  let after = 0;
  for (;;) {
    const rows = statement.all({
      after,
      since: query.since ?? 0,
      status: query.status ?? null,
      limit: PAGE,
    }) as WinnerRow[];
    for (const row of rows) {
      const rollout = await store.getRolloutById(row.rollout_id);
      if (!rollout || !isFeedbackItem(rollout.input)) continue;
      const input = rollout.input as FeedbackItemInput;
      const decision = JSON.parse(row.data) as {
        action: string;
        reply?: string;
        reason?: string;
        reviewer: string;
        decidedAt: number;
      };
      yield {
        item_id: input.id,
        rollout_id: row.rollout_id,
        decision_id: row.decision_id,
        feedback: input.text,
        category: input.category ?? null,
        action: decision.action,
        reply: SENDS_REPLY.has(decision.action as never) ? (decision.reply ?? null) : null,
        reason: decision.reason ?? null,
        reviewer: decision.reviewer,
        decided_at: decision.decidedAt,
        received_at: row.received_at,
        delivery_status: row.delivery_status ?? 'none',
        delivery_attempts: row.delivery_attempts ?? 0,
      };
    }
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1].seq;
  }
}
