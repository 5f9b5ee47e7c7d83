import type {
  Attempt,
  AttemptedRollout,
  AttemptQuery,
  AttemptUpdate,
  DequeueRequest,
  EnqueueRolloutRequest,
  NamedResourcesInput,
  PaginatedResult,
  ResourcesQuery,
  ResourcesUpdate,
  Rollout,
  RolloutQuery,
  RolloutRequest,
  RolloutUpdate,
  RolloutWithAttempt,
  Span,
  SpanInput,
  SpanQuery,
  StoreStatistics,
  WaitForRolloutsRequest,
  Worker,
  WorkerQuery,
  WorkerUpdate,
} from './types';

/** Seconds since the epoch. Injected so tests drive the watchdog with a fake clock. */
export type Clock = { now(): number };

export const systemClock: Clock = { now: () => Date.now() / 1000 };

/**
 * The only shared state between algorithms and runners (Agent Lightning v0.3's LightningStore).
 *
 * Every method validates its input with the schemas of ./types and fails with a StoreError
 * (./errors) carrying a stable `code`. Updates use key presence: an absent key leaves a field
 * unchanged, a key set to `null` clears it (see RolloutUpdate).
 *
 * The watchdog (timeouts, unresponsive attempts, requeues) runs lazily before queue, query and
 * wait calls, on the store's clock; `runWatchdog()` runs it on demand.
 */
export interface LightningStore {
  /** Creates a rollout that starts right away: status `preparing`, attempt 1 `preparing`. */
  startRollout(request: RolloutRequest): Promise<AttemptedRollout>;
  /** Appends a rollout to the FIFO queue (status `queuing`); no resources_id means "latest". */
  enqueueRollout(request: EnqueueRolloutRequest): Promise<Rollout>;
  /** Appends many rollouts in one transaction, in order. */
  enqueueRollouts(requests: EnqueueRolloutRequest[]): Promise<Rollout[]>;
  /** Takes the oldest queued rollout and opens attempt k+1 for it, or returns null. */
  dequeueRollout(request?: Omit<DequeueRequest, 'limit'>): Promise<AttemptedRollout | null>;
  /** Takes up to `limit` queued rollouts (FIFO), each with a new attempt. */
  dequeueRollouts(request?: DequeueRequest): Promise<AttemptedRollout[]>;
  /** Opens a new attempt on an existing rollout (a manual retry; ignores max_attempts). */
  startAttempt(rolloutId: string, request?: { worker_id?: string | null }): Promise<AttemptedRollout>;

  /**
   * Stores a span; it is the attempt's heartbeat (preparing/unresponsive → running). Returns
   * null when a span with the same (rollout_id, attempt_id, span_id) already exists.
   */
  addSpan(span: SpanInput): Promise<Span | null>;
  /** Stores many spans in one transaction; returns those inserted (duplicates are skipped). */
  addSpans(spans: SpanInput[]): Promise<Span[]>;
  /** Issues a sequence id: strictly increasing per rollout (hence per attempt), never reused. */
  getNextSpanSequenceId(rolloutId: string, attemptId: string): Promise<number>;

  queryRollouts(query?: RolloutQuery): Promise<PaginatedResult<RolloutWithAttempt>>;
  getRolloutById(rolloutId: string): Promise<RolloutWithAttempt | null>;
  queryAttempts(rolloutId: string, query?: AttemptQuery): Promise<PaginatedResult<Attempt>>;
  getLatestAttempt(rolloutId: string): Promise<Attempt | null>;
  querySpans(query: SpanQuery): Promise<PaginatedResult<Span>>;

  /** Stores a new resources bundle (version 1); it becomes the latest. */
  addResources(resources: NamedResourcesInput): Promise<ResourcesUpdate>;
  /** Replaces a bundle's resources (version + 1), or creates it under that id; it becomes the latest. */
  updateResources(resourcesId: string, resources: NamedResourcesInput): Promise<ResourcesUpdate>;
  getResourcesById(resourcesId: string): Promise<ResourcesUpdate | null>;
  /** The most recently added or updated bundle. */
  getLatestResources(): Promise<ResourcesUpdate | null>;
  queryResources(query?: ResourcesQuery): Promise<PaginatedResult<ResourcesUpdate>>;

  /**
   * Waits until the rollouts are finished (succeeded, failed or cancelled) and returns those that
   * are, in the order asked. `timeout` in seconds: 0 polls once, a finite value waits at most
   * that long, `null` (or Infinity) waits until all are finished. Unknown ids are left out. An aborted
   * `signal` ends the wait early with what is finished then (a server cancels when its client leaves).
   */
  waitForRollouts(request: WaitForRolloutsRequest, options?: { signal?: AbortSignal }): Promise<Rollout[]>;

  /** Updates a rollout; setting a queued status puts it back on the queue. */
  updateRollout(rolloutId: string, update: RolloutUpdate): Promise<Rollout>;
  /** Updates an attempt (or `"latest"`); the latest attempt's status propagates to its rollout. */
  updateAttempt(rolloutId: string, attemptId: string | 'latest', update: AttemptUpdate): Promise<Attempt>;

  queryWorkers(query?: WorkerQuery): Promise<PaginatedResult<Worker>>;
  getWorkerById(workerId: string): Promise<Worker | null>;
  /** A worker's heartbeat: records `last_heartbeat_time` (and stats); creates the worker if new. */
  updateWorker(workerId: string, update?: WorkerUpdate): Promise<Worker>;

  statistics(): Promise<StoreStatistics>;
  /** Applies timeouts and unresponsiveness now (it also runs lazily before most calls). */
  runWatchdog(): Promise<void>;
  close(): Promise<void>;
}

/** Content-addressed bytes (checkpoint weights) kept beside a browser store. */
export interface BlobStore {
  /** Stores bytes under their SHA-256 (64 lowercase hex); verifies the hash. Idempotent. */
  putBlob(sha256: string, bytes: Uint8Array): Promise<void>;
  getBlob(sha256: string): Promise<Uint8Array | null>;
  hasBlob(sha256: string): Promise<boolean>;
  deleteBlob(sha256: string): Promise<void>;
}
