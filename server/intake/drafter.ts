// Drafting of accepted feedback items on the server, in the background after the 202: each item's
// rollout is drafted by the SERVED policy (serving/served.ts) through the feedback agent, governed and
// scored as in training, so the item's rollout carries the usual reply and reward spans for the Inbox.
// One item at a time: the tfjs backend is one thread, and the policy cache runs one generate per policy
// at a time anyway (chat completions take turns with it).
//
// The attempt is the one the intake opened with store.startRollout; the shared Runner runs the agent
// on it (resources, heartbeats, exception spans, closing the attempt), never dequeuing from the FIFO
// queue that training jobs' runners share. A server that stopped mid-draft picks its items up again
// on start: an item still `preparing` runs its untouched attempt, one left `running` gets a new one.
import { createFeedbackAgent } from '../../shared/agent/feedback-agent';
import type { DraftedReply, DraftOptions, ReplyPolicy } from '../../shared/agent/policy';
import type { PromptFormat } from '../../shared/agent/prompt';
import { Runner } from '../../shared/agent/runner';
import type { GovernancePipeline } from '../../shared/governance/types';
import type { BlobStorage } from '../../shared/policy/checkpoint';
import { TransformerReplyPolicy } from '../../shared/policy/reply-policy';
import type { FeedbackItemInput } from '../../shared/review/contract';
import type { LightningStore } from '../../shared/store/store';
import type { AttemptedRollout, RolloutWithAttempt } from '../../shared/store/types';
import { PolicyCache } from '../serving/policy-cache';
import { ensureServed } from '../serving/served';
import { DRAFTING_METADATA, type DraftingQueue, isItemRollout, PROVISIONAL_ITEM_ID } from './intake';

export const DEFAULT_DRAFT_GROUP = 4;
/** Reply length on the server: the length training samples with (sequence.ts's default) is longer than a reviewer needs. */
export const DEFAULT_DRAFT_MAX_TOKENS = 96;

export interface FeedbackDrafterOptions {
  store: LightningStore;
  /** Checkpoint blobs (the served policy is loaded from them). */
  checkpoints: BlobStorage;
  governance: GovernancePipeline;
  /** Shared with the chat route, so the served policy is loaded once; one of its own otherwise. */
  policies?: PolicyCache;
  /** Replies per item (G, default 4). */
  group?: number;
  maxTokens?: number;
  temperature?: number;
  /** The store's worker id of the drafter (default `intake-drafter`). */
  workerId?: string;
  log?: (message: string) => void;
}

/**
 * Lets pending I/O run between decoding steps: tfjs's wasm ops are synchronous, so without it a
 * draft holds the event loop for the whole item and every API request (the intake's 202 included)
 * waits behind it (measured: intake p50 1.4 s while drafting, bench/intake.ts).
 */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A ReplyPolicy over the policy cache: every draft runs in the cached policy's queue, so the drafter and
 * chat completions take turns on one loaded copy, and an evicted policy is loaded again on next use.
 */
class CachedReplyPolicy implements ReplyPolicy {
  constructor(
    readonly id: string,
    readonly promptFormat: PromptFormat,
    private readonly policies: PolicyCache,
    private readonly maxNewTokens: number,
  ) {}

  draft(prompts: string[], samplesPerPrompt: number, options?: DraftOptions): Promise<DraftedReply[][]> {
    return this.policies.use(this.id, (loaded) =>
      new TransformerReplyPolicy({
        id: this.id,
        policy: loaded.policy,
        tokenizer: loaded.tokenizer,
        maxNewTokens: this.maxNewTokens,
        onStep: yieldToEventLoop,
      }).draft(prompts, samplesPerPrompt, options),
    );
  }
}

