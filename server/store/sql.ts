// Every SQL statement of the SQLite store, in one place, so a PostgreSQL implementation can
// follow by translating this file (placeholders `?` → `$n`, REAL → double precision, TEXT JSON
// → jsonb, `INSERT OR IGNORE` → `ON CONFLICT DO NOTHING`, json_each → jsonb_array_elements_text).
//
// Rows are kept as JSON in `data`, beside the columns that are looked up, sorted or indexed.
// Every row carries `seq`: a server-wide, strictly increasing change number assigned when the
// row is written, which is the cursor of `GET /v1/sync/pull?after=SEQ`.

/** Applied in order, each once, each in its own transaction; never edit a shipped migration. */
export const MIGRATIONS: { version: number; name: string; up: string }[] = [
  {
    version: 1,
    name: 'initial schema',
    up: `
      CREATE TABLE rollouts (
        rollout_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        start_time REAL NOT NULL,
        seq INTEGER NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX rollouts_by_status ON rollouts (status);
      CREATE INDEX rollouts_by_seq ON rollouts (seq);

      CREATE TABLE attempts (
        rollout_id TEXT NOT NULL,
        attempt_id TEXT NOT NULL,
        sequence_id INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (rollout_id, attempt_id)
      );
      CREATE INDEX attempts_by_sequence ON attempts (rollout_id, sequence_id);
      CREATE INDEX attempts_by_seq ON attempts (seq);

      CREATE TABLE spans (
        rollout_id TEXT NOT NULL,
        attempt_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        sequence_id INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (rollout_id, attempt_id, span_id)
      );
      CREATE INDEX spans_by_seq ON spans (seq);

      CREATE TABLE rollout_queue (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        rollout_id TEXT NOT NULL UNIQUE
      );

      CREATE TABLE resources (
        resources_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX resources_by_seq ON resources (seq);

      CREATE TABLE workers (
        worker_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX workers_by_seq ON workers (seq);

      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );

      CREATE TABLE change_sequence (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        value INTEGER NOT NULL
      );
      INSERT INTO change_sequence (id, value) VALUES (1, 0);
    `,
  },
  {
    version: 2,
    name: 'rollouts ordered by start time',
    // Unfiltered listings page through this index instead of reading every rollout.
    up: 'CREATE INDEX rollouts_by_start_time ON rollouts (start_time, rollout_id);',
  },
];

export const SQL = {
  createMigrationsTable: `
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at REAL NOT NULL
    )`,
  appliedVersions: 'SELECT version FROM schema_migrations ORDER BY version',
  recordMigration: 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',

  getRollout: 'SELECT data FROM rollouts WHERE rollout_id = ?',
  listRollouts: 'SELECT data FROM rollouts',
  listRolloutsByStatus: 'SELECT data FROM rollouts WHERE status IN (SELECT value FROM json_each(?))',
  listRolloutsById: 'SELECT data FROM rollouts WHERE rollout_id IN (SELECT value FROM json_each(?))',
  pageRolloutsByStartAsc:
    'SELECT data FROM rollouts ORDER BY start_time ASC, rollout_id ASC LIMIT ? OFFSET ?',
  pageRolloutsByStartDesc:
    'SELECT data FROM rollouts ORDER BY start_time DESC, rollout_id DESC LIMIT ? OFFSET ?',
  pageRolloutsByIdAsc: 'SELECT data FROM rollouts ORDER BY rollout_id ASC LIMIT ? OFFSET ?',
  pageRolloutsByIdDesc: 'SELECT data FROM rollouts ORDER BY rollout_id DESC LIMIT ? OFFSET ?',
  putRollout: `
    INSERT INTO rollouts (rollout_id, status, start_time, seq, data) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (rollout_id) DO UPDATE SET
      status = excluded.status, start_time = excluded.start_time, seq = excluded.seq, data = excluded.data`,

  getAttempt: 'SELECT data FROM attempts WHERE rollout_id = ? AND attempt_id = ?',
  latestAttempts: `
    SELECT a.rollout_id AS rollout_id, a.data AS data FROM attempts a
    WHERE a.rollout_id IN (SELECT value FROM json_each(?))
      AND a.sequence_id = (SELECT MAX(b.sequence_id) FROM attempts b WHERE b.rollout_id = a.rollout_id)`,
  listAttempts: 'SELECT data FROM attempts WHERE rollout_id = ? ORDER BY sequence_id',
  putAttempt: `
    INSERT INTO attempts (rollout_id, attempt_id, sequence_id, seq, data) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (rollout_id, attempt_id) DO UPDATE SET
      sequence_id = excluded.sequence_id, seq = excluded.seq, data = excluded.data`,

  isQueued: 'SELECT 1 FROM rollout_queue WHERE rollout_id = ?',
  enqueue: 'INSERT OR IGNORE INTO rollout_queue (rollout_id) VALUES (?)',
  queueHead: 'SELECT position, rollout_id FROM rollout_queue ORDER BY position LIMIT ?',
  queueRemove: 'DELETE FROM rollout_queue WHERE position = ?',

  insertSpan: `
    INSERT OR IGNORE INTO spans (rollout_id, attempt_id, span_id, sequence_id, seq, data)
    VALUES (?, ?, ?, ?, ?, ?)`,
  listSpans: 'SELECT data FROM spans WHERE rollout_id = ?',
  listSpansOfAttempt: 'SELECT data FROM spans WHERE rollout_id = ? AND attempt_id = ?',

  getResources: 'SELECT data FROM resources WHERE resources_id = ?',
  listResources: 'SELECT data FROM resources',
  putResources: `
    INSERT INTO resources (resources_id, seq, data) VALUES (?, ?, ?)
    ON CONFLICT (resources_id) DO UPDATE SET seq = excluded.seq, data = excluded.data`,

  getWorker: 'SELECT data FROM workers WHERE worker_id = ?',
  listWorkers: 'SELECT data FROM workers',
  putWorker: `
    INSERT INTO workers (worker_id, seq, data) VALUES (?, ?, ?)
    ON CONFLICT (worker_id) DO UPDATE SET seq = excluded.seq, data = excluded.data`,

  getMeta: 'SELECT value FROM meta WHERE key = ?',
  setMeta: `
    INSERT INTO meta (key, value) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value`,

  readSequence: 'SELECT value FROM change_sequence WHERE id = 1',
  writeSequence: 'UPDATE change_sequence SET value = ? WHERE id = 1',

  countRollouts: 'SELECT COUNT(*) AS n FROM rollouts',
  countAttempts: 'SELECT COUNT(*) AS n FROM attempts',
  countSpans: 'SELECT COUNT(*) AS n FROM spans',
  countResources: 'SELECT COUNT(*) AS n FROM resources',
  countWorkers: 'SELECT COUNT(*) AS n FROM workers',
  countQueue: 'SELECT COUNT(*) AS n FROM rollout_queue',
  rolloutsByStatus: 'SELECT status, COUNT(*) AS n FROM rollouts GROUP BY status',

  /** Rows of every kind written after a sequence number, oldest change first. */
  changesSince: `
    SELECT kind, seq, data FROM (
      SELECT 'rollout' AS kind, seq, data FROM rollouts WHERE seq > @after
      UNION ALL SELECT 'attempt', seq, data FROM attempts WHERE seq > @after
      UNION ALL SELECT 'span', seq, data FROM spans WHERE seq > @after
      UNION ALL SELECT 'resources', seq, data FROM resources WHERE seq > @after
      UNION ALL SELECT 'worker', seq, data FROM workers WHERE seq > @after
    ) ORDER BY seq LIMIT @limit`,
} as const;
