import { z } from 'zod';
import { ImportResult, StoreId, StoreRecords } from '../store/types';

// The sync protocol between a browser (or Node) store and an edgelight server.
//
//   POST /v1/sync/push   {client_id, batch_id, records}  → {batch_id, written, skipped, seq}
//   GET  /v1/sync/pull?after=SEQ&limit=N                 → {records, next, has_more}
//
// Pushes carry whole rows and the server imports them in one transaction, idempotently by id
// (a row never moves backwards), so a replayed, duplicated or reordered batch converges. The pull
// cursor is a server-assigned sequence: every row the server writes gets the next number.

export const MAX_PUSH_ROWS = 5000;
export const MAX_PULL_LIMIT = 5000;

export const PushRequest = z.object({
  /** Which browser/runner pushes; only for the server's log. */
  client_id: StoreId,
  /** Chosen by the client per batch and reused on every retry of it. */
  batch_id: z.string().min(1).max(200),
  records: StoreRecords,
});
export type PushRequest = z.input<typeof PushRequest>;

export const PushResponse = ImportResult.extend({
  batch_id: z.string(),
  /** The server's sequence after this batch was committed. */
  seq: z.number().int().min(0),
});
export type PushResponse = z.infer<typeof PushResponse>;

export const PullQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_PULL_LIMIT).default(500),
});
export type PullQuery = z.infer<typeof PullQuery>;

export const PullResponse = z.object({
  records: StoreRecords,
  /** Pass as `after` next time: the highest sequence included (or `after` when nothing was new). */
  next: z.number().int().min(0),
  has_more: z.boolean(),
});
export type PullResponse = z.infer<typeof PullResponse>;

/** How many rows a batch holds, for limits and logs. */
export function rowCount(records: z.input<typeof StoreRecords>): number {
  return (
    (records.rollouts?.length ?? 0) +
    (records.attempts?.length ?? 0) +
    (records.spans?.length ?? 0) +
    (records.resources?.length ?? 0) +
    (records.workers?.length ?? 0)
  );
}
