// The review loop's own database (DIR/review.sqlite beside store.sqlite): which decisions the server
// has seen and in what order, which feedback items exist, the outbox of webhook deliveries, and how far
// through the store's change feed the resolver has read. It is a separate file, not tables in
// store.sqlite, because the store's connection holds its write lock across awaits: a second connection
// in this process that asked for the same lock would block the event loop the first one needs to commit.
// Every row here can be rebuilt from the store by reading its change feed again from 0, except the
// outbox's attempt counts and statuses, which the delivery spans in the store record as well.
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { OWNER_ONLY_DIR, OWNER_ONLY_FILE } from '../write-file-atomic';

const MIGRATIONS: { version: number; up: string }[] = [
  {
    version: 1,
    up: `
      CREATE TABLE feed_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
      INSERT INTO feed_cursor (id, seq) VALUES (1, 0);

      -- Feedback-item rollouts, so listings page without reading every rollout of the store.
      CREATE TABLE items (
        rollout_id TEXT PRIMARY KEY,
        item_id TEXT NOT NULL,
        submitted_at REAL NOT NULL
      );
      CREATE INDEX items_by_time ON items (submitted_at, rollout_id);

      -- Every well-formed decision span, once per decision id; seq is the store's change number of
      -- the span (its first write): the order the server received decisions in.
      CREATE TABLE decisions (
        decision_id TEXT PRIMARY KEY,
        rollout_id TEXT NOT NULL,
        attempt_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        received_at REAL NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX decisions_by_item ON decisions (rollout_id, seq);
      CREATE INDEX decisions_by_time ON decisions (received_at);

      -- One delivery per winning decision that sends a reply.
      CREATE TABLE outbox (
        decision_id TEXT PRIMARY KEY,
        rollout_id TEXT NOT NULL,
        delivery_id TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        last_http_status INTEGER,
        last_error TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
      );
      CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
    `,
  },
];

/** Opens (creating, owner-only) the review database; ':memory:' for a throwaway one. */
export function openReviewDatabase(path: string): Database.Database {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: OWNER_ONLY_DIR });
    // It holds approved replies and redacted feedback: owner-only from the first byte, like the store.
    closeSync(openSync(path, 'a', OWNER_ONLY_FILE));
    chmodSync(path, OWNER_ONLY_FILE);
  }
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  for (const m of MIGRATIONS) {
    if (m.version <= version) continue;
    db.transaction(() => {
      db.exec(m.up);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return db;
}
