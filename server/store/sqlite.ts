// The server's durable store: SQLite through better-sqlite3 (WAL, prepared statements,
// migrations) behind the shared engine, so its semantics are exactly those of the memory and
// Dexie stores. All SQL lives in ./sql.ts.
//
// Beyond the LightningStore contract it offers what sync needs: every written row gets a
// server-wide sequence number (`seq`), `changesSince(seq, limit)` pages through rows of all
// kinds in write order, and `upsertMany(records)` imports pushed rows idempotently by id.

import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { RowCounts, StoreBackend, StoreTx } from '../../shared/store/backend';
import { EngineLightningStore, type EngineOptions, Mutex, parseInput } from '../../shared/store/engine';
import { StoreError } from '../../shared/store/errors';
import type {
  Attempt,
  ImportResult,
  ResourcesUpdate,
  Rollout,
  RolloutStatus,
  Span,
  StoreRecords,
  StoreRecordsInput,
  Worker,
} from '../../shared/store/types';
import { StoreRecords as StoreRecordsSchema } from '../../shared/store/types';
import { MIGRATIONS, SQL } from './sql';
import { OWNER_ONLY_DIR, OWNER_ONLY_FILE } from '../write-file-atomic';

type Statements = { [K in keyof typeof SQL]: Database.Statement };

export type StoreChangeKind = 'rollout' | 'attempt' | 'span' | 'resources' | 'worker';
/** One row as of its latest write; a row written twice appears once, at its newest `seq`. */
export type StoreChange =
  | { kind: 'rollout'; seq: number; row: Rollout }
  | { kind: 'attempt'; seq: number; row: Attempt }
  | { kind: 'span'; seq: number; row: Span }
  | { kind: 'resources'; seq: number; row: ResourcesUpdate }
  | { kind: 'worker'; seq: number; row: Worker };

export type ChangePage = {
  changes: StoreChange[];
  /** The cursor for the next call: the highest `seq` returned, or `after` when nothing was new. */
  next: number;
  has_more: boolean;
};

/** Groups changes by kind, keeping their order, as the sync protocol's `records` carry them. */
export function changesToRecords(changes: StoreChange[]): StoreRecords {
  const records: StoreRecords = { rollouts: [], attempts: [], spans: [], resources: [], workers: [] };
  for (const c of changes) {
    if (c.kind === 'rollout') records.rollouts.push(c.row);
    else if (c.kind === 'attempt') records.attempts.push(c.row);
    else if (c.kind === 'span') records.spans.push(c.row);
    else if (c.kind === 'resources') records.resources.push(c.row);
    else records.workers.push(c.row);
  }
  return records;
}

const parse = <T>(json: string | undefined): T | undefined =>
  json === undefined ? undefined : JSON.parse(json);

class SqliteTables implements StoreTx {
  /** The next change number to hand out; read lazily, written back once at commit. */
  private nextSeq: number | null = null;

  constructor(private readonly s: Statements) {}

  private seq(): number {
    if (this.nextSeq === null) this.nextSeq = (this.s.readSequence.pluck().get() as number) + 1;
    return this.nextSeq++;
  }

  /** The highest change number written so far, including this transaction's writes. */
  lastSeq(): number {
    return this.nextSeq === null ? (this.s.readSequence.pluck().get() as number) : this.nextSeq - 1;
  }

  /** Persists the change counter; called just before COMMIT. */
  flush(): void {
    if (this.nextSeq !== null) this.s.writeSequence.run(this.nextSeq - 1);
  }

  async getRollout(id: string) {
    return parse<Rollout>(this.s.getRollout.pluck().get(id) as string | undefined);
  }
  async listRollouts(
    filter: { status_in?: readonly RolloutStatus[]; rollout_id_in?: readonly string[] } = {},
  ) {
    const rows = filter.rollout_id_in
      ? this.s.listRolloutsById.pluck().all(JSON.stringify(filter.rollout_id_in))
      : filter.status_in
        ? this.s.listRolloutsByStatus.pluck().all(JSON.stringify(filter.status_in))
        : this.s.listRollouts.pluck().all();
    const rollouts = (rows as string[]).map((r) => JSON.parse(r) as Rollout);
    const statuses = filter.status_in;
    return statuses ? rollouts.filter((r) => statuses.includes(r.status)) : rollouts;
  }
  async pageRollouts(
    sortBy: 'start_time' | 'rollout_id',
    order: 'asc' | 'desc',
    offset: number,
    limit: number,
  ) {
    const stmt =
      sortBy === 'start_time'
        ? order === 'asc'
          ? this.s.pageRolloutsByStartAsc
          : this.s.pageRolloutsByStartDesc
        : order === 'asc'
          ? this.s.pageRolloutsByIdAsc
          : this.s.pageRolloutsByIdDesc;
    // SQLite reads a negative LIMIT as "no limit", which is what -1 means here.
    const rows = stmt.pluck().all(limit, offset) as string[];
    return {
      rows: rows.map((r) => JSON.parse(r) as Rollout),
      total: this.s.countRollouts.pluck().get() as number,
    };
  }
  async putRollouts(rows: Rollout[]) {
    for (const r of rows)
      this.s.putRollout.run(r.rollout_id, r.status, r.start_time, this.seq(), JSON.stringify(r));
  }

