import type { BlobStorage } from '../policy/checkpoint';
import { isStoreError } from '../store/errors';
import type { LightningStore } from '../store/store';
import type { Attempt, ImportResult, Rollout, Span, StoreRecords, StoreRecordsInput } from '../store/types';
import { checkpointIdsOf, downloadCheckpoint, uploadCheckpoint } from './checkpoints';
import type { OutboxEntry, OutboxKey, OutboxStorage } from './outbox';
import type { SyncRemote } from './remote';

/** The local store as the syncer needs it: the LightningStore reads plus idempotent import. */
export type SyncLocalStore = LightningStore & {
  importRecords(records: StoreRecordsInput): Promise<ImportResult>;
};

/** The Web Locks API's shape (navigator.locks), so Node and tests can pass their own. */
export type LockManagerLike = {
  request<T>(name: string, options: { ifAvailable: true }, body: (lock: unknown) => Promise<T>): Promise<T>;
};

export type SyncerOptions = {
  /** The raw local store (not the OutboxRecordingStore): pulled rows must not go back out. */
  store: SyncLocalStore;
  outbox: OutboxStorage;
  remote: SyncRemote;
  /** Local checkpoint blobs (the store's blob table); without it checkpoints are not moved. */
  blobs?: BlobStorage;
  clientId: string;
  /** Outbox entries per push (default 500). */
  batchEntries?: number;
  /** Rows per pull (default 1000). */
  pullLimit?: number;
  /** One syncer at a time across tabs; defaults to navigator.locks where it exists. */
  locks?: LockManagerLike | null;
  lockName?: string;
};

export type SyncReport = {
  /** False when another tab held the sync lock and this call did nothing. */
  ran: boolean;
  pushed: { batches: number; rows: number; written: number; skipped: number };
  pulled: { pages: number; rows: number; written: number };
  /** The server's sequence after the last push, and the pull cursor after the last pull. */
  serverSeq: number;
  cursor: number;
  /** Checkpoints a resource names that neither side holds. */
  missingCheckpoints: string[];
  /** Outbox entries the server refused as invalid (4xx), set aside so the rest can flow. */
  rejected: Array<{ key: OutboxKey; message: string }>;
};

const PULL_CURSOR = 'pull_cursor';
const BACKFILLED = 'backfilled';

/** Web Locks where available; otherwise a lock inside this JavaScript realm only. */
function defaultLocks(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks ?? null;
}

/**
 * Moves rows between a local store and a server: pushes the outbox in batches (each acknowledged
 * batch is removed from the outbox; a failed one stays and is sent again, which the server's
 * idempotent import makes harmless), then pulls everything after the cursor. Every step persists
 * its progress, so a reload or a lost connection resumes where it stopped.
 */
export class Syncer {
  private readonly batchEntries: number;
  private readonly pullLimit: number;
  private readonly locks: LockManagerLike | null;
  private readonly lockName: string;
  private running: Promise<SyncReport> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  private spanCache: { rolloutId: string; spans: Map<string, Span> } | null = null;

  constructor(private readonly options: SyncerOptions) {
    this.batchEntries = options.batchEntries ?? 500;
    this.pullLimit = options.pullLimit ?? 1000;
    this.locks = options.locks === undefined ? defaultLocks() : options.locks;
    this.lockName = options.lockName ?? 'edgelight-sync';
  }

