import type { LightningStore } from '../../shared/store/store';
import type { JobRunner, TrainJob, TrainJobEvent, WorkerMessage } from './types';

export class JobConflictError extends Error {}

export type JobManagerOptions = {
  runner: JobRunner;
  /** Where checkpoints are published as new versions of the `resourcesId` bundle. */
  store?: LightningStore;
  /** The resources bundle every checkpoint updates (default "policy"). */
  resourcesId?: string;
  /** Jobs that may run at once (default 1): training saturates the CPU. */
  maxConcurrent?: number;
  now?: () => number;
  newId?: () => string;
};

type Entry = {
  job: TrainJob;
  controller: AbortController;
  listeners: Set<(event: TrainJobEvent) => void>;
  /** Messages are handled in order; publishing a checkpoint finishes before the job can end. */
  chain: Promise<void>;
  done: Promise<void>;
};

/**
 * Training jobs of this server: starts them through the runner, keeps their state and progress,
 * publishes each checkpoint as a new resources version, and fans events out to SSE listeners.
 */
export class TrainJobManager {
  private readonly jobs = new Map<string, Entry>();
  private readonly maxConcurrent: number;
  private readonly now: () => number;
  private readonly newId: () => string;

  constructor(private readonly options: JobManagerOptions) {
    this.maxConcurrent = options.maxConcurrent ?? 1;
    this.now = options.now ?? (() => Date.now() / 1000);
    this.newId = options.newId ?? (() => `job-${crypto.randomUUID().slice(0, 12)}`);
  }

  running(): TrainJob[] {
    return [...this.jobs.values()].filter((e) => e.job.status === 'running').map((e) => ({ ...e.job }));
  }

  list(): TrainJob[] {
    return [...this.jobs.values()].map((e) => ({ ...e.job }));
  }

  get(jobId: string): TrainJob | null {
    const entry = this.jobs.get(jobId);
    return entry ? { ...entry.job, checkpoints: [...entry.job.checkpoints] } : null;
  }

  /** Starts a job; throws JobConflictError when `maxConcurrent` jobs already run. */
  start(config: Record<string, unknown>): TrainJob {
    const busy = this.running();
    if (busy.length >= this.maxConcurrent) {
      throw new JobConflictError(
        `a training job is already running (${busy.map((j) => j.job_id).join(', ')}); stop it first (DELETE /v1/train/jobs/:id)`,
      );
    }
    const job: TrainJob = {
      job_id: this.newId(),
      status: 'running',
      config,
      created_at: this.now(),
      ended_at: null,
      latest_metrics: null,
      checkpoints: [],
      error: null,
    };
    const controller = new AbortController();
    const entry: Entry = {
      job,
      controller,
      listeners: new Set(),
      chain: Promise.resolve(),
      done: Promise.resolve(),
    };
    this.jobs.set(job.job_id, entry);
    entry.done = this.options
      .runner(
        { job_id: job.job_id, config },
        (message) => this.enqueueMessage(entry, message),
        controller.signal,
      )
      .then(
        async () => {
          await entry.chain;
          this.finish(entry, controller.signal.aborted ? 'cancelled' : 'succeeded');
        },
        async (error: unknown) => {
          await entry.chain;
          const message = error instanceof Error ? error.message : String(error);
          this.finish(entry, controller.signal.aborted ? 'cancelled' : 'failed', message);
        },
      );
    return { ...job };
  }

  /** Asks a running job to stop; resolves once it has. Returns null for an unknown job. */
  async stop(jobId: string): Promise<TrainJob | null> {
    const entry = this.jobs.get(jobId);
    if (!entry) return null;
    if (entry.job.status === 'running') entry.controller.abort();
    await entry.done;
    return this.get(jobId);
  }

  /** Calls `listener` for each event of the job from now on; returns the unsubscribe function. */
  subscribe(jobId: string, listener: (event: TrainJobEvent) => void): (() => void) | null {
    const entry = this.jobs.get(jobId);
    if (!entry) return null;
    entry.listeners.add(listener);
    return () => entry.listeners.delete(listener);
  }

  /** Resolves when the job has ended (any status). */
  async settled(jobId: string): Promise<void> {
    await this.jobs.get(jobId)?.done;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.running().map((j) => this.stop(j.job_id)));
  }

  private emit(entry: Entry, event: TrainJobEvent): void {
    for (const listener of entry.listeners) listener(event);
  }

  private enqueueMessage(
    entry: Entry,
    message: Exclude<WorkerMessage, { type: 'done' } | { type: 'error' }>,
  ) {
    entry.chain = entry.chain.then(() =>
      this.onMessage(entry, message).catch((error: unknown) => {
        const text = error instanceof Error ? error.message : String(error);
        this.emit(entry, { type: 'log', message: `publishing failed: ${text}` });
      }),
    );
  }

  private async onMessage(
    entry: Entry,
    message: Exclude<WorkerMessage, { type: 'done' } | { type: 'error' }>,
  ) {
    if (message.type === 'metrics') {
      entry.job.latest_metrics = message.metrics;
      this.emit(entry, message);
    } else if (message.type === 'log' || message.type === 'phase') {
      this.emit(entry, message);
    } else if (message.type === 'checkpoint') {
      const published = await this.publish(message.checkpoint_id, entry.job.job_id, message.step);
      const record = { step: message.step, checkpoint_id: message.checkpoint_id, ...published };
      entry.job.checkpoints.push(record);
      this.emit(entry, { type: 'checkpoint', ...record });
    }
  }

  /** A checkpoint becomes the newest version of the policy bundle, which browsers then pull. */
  private async publish(checkpointId: string, jobId: string, step: number) {
    const store = this.options.store;
    if (!store) return { resources_id: '', version: 0 };
    const update = await store.updateResources(this.options.resourcesId ?? 'policy', {
      policy: { resource_type: 'policy', checkpoint_id: checkpointId, metadata: { job_id: jobId, step } },
    });
    return { resources_id: update.resources_id, version: update.version };
  }

  private finish(entry: Entry, status: TrainJob['status'], error?: string): void {
    entry.job.status = status;
    entry.job.ended_at = this.now();
    entry.job.error = error ?? null;
    this.emit(entry, { type: 'status', status, ...(error ? { error } : {}) });
    entry.listeners.clear();
  }
}