  async getAttempt(rolloutId: string, attemptId: string) {
    return parse<Attempt>(this.s.getAttempt.pluck().get(rolloutId, attemptId) as string | undefined);
  }
  async getLatestAttempts(rolloutIds: readonly string[]) {
    const out = new Map<string, Attempt>();
    if (rolloutIds.length === 0) return out;
    const rows = this.s.latestAttempts.all(JSON.stringify(rolloutIds)) as {
      rollout_id: string;
      data: string;
    }[];
    for (const row of rows) out.set(row.rollout_id, JSON.parse(row.data));
    return out;
  }
  async listAttempts(rolloutId: string) {
    return (this.s.listAttempts.pluck().all(rolloutId) as string[]).map((r) => JSON.parse(r) as Attempt);
  }
  async putAttempts(rows: Attempt[]) {
    for (const a of rows) {
      this.s.putAttempt.run(a.rollout_id, a.attempt_id, a.sequence_id, this.seq(), JSON.stringify(a));
    }
  }

  async enqueue(ids: readonly string[]) {
    for (const id of ids) this.s.enqueue.run(id);
  }
  async dequeue(limit: number) {
    const head = this.s.queueHead.all(limit) as { position: number; rollout_id: string }[];
    for (const q of head) this.s.queueRemove.run(q.position);
    return head.map((q) => q.rollout_id);
  }

  async insertSpans(spans: Span[]) {
    const inserted: Span[] = [];
    for (const sp of spans) {
      const json = JSON.stringify(sp);
      // A sequence number is taken only when the row is really inserted, so `seq` stays gap-free
      // enough to page through and never points at a skipped duplicate.
      const seq = this.seq();
      const result = this.s.insertSpan.run(
        sp.rollout_id,
        sp.attempt_id,
        sp.span_id,
        sp.sequence_id,
        seq,
        json,
      );
      if (result.changes === 1) inserted.push(sp);
      else this.nextSeq = seq;
    }
    return inserted;
  }
  async listSpans(rolloutId: string, attemptId: string | null) {
    const rows =
      attemptId === null
        ? this.s.listSpans.pluck().all(rolloutId)
        : this.s.listSpansOfAttempt.pluck().all(rolloutId, attemptId);
    return (rows as string[]).map((r) => JSON.parse(r) as Span);
  }

  async getResources(id: string) {
    return parse<ResourcesUpdate>(this.s.getResources.pluck().get(id) as string | undefined);
  }
  async putResources(rows: ResourcesUpdate[]) {
    for (const r of rows) this.s.putResources.run(r.resources_id, this.seq(), JSON.stringify(r));
  }
  async listResources() {
    return (this.s.listResources.pluck().all() as string[]).map((r) => JSON.parse(r) as ResourcesUpdate);
  }

  async getWorker(id: string) {
    return parse<Worker>(this.s.getWorker.pluck().get(id) as string | undefined);
  }
  async putWorkers(rows: Worker[]) {
    for (const w of rows) this.s.putWorker.run(w.worker_id, this.seq(), JSON.stringify(w));
  }
  async listWorkers() {
    return (this.s.listWorkers.pluck().all() as string[]).map((r) => JSON.parse(r) as Worker);
  }

  async getMeta(key: string) {
    return parse<unknown>(this.s.getMeta.pluck().get(key) as string | undefined);
  }
  async setMeta(key: string, value: unknown) {
    this.s.setMeta.run(key, JSON.stringify(value));
  }

  async counts(): Promise<RowCounts> {
    const n = (stmt: Database.Statement) => stmt.pluck().get() as number;
    const byStatus = this.s.rolloutsByStatus.all() as { status: RolloutStatus; n: number }[];
    return {
      rollouts: n(this.s.countRollouts),
      attempts: n(this.s.countAttempts),
      spans: n(this.s.countSpans),
      resources: n(this.s.countResources),
      workers: n(this.s.countWorkers),
      queue: n(this.s.countQueue),
      rollouts_by_status: Object.fromEntries(byStatus.map((r) => [r.status, r.n])),
    };
  }
}

/** Applies pending migrations, each in its own transaction. Returns the schema version. */
export function migrate(db: Database.Database, now = Date.now() / 1000): number {
  db.exec(SQL.createMigrationsTable);
  const applied = new Set(db.prepare(SQL.appliedVersions).pluck().all() as number[]);
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.up);
      db.prepare(SQL.recordMigration).run(m.version, m.name, now);
    }).immediate();
  }
  return Math.max(0, ...MIGRATIONS.map((m) => m.version));
}

function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'SQLITE_FULL';
}

/**
 * One transaction at a time per database file in this process. better-sqlite3 waits for a lock
 * synchronously (busy_timeout), so a second connection in the same process that tried to begin
 * while the first awaits inside its transaction would block the very event loop the first needs
 * to commit. Across processes, BEGIN IMMEDIATE and the busy timeout do the ordering.
 */
