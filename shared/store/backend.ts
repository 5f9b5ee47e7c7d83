// What an implementation must provide: keeping rows, inside transactions. Everything else (the
// semantics) lives once in engine.ts. A backend never decides a status; it stores and finds.

import type { Attempt, ResourcesUpdate, Rollout, RolloutStatus, Span, Worker } from './types';

export type RowCounts = {
  rollouts: number;
  attempts: number;
  spans: number;
  resources: number;
  workers: number;
  queue: number;
  rollouts_by_status: Partial<Record<RolloutStatus, number>>;
};

/** The operations available inside one transaction. Rows going in and out are plain copies. */
export interface StoreTx {
  getRollout(rolloutId: string): Promise<Rollout | undefined>;
  /** Rollouts matching every given filter (all of them when none is given), in any order. */
  listRollouts(filter?: {
    status_in?: readonly RolloutStatus[];
    rollout_id_in?: readonly string[];
  }): Promise<Rollout[]>;
  /** Inserts or replaces by rollout_id. */
  putRollouts(rows: Rollout[]): Promise<void>;
  /**
   * Optional: one page of all rollouts in index order (ties on the rollout id, in the same
   * direction), so unfiltered listings do not read every row. `limit: -1` means all.
   */
  pageRollouts?(
    sortBy: 'start_time' | 'rollout_id',
    order: 'asc' | 'desc',
    offset: number,
    limit: number,
  ): Promise<{ rows: Rollout[]; total: number }>;

  getAttempt(rolloutId: string, attemptId: string): Promise<Attempt | undefined>;
  /** The attempt with the highest sequence_id, per rollout that has one. */
  getLatestAttempts(rolloutIds: readonly string[]): Promise<Map<string, Attempt>>;
  listAttempts(rolloutId: string): Promise<Attempt[]>;
  /** Inserts or replaces by (rollout_id, attempt_id). */
  putAttempts(rows: Attempt[]): Promise<void>;

  /** Appends rollout ids to the FIFO queue, skipping any already queued. */
  enqueue(rolloutIds: readonly string[]): Promise<void>;
  /** Removes and returns up to `limit` ids from the head of the queue. */
  dequeue(limit: number): Promise<string[]>;

  /** Inserts spans whose (rollout_id, attempt_id, span_id) is new; returns those inserted. */
  insertSpans(spans: Span[]): Promise<Span[]>;
  /** Spans of a rollout, of one attempt when `attemptId` is given, in any order. */
  listSpans(rolloutId: string, attemptId: string | null): Promise<Span[]>;

  getResources(resourcesId: string): Promise<ResourcesUpdate | undefined>;
  putResources(rows: ResourcesUpdate[]): Promise<void>;
  listResources(): Promise<ResourcesUpdate[]>;

  getWorker(workerId: string): Promise<Worker | undefined>;
  putWorkers(rows: Worker[]): Promise<void>;
  listWorkers(): Promise<Worker[]>;

  /** Small JSON values: counters and pointers (the latest resources id, span sequence ids). */
  getMeta(key: string): Promise<unknown>;
  setMeta(key: string, value: unknown): Promise<void>;

  counts(): Promise<RowCounts>;
}

export interface StoreBackend {
  /** Shown in statistics, e.g. "InMemoryLightningStore". */
  readonly name: string;
  /**
   * Runs `body` atomically. Backends that can roll back do so when it throws; the engine also
   * checks everything it can before its first write, so a failed call writes nothing.
   */
  transaction<T>(mode: 'r' | 'rw', body: (tx: StoreTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
