// The browser's durable store: Dexie 4 over IndexedDB behind the shared engine. It takes its
// IDBFactory and IDBKeyRange as arguments, so it runs on real IndexedDB in a page or worker and
// on fake-indexeddb in Node tests.
//
// Every call is one read-write transaction over all tables, so a batch is all-or-nothing, also
// across tabs (IndexedDB serialises overlapping read-write transactions). A quota error aborts
// that transaction and surfaces as StoreError('quota_exceeded').

import Dexie, { type Table, type Transaction } from 'dexie';
import type { RowCounts, StoreBackend, StoreTx } from './backend';
import { EngineLightningStore, type EngineOptions } from './engine';
import { StoreError } from './errors';
import { isActive } from './lifecycle';
import type { BlobStore } from './store';
import {
  type Attempt,
  type ResourcesUpdate,
  type Rollout,
  RolloutStatus,
  type RolloutStatus as RolloutStatusType,
  type Span,
  type Worker,
} from './types';

/** IndexedDB cannot index booleans, so flags are stored as 0/1. */
type Flag = 0 | 1;
type RolloutRow = Rollout & { active: Flag };
type QueueRow = { position?: number; rollout_id: string };
type MetaRow = { key: string; value: unknown };
type BlobRow = { sha256: string; bytes: Uint8Array; size: number; created_at: number };

/**
 * The schema history. Dexie upgrades an older database step by step; never edit a shipped
 * version, add a new one. v2 indexes `active` (preparing/running) so the watchdog reads only the
 * rollouts it may judge instead of scanning by two statuses.
 */
export const DEXIE_SCHEMA = [
  {
    version: 1,
    stores: {
      rollouts: 'rollout_id, status, start_time',
      attempts: '[rollout_id+attempt_id], rollout_id, [rollout_id+sequence_id]',
      spans: '[rollout_id+attempt_id+span_id], rollout_id, [rollout_id+attempt_id]',
      queue: '++position, &rollout_id',
      resources: 'resources_id',
      workers: 'worker_id, status',
      meta: 'key',
      blobs: 'sha256',
    },
  },
  {
    version: 2,
    stores: { rollouts: 'rollout_id, status, start_time, active' },
    upgrade: (tx: import('dexie').Transaction) =>
      tx
        .table('rollouts')
        .toCollection()
        .modify((row: RolloutRow) => {
          row.active = isActive(row.status) ? 1 : 0;
        }),
  },
  {
    // v3 drops the spans' `rollout_id` index: `[rollout_id+attempt_id]` answers the same range
    // queries, and one index less makes span batches (the bulk of all writes) cheaper.
    version: 3,
    stores: { spans: '[rollout_id+attempt_id+span_id], [rollout_id+attempt_id]' },
  },
] as const;

export type IndexedDbDependencies = {
  indexedDB: IDBFactory;
  IDBKeyRange: typeof IDBKeyRange;
};

export type DexieStoreOptions = EngineOptions &
  IndexedDbDependencies & {
    /** The IndexedDB database name (one store per name). */
    name?: string;
  };

export class LightningDatabase extends Dexie {
  rollouts!: Table<RolloutRow, string>;
  attempts!: Table<Attempt, [string, string]>;
  spans!: Table<Span, [string, string, string]>;
  queue!: Table<QueueRow, number>;
  resources!: Table<ResourcesUpdate, string>;
  workers!: Table<Worker, string>;
  meta!: Table<MetaRow, string>;
  blobs!: Table<BlobRow, string>;

  constructor(name: string, deps: IndexedDbDependencies) {
    super(name, { indexedDB: deps.indexedDB, IDBKeyRange: deps.IDBKeyRange });
    for (const step of DEXIE_SCHEMA) {
      const version = this.version(step.version).stores(step.stores);
      if ('upgrade' in step) version.upgrade(step.upgrade);
    }
  }
}

const toRolloutRow = (r: Rollout): RolloutRow => ({ ...r, active: isActive(r.status) ? 1 : 0 });
function fromRolloutRow(row: RolloutRow): Rollout {
  const { active: _active, ...rollout } = row;
  return rollout;
}

/** The tables of one transaction. */
type BoundTables = Pick<
  LightningDatabase,
  'rollouts' | 'attempts' | 'spans' | 'queue' | 'resources' | 'workers' | 'meta'
>;
const TX_TABLES = ['rollouts', 'attempts', 'spans', 'queue', 'resources', 'workers', 'meta'] as const;

class DexieTables implements StoreTx {
  private readonly db: BoundTables;

