// The LightningStore, written once over a StoreBackend. Memory, Dexie and SQLite stores are
// this class plus a backend; they share every decision (see lifecycle.ts for the rules).
//
// Calls on one store instance are serialised by a mutex, and each call is one backend
// transaction, so a dequeue, a span batch or a status change is atomic: two runners never get
// the same rollout and span sequence ids are never issued twice.

import type { z } from 'zod';
import type { StoreBackend, StoreTx } from './backend';
import { notFound, StoreError } from './errors';
import { newAttemptId, newResourcesId, newRolloutId } from './ids';
import {
  attemptEndsWith,
  attemptRank,
  blankWorker,
  heartbeat,
  isFinished,
  isQueued,
  rolloutAfterHeartbeat,
  rolloutRank,
  rolloutStatusFromAttempt,
  watchdogVerdict,
  withRolloutStatus,
  workerActivity,
  workerAfterAttempt,
  workerIdle,
} from './lifecycle';
import { applyFilters, type Condition, paginate, textConditions } from './query';
import { type Clock, type LightningStore, systemClock } from './store';
import {
  ACTIVE_ROLLOUT_STATUSES,
  type Attempt,
  type AttemptedRollout,
  AttemptQuery,
  AttemptUpdate,
  DequeueRequest,
  EnqueueRolloutRequest,
  type ImportResult,
  NamedResources,
  type NamedResourcesInput,
  type PaginatedResult,
  ResourcesQuery,
  type ResourcesUpdate,
  type Rollout,
  RolloutConfig,
  RolloutQuery,
  RolloutRequest,
  type RolloutStatus,
  RolloutUpdate,
  type RolloutWithAttempt,
  type Span,
  SpanInput,
  SpanQuery,
  StoreId,
  StoreRecords,
  type StoreRecordsInput,
  type StoreStatistics,
  WaitForRolloutsRequest,
  type Worker,
  WorkerQuery,
  WorkerUpdate,
} from './types';

export type EngineOptions = {
  clock?: Clock;
  /**
   * The watchdog runs lazily before calls, at most once per this many seconds of the store's
   * clock (Agent Lightning debounces its scan the same way). 0 scans before every call.
   */
  watchdogIntervalSeconds?: number;
  /** How often a wait re-reads the backend for changes made by other processes or tabs. */
  waitPollMilliseconds?: number;
};

const LATEST_RESOURCES_KEY = 'latest_resources_id';
const spanSequenceKey = (rolloutId: string) => `span_sequence:${rolloutId}`;

