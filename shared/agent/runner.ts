import type { LightningStore } from '../store/store';
import type { AttemptedRollout, LlmResource, PolicyResource, ResourcesUpdate } from '../store/types';
import type { z } from 'zod';
import { createRolloutContext, describeError, type ResolvedResources, type RolloutContext } from './context';
import { createLlmPolicy } from './llm-policy';
import type { ReplyPolicy } from './policy';
import type { LitAgent } from './rollout';
import { AGL_EXCEPTION, ATTR } from './semconv';

// The runner: Agent Lightning's worker loop. Dequeue a rollout (which opens an attempt), resolve its
// resources, run the agent with a bound context, mark the attempt succeeded or failed. It talks to
// nothing but the LightningStore, so the same loop runs in a tab, a Web Worker or Node, against an
// in-memory, IndexedDB, SQLite or HTTP store. Several runners share a store by running concurrently
// (async concurrency in one thread here; a Web Worker per runner in the browser is the app's choice).

export type PolicyResourceSpec = z.infer<typeof PolicyResource>;
export type LlmResourceSpec = z.infer<typeof LlmResource>;

/**
 * Maps a `policy` resource (a checkpoint id) to something that drafts replies. The trainer plugs its
 * model in here; the CLI plugs in the baseline or a loaded checkpoint.
 */
export type PolicyResolver = (resource: PolicyResourceSpec) => Promise<ReplyPolicy> | ReplyPolicy;

export interface RunnerHooks {
  onRolloutStart?(rollout: AttemptedRollout, context: RolloutContext): void | Promise<void>;
  onRolloutEnd?(rollout: AttemptedRollout, outcome: RolloutOutcome): void | Promise<void>;
}

export interface RolloutOutcome {
  status: 'succeeded' | 'failed';
  error?: { type: string; message: string };
  seconds: number;
}

export interface RunnerOptions {
  store: LightningStore;
  agent: LitAgent;
  workerId?: string;
  resolvePolicy?: PolicyResolver;
  /** For `llm` resources; defaults to the OpenAI-compatible client over the global fetch. */
  resolveLlm?: (resource: LlmResourceSpec) => ReplyPolicy;
  hooks?: RunnerHooks;
  /** Cooperative stop: the loop ends after the rollout in progress (whose context sees the signal). */
  signal?: AbortSignal;
  /** Return once the queue is empty instead of polling for more (default false). */
  stopWhenEmpty?: boolean;
  /** Stop after this many rollouts. */
  maxRollouts?: number;
  pollIntervalMs?: number;
  /** How often a busy runner refreshes the worker and attempt heartbeats (default 5 s). */
  heartbeatIntervalMs?: number;
  /** Where runner-level problems (a failed bookkeeping write) are reported; default console.warn. */
  warn?: (message: string) => void;
}

export interface RunnerStats {
  workerId: string;
  rollouts: number;
  succeeded: number;
  failed: number;
}