  /**
   * Tables are taken from the Transaction object, not the database, so every operation is bound
   * to this transaction explicitly instead of through Dexie's async zone (which native awaits
   * across several engine helpers can lose, letting IndexedDB commit early).
   */
  constructor(trans: Transaction) {
    this.db = Object.fromEntries(
      TX_TABLES.map((name) => [name, trans.table(name)]),
    ) as unknown as BoundTables;
  }

  async getRollout(id: string) {
    const row = await this.db.rollouts.get(id);
    return row && fromRolloutRow(row);
  }
  async listRollouts(
    filter: { status_in?: readonly RolloutStatusType[]; rollout_id_in?: readonly string[] } = {},
  ) {
    let rows: RolloutRow[];
    const statuses = filter.status_in;
    if (filter.rollout_id_in) {
      rows = (await this.db.rollouts.bulkGet([...filter.rollout_id_in])).filter((r): r is RolloutRow => !!r);
    } else if (statuses && statuses.length === 2 && statuses.every(isActive)) {
      rows = await this.db.rollouts.where('active').equals(1).toArray();
    } else if (statuses) {
      rows = await this.db.rollouts
        .where('status')
        .anyOf([...statuses])
        .toArray();
    } else {
      rows = await this.db.rollouts.toArray();
    }
    if (statuses) rows = rows.filter((r) => statuses.includes(r.status));
    return rows.map(fromRolloutRow);
  }
  async putRollouts(rows: Rollout[]) {
    await this.db.rollouts.bulkPut(rows.map(toRolloutRow));
  }
  async pageRollouts(
    sortBy: 'start_time' | 'rollout_id',
    order: 'asc' | 'desc',
    offset: number,
    limit: number,
  ) {
    // An index lists equal keys in primary-key order, reversed with the index: the engine's tie-break.
    let rows = this.db.rollouts.orderBy(sortBy === 'start_time' ? 'start_time' : ':id');
    if (order === 'desc') rows = rows.reverse();
    rows = rows.offset(offset);
    if (limit >= 0) rows = rows.limit(limit);
    return { rows: (await rows.toArray()).map(fromRolloutRow), total: await this.db.rollouts.count() };
  }

  getAttempt(rolloutId: string, attemptId: string) {
    return this.db.attempts.get([rolloutId, attemptId]);
  }
  async getLatestAttempts(rolloutIds: readonly string[]) {
    const out = new Map<string, Attempt>();
    for (const id of rolloutIds) {
      const latest = await this.db.attempts
        .where('[rollout_id+sequence_id]')
        .between([id, Dexie.minKey], [id, Dexie.maxKey])
        .last();
      if (latest) out.set(id, latest);
    }
    return out;
  }
  listAttempts(rolloutId: string) {
    return this.db.attempts.where('rollout_id').equals(rolloutId).toArray();
  }
  async putAttempts(rows: Attempt[]) {
    await this.db.attempts.bulkPut(rows);
  }

  async enqueue(ids: readonly string[]) {
    const already = new Set(
      (
        await this.db.queue
          .where('rollout_id')
          .anyOf([...ids])
          .toArray()
      ).map((q) => q.rollout_id),
    );
    const fresh = [...new Set(ids)].filter((id) => !already.has(id));
    if (fresh.length) await this.db.queue.bulkAdd(fresh.map((rollout_id) => ({ rollout_id })));
  }
  async dequeue(limit: number) {
    const head = await this.db.queue.orderBy('position').limit(limit).toArray();
    await this.db.queue.bulkDelete(head.map((q) => q.position!));
    return head.map((q) => q.rollout_id);
  }