export class FeedbackDrafter implements DraftingQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly runner: Runner;
  private readonly policies: PolicyCache;
  private readonly ownsPolicies: boolean;
  private readonly log: (message: string) => void;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  private current: string | null = null;
  private idleWaiters: (() => void)[] = [];
  /** Exponentially weighted seconds per item, for Retry-After when the backlog is full. */
  private meanSeconds = 2;
  /** Items drafted since start (succeeded or failed), for the bench and logs. */
  drafted = 0;

  constructor(private readonly options: FeedbackDrafterOptions) {
    this.log = options.log ?? ((m) => console.error(m));
    this.ownsPolicies = !options.policies;
    this.policies = options.policies ?? new PolicyCache({ blobs: options.checkpoints });
    const maxTokens = options.maxTokens ?? DEFAULT_DRAFT_MAX_TOKENS;
    this.runner = new Runner({
      store: options.store,
      workerId: options.workerId ?? 'intake-drafter',
      agent: createFeedbackAgent({
        governance: options.governance,
        group: options.group ?? DEFAULT_DRAFT_GROUP,
        maxTokens,
        temperature: options.temperature,
      }),
      resolvePolicy: async (resource) => {
        const loaded = await this.policies.get(resource.checkpoint_id);
        const format = { keyWords: loaded.policy.config.promptKeyWords };
        return new CachedReplyPolicy(resource.checkpoint_id, format, this.policies, maxTokens);
      },
      // No stop signal: an item being drafted is finished (and its attempt closed) before stop() returns.
      warn: this.log,
    });
  }

  get backlog(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  /** When the next slot frees (one item's drafting): the earliest a refused post can succeed. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.meanSeconds));
  }

  enqueue(rolloutId: string): void {
    if (this.stopping.signal.aborted || this.queued.has(rolloutId) || this.current === rolloutId) return;
    this.queue.push(rolloutId);
    this.queued.add(rolloutId);
    this.loop ??= this.drain().finally(() => {
      this.loop = null;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  /** Queues every item a previous run left undrafted (`preparing` or `running`), oldest first. */
  async resume(): Promise<number> {
    // Listed first, queued after: drafting changes statuses, which would shift the pages under us.
    const ids: string[] = [];
    for (let offset = 0; ; offset += 500) {
      const page = await this.options.store.queryRollouts({
        status_in: ['preparing', 'running'],
        sort_by: 'start_time',
        sort_order: 'asc',
        limit: 500,
        offset,
      });
      for (const rollout of page.items) if (isItemRollout(rollout)) ids.push(rollout.rollout_id);
      if (page.items.length < 500) break;
    }
    for (const id of ids) this.enqueue(id);
    return ids.length;
  }

  /** Resolves once nothing is queued or drafting. */
  idle(): Promise<void> {
    if (!this.loop) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops after the item being drafted (its attempt is closed); queued items stay for the next start. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.queue.length = 0;
    this.queued.clear();
    await this.loop;
    if (this.ownsPolicies) await this.policies.close();
  }

  private async drain(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      const id = this.queue.shift();
      if (id === undefined) return;
      this.queued.delete(id);
      this.current = id;
      const started = performance.now();
      try {
        if (await this.draftOne(id)) {
          this.drafted++;
          this.meanSeconds = 0.7 * this.meanSeconds + 0.3 * ((performance.now() - started) / 1000);
        }
      } catch (error) {
        // The store could not be read or written: the item stays undrafted and is retried on next start.
        this.log(`edgelight intake: drafting ${id} failed: ${(error as Error).message}`);
      } finally {
        this.current = null;
      }
    }
  }

  /** Drafts one item; false when there was nothing to draft (already drafted, not an item, blocked). */
  private async draftOne(rolloutId: string): Promise<boolean> {
    const { store } = this.options;
    const rollout = await store.getRolloutById(rolloutId);
    if (!rollout || !isItemRollout(rollout)) return false;
    if (rollout.status !== 'preparing' && rollout.status !== 'running') return false;
    let input = rollout.input as FeedbackItemInput;
    if (input.id === PROVISIONAL_ITEM_ID) {
      // The intake stopped between its two writes: give the item its id now.
      input = { ...input, id: rollout.rollout_id };
      await store.updateRollout(rollout.rollout_id, { input });
    }
    const attempt = await this.attemptFor(rollout);
    if (input.metadata.verdict.decision === 'block') {
      // Stored for the reviewer to see (and mark as spam), never drafted: see intake.ts.
      await store.updateRollout(rollout.rollout_id, {
        metadata: {
          ...(rollout.metadata ?? {}),
          [DRAFTING_METADATA]: 'skipped: governance blocked the feedback',
        },
      });
      await store.updateAttempt(rollout.rollout_id, attempt.attempt.attempt_id, { status: 'succeeded' });
      return false;
    }
    // The policy served NOW drafts it (a promotion since the item arrived applies to it).
    const served = await ensureServed(store, this.options.checkpoints);
    if (attempt.resources_id !== served.resourcesId)
      await store.updateRollout(rollout.rollout_id, { resources_id: served.resourcesId });
    const outcome = await this.runner.runAttempt({ ...attempt, input, resources_id: served.resourcesId });
    if (outcome.status === 'failed')
      this.log(
        `edgelight intake: drafting ${rolloutId} failed: ${outcome.error?.message ?? 'unknown error'}`,
      );
    return true;
  }

  /** The attempt to draft on: the intake's own while untouched, a fresh one after an interrupted draft. */
  private async attemptFor(rollout: RolloutWithAttempt): Promise<AttemptedRollout> {
    const { store } = this.options;
    if (rollout.attempt && rollout.attempt.status === 'preparing')
      return { ...rollout, attempt: rollout.attempt };
    if (rollout.attempt)
      await store.updateAttempt(rollout.rollout_id, rollout.attempt.attempt_id, { status: 'failed' });
    return store.startAttempt(rollout.rollout_id, { worker_id: this.runner.workerId });
  }
}