let runnerCounter = 0;
const MAX_CONSECUTIVE_STORE_FAILURES = 5;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class Runner {
  readonly workerId: string;
  private readonly policies = new Map<string, Promise<ReplyPolicy>>();
  private readonly stats: RunnerStats;
  private readonly warn: (message: string) => void;

  constructor(private readonly options: RunnerOptions) {
    this.workerId = options.workerId ?? `runner-${++runnerCounter}`;
    this.stats = { workerId: this.workerId, rollouts: 0, succeeded: 0, failed: 0 };
    this.warn = options.warn ?? ((m) => console.warn(m));
  }

  /** Runs until stopped, out of rollouts (with stopWhenEmpty) or at maxRollouts. */
  async run(): Promise<RunnerStats> {
    const { store, signal } = this.options;
    await store.updateWorker(this.workerId, { heartbeat_stats: { ...this.stats } });
    let storeFailures = 0;
    while (!signal?.aborted) {
      if (this.options.maxRollouts !== undefined && this.stats.rollouts >= this.options.maxRollouts) break;
      let ran: boolean;
      try {
        ran = await this.step();
        storeFailures = 0;
      } catch (error) {
        // A store that cannot be reached (a dropped connection to a server store) is retried with
        // a growing pause; one that keeps failing ends the loop with its error.
        if (++storeFailures >= MAX_CONSECUTIVE_STORE_FAILURES) throw error;
        this.warn(`runner ${this.workerId}: dequeue failed (${describeError(error).message}); retrying`);
        await sleep((this.options.pollIntervalMs ?? 50) * 2 ** storeFailures, signal);
        continue;
      }
      if (!ran) {
        if (this.options.stopWhenEmpty) break;
        await sleep(this.options.pollIntervalMs ?? 50, signal);
      }
    }
    await store.updateWorker(this.workerId, { heartbeat_stats: { ...this.stats } }).catch(() => undefined);
    return { ...this.stats };
  }

  /** Dequeues and runs one rollout; false when the queue was empty. */
  async step(): Promise<boolean> {
    const rollout = await this.options.store.dequeueRollout({ worker_id: this.workerId });
    if (!rollout) return false;
    await this.runAttempt(rollout);
    return true;
  }

  /**
   * Runs the agent on an attempt opened elsewhere and closes it: the server's intake opens one per
   * feedback item with store.startRollout, outside the FIFO queue that training jobs' runners share.
   */
  async runAttempt(rollout: AttemptedRollout): Promise<RolloutOutcome> {
    const { store, agent, hooks } = this.options;
    const started = Date.now();
    const controller = new AbortController();
    const onStop = () => controller.abort(this.options.signal?.reason);
    this.options.signal?.addEventListener('abort', onStop, { once: true });
    const heartbeat = setInterval(() => {
      void Promise.all([
        store.updateWorker(this.workerId, { heartbeat_stats: { ...this.stats } }),
        store.updateAttempt(rollout.rollout_id, rollout.attempt.attempt_id, {
          last_heartbeat_time: Date.now() / 1000,
        }),
      ]).catch((e) => this.warn(`runner ${this.workerId}: heartbeat failed: ${describeError(e).message}`));
    }, this.options.heartbeatIntervalMs ?? 5000);

    let outcome: RolloutOutcome;
    let context: RolloutContext | null = null;
    try {
      const resources = await this.resolveResources(rollout);
      context = createRolloutContext({
        store,
        rollout,
        resources,
        workerId: this.workerId,
        signal: controller.signal,
      });
      await hooks?.onRolloutStart?.(rollout, context);
      await agent.execute(rollout.input, context);
      outcome = { status: 'succeeded', seconds: (Date.now() - started) / 1000 };
    } catch (error) {
      const e = describeError(error);
      outcome = {
        status: 'failed',
        error: { type: e.type, message: e.message },
        seconds: (Date.now() - started) / 1000,
      };
      await this.recordException(rollout, context, error);
    } finally {
      clearInterval(heartbeat);
      this.options.signal?.removeEventListener('abort', onStop);
    }
    try {
      await context?.flush();
    } catch (error) {
      outcome = {
        status: 'failed',
        error: { type: 'SpanWriteError', message: describeError(error).message },
        seconds: outcome.seconds,
      };
    }
    this.stats.rollouts++;
    if (outcome.status === 'succeeded') this.stats.succeeded++;
    else this.stats.failed++;
    try {
      // A failed attempt is requeued by the store when its RolloutConfig allows a retry.
      await store.updateAttempt(rollout.rollout_id, rollout.attempt.attempt_id, { status: outcome.status });
    } catch (error) {
      this.warn(
        `runner ${this.workerId}: could not close attempt ${rollout.attempt.attempt_id}: ${describeError(error).message}`,
      );
    }
    try {
      await hooks?.onRolloutEnd?.(rollout, outcome);
    } catch (error) {
      this.warn(`runner ${this.workerId}: onRolloutEnd hook threw: ${describeError(error).message}`);
    }
    return outcome;
  }

  private async recordException(rollout: AttemptedRollout, context: RolloutContext | null, error: unknown) {
    try {
      if (context) {
        await context.emitException(error);
        return;
      }
      // The failure came before a context existed (resources): write the span directly.
      const e = describeError(error);
      await this.options.store.addSpan({
        rollout_id: rollout.rollout_id,
        attempt_id: rollout.attempt.attempt_id,
        trace_id: `${rollout.attempt.attempt_id}-trace`,
        span_id: `${rollout.attempt.attempt_id}-exception`,
        name: AGL_EXCEPTION,
        attributes: {
          [ATTR.exceptionType]: e.type,
          [ATTR.exceptionMessage]: e.message,
          [ATTR.exceptionStacktrace]: e.stack,
        },
        status: { status_code: 'ERROR', description: e.message },
        start_time: Date.now() / 1000,
        end_time: Date.now() / 1000,
      });
    } catch (writeError) {
      this.warn(`runner ${this.workerId}: could not record exception: ${describeError(writeError).message}`);
    }
  }

  private async resolveResources(rollout: AttemptedRollout): Promise<ResolvedResources> {
    const { store } = this.options;
    let update: ResourcesUpdate | null;
    if (rollout.resources_id) {
      update = await store.getResourcesById(rollout.resources_id);
      if (!update)
        throw new Error(`rollout ${rollout.rollout_id}: resources '${rollout.resources_id}' not found`);
    } else {
      update = await store.getLatestResources();
    }
    const named = update?.resources ?? {};
    let llm: LlmResourceSpec | null = null;
    let policyResource: PolicyResourceSpec | null = null;
    for (const [name, resource] of Object.entries(named)) {
      if (resource.resource_type === 'policy' && (name === 'policy' || !policyResource))
        policyResource = resource;
      if (
        (resource.resource_type === 'llm' || resource.resource_type === 'proxy_llm') &&
        (name === 'llm' || !llm)
      ) {
        llm = { ...resource, resource_type: 'llm' } as LlmResourceSpec;
      }
    }
    let policy: ReplyPolicy | null = null;
    if (policyResource)
      policy = await this.policyFor(`policy:${policyResource.checkpoint_id}`, () =>
        this.resolvePolicy(policyResource!),
      );
    else if (llm) {
      const spec = llm;
      policy = await this.policyFor(`llm:${spec.endpoint}:${spec.model}`, () =>
        this.options.resolveLlm
          ? this.options.resolveLlm(spec)
          : createLlmPolicy({ endpoint: spec.endpoint, model: spec.model, apiKey: spec.api_key }),
      );
    }
    return { resourcesId: update?.resources_id ?? null, named, policy, llm };
  }

  private resolvePolicy(resource: PolicyResourceSpec): Promise<ReplyPolicy> | ReplyPolicy {
    if (!this.options.resolvePolicy) {
      throw new Error(`no policy resolver configured for checkpoint '${resource.checkpoint_id}'`);
    }
    return this.options.resolvePolicy(resource);
  }

  /** One resolution per checkpoint or endpoint per runner: loading a model is not free. */
  private policyFor(key: string, make: () => Promise<ReplyPolicy> | ReplyPolicy): Promise<ReplyPolicy> {
    let cached = this.policies.get(key);
    if (!cached) {
      cached = Promise.resolve().then(make);
      // A failed load is retried on the next rollout rather than cached forever.
      cached.catch(() => this.policies.delete(key));
      this.policies.set(key, cached);
    }
    return cached;
  }
}

/** Runs `count` runners side by side on one store; resolves with each runner's stats. */
export async function runRunners(
  count: number,
  options: Omit<RunnerOptions, 'workerId'> & { workerIdPrefix?: string },
) {
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`runner count must be a positive integer, got ${count}`);
  const prefix = options.workerIdPrefix ?? 'runner';
  const runners = Array.from(
    { length: count },
    (_, i) => new Runner({ ...options, workerId: `${prefix}-${i + 1}` }),
  );
  return Promise.all(runners.map((r) => r.run()));
}
