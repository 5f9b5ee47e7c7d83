import { Hono } from 'hono';
import { MAX_PUSH_ROWS, PullQuery, PushRequest, rowCount } from '../../shared/sync/protocol';
import type { ImportResult, StoreRecordsInput } from '../../shared/store/types';
import { type ChangePage, changesToRecords } from '../store/sqlite';
import { ApiError } from '../middleware/errors';
import { readJson, readQuery } from '../middleware/validate';

/** What the sync routes need from the server's store (SqliteLightningStore provides it). */
export interface SyncServerStore {
  /** Imports a batch in one transaction, idempotently by id; `seq` is the sequence after it. */
  upsertMany(records: StoreRecordsInput): Promise<ImportResult & { seq: number }>;
  changesSince(after: number, limit: number): Promise<ChangePage>;
}

/**
 * `POST /v1/sync/push` and `GET /v1/sync/pull`. A push is acknowledged (200) only after its
 * transaction committed; a client that saw no answer sends the batch again, which changes nothing
 * the second time.
 */
export function syncRoutes(store: SyncServerStore, log: (message: string) => void = () => {}) {
  const app = new Hono();

  app.post('/push', async (c) => {
    const push = await readJson(c, PushRequest);
    const rows = rowCount(push.records);
    if (rows > MAX_PUSH_ROWS) {
      throw new ApiError(
        413,
        'payload_too_large',
        `a push carries at most ${MAX_PUSH_ROWS} rows, got ${rows}`,
        {
          max_rows: MAX_PUSH_ROWS,
        },
      );
    }
    const result = await store.upsertMany(push.records);
    log(
      `sync push ${push.client_id} ${push.batch_id}: ${rows} rows, ${result.skipped} skipped, seq ${result.seq}`,
    );
    return c.json({
      batch_id: push.batch_id,
      written: result.written,
      skipped: result.skipped,
      seq: result.seq,
    });
  });

  app.get('/pull', async (c) => {
    const { after, limit } = readQuery(c, PullQuery);
    const page = await store.changesSince(after, limit);
    return c.json({ records: changesToRecords(page.changes), next: page.next, has_more: page.has_more });
  });

  return app;
}
