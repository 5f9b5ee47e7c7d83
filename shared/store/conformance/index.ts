// Runs the conformance cases without a test runner (used inside Chromium); vitest wraps the same
// cases in test/helpers/store-conformance.ts.

import type { Clock, LightningStore } from '../store';
import { type ConformanceCase, storeConformanceCases } from './cases';
import { FakeClock } from './fake-clock';

export { ConformanceFailure, equal, ok, rejects } from './assert';
export { type ConformanceCase, type ConformanceContext, storeConformanceCases } from './cases';
export { FakeClock } from './fake-clock';

export type StoreFactory = (clock: Clock) => Promise<{ store: LightningStore; cleanup: () => Promise<void> }>;
export type CaseResult = { name: string; ok: boolean; error?: string; ms: number };

/** Runs one case on a fresh store and always cleans up. */
export async function runCase(testCase: ConformanceCase, makeStore: StoreFactory): Promise<void> {
  const clock = new FakeClock();
  const { store, cleanup } = await makeStore(clock);
  try {
    await testCase.run({ store, clock });
  } finally {
    await cleanup();
  }
}

export async function runConformance(
  makeStore: StoreFactory,
  cases: ConformanceCase[] = storeConformanceCases,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    const started = performance.now();
    try {
      await runCase(c, makeStore);
      results.push({ name: c.name, ok: true, ms: performance.now() - started });
    } catch (error) {
      results.push({
        name: c.name,
        ok: false,
        error: String((error as Error)?.stack ?? error),
        ms: performance.now() - started,
      });
    }
  }
  return results;
}
