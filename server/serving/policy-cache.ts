// The policies the server answers with, loaded from its blob folder on first use and kept by
// checkpoint id. Two at most stay loaded (the served one and whichever checkpoint a client asked for
// last): a tiny policy is 3.4 MB of weights, a small one tens of MB, and each loaded copy lives in the
// tfjs backend's memory. Concurrent first requests for one id share one load.
//
// Every loaded policy has its own queue: tfjs work of one policy runs one generate call at a time, so
// concurrent clients take turns instead of interleaving their steps (the wasm backend is one thread;
// interleaving would only add KV caches side by side and finish everyone later).
import { type BlobStorage, CHECKPOINT_ID, loadCheckpoint } from '../../shared/policy/checkpoint';
import { policyFromCheckpoint } from '../../shared/policy/checkpoint-policy';
import type { Policy } from '../../shared/policy/model';
import type { PolicyTokenizer } from '../../shared/policy/tokenizer';
import { type BackendInfo, type BackendRequest, selectBackend } from '../../shared/train/backend';

export interface LoadedPolicy {
  checkpointId: string;
  policy: Policy;
  tokenizer: PolicyTokenizer;
  /** Runs `work` after every earlier call on this policy has finished (one generate at a time). */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  /** Calls waiting or running on this policy now. */
  readonly busy: number;
}

export interface PolicyCacheOptions {
  blobs: BlobStorage;
  /** The tfjs backend chosen before the first load (default wasm, as `edgelight eval` and training). */
  backend?: BackendRequest;
  /** Policies kept loaded (default 2). */
  capacity?: number;
}

/** Thrown for an id the blob folder has no checkpoint for (the route answers 404). */
export class UnknownCheckpointError extends Error {}

class Loaded implements LoadedPolicy {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  /** Evicted: its weights are freed after the calls already queued; no new call may queue. */
  retired = false;
  constructor(
    readonly checkpointId: string,
    readonly policy: Policy,
    readonly tokenizer: PolicyTokenizer,
  ) {}

  get busy(): number {
    return this.pending;
  }

  exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.retired) return Promise.reject(new Error(`policy ${this.checkpointId} was evicted`));
    this.pending++;
    const run = this.tail.then(work).finally(() => this.pending--);
    // The next caller waits for this one whether it succeeded or failed.
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Frees the weights once every queued call has run. */
  retire(): void {
    if (this.retired) return;
    void this.exclusive(async () => this.policy.dispose());
    this.retired = true;
  }
}

export class PolicyCache {
  private readonly loaded = new Map<string, Promise<Loaded>>();
  private backend: Promise<BackendInfo> | null = null;
  private readonly capacity: number;

  constructor(private readonly options: PolicyCacheOptions) {
    this.capacity = options.capacity ?? 2;
    if (!Number.isInteger(this.capacity) || this.capacity < 1)
      throw new Error(`capacity must be a positive integer, got ${this.capacity}`);
  }

  /** The backend policies run on (chosen on first use). */
  backendInfo(): Promise<BackendInfo> {
    this.backend ??= selectBackend({ prefer: this.options.backend ?? 'wasm' });
    return this.backend;
  }

  /** The loaded policy of `checkpointId`, loading it (and evicting the least recently used) if needed. */
  async get(checkpointId: string): Promise<LoadedPolicy> {
    if (!CHECKPOINT_ID.test(checkpointId))
      throw new UnknownCheckpointError(`not a checkpoint id (64 hex digits): '${checkpointId}'`);
    let entry = this.loaded.get(checkpointId);
    if (entry) {
      // Most recently used last: Map keeps insertion order.
      this.loaded.delete(checkpointId);
      this.loaded.set(checkpointId, entry);
      return entry;
    }
    entry = this.load(checkpointId);
    this.loaded.set(checkpointId, entry);
    // A failed load is forgotten, so a checkpoint uploaded later loads on the next request.
    entry.catch(() => {
      if (this.loaded.get(checkpointId) === entry) this.loaded.delete(checkpointId);
    });
    this.evict();
    return entry;
  }

  /**
   * Runs `work` on the policy of `checkpointId` in its queue. A policy evicted between its lookup and
   * the queueing (another client loaded two others meanwhile) is looked up, and so loaded, again.
   */
  async use<T>(checkpointId: string, work: (loaded: LoadedPolicy) => Promise<T>): Promise<T> {
    for (;;) {
      const loaded = (await this.get(checkpointId)) as Loaded;
      if (!loaded.retired) return loaded.exclusive(() => work(loaded));
    }
  }

  /** Whether the blob folder holds a checkpoint manifest under this id (without loading it). */
  async has(checkpointId: string): Promise<boolean> {
    if (!CHECKPOINT_ID.test(checkpointId)) return false;
    if (this.loaded.has(checkpointId)) return true;
    return (await this.options.blobs.get(checkpointId)) !== undefined;
  }

  /** Ids loaded or loading, least recently used first. */
  ids(): string[] {
    return [...this.loaded.keys()];
  }

  /** Frees every policy (after its queued calls). */
  async close(): Promise<void> {
    const entries = [...this.loaded.values()];
    this.loaded.clear();
    for (const entry of entries) (await entry.catch(() => null))?.retire();
  }

  private async load(checkpointId: string): Promise<Loaded> {
    await this.backendInfo();
    if (!(await this.options.blobs.get(checkpointId)))
      throw new UnknownCheckpointError(`no checkpoint ${checkpointId} in the blob folder`);
    const checkpoint = await loadCheckpoint(this.options.blobs, checkpointId);
    const { policy, tokenizer } = policyFromCheckpoint(checkpoint);
    return new Loaded(checkpointId, policy, tokenizer);
  }

  private evict(): void {
    while (this.loaded.size > this.capacity) {
      const [oldest, entry] = this.loaded.entries().next().value as [string, Promise<Loaded>];
      this.loaded.delete(oldest);
      void entry.then(
        (loaded) => loaded.retire(),
        () => undefined,
      );
    }
  }
}