const fileLocks = new Map<string, Mutex>();
function lockFor(path: string): Mutex {
  const key = path === ':memory:' ? `:memory:${fileLocks.size}` : resolve(path);
  let lock = fileLocks.get(key);
  if (!lock) {
    lock = new Mutex();
    fileLocks.set(key, lock);
  }
  return lock;
}

class SqliteBackend implements StoreBackend {
  readonly name = 'SqliteLightningStore';
  private readonly statements: Statements;
  private readonly lock: Mutex;

  constructor(
    readonly db: Database.Database,
    path: string,
  ) {
    this.lock = lockFor(path);
    this.statements = Object.fromEntries(
      Object.entries(SQL)
        .filter(([name]) => !['createMigrationsTable', 'appliedVersions', 'recordMigration'].includes(name))
        .map(([name, sql]) => [name, db.prepare(sql)]),
    ) as Statements;
  }

  transaction<T>(mode: 'r' | 'rw', body: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.lock.run(() => this.runTransaction(mode, body));
  }

  private async runTransaction<T>(mode: 'r' | 'rw', body: (tx: StoreTx) => Promise<T>): Promise<T> {
    // IMMEDIATE takes the write lock up front, so two processes never both read-then-write.
    this.db.exec(mode === 'rw' ? 'BEGIN IMMEDIATE' : 'BEGIN');
    try {
      const tx = new SqliteTables(this.statements);
      const result = await body(tx);
      tx.flush();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      if (isDiskFull(error)) {
        throw new StoreError('quota_exceeded', 'the disk is full: the whole batch was rolled back', {
          cause: String(error),
        });
      }
      throw error;
    }
  }

  changesSince(after: number, limit: number): ChangePage {
    const rows = this.statements.changesSince.all({ after, limit: limit + 1 }) as {
      kind: StoreChangeKind;
      seq: number;
      data: string;
    }[];
    const page = rows.slice(0, limit);
    return {
      changes: page.map((r) => ({ kind: r.kind, seq: r.seq, row: JSON.parse(r.data) }) as StoreChange),
      next: page.length ? page[page.length - 1].seq : after,
      has_more: rows.length > limit,
    };
  }

  currentSeq(): number {
    return this.statements.readSequence.pluck().get() as number;
  }

  async close() {
    if (this.db.open) this.db.close();
  }
}

export type SqliteStoreOptions = EngineOptions & {
  /** Database file; its folder is created. ':memory:' keeps everything in memory. */
  path: string;
};

export class SqliteLightningStore extends EngineLightningStore {
  private readonly sqlite: SqliteBackend;

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ':memory:') {
      mkdirSync(dirname(options.path), { recursive: true, mode: OWNER_ONLY_DIR });
      // Owner-only from the first byte (SQLite gives its -wal and -shm files the database's mode);
      // an existing store is tightened too: it holds feedback and traces.
      closeSync(openSync(options.path, 'a', OWNER_ONLY_FILE));
      chmodSync(options.path, OWNER_ONLY_FILE);
    }
    const db = new Database(options.path);
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives a process crash (SIGKILL) without an fsync per commit.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    // Checkpoint (and fsync) every ~40 MB of WAL instead of every 4 MB: many small commits are
    // the store's workload (a span, a status), and each checkpoint costs an fsync.
    db.pragma('wal_autocheckpoint = 10000');
    db.pragma('journal_size_limit = 67108864');
    migrate(db);
    const backend = new SqliteBackend(db, options.path);
    super(backend, options);
    this.sqlite = backend;
  }

  /** The schema version the database is at. */
  get schemaVersion(): number {
    return this.sqlite.db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get() as number;
  }

  /**
   * Rows of every kind written after change number `after`, oldest first, at most `limit`
   * (1..10000). Read in one transaction, so a page never shows half of a batch.
   */
  async changesSince(after: number, limit = 500): Promise<ChangePage> {
    if (!Number.isInteger(after) || after < 0)
      throw new StoreError('invalid', 'after must be an integer ≥ 0');
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new StoreError('invalid', 'limit must be an integer in 1..10000');
    }
    return this.read(async () => this.sqlite.changesSince(after, limit));
  }

  /** The highest change number written so far. */
  currentSeq(): Promise<number> {
    return this.read(async () => this.sqlite.currentSeq());
  }

  /**
   * Imports pushed rows idempotently by id in one transaction (see EngineLightningStore
   * .importRecords) and returns what was written and the sequence after the commit.
   */
  async upsertMany(records: StoreRecordsInput): Promise<ImportResult & { seq: number }> {
    const batch = parseInput(StoreRecordsSchema, records, 'records');
    // The sequence is read inside the import's transaction: exactly this batch's high-water mark.
    return this.write(async (tx) => {
      const result = await this.importInto(tx, batch);
      return { ...result, seq: (tx as SqliteTables).lastSeq() };
    });
  }
}

/** Opens (creating if needed) the SQLite store at `path`. */
export function openSqliteStore(path: string, options: EngineOptions = {}): SqliteLightningStore {
  return new SqliteLightningStore({ ...options, path });
}