  /** One push-then-pull pass. Concurrent calls in this realm share one pass; other tabs skip. */
  syncOnce(): Promise<SyncReport> {
    if (!this.running) {
      this.running = this.underLock().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async underLock(): Promise<SyncReport> {
    if (!this.locks) return this.pass();
    return this.locks.request(this.lockName, { ifAvailable: true }, async (lock) =>
      lock ? this.pass() : emptyReport(false),
    );
  }

  private async pass(): Promise<SyncReport> {
    const report = emptyReport(true);
    this.spanCache = null;
    if ((await this.options.outbox.getMark(BACKFILLED)) === undefined) await this.backfill();
    await this.pushAll(report);
    this.spanCache = null;
    await this.pullAll(report);
    return report;
  }

  /**
   * Queues every local row for pushing: rows written before sync was switched on, or a full
   * resync on demand. Pushing them again is harmless.
   */
  async backfill(): Promise<number> {
    const { store, outbox } = this.options;
    const keys: OutboxKey[] = [];
    const resources = await store.queryResources({ sort_by: 'update_time' });
    for (const r of resources.items) keys.push({ kind: 'resources', resources_id: r.resources_id });
    const rollouts = await store.queryRollouts({ sort_by: 'start_time' });
    for (const rollout of rollouts.items) {
      keys.push({ kind: 'rollout', rollout_id: rollout.rollout_id });
      const spans = await store.querySpans({ rollout_id: rollout.rollout_id });
      for (const s of spans.items)
        keys.push({ kind: 'span', rollout_id: s.rollout_id, attempt_id: s.attempt_id, span_id: s.span_id });
    }
    const workers = await store.queryWorkers();
    for (const w of workers.items) keys.push({ kind: 'worker', worker_id: w.worker_id });
    if (keys.length > 0) await outbox.add(keys);
    await outbox.setMark(BACKFILLED, Date.now());
    return keys.length;
  }

  private async pushAll(report: SyncReport): Promise<void> {
    const { outbox, remote, clientId } = this.options;
    let limit = this.batchEntries;
    for (;;) {
      const entries = await outbox.peek(limit);
      if (entries.length === 0) return;
      const records = await this.readRows(entries, report);
      const first = entries[0] as OutboxEntry;
      const last = entries[entries.length - 1] as OutboxEntry;
      let result: Awaited<ReturnType<SyncRemote['push']>>;
      try {
        // Same outbox window, same batch id: a retried batch is recognisable in the server's log.
        result = await remote.push(clientId, `${clientId}:${first.id}-${last.id}`, records);
      } catch (error) {
        // A batch the server refuses for good (not a transient failure) would block the outbox
        // forever: halve it until the refused entry stands alone, then set that one aside.
        if (!isStoreError(error, 'invalid')) throw error;
        if (entries.length > 1) {
          limit = Math.ceil(entries.length / 2);
          continue;
        }
        await outbox.remove([first.id]);
        const { id: _id, ...key } = first;
        report.rejected.push({ key, message: error.message });
        limit = this.batchEntries;
        continue;
      }
      limit = this.batchEntries;
      await outbox.remove(entries.map((e) => e.id));
      report.pushed.batches++;
      report.pushed.rows += countRows(records);
      report.pushed.written += Object.values(result.written).reduce((a, b) => a + b, 0);
      report.pushed.skipped += result.skipped;
      report.serverSeq = result.seq;
    }
  }

  /** The current state of the rows the entries name; checkpoints go up before their resources. */
  private async readRows(entries: OutboxEntry[], report: SyncReport): Promise<StoreRecords> {
    const { store, blobs, remote } = this.options;
    const records: StoreRecords = { rollouts: [], attempts: [], spans: [], resources: [], workers: [] };
    const rolloutIds = new Set<string>();
    const spanKeys = new Map<string, Set<string>>();
    const resourcesIds = new Set<string>();
    const workerIds = new Set<string>();
    for (const e of entries) {
      if (e.kind === 'rollout') rolloutIds.add(e.rollout_id);
      else if (e.kind === 'span') {
        const set = spanKeys.get(e.rollout_id) ?? new Set<string>();
        set.add(`${e.attempt_id}/${e.span_id}`);
        spanKeys.set(e.rollout_id, set);
      } else if (e.kind === 'resources') resourcesIds.add(e.resources_id);
      else workerIds.add(e.worker_id);
    }
    for (const id of resourcesIds) {
      const row = await store.getResourcesById(id);
      if (!row) continue;
      for (const checkpointId of checkpointIdsOf(row)) {
        const ok = blobs ? await uploadCheckpoint(blobs, remote, checkpointId) : false;
        if (!ok) report.missingCheckpoints.push(checkpointId);
      }
      records.resources.push(row);
    }
    for (const id of rolloutIds) {
      const row = await store.getRolloutById(id);
      if (!row) continue;
      const { attempt: _latest, ...rollout } = row;
      records.rollouts.push(rollout as Rollout);
      const attempts = await store.queryAttempts(id);
      records.attempts.push(...(attempts.items as Attempt[]));
    }
    for (const [rolloutId, wanted] of spanKeys) {
      records.spans.push(...(await this.spansOf(rolloutId, wanted)));
    }
    for (const id of workerIds) {
      const row = await store.getWorkerById(id);
      if (row) records.workers.push(row);
    }
    return records;
  }

  /**
   * The wanted spans of one rollout. The store can only list a rollout's spans, so the last list
   * read is kept: spans never change once stored, and a rollout with many thousands of spans
   * (a long training run) is then read once per pass instead of once per batch.
   */
  private async spansOf(rolloutId: string, wanted: Set<string>): Promise<Span[]> {
    const keyOf = (s: Span) => `${s.attempt_id}/${s.span_id}`;
    let cached = this.spanCache?.rolloutId === rolloutId ? this.spanCache.spans : null;
    if (!cached || [...wanted].some((k) => !cached?.has(k))) {
      const page = await this.options.store.querySpans({ rollout_id: rolloutId });
      cached = new Map((page.items as Span[]).map((s) => [keyOf(s), s]));
      this.spanCache = { rolloutId, spans: cached };
    }
    const spans: Span[] = [];
    for (const key of wanted) {
      const span = cached.get(key);
      if (span) spans.push(span);
    }
    return spans;
  }

  private async pullAll(report: SyncReport): Promise<void> {
    const { outbox, remote, store, blobs } = this.options;
    let cursor = (await outbox.getMark(PULL_CURSOR)) ?? 0;
    for (;;) {
      const page = await remote.pull(cursor, this.pullLimit);
      if (blobs) {
        for (const row of page.records.resources) {
          for (const checkpointId of checkpointIdsOf(row)) {
            if (!(await downloadCheckpoint(blobs, remote, checkpointId)))
              report.missingCheckpoints.push(checkpointId);
          }
        }
      }
      const rows = countRows(page.records);
      if (rows > 0) {
        const result = await store.importRecords(page.records);
        report.pulled.written += Object.values(result.written).reduce((a, b) => a + b, 0);
      }
      report.pulled.pages++;
      report.pulled.rows += rows;
      // The cursor moves only after the page is safely in the local store.
      cursor = page.next;
      await outbox.setMark(PULL_CURSOR, cursor);
      report.cursor = cursor;
      if (!page.has_more) return;
    }
  }

  /**
   * Syncs every `intervalMs` until stop(); after a failure waits twice as long (up to
   * `maxBackoffMs`), so an offline tab does not spin. `onReport` sees each pass or error.
   */
  start(intervalMs = 5000, onReport?: (report: SyncReport | Error) => void, maxBackoffMs = 60_000): void {
    if (!this.stopped) return;
    this.stopped = false;
    let delay = intervalMs;
    const tick = async () => {
      if (this.stopped) return;
      try {
        onReport?.(await this.syncOnce());
        delay = intervalMs;
      } catch (error) {
        onReport?.(error as Error);
        delay = Math.min(delay * 2, maxBackoffMs);
      }
      if (!this.stopped) this.timer = setTimeout(tick, delay);
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

function emptyReport(ran: boolean): SyncReport {
  return {
    ran,
    pushed: { batches: 0, rows: 0, written: 0, skipped: 0 },
    pulled: { pages: 0, rows: 0, written: 0 },
    serverSeq: 0,
    cursor: 0,
    missingCheckpoints: [],
    rejected: [],
  };
}

function countRows(records: StoreRecords): number {
  return (
    records.rollouts.length +
    records.attempts.length +
    records.spans.length +
    records.resources.length +
    records.workers.length
  );
}
