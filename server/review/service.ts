// The review loop as one object `serve` starts and stops: the resolver reads the store's change feed
// and rules on new decisions, the outbox sends what is due. It runs every `pollMs` (1 s), sooner when a
// sync push or a decision route wakes it or a retry falls due, one pass at a time, and `stop()` ends it
// cleanly: no new pass starts, a webhook request in flight is aborted (its attempt is not counted and
// is made again after the restart), and the review database is closed.
import type Database from 'better-sqlite3';
import { createGovernancePipeline } from '../../shared/governance';
import type { GovernancePipeline } from '../../shared/governance/types';
import { openReviewDatabase } from './db';
import { Outbox, type RetryPolicy } from './outbox';
import { type ReviewStore, ReviewResolver } from './resolver';
import type { WebhookConfig } from './webhook';

export type ReviewServiceOptions = {
  store: ReviewStore;
  /** The review database file (dataLayout(dir).review), or ':memory:'. */
  path: string;
  /** Where approved replies go; without it decisions are ruled on and queued, and nothing is sent. */
  webhook?: WebhookConfig;
  retry?: Partial<RetryPolicy>;
  /** Longest wait between passes (default 1000 ms). */
  pollMs?: number;
  /** The pipeline replies are governed with (default: the default pipeline, built on first use). */
  governance?: GovernancePipeline;
  log?: (message: string) => void;
};

export class ReviewService {
  readonly db: Database.Database;
  readonly outbox: Outbox;
  readonly resolver: ReviewResolver;
  readonly webhook: WebhookConfig | undefined;
  private readonly pollMs: number;
  private readonly log: (message: string) => void;
  private governancePipeline: GovernancePipeline | undefined;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private started = false;
  private isStopped = false;
  private readonly abort = new AbortController();

  constructor(options: ReviewServiceOptions) {
    if (options.webhook && !options.webhook.secret)
      throw new Error('a webhook needs a secret: its bodies are signed');
    this.db = openReviewDatabase(options.path);
    this.webhook = options.webhook;
    this.pollMs = options.pollMs ?? 1000;
    this.log = options.log ?? (() => {});
    this.governancePipeline = options.governance;
    this.outbox = new Outbox({ db: this.db, store: options.store, retry: options.retry, log: this.log });
    this.resolver = new ReviewResolver({
      db: this.db,
      store: options.store,
      outbox: this.outbox,
      governance: () => this.governance(),
      log: this.log,
    });
  }

  /** The governance pipeline, built on first use (it loads its models then). */
  governance(): GovernancePipeline {
    this.governancePipeline ??= createGovernancePipeline();
    return this.governancePipeline;
  }

  /** True once stop() was called: the review database is closed or closing. */
  get stopped(): boolean {
    return this.isStopped;
  }

  /** Starts the background loop (a first pass right away). */
  start(): void {
    if (this.started || this.isStopped) return;
    this.started = true;
    this.wake();
  }

  /** Runs a pass soon (after a sync push or a decision); a pass in progress is followed by another. */
  wake(): void {
    if (!this.started || this.isStopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.pass().finally(() => {
      this.running = null;
      if (this.isStopped) return;
      if (this.again) {
        this.again = false;
        this.wake();
      } else this.schedule();
    });
  }

  /** One pass now, outside the loop (tests; the decision route catches up through the resolver). */
  async runOnce(): Promise<void> {
    await this.pass();
  }

  private async pass(): Promise<void> {
    try {
      await this.resolver.catchUp(this.abort.signal);
      if (this.webhook && !this.isStopped) await this.outbox.deliverDue(this.webhook, this.abort.signal);
    } catch (error) {
      if (!this.isStopped) this.log(`review: pass failed: ${(error as Error).message}`);
    }
  }

  private schedule(): void {
    let delay = this.pollMs;
    const due = this.webhook ? this.outbox.nextDueAt() : null;
    if (due !== null) delay = Math.min(delay, Math.max(0, due - Date.now()));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.wake();
    }, delay);
  }

  /** Ends the loop and closes the review database; the store is the caller's to close, after this. */
  async stop(): Promise<void> {
    if (this.isStopped) return;
    this.isStopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await this.running;
    if (this.db.open) this.db.close();
  }
}