/** Parses input at the store's boundary; a bad value becomes a StoreError('invalid'), never a crash. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map(
    (i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`,
  );
  throw new StoreError('invalid', `invalid ${what}: ${issues.join('; ')}`, result.error.issues);
}

/** JSON with sorted keys: two rows are the same when their canonical forms are. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
const sameRow = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/** A promise chain that runs one body at a time, in call order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(body: () => Promise<T>): Promise<T> {
    const result = this.tail.then(body, body);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export class EngineLightningStore implements LightningStore {
  protected readonly clock: Clock;
  private readonly mutex = new Mutex();
  private readonly createdAt: number;
  private readonly watchdogInterval: number;
  private readonly waitPollMs: number;
  private lastWatchdogAt = Number.NEGATIVE_INFINITY;
  private closed = false;
  /** Woken after every write, so waits in this process answer without polling. */
  private changeWaiters: Array<() => void> = [];

  constructor(
    protected readonly backend: StoreBackend,
    options: EngineOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.createdAt = this.clock.now();
    this.watchdogInterval = options.watchdogIntervalSeconds ?? 1;
    this.waitPollMs = options.waitPollMilliseconds ?? 200;
  }

  // ---- plumbing -------------------------------------------------------------------------------

  protected read<T>(body: (tx: StoreTx) => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.mutex.run(() => this.backend.transaction('r', body));
  }

  protected async write<T>(body: (tx: StoreTx) => Promise<T>): Promise<T> {
    this.assertOpen();
    const result = await this.mutex.run(() => this.backend.transaction('rw', body));
    this.notifyChange();
    return result;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('closed', `${this.backend.name} is closed`);
  }

  private notifyChange(): void {
    const waiters = this.changeWaiters;
    this.changeWaiters = [];
    for (const wake of waiters) wake();
  }

  private async watchdogIfDue(): Promise<void> {
    if (this.clock.now() - this.lastWatchdogAt >= this.watchdogInterval) await this.runWatchdog();
  }

  // ---- rollouts and the queue -----------------------------------------------------------------

  private newRollout(
    request: z.output<typeof EnqueueRolloutRequest>,
    latestResourcesId: string | null,
    status: RolloutStatus,
  ): Rollout {
    return {
      rollout_id: newRolloutId(),
      input: request.input ?? null,
      start_time: this.clock.now(),
      end_time: null,
      mode: request.mode ?? null,
      resources_id: request.resources_id ?? latestResourcesId,
      status,
      config: request.config ?? RolloutConfig.parse({}),
      metadata: request.metadata ?? {},
    };
  }

  private newAttempt(rolloutId: string, sequenceId: number, workerId: string | null): Attempt {
    return {
      rollout_id: rolloutId,
      attempt_id: newAttemptId(),
      sequence_id: sequenceId,
      start_time: this.clock.now(),
      end_time: null,
      status: 'preparing',
      worker_id: workerId,
      last_heartbeat_time: null,
      metadata: {},
    };
  }

  private async syncWorker(tx: StoreTx, attempt: Attempt, dequeued: boolean): Promise<void> {
    if (!attempt.worker_id) return;
    const worker = (await tx.getWorker(attempt.worker_id)) ?? blankWorker(attempt.worker_id);
    await tx.putWorkers([workerAfterAttempt(worker, attempt, this.clock.now(), dequeued)]);
  }

  async startRollout(request: z.input<typeof RolloutRequest>): Promise<AttemptedRollout> {
    const parsed = parseInput(RolloutRequest, request, 'rollout request');
    await this.watchdogIfDue();
    return this.write(async (tx) => {
      const latest = ((await tx.getMeta(LATEST_RESOURCES_KEY)) as string | undefined) ?? null;
      const rollout = this.newRollout(parsed, latest, 'preparing');
      const attempt = this.newAttempt(rollout.rollout_id, 1, parsed.worker_id ?? null);
      await tx.putRollouts([rollout]);
      await tx.putAttempts([attempt]);
      await this.syncWorker(tx, attempt, false);
      return { ...rollout, attempt };
    });
  }

  async enqueueRollout(request: z.input<typeof EnqueueRolloutRequest>): Promise<Rollout> {
    const [rollout] = await this.enqueueRollouts([request]);
    return rollout;
  }

  async enqueueRollouts(requests: z.input<typeof EnqueueRolloutRequest>[]): Promise<Rollout[]> {
    if (!Array.isArray(requests))
      throw new StoreError('invalid', 'enqueueRollouts expects an array of requests');
    const parsed = requests.map((r, i) => parseInput(EnqueueRolloutRequest, r, `rollout request ${i}`));
    await this.watchdogIfDue();
    return this.write(async (tx) => {
      const latest = ((await tx.getMeta(LATEST_RESOURCES_KEY)) as string | undefined) ?? null;
      const rollouts = parsed.map((p) => this.newRollout(p, latest, 'queuing'));
      await tx.putRollouts(rollouts);
      await tx.enqueue(rollouts.map((r) => r.rollout_id));
      return rollouts;
    });
  }

  async dequeueRollout(request: { worker_id?: string | null } = {}): Promise<AttemptedRollout | null> {
    const [first] = await this.dequeueRollouts({ ...request, limit: 1 });
    return first ?? null;
  }

  async dequeueRollouts(request: z.input<typeof DequeueRequest> = {}): Promise<AttemptedRollout[]> {
    const { worker_id, limit } = parseInput(DequeueRequest, request, 'dequeue request');
    await this.watchdogIfDue();
    return this.write(async (tx) => {
      const taken: AttemptedRollout[] = [];
      while (taken.length < limit) {
        const ids = await tx.dequeue(limit - taken.length);
        if (ids.length === 0) break;
        const latest = await tx.getLatestAttempts(ids);
        for (const id of ids) {
          const rollout = await tx.getRollout(id);
          // A rollout cancelled or restarted while queued is dropped from the queue, not run.
          if (!rollout || !isQueued(rollout.status)) continue;
          const attempt = this.newAttempt(id, (latest.get(id)?.sequence_id ?? 0) + 1, worker_id ?? null);
          const preparing: Rollout = { ...rollout, status: 'preparing' };
          await tx.putAttempts([attempt]);
          await tx.putRollouts([preparing]);
          taken.push({ ...preparing, attempt });
        }
      }
      if (worker_id) {
        // One worker runs one attempt at a time: it is busy with the last one it took.
        const last = taken.at(-1);
        if (last) await this.syncWorker(tx, last.attempt, true);
        else
          await tx.putWorkers([
            workerIdle((await tx.getWorker(worker_id)) ?? blankWorker(worker_id), this.clock.now()),
          ]);
      }
      return taken;
    });
  }

  async startAttempt(
    rolloutId: string,
    request: { worker_id?: string | null } = {},
  ): Promise<AttemptedRollout> {
    const id = parseInput(StoreId, rolloutId, 'rollout id');
    const workerId = parseInput(StoreId.nullable().optional(), request.worker_id, 'worker id') ?? null;
    await this.watchdogIfDue();
    return this.write(async (tx) => {
      const rollout = await tx.getRollout(id);
      if (!rollout) throw notFound(`rollout ${id}`);
      const latest = (await tx.getLatestAttempts([id])).get(id);
      const attempt = this.newAttempt(id, (latest?.sequence_id ?? 0) + 1, workerId);
      const preparing: Rollout = { ...rollout, status: 'preparing' };
      await tx.putAttempts([attempt]);
      await tx.putRollouts([preparing]);
      await this.syncWorker(tx, attempt, false);
      return { ...preparing, attempt };
    });
  }

  async updateRollout(rolloutId: string, update: z.input<typeof RolloutUpdate>): Promise<Rollout> {
    const id = parseInput(StoreId, rolloutId, 'rollout id');
    const patch = parseInput(RolloutUpdate, update, 'rollout update');
    await this.watchdogIfDue();
    return this.write(async (tx) => {
      const rollout = await tx.getRollout(id);
      if (!rollout) throw notFound(`rollout ${id}`);
      const { status, ...fields } = patch;
      let next: Rollout = { ...rollout };
      for (const [key, value] of Object.entries(fields)) {
        if (key in patch) (next as Record<string, unknown>)[key] = value;
      }
      if (status !== undefined) next = withRolloutStatus(next, status, this.clock.now());
      await tx.putRollouts([next]);
      if (status !== undefined && isQueued(status)) await tx.enqueue([id]);
      return next;
    });
  }

  /** Writes an attempt and, when it is the latest, carries its status over to the rollout. */
  private async commitAttempt(
    tx: StoreTx,
    rollout: Rollout,
    attempt: Attempt,
    isLatest: boolean,
  ): Promise<void> {
    await tx.putAttempts([attempt]);
    if (!isLatest) return;
    const status = rolloutStatusFromAttempt(attempt.status, attempt.sequence_id, rollout.config);
    if (status === rollout.status) return;
    await tx.putRollouts([withRolloutStatus(rollout, status, this.clock.now())]);
    if (isQueued(status)) await tx.enqueue([rollout.rollout_id]);
  }

  async updateAttempt(
    rolloutId: string,
    attemptId: string | 'latest',
    update: z.input<typeof AttemptUpdate>,
  ): Promise<Attempt> {
    const rid = parseInput(StoreId, rolloutId, 'rollout id');
    const aid = parseInput(StoreId, attemptId, 'attempt id');
    const patch = parseInput(AttemptUpdate, update, 'attempt update');
    await this.watchdogIfDue();
    return this.write(async (tx) => {
      const rollout = await tx.getRollout(rid);
      if (!rollout) throw notFound(`rollout ${rid}`);
      const latest = (await tx.getLatestAttempts([rid])).get(rid);
      if (!latest) throw notFound(`attempts of rollout ${rid}`);
      const attempt = aid === 'latest' ? latest : await tx.getAttempt(rid, aid);
      if (!attempt) throw notFound(`attempt ${aid} of rollout ${rid}`);
      const next: Attempt = { ...attempt };
      if ('worker_id' in patch) next.worker_id = patch.worker_id ?? null;
      if ('last_heartbeat_time' in patch) next.last_heartbeat_time = patch.last_heartbeat_time ?? null;
      if ('metadata' in patch) next.metadata = patch.metadata ?? null;
      if (patch.status !== undefined) {
        next.status = patch.status;
        if (attemptEndsWith(patch.status)) next.end_time = this.clock.now();
      }
      await this.commitAttempt(tx, rollout, next, next.attempt_id === latest.attempt_id);
      if (patch.status !== undefined || patch.worker_id) await this.syncWorker(tx, next, false);
      return next;
    });
  }

  // ---- the watchdog ---------------------------------------------------------------------------

  async runWatchdog(): Promise<void> {
    this.assertOpen();
    this.lastWatchdogAt = this.clock.now();
    const changed = await this.mutex.run(() =>
      this.backend.transaction('rw', async (tx) => {
        const active = await tx.listRollouts({ status_in: ACTIVE_ROLLOUT_STATUSES });
        if (active.length === 0) return false;
        const latest = await tx.getLatestAttempts(active.map((r) => r.rollout_id));
        const now = this.clock.now();
        let any = false;
        for (const rollout of active) {
          const attempt = latest.get(rollout.rollout_id);
          if (!attempt) continue;
          const verdict = watchdogVerdict(attempt, rollout.config, now);
          if (!verdict) continue;
          const judged: Attempt = { ...attempt, status: verdict };
          await this.commitAttempt(tx, rollout, judged, true);
          await this.syncWorker(tx, judged, false);
          any = true;
        }
        return any;
      }),
    );
    if (changed) this.notifyChange();
  }

  // ---- spans ----------------------------------------------------------------------------------

  async getNextSpanSequenceId(rolloutId: string, attemptId: string): Promise<number> {
    const rid = parseInput(StoreId, rolloutId, 'rollout id');
    parseInput(StoreId, attemptId, 'attempt id');
    return this.write(async (tx) => {
      const [next] = await this.issueSequenceIds(tx, rid, 1);
      return next;
    });
  }

  private async issueSequenceIds(tx: StoreTx, rolloutId: string, count: number): Promise<number[]> {
    const current = ((await tx.getMeta(spanSequenceKey(rolloutId))) as number | undefined) ?? 0;
    await tx.setMeta(spanSequenceKey(rolloutId), current + count);
    return Array.from({ length: count }, (_, i) => current + 1 + i);
  }

  /** Keeps the counter above ids chosen by clients, so it never issues one of them later. */
  private async raiseSequenceTo(tx: StoreTx, rolloutId: string, atLeast: number): Promise<void> {
    const current = ((await tx.getMeta(spanSequenceKey(rolloutId))) as number | undefined) ?? 0;
    if (atLeast > current) await tx.setMeta(spanSequenceKey(rolloutId), atLeast);
  }

  async addSpan(span: z.input<typeof SpanInput>): Promise<Span | null> {
    const [inserted] = await this.addSpans([span]);
    return inserted ?? null;
  }

  async addSpans(spans: z.input<typeof SpanInput>[]): Promise<Span[]> {
    if (!Array.isArray(spans)) throw new StoreError('invalid', 'addSpans expects an array of spans');
    const parsed = spans.map((s, i) => parseInput(SpanInput, s, `span ${i}`));
    if (parsed.length === 0) return [];
    return this.write(async (tx) => {
      // Check every (rollout, attempt) first: a bad reference rejects the batch before any write.
      const groups = new Map<string, { rollout: Rollout; attempt: Attempt }>();
      for (const s of parsed) {
        const key = `${s.rollout_id}\u0000${s.attempt_id}`;
        if (groups.has(key)) continue;
        const rollout = await tx.getRollout(s.rollout_id);
        if (!rollout) throw notFound(`rollout ${s.rollout_id}`);
        const attempt = await tx.getAttempt(s.rollout_id, s.attempt_id);
        if (!attempt) throw notFound(`attempt ${s.attempt_id} of rollout ${s.rollout_id}`);
        groups.set(key, { rollout, attempt });
      }

      // Sequence ids: one counter read and write per rollout in the batch. Ids chosen by the
      // client raise the counter first, so the ids issued here are above all of them.
      const counters = new Map<string, number>();
      for (const s of parsed) {
        if (counters.has(s.rollout_id)) continue;
        counters.set(
          s.rollout_id,
          ((await tx.getMeta(spanSequenceKey(s.rollout_id))) as number | undefined) ?? 0,
        );
      }
      for (const s of parsed) {
        if (s.sequence_id !== undefined && s.sequence_id > counters.get(s.rollout_id)!) {
          counters.set(s.rollout_id, s.sequence_id);
        }
      }
      const complete = parsed.map((s) => {
        if (s.sequence_id !== undefined) return s as Span;
        const sequence_id = counters.get(s.rollout_id)! + 1;
        counters.set(s.rollout_id, sequence_id);
        return { ...s, sequence_id } as Span;
      });
      for (const [rolloutId, value] of counters) await tx.setMeta(spanSequenceKey(rolloutId), value);
      const inserted = await tx.insertSpans(complete);

      // Each attempt that received a span has a heartbeat.
      const now = this.clock.now();
      const touched = new Set(inserted.map((s) => `${s.rollout_id}\u0000${s.attempt_id}`));
      const latest = await tx.getLatestAttempts([...new Set(inserted.map((s) => s.rollout_id))]);
      for (const key of touched) {
        const { rollout, attempt } = groups.get(key)!;
        const beat = heartbeat(attempt, now);
        await tx.putAttempts([beat]);
        if (latest.get(rollout.rollout_id)?.attempt_id !== attempt.attempt_id) continue;
        const running = rolloutAfterHeartbeat(rollout);
        if (running) await tx.putRollouts([running]);
      }
      return inserted;
    });
  }

  async querySpans(query: z.input<typeof SpanQuery>): Promise<PaginatedResult<Span>> {
    const q = parseInput(SpanQuery, query, 'span query');
    // "latest" can point to a new attempt once the watchdog requeues and a runner dequeues.
    await this.watchdogIfDue();
    return this.read(async (tx) => {
      let attemptId = q.attempt_id ?? null;
      if (attemptId === 'latest') {
        const latest = (await tx.getLatestAttempts([q.rollout_id])).get(q.rollout_id);
        if (!latest) return { items: [], limit: q.limit, offset: q.offset, total: 0 };
        attemptId = latest.attempt_id;
      }
      const rows = await tx.listSpans(q.rollout_id, attemptId);
      const conditions: Condition<Span>[] = [
        ...textConditions<Span>((s) => s.trace_id, q.trace_id, q.trace_id_contains),
        ...textConditions<Span>((s) => s.span_id, q.span_id, q.span_id_contains),
        ...textConditions<Span>((s) => s.parent_id, q.parent_id, q.parent_id_contains),
        ...textConditions<Span>((s) => s.name, q.name, q.name_contains),
      ];
      return paginate(
        applyFilters(rows, conditions, q.filter_logic),
        q,
        (s) => `${s.attempt_id}\u0000${s.span_id}`,
      );
    });
  }

  // ---- queries --------------------------------------------------------------------------------

  async queryRollouts(
    query: z.input<typeof RolloutQuery> = {},
  ): Promise<PaginatedResult<RolloutWithAttempt>> {
    const q = parseInput(RolloutQuery, query, 'rollout query');
    await this.watchdogIfDue();
    return this.read(async (tx) => {
      const unfiltered = !q.status_in && !q.rollout_id_in && (q.rollout_id_contains ?? null) === null;
      if (
        unfiltered &&
        tx.pageRollouts &&
        (q.sort_by === null || q.sort_by === 'start_time' || q.sort_by === 'rollout_id')
      ) {
        const { rows, total } = await tx.pageRollouts(
          q.sort_by ?? 'rollout_id',
          q.sort_order,
          q.offset,
          q.limit,
        );
        return { items: await this.withLatestAttempts(tx, rows), limit: q.limit, offset: q.offset, total };
      }
      const conditions: Condition<Rollout>[] = [];
      if (q.status_in) conditions.push((r) => q.status_in!.includes(r.status));
      if (q.rollout_id_in) conditions.push((r) => q.rollout_id_in!.includes(r.rollout_id));
      conditions.push(...textConditions<Rollout>((r) => r.rollout_id, null, q.rollout_id_contains));
      // With `and`, the backend can narrow by status or id before the rest is checked here.
      const pushdown =
        q.filter_logic === 'and'
          ? { status_in: q.status_in ?? undefined, rollout_id_in: q.rollout_id_in ?? undefined }
          : {};
      const rows = applyFilters(await tx.listRollouts(pushdown), conditions, q.filter_logic);
      const page = paginate(rows, q, (r) => r.rollout_id);
      return { ...page, items: await this.withLatestAttempts(tx, page.items) };
    });
  }

  private async withLatestAttempts(tx: StoreTx, rollouts: Rollout[]): Promise<RolloutWithAttempt[]> {
    const latest = await tx.getLatestAttempts(rollouts.map((r) => r.rollout_id));
    return rollouts.map((r) => {
      const attempt = latest.get(r.rollout_id);
      return attempt ? { ...r, attempt } : r;
    });
  }

  async getRolloutById(rolloutId: string): Promise<RolloutWithAttempt | null> {
    const id = parseInput(StoreId, rolloutId, 'rollout id');
    await this.watchdogIfDue();
    return this.read(async (tx) => {
      const rollout = await tx.getRollout(id);
      return rollout ? (await this.withLatestAttempts(tx, [rollout]))[0] : null;
    });
  }

  async queryAttempts(
    rolloutId: string,
    query: z.input<typeof AttemptQuery> = {},
  ): Promise<PaginatedResult<Attempt>> {
    const id = parseInput(StoreId, rolloutId, 'rollout id');
    const q = parseInput(AttemptQuery, query, 'attempt query');
    await this.watchdogIfDue();
    return this.read(async (tx) => paginate(await tx.listAttempts(id), q, (a) => a.attempt_id));
  }

  async getLatestAttempt(rolloutId: string): Promise<Attempt | null> {
    const id = parseInput(StoreId, rolloutId, 'rollout id');
    await this.watchdogIfDue();
    return this.read(async (tx) => (await tx.getLatestAttempts([id])).get(id) ?? null);
  }

  // ---- waits ----------------------------------------------------------------------------------

  async waitForRollouts(
    request: z.input<typeof WaitForRolloutsRequest>,
    options: { signal?: AbortSignal } = {},
  ): Promise<Rollout[]> {
    const { rollout_ids, timeout } = parseInput(WaitForRolloutsRequest, request, 'wait request');
    const { signal } = options;
    // Waits run on real time: a fake clock drives the watchdog, not how long a caller blocks.
    const deadline = timeout === null ? null : Date.now() + timeout * 1000;
    for (;;) {
      await this.watchdogIfDue();
      const found = await this.read((tx) => tx.listRollouts({ rollout_id_in: rollout_ids }));
      const byId = new Map(found.map((r) => [r.rollout_id, r]));
      const known = rollout_ids.filter((id) => byId.has(id));
      const finished = known.map((id) => byId.get(id)!).filter((r) => isFinished(r.status));
      const remaining = deadline === null ? Number.POSITIVE_INFINITY : deadline - Date.now();
      if (finished.length === known.length || remaining <= 0 || this.closed || signal?.aborted)
        return finished;
      await this.nextChange(Math.min(remaining, this.waitPollMs), signal);
    }
  }

  /**
   * Resolves at the next write in this process, after `ms` (to see other processes' writes), or when
   * `signal` aborts.
   */
  private nextChange(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      this.changeWaiters.push(done);
    });
  }

  // ---- resources ------------------------------------------------------------------------------

  async addResources(resources: NamedResourcesInput): Promise<ResourcesUpdate> {
    const parsed = parseInput(NamedResources, resources, 'resources');
    return this.write(async (tx) => {
      const now = this.clock.now();
      const update: ResourcesUpdate = {
        resources_id: newResourcesId(),
        create_time: now,
        update_time: now,
        version: 1,
        resources: parsed,
      };
      await tx.putResources([update]);
      await tx.setMeta(LATEST_RESOURCES_KEY, update.resources_id);
      return update;
    });
  }

  async updateResources(resourcesId: string, resources: NamedResourcesInput): Promise<ResourcesUpdate> {
    const id = parseInput(StoreId, resourcesId, 'resources id');
    const parsed = parseInput(NamedResources, resources, 'resources');
    return this.write(async (tx) => {
      const now = this.clock.now();
      const existing = await tx.getResources(id);
      const update: ResourcesUpdate = existing
        ? { ...existing, resources: parsed, update_time: now, version: existing.version + 1 }
        : { resources_id: id, create_time: now, update_time: now, version: 1, resources: parsed };
      await tx.putResources([update]);
      await tx.setMeta(LATEST_RESOURCES_KEY, id);
      return update;
    });
  }

  async getResourcesById(resourcesId: string): Promise<ResourcesUpdate | null> {
    const id = parseInput(StoreId, resourcesId, 'resources id');
    return this.read(async (tx) => (await tx.getResources(id)) ?? null);
  }

  async getLatestResources(): Promise<ResourcesUpdate | null> {
    return this.read(async (tx) => {
      const id = (await tx.getMeta(LATEST_RESOURCES_KEY)) as string | undefined;
      return id ? ((await tx.getResources(id)) ?? null) : null;
    });
  }

  async queryResources(
    query: z.input<typeof ResourcesQuery> = {},
  ): Promise<PaginatedResult<ResourcesUpdate>> {
    const q = parseInput(ResourcesQuery, query, 'resources query');
    return this.read(async (tx) => {
      const conditions = textConditions<ResourcesUpdate>(
        (r) => r.resources_id,
        q.resources_id,
        q.resources_id_contains,
      );
      return paginate(applyFilters(await tx.listResources(), conditions, 'and'), q, (r) => r.resources_id);
    });
  }

  // ---- workers --------------------------------------------------------------------------------

  async queryWorkers(query: z.input<typeof WorkerQuery> = {}): Promise<PaginatedResult<Worker>> {
    const q = parseInput(WorkerQuery, query, 'worker query');
    await this.watchdogIfDue();
    return this.read(async (tx) => {
      const conditions: Condition<Worker>[] = [];
      if (q.status_in) conditions.push((w) => q.status_in!.includes(w.status));
      conditions.push(...textConditions<Worker>((w) => w.worker_id, null, q.worker_id_contains));
      return paginate(
        applyFilters(await tx.listWorkers(), conditions, q.filter_logic),
        q,
        (w) => w.worker_id,
      );
    });
  }

  async getWorkerById(workerId: string): Promise<Worker | null> {
    const id = parseInput(StoreId, workerId, 'worker id');
    return this.read(async (tx) => (await tx.getWorker(id)) ?? null);
  }

  async updateWorker(workerId: string, update: z.input<typeof WorkerUpdate> = {}): Promise<Worker> {
    const id = parseInput(StoreId, workerId, 'worker id');
    const patch = parseInput(WorkerUpdate, update ?? {}, 'worker update');
    return this.write(async (tx) => {
      const worker = (await tx.getWorker(id)) ?? blankWorker(id);
      const next: Worker = { ...worker, last_heartbeat_time: this.clock.now() };
      if ('heartbeat_stats' in patch) next.heartbeat_stats = patch.heartbeat_stats ?? null;
      await tx.putWorkers([next]);
      return next;
    });
  }

  // ---- statistics, import, close --------------------------------------------------------------

  async statistics(): Promise<StoreStatistics> {
    await this.watchdogIfDue();
    const counts = await this.read((tx) => tx.counts());
    const byStatus = Object.fromEntries(
      (['queuing', 'preparing', 'running', 'succeeded', 'failed', 'cancelled', 'requeuing'] as const).map(
        (s) => [s, counts.rollouts_by_status[s] ?? 0],
      ),
    ) as Record<RolloutStatus, number>;
    return {
      name: this.backend.name,
      total_rollouts: counts.rollouts,
      total_attempts: counts.attempts,
      total_spans: counts.spans,
      total_resources: counts.resources,
      total_workers: counts.workers,
      uptime: this.clock.now() - this.createdAt,
      rollouts_by_status: byStatus,
      queue_length: counts.queue,
    };
  }

  /**
   * Imports whole rows (a sync push or pull) in one transaction, idempotently by id: replaying a
   * batch changes nothing, and a row never moves backwards (a finished rollout or attempt is not
   * replaced by an unfinished copy; resources keep their highest version), so batches applied
   * out of order converge (workers: the most recently active copy wins). Spans are immutable: an existing span is kept. Queued rollouts join
   * the queue; span counters rise above imported sequence ids.
   */
  async importRecords(records: StoreRecordsInput): Promise<ImportResult> {
    const batch = parseInput(StoreRecords, records, 'records');
    return this.write((tx) => this.importInto(tx, batch));
  }

  /** The body of importRecords, for subclasses that add to the same transaction. */
  protected async importInto(tx: StoreTx, batch: StoreRecords): Promise<ImportResult> {
    const written = { rollouts: 0, attempts: 0, spans: 0, resources: 0, workers: 0 };
    let skipped = 0;
    // A row is written when it is new, or changed and not behind what is stored.
    const admit = <T>(existing: T | undefined, row: T, behind: (stored: T) => boolean): boolean => {
      const take = !existing || (!sameRow(existing, row) && !behind(existing));
      if (!take) skipped++;
      return take;
    };
    for (const row of batch.rollouts) {
      const existing = await tx.getRollout(row.rollout_id);
      if (!admit(existing, row, (e) => rolloutRank(e.status) > rolloutRank(row.status))) continue;
      await tx.putRollouts([row]);
      if (isQueued(row.status)) await tx.enqueue([row.rollout_id]);
      written.rollouts++;
    }
    for (const row of batch.attempts) {
      const existing = await tx.getAttempt(row.rollout_id, row.attempt_id);
      if (!admit(existing, row, (e) => attemptRank(e.status) > attemptRank(row.status))) continue;
      await tx.putAttempts([row]);
      written.attempts++;
    }
    const inserted = await tx.insertSpans(batch.spans);
    written.spans = inserted.length;
    skipped += batch.spans.length - inserted.length;
    for (const s of inserted) await this.raiseSequenceTo(tx, s.rollout_id, s.sequence_id);
    for (const row of batch.resources) {
      const existing = await tx.getResources(row.resources_id);
      const newer = (e: ResourcesUpdate) =>
        e.version > row.version || (e.version === row.version && e.update_time >= row.update_time);
      if (!admit(existing, row, newer)) continue;
      await tx.putResources([row]);
      const latestId = (await tx.getMeta(LATEST_RESOURCES_KEY)) as string | undefined;
      const latest = latestId ? await tx.getResources(latestId) : undefined;
      if (!latest || row.update_time >= latest.update_time)
        await tx.setMeta(LATEST_RESOURCES_KEY, row.resources_id);
      written.resources++;
    }
    for (const row of batch.workers) {
      const existing = await tx.getWorker(row.worker_id);
      if (!admit(existing, row, (e) => workerActivity(e) >= workerActivity(row))) continue;
      await tx.putWorkers([row]);
      written.workers++;
    }
    return { written, skipped };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.notifyChange();
    await this.mutex.run(() => this.backend.close());
  }
}
