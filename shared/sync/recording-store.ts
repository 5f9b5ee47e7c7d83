import type { LightningStore } from '../store/store';
import type {
  AttemptQuery,
  AttemptUpdate,
  DequeueRequest,
  EnqueueRolloutRequest,
  NamedResourcesInput,
  ResourcesQuery,
  RolloutQuery,
  RolloutRequest,
  RolloutUpdate,
  SpanInput,
  SpanQuery,
  WaitForRolloutsRequest,
  WorkerQuery,
  WorkerUpdate,
} from '../store/types';
import type { OutboxKey, OutboxStorage } from './outbox';

/**
 * A LightningStore that notes in the outbox every row a write touched, after the write succeeded.
 * Runners and algorithms in a tab use this instead of the local store once sync is on; reads pass
 * straight through. Rows changed only by the watchdog reach the server with the rollout's next
 * write, or with a full resync (Syncer.backfill).
 */
export class OutboxRecordingStore implements LightningStore {
  constructor(
    readonly inner: LightningStore,
    private readonly outbox: OutboxStorage,
  ) {}

  private async note<T>(result: T, keys: OutboxKey[]): Promise<T> {
    if (keys.length > 0) await this.outbox.add(keys);
    return result;
  }

  private static rollouts(ids: Iterable<string>): OutboxKey[] {
    return [...new Set(ids)].map((rollout_id) => ({ kind: 'rollout', rollout_id }));
  }

  private static worker(workerId: string | null | undefined): OutboxKey[] {
    return workerId ? [{ kind: 'worker', worker_id: workerId }] : [];
  }

  async startRollout(request: RolloutRequest) {
    const r = await this.inner.startRollout(request);
    return this.note(r, [
      ...OutboxRecordingStore.rollouts([r.rollout_id]),
      ...OutboxRecordingStore.worker(request.worker_id),
    ]);
  }
  async enqueueRollout(request: EnqueueRolloutRequest) {
    const r = await this.inner.enqueueRollout(request);
    return this.note(r, OutboxRecordingStore.rollouts([r.rollout_id]));
  }
  async enqueueRollouts(requests: EnqueueRolloutRequest[]) {
    const rs = await this.inner.enqueueRollouts(requests);
    return this.note(rs, OutboxRecordingStore.rollouts(rs.map((r) => r.rollout_id)));
  }
  async dequeueRollout(request?: Omit<DequeueRequest, 'limit'>) {
    const r = await this.inner.dequeueRollout(request);
    if (!r) return r;
    return this.note(r, [
      ...OutboxRecordingStore.rollouts([r.rollout_id]),
      ...OutboxRecordingStore.worker(request?.worker_id),
    ]);
  }
  async dequeueRollouts(request?: DequeueRequest) {
    const rs = await this.inner.dequeueRollouts(request);
    if (rs.length === 0) return rs;
    return this.note(rs, [
      ...OutboxRecordingStore.rollouts(rs.map((r) => r.rollout_id)),
      ...OutboxRecordingStore.worker(request?.worker_id),
    ]);
  }
  async startAttempt(rolloutId: string, request?: { worker_id?: string | null }) {
    const r = await this.inner.startAttempt(rolloutId, request);
    return this.note(r, [
      ...OutboxRecordingStore.rollouts([rolloutId]),
      ...OutboxRecordingStore.worker(request?.worker_id),
    ]);
  }

  async addSpan(span: SpanInput) {
    const stored = await this.inner.addSpan(span);
    if (!stored) return stored;
    // A span is also a heartbeat: its attempt (and maybe its rollout) changed status.
    return this.note(stored, [
      { kind: 'span', rollout_id: stored.rollout_id, attempt_id: stored.attempt_id, span_id: stored.span_id },
      ...OutboxRecordingStore.rollouts([stored.rollout_id]),
    ]);
  }
  async addSpans(spans: SpanInput[]) {
    const stored = await this.inner.addSpans(spans);
    return this.note(stored, [
      ...stored.map(
        (s): OutboxKey => ({
          kind: 'span',
          rollout_id: s.rollout_id,
          attempt_id: s.attempt_id,
          span_id: s.span_id,
        }),
      ),
      ...OutboxRecordingStore.rollouts(stored.map((s) => s.rollout_id)),
    ]);
  }
  async getNextSpanSequenceId(rolloutId: string, attemptId: string) {
    return this.inner.getNextSpanSequenceId(rolloutId, attemptId);
  }

  queryRollouts(query?: RolloutQuery) {
    return this.inner.queryRollouts(query);
  }
  getRolloutById(rolloutId: string) {
    return this.inner.getRolloutById(rolloutId);
  }
  queryAttempts(rolloutId: string, query?: AttemptQuery) {
    return this.inner.queryAttempts(rolloutId, query);
  }
  getLatestAttempt(rolloutId: string) {
    return this.inner.getLatestAttempt(rolloutId);
  }
  querySpans(query: SpanQuery) {
    return this.inner.querySpans(query);
  }

  async addResources(resources: NamedResourcesInput) {
    const r = await this.inner.addResources(resources);
    return this.note(r, [{ kind: 'resources', resources_id: r.resources_id }]);
  }
  async updateResources(resourcesId: string, resources: NamedResourcesInput) {
    const r = await this.inner.updateResources(resourcesId, resources);
    return this.note(r, [{ kind: 'resources', resources_id: r.resources_id }]);
  }
  getResourcesById(resourcesId: string) {
    return this.inner.getResourcesById(resourcesId);
  }
  getLatestResources() {
    return this.inner.getLatestResources();
  }
  queryResources(query?: ResourcesQuery) {
    return this.inner.queryResources(query);
  }

  waitForRollouts(request: WaitForRolloutsRequest, options?: { signal?: AbortSignal }) {
    return this.inner.waitForRollouts(request, options);
  }
  async updateRollout(rolloutId: string, update: RolloutUpdate) {
    const r = await this.inner.updateRollout(rolloutId, update);
    return this.note(r, OutboxRecordingStore.rollouts([rolloutId]));
  }
  async updateAttempt(rolloutId: string, attemptId: string, update: AttemptUpdate) {
    const a = await this.inner.updateAttempt(rolloutId, attemptId, update);
    return this.note(a, [
      ...OutboxRecordingStore.rollouts([rolloutId]),
      ...OutboxRecordingStore.worker(a.worker_id),
    ]);
  }

  queryWorkers(query?: WorkerQuery) {
    return this.inner.queryWorkers(query);
  }
  getWorkerById(workerId: string) {
    return this.inner.getWorkerById(workerId);
  }
  async updateWorker(workerId: string, update?: WorkerUpdate) {
    const w = await this.inner.updateWorker(workerId, update);
    return this.note(w, OutboxRecordingStore.worker(workerId));
  }

  statistics() {
    return this.inner.statistics();
  }
  runWatchdog() {
    return this.inner.runWatchdog();
  }
  close() {
    return this.inner.close();
  }
}
