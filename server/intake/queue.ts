// Bounded admission for the public intake. Governance is synchronous CPU work on the event loop, so a
// burst of posts would otherwise queue without limit inside Node (each holding its body and socket)
// and every API call behind them would wait. Admission runs the jobs one at a time (one thread gains
// nothing from more), keeps at most `capacity` waiting, and tells the caller how long to wait when full.
// A job that was admitted always runs to its end: an accepted item is never dropped.

export class QueueFullError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`the intake is at capacity; retry in ${retryAfterSeconds}s`);
  }
}

export class AdmissionQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Exponentially weighted mean of a job's seconds: the Retry-After estimate. */
  private meanSeconds = 0.01;

  constructor(
    /** Jobs that may wait behind the running one. */
    readonly capacity: number,
    private readonly concurrency = 1,
  ) {
    if (!Number.isInteger(capacity) || capacity < 0)
      throw new Error(`capacity must be an integer ≥ 0, got ${capacity}`);
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
  }

  /** Jobs admitted and not finished (running and waiting). */
  get load(): number {
    return this.running + this.waiting.length;
  }

  /** Seconds a new job would wait, rounded up (at least 1: Retry-After is in whole seconds). */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(((this.waiting.length + 1) * this.meanSeconds) / this.concurrency));
  }

  /** Runs `job` when its turn comes; throws QueueFullError at once when `capacity` jobs already wait. */
  async run<T>(job: () => Promise<T> | T): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.capacity) throw new QueueFullError(this.retryAfterSeconds());
      // The finishing job hands its slot over (running stays counted), so no newcomer slips in between.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    const started = performance.now();
    try {
      return await job();
    } finally {
      this.meanSeconds = 0.8 * this.meanSeconds + 0.2 * ((performance.now() - started) / 1000);
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