  async insertSpans(spans: Span[]) {
    const seen = new Set<string>();
    const unique = spans.filter((s) => {
      const key = `${s.rollout_id}\u0000${s.attempt_id}\u0000${s.span_id}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (unique.length === 0) return [];
    // Add without reading first: a span that exists fails its own add (ConstraintError) and the
    // others go in. Catching the BulkError here keeps the transaction alive.
    try {
      await this.db.spans.bulkAdd(unique);
      return unique;
    } catch (error) {
      if (!(error instanceof Dexie.BulkError)) throw error;
      const failures = Object.entries(error.failuresByPos);
      const unexpected = failures.find(([, e]) => (e as Error).name !== 'ConstraintError');
      if (unexpected) throw unexpected[1];
      const duplicate = new Set(failures.map(([pos]) => Number(pos)));
      return unique.filter((_, i) => !duplicate.has(i));
    }
  }
  listSpans(rolloutId: string, attemptId: string | null) {
    return attemptId === null
      ? this.db.spans
          .where('[rollout_id+attempt_id]')
          .between([rolloutId, Dexie.minKey], [rolloutId, Dexie.maxKey])
          .toArray()
      : this.db.spans.where('[rollout_id+attempt_id]').equals([rolloutId, attemptId]).toArray();
  }

  getResources(id: string) {
    return this.db.resources.get(id);
  }
  async putResources(rows: ResourcesUpdate[]) {
    await this.db.resources.bulkPut(rows);
  }
  listResources() {
    return this.db.resources.toArray();
  }

  getWorker(id: string) {
    return this.db.workers.get(id);
  }
  async putWorkers(rows: Worker[]) {
    await this.db.workers.bulkPut(rows);
  }
  listWorkers() {
    return this.db.workers.toArray();
  }

  async getMeta(key: string) {
    return (await this.db.meta.get(key))?.value;
  }
  async setMeta(key: string, value: unknown) {
    await this.db.meta.put({ key, value });
  }

  async counts(): Promise<RowCounts> {
    const db = this.db;
    const rollouts_by_status: Partial<Record<RolloutStatusType, number>> = {};
    for (const s of RolloutStatus.options)
      rollouts_by_status[s] = await db.rollouts.where('status').equals(s).count();
    return {
      rollouts: await db.rollouts.count(),
      attempts: await db.attempts.count(),
      spans: await db.spans.count(),
      resources: await db.resources.count(),
      workers: await db.workers.count(),
      queue: await db.queue.count(),
      rollouts_by_status,
    };
  }
}

/** Dexie wraps the browser's QuotaExceededError (often as the `inner` of an AbortError). */
function isQuotaError(error: unknown): boolean {
  for (let e = error as { name?: string; inner?: unknown } | undefined, depth = 0; e && depth < 4; depth++) {
    if (e.name === 'QuotaExceededError') return true;
    e = e.inner as typeof e;
  }
  return false;
}

function quotaError(cause: unknown): StoreError {
  return new StoreError(
    'quota_exceeded',
    'browser storage is full (IndexedDB quota exceeded): the whole batch was rolled back; free space or delete old traces and retry',
    { cause: String(cause) },
  );
}

class DexieBackend implements StoreBackend {
  readonly name = 'DexieLightningStore';
  constructor(readonly db: LightningDatabase) {}

  async transaction<T>(mode: 'r' | 'rw', body: (tx: StoreTx) => Promise<T>): Promise<T> {
    const db = this.db;
    try {
      return await db.transaction(mode, [...TX_TABLES], (trans) => body(new DexieTables(trans)));
    } catch (error) {
      if (isQuotaError(error)) throw quotaError(error);
      throw error;
    }
  }

  async close() {
    this.db.close();
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export class DexieLightningStore extends EngineLightningStore implements BlobStore {
  /** The Dexie database, for live queries in the UI (read-only use; write through the store). */
  readonly db: LightningDatabase;

  constructor(options: DexieStoreOptions) {
    const db = new LightningDatabase(options.name ?? 'edgelight-store', options);
    super(new DexieBackend(db), options);
    this.db = db;
  }

  async putBlob(sha256: string, bytes: Uint8Array): Promise<void> {
    if (!SHA256_HEX.test(sha256))
      throw new StoreError('invalid', 'blob ids are 64 lowercase hex characters (SHA-256)');
    if (!(bytes instanceof Uint8Array)) throw new StoreError('invalid', 'blob bytes must be a Uint8Array');
    const actual = await sha256Hex(bytes);
    if (actual !== sha256)
      throw new StoreError('invalid', `blob hash mismatch: expected ${sha256}, got ${actual}`);
    try {
      await this.db.blobs.put({ sha256, bytes, size: bytes.byteLength, created_at: this.clock.now() });
    } catch (error) {
      if (isQuotaError(error)) throw quotaError(error);
      throw error;
    }
  }

  async getBlob(sha256: string): Promise<Uint8Array | null> {
    const row = await this.db.blobs.get(sha256);
    return row ? new Uint8Array(row.bytes) : null;
  }

  async hasBlob(sha256: string): Promise<boolean> {
    return (await this.db.blobs.where('sha256').equals(sha256).count()) > 0;
  }

  async deleteBlob(sha256: string): Promise<void> {
    await this.db.blobs.delete(sha256);
  }

  /** Closes the store and deletes its IndexedDB database. */
  async destroy(): Promise<void> {
    await this.close();
    await this.db.delete();
  }
}
