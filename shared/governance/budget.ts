import type { Overrun } from './types';

// Time budgets. Every stage is linear in its input, but a user's rule or an input nobody foresaw can
// still cost more than a pipeline in a worker or on a public route can afford. Two budgets: one per
// compliance rule or boundary (a rule over it stops scanning: reported, never silently skipped) and
// one per item over all stages. Either overrun holds the item for review (pipeline.ts). Budgets are
// wall-clock (the browser has no CPU clock) and generous: a 1 KB item takes ~1 ms.

/**
 * Milliseconds from an arbitrary origin (not the store's `Clock`, which tells epoch seconds); injectable
 * so tests can step time deterministically.
 */
export type ElapsedClock = () => number;

export const performanceClock: ElapsedClock = () => performance.now();

export type RuleBudget = {
  clock: ElapsedClock;
  /** Budget per rule or boundary for one item, ms. */
  ms: number;
  /** Where overruns are reported. */
  overruns: Overrun[];
};

const round = (ms: number) => Math.round(ms * 10) / 10;

export function overrun(stage: string, ms: number, budgetMs: number, finished: boolean): Overrun {
  return { stage, ms: round(ms), budgetMs, finished };
}

/**
 * A scan over one rule's matches that stops once the rule's budget is spent. `spent()` is asked per match
 * and reads the clock every 64 matches (a clock read costs about as much as handling a match).
 */
export class RuleTimer {
  private readonly started: number;
  private checks = 0;
  stopped = false;

  constructor(
    private readonly budget: RuleBudget | undefined,
    private readonly stage: string,
  ) {
    this.started = budget ? budget.clock() : 0;
  }

  /** True (once, then always) when the budget is spent: the caller stops scanning. */
  spent(): boolean {
    if (!this.budget || this.stopped) return this.stopped;
    if ((++this.checks & 63) !== 0) return false;
    if (this.budget.clock() - this.started <= this.budget.ms) return false;
    this.stopped = true;
    return true;
  }

  /** Reports the rule when it stopped early or finished over its budget. */
  finish(): void {
    if (!this.budget) return;
    const ms = this.budget.clock() - this.started;
    if (this.stopped || ms > this.budget.ms)
      this.budget.overruns.push(overrun(this.stage, ms, this.budget.ms, !this.stopped));
  }
}
