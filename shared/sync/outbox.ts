import { Dexie, type Table } from 'dexie';

// The outbox: keys of local rows that changed since they last reached the server. Only keys are
// kept; the syncer reads the rows' current state when it pushes, so ten updates of one rollout
// cost one row in the batch, and a replay always sends the newest state.

export type OutboxKey =
  /** A rollout and all its attempts; `with_spans` adds every span of it (a first full sync). */
  | { kind: 'rollout'; rollout_id: string; with_spans?: boolean }
  | { kind: 'span'; rollout_id: string; attempt_id: string; span_id: string }
  | { kind: 'resources'; resources_id: string }
  | { kind: 'worker'; worker_id: string };

export type OutboxEntry = OutboxKey & { id: number };

export interface OutboxStorage {
  add(keys: readonly OutboxKey[]): Promise<void>;
  /** The oldest `limit` entries, oldest first. */
  peek(limit: number): Promise<OutboxEntry[]>;
  /** Drops entries once the server has acknowledged the batch that carried them. */
  remove(ids: readonly number[]): Promise<void>;
  size(): Promise<number>;
  /** Small numbers that must survive a reload: the pull cursor, the backfill mark. */
  getMark(name: string): Promise<number | undefined>;
  setMark(name: string, value: number): Promise<void>;
  close(): Promise<void>;
}

/** For Node runners and tests; a browser uses DexieOutbox so the outbox survives a reload. */
export class MemoryOutbox implements OutboxStorage {
  private entries: OutboxEntry[] = [];
  private nextId = 1;
  private readonly marks = new Map<string, number>();

  async add(keys: readonly OutboxKey[]) {
    for (const key of keys) this.entries.push({ ...key, id: this.nextId++ });
  }
  async peek(limit: number) {
    return this.entries.slice(0, limit).map((e) => ({ ...e }));
  }
  async remove(ids: readonly number[]) {
    const gone = new Set(ids);
    this.entries = this.entries.filter((e) => !gone.has(e.id));
  }
  async size() {
    return this.entries.length;
  }
  async getMark(name: string) {
    return this.marks.get(name);
  }
  async setMark(name: string, value: number) {
    this.marks.set(name, value);
  }
  async close() {}
}

type MarkRow = { name: string; value: number };

/**
 * The outbox in its own IndexedDB database (not the store's), so sync can be switched on and off
 * without migrating the store. `indexedDB`/`IDBKeyRange` are injected: fake-indexeddb in Node tests.
 */
export class DexieOutbox implements OutboxStorage {
  private readonly db: Dexie;
  private readonly entries: Table<OutboxEntry, number>;
  private readonly marks: Table<MarkRow, string>;

  constructor(name = 'edgelight-sync', deps?: { indexedDB: IDBFactory; IDBKeyRange: typeof IDBKeyRange }) {
    this.db = new Dexie(
      name,
      deps ? { indexedDB: deps.indexedDB, IDBKeyRange: deps.IDBKeyRange } : undefined,
    );
    this.db.version(1).stores({ entries: '++id', marks: 'name' });
    this.entries = this.db.table('entries');
    this.marks = this.db.table('marks');
  }

  async add(keys: readonly OutboxKey[]) {
    // Dexie assigns the auto-increment id; entries are stored without one.
    await this.entries.bulkAdd(keys.map((k) => ({ ...k }) as OutboxEntry));
  }
  async peek(limit: number) {
    return this.entries.orderBy('id').limit(limit).toArray();
  }
  async remove(ids: readonly number[]) {
    await this.entries.bulkDelete([...ids]);
  }
  async size() {
    return this.entries.count();
  }
  async getMark(name: string) {
    return (await this.marks.get(name))?.value;
  }
  async setMark(name: string, value: number) {
    await this.marks.put({ name, value });
  }
  async close() {
    this.db.close();
  }
}
