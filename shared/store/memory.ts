// The in-memory store: Maps and an array queue behind the shared engine. Rows are cloned on the
// way in and out, so callers can never change stored state by mutating a returned object.

import type { RowCounts, StoreBackend, StoreTx } from './backend';
import { EngineLightningStore, type EngineOptions } from './engine';
import type { Attempt, ResourcesUpdate, Rollout, RolloutStatus, Span, Worker } from './types';

const copy = <T>(value: T): T => structuredClone(value);

class MemoryTables implements StoreTx {
  readonly rollouts = new Map<string, Rollout>();
  /** rollout_id → attempts in sequence order. */
  readonly attempts = new Map<string, Attempt[]>();
  /** rollout_id → span key → span. */
  readonly spans = new Map<string, Map<string, Span>>();
  readonly resources = new Map<string, ResourcesUpdate>();
  readonly workers = new Map<string, Worker>();
  readonly meta = new Map<string, unknown>();
  readonly queue: string[] = [];
  readonly queued = new Set<string>();
  spanCount = 0;

  async getRollout(id: string) {
    const row = this.rollouts.get(id);
    return row && copy(row);
  }
  async listRollouts(
    filter: { status_in?: readonly RolloutStatus[]; rollout_id_in?: readonly string[] } = {},
  ) {
    const source = filter.rollout_id_in
      ? filter.rollout_id_in.map((id) => this.rollouts.get(id)).filter((r): r is Rollout => r !== undefined)
      : [...this.rollouts.values()];
    const statuses = filter.status_in;
    return (statuses ? source.filter((r) => statuses.includes(r.status)) : source).map(copy);
  }
  async putRollouts(rows: Rollout[]) {
    for (const r of rows) this.rollouts.set(r.rollout_id, copy(r));
  }

  async getAttempt(rolloutId: string, attemptId: string) {
    const row = this.attempts.get(rolloutId)?.find((a) => a.attempt_id === attemptId);
    return row && copy(row);
  }
  async getLatestAttempts(rolloutIds: readonly string[]) {
    const out = new Map<string, Attempt>();
    for (const id of rolloutIds) {
      const list = this.attempts.get(id);
      if (list?.length) out.set(id, copy(list[list.length - 1]));
    }
    return out;
  }
  async listAttempts(rolloutId: string) {
    return (this.attempts.get(rolloutId) ?? []).map(copy);
  }
  async putAttempts(rows: Attempt[]) {
    for (const a of rows) {
      const list = this.attempts.get(a.rollout_id) ?? [];
      const at = list.findIndex((x) => x.attempt_id === a.attempt_id);
      if (at >= 0) list[at] = copy(a);
      else {
        list.push(copy(a));
        list.sort((x, y) => x.sequence_id - y.sequence_id);
      }
      this.attempts.set(a.rollout_id, list);
    }
  }

  async enqueue(ids: readonly string[]) {
    for (const id of ids) {
      if (this.queued.has(id)) continue;
      this.queued.add(id);
      this.queue.push(id);
    }
  }
  async dequeue(limit: number) {
    const taken = this.queue.splice(0, limit);
    for (const id of taken) this.queued.delete(id);
    return taken;
  }

  async insertSpans(spans: Span[]) {
    const inserted: Span[] = [];
    for (const s of spans) {
      const byKey = this.spans.get(s.rollout_id) ?? new Map<string, Span>();
      this.spans.set(s.rollout_id, byKey);
      const key = `${s.attempt_id}\u0000${s.span_id}`;
      if (byKey.has(key)) continue;
      byKey.set(key, copy(s));
      inserted.push(s);
    }
    this.spanCount += inserted.length;
    return inserted;
  }
  async listSpans(rolloutId: string, attemptId: string | null) {
    const all = [...(this.spans.get(rolloutId)?.values() ?? [])];
    return (attemptId === null ? all : all.filter((s) => s.attempt_id === attemptId)).map(copy);
  }

  async getResources(id: string) {
    const row = this.resources.get(id);
    return row && copy(row);
  }
  async putResources(rows: ResourcesUpdate[]) {
    for (const r of rows) this.resources.set(r.resources_id, copy(r));
  }
  async listResources() {
    return [...this.resources.values()].map(copy);
  }

  async getWorker(id: string) {
    const row = this.workers.get(id);
    return row && copy(row);
  }
  async putWorkers(rows: Worker[]) {
    for (const w of rows) this.workers.set(w.worker_id, copy(w));
  }
  async listWorkers() {
    return [...this.workers.values()].map(copy);
  }

  async getMeta(key: string) {
    return copy(this.meta.get(key));
  }
  async setMeta(key: string, value: unknown) {
    this.meta.set(key, copy(value));
  }

  async counts(): Promise<RowCounts> {
    const byStatus: Partial<Record<RolloutStatus, number>> = {};
    for (const r of this.rollouts.values()) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    let attempts = 0;
    for (const list of this.attempts.values()) attempts += list.length;
    return {
      rollouts: this.rollouts.size,
      attempts,
      spans: this.spanCount,
      resources: this.resources.size,
      workers: this.workers.size,
      queue: this.queue.length,
      rollouts_by_status: byStatus,
    };
  }
}

class MemoryBackend implements StoreBackend {
  readonly name = 'InMemoryLightningStore';
  private readonly tables = new MemoryTables();
  // The engine runs one transaction at a time and checks before it writes, so plain Maps suffice.
  transaction<T>(_mode: 'r' | 'rw', body: (tx: StoreTx) => Promise<T>): Promise<T> {
    return body(this.tables);
  }
  async close() {}
}

export class InMemoryLightningStore extends EngineLightningStore {
  constructor(options: EngineOptions = {}) {
    super(new MemoryBackend(), options);
  }
}
