import { describe, expect, it } from 'vitest';
import {
  analyzeSentiment,
  checkBoundaries,
  checkCompliance,
  createGovernancePipeline,
  detectPii,
  redact,
} from '../../../shared/governance';
import { adversarialInputs } from '../../../shared/governance/eval/adversarial';
import { indexText } from '../../../shared/governance/text';

// Every stage does work proportional to its input (issue 18): doubling an adversarial input may at most
// a little more than double a stage's CPU time. Measured as CPU time, not wall time, and as a ratio
// within one process, so a slow or busy machine scales both sides; the minimum of several runs drops GC
// pauses. Doubled twice (16 → 64 KB), because one doubling is noisy at a few ms and the garbage
// collector's generations make single steps uneven (64 → 128 KB can cost 3× where 128 → 256 KB costs
// 2.2×): two doublings may cost at most 6× (2.45× each) plus 25 ms of garbage-collection and JIT
// jitter (one size can cost a bump: repeated phone numbers took 3.8 / 3.3 / 25 / 12 / 22 ms at
// 16 / 32 / 64 / 128 / 256 KB);
// a quadratic stage costs 16× (the quadratic stages issue 18 found went 0.64 → 10 s from 10 to 40 KB).

const SIZE = 16 * 1024;
const RUNS = 3;
const MAX_RATIO = 6;
/** Jitter a run of a few ms can show whatever its input (a young-generation GC, a recompilation). */
const JITTER_MS = 25;

function cpuMs(fn: () => unknown): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < RUNS; i++) {
    const before = process.cpuUsage();
    fn();
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

const unbudgeted = createGovernancePipeline({ itemBudgetMs: 1e9, ruleBudgetMs: 1e9 });
const stages: Record<string, (text: string) => unknown> = {
  index: indexText,
  pii: (text) => detectPii(text),
  redact: (text) => redact(text),
  sentiment: analyzeSentiment,
  compliance: (text) => checkCompliance(text),
  boundaries: (text) => checkBoundaries(text),
  pipeline: (text) => unbudgeted.govern(text, 'feedback'),
};

describe('governance runs in linear time', () => {
  const small = adversarialInputs(SIZE);
  const large = adversarialInputs(4 * SIZE);
  unbudgeted.govern('Warm the models up: Anna Berg, anna@example.com, 5%.');
  for (const [stage, run] of Object.entries(stages)) {
    it(`${stage}: 4× each adversarial input costs at most ${MAX_RATIO}× the CPU time`, () => {
      const slow: string[] = [];
      for (const name of Object.keys(small)) {
        run(small[name]); // warm this input's code paths
        const a = cpuMs(() => run(small[name]));
        const b = cpuMs(() => run(large[name]));
        if (b > MAX_RATIO * a + JITTER_MS) slow.push(`${name}: ${a.toFixed(1)} → ${b.toFixed(1)} ms`);
      }
      expect(slow).toEqual([]);
    }, 120_000);
  }
});
