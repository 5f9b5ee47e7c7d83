// Helpers shared by the store benchmarks (bench/store.ts over REST, bench/store-backends.ts direct):
// the span every runner emits and the Dexie ingest loop inside Chromium.
import type { SpanInput } from '../shared/store/types';

export const round = (x: number) => Math.round(x * 10) / 10;

/** The value of `--name=value` among the flags, if given. */
export function flagValue(flags: string[], name: string): string | undefined {
  return flags.find((f) => f.startsWith(`--${name}=`))?.split('=')[1];
}

/** A span as a runner emits it: a chat message, or every sixth a reward; ~300 bytes of JSON. */
export function benchSpan(rolloutId: string, attemptId: string, i: number): SpanInput {
  return {
    rollout_id: rolloutId,
    attempt_id: attemptId,
    trace_id: `trace-${rolloutId}`,
    span_id: `span-${i}`,
    name: i % 6 === 5 ? 'agentlightning.reward' : 'agentlightning.message',
    attributes: {
      'agentlightning.reward.0.value': 0.5,
      'message.content': 'Thank you for the feedback, we will look into it.',
    },
    start_time: 1_700_000_000 + i,
    end_time: 1_700_000_000 + i + 0.5,
  };
}

/**
 * Dexie on Chromium's real IndexedDB: `total` spans through addSpans in batches of `batch`, inside
 * a page. The baseline, measured first on its own database, is the same rows through bare Dexie
 * bulkAdd into the spans table (no validation, sequence ids or heartbeats).
 */
export async function dexieIngestInChromium(total: number, batch: number) {
  const { openHarness } = await import('../test/helpers/browser');
  const harness = await openHarness();
  try {
    // tsx compiles with esbuild's keepNames: functions sent to the page call __name.
    await harness.page.evaluate('window.__name = (fn) => fn');
    return await harness.page.evaluate(
      async ({ total, batch }) => {
        const { DexieLightningStore } = (await window.importModule(
          '/shared/store/dexie.ts',
        )) as typeof import('../shared/store/dexie');
        const make = (rolloutId: string, attemptId: string, i: number) => ({
          rollout_id: rolloutId,
          attempt_id: attemptId,
          trace_id: 't',
          span_id: `span-${i}`,
          name: 'agentlightning.message',
          attributes: { 'message.content': 'Thank you for the feedback, we will look into it.' },
        });
        const bare = new DexieLightningStore({ indexedDB, IDBKeyRange, name: 'bench-raw' });
        const rawStarted = performance.now();
        for (let written = 0; written < total; written += batch) {
          const rows = Array.from({ length: Math.min(batch, total - written) }, (_, i) => ({
            ...make('ro-raw', 'at-raw', written + i),
            sequence_id: written + i + 1,
          }));
          await bare.db.spans.bulkAdd(rows as never);
        }
        const rawSeconds = (performance.now() - rawStarted) / 1000;
        await bare.destroy();

        const store = new DexieLightningStore({ indexedDB, IDBKeyRange, name: 'bench' });
        const r = await store.startRollout({ input: 0 });
        const started = performance.now();
        for (let written = 0; written < total; written += batch) {
          await store.addSpans(
            Array.from({ length: Math.min(batch, total - written) }, (_, i) =>
              make(r.rollout_id, r.attempt.attempt_id, written + i),
            ),
          );
        }
        const seconds = (performance.now() - started) / 1000;
        await store.destroy();
        return {
          spans: total,
          batch,
          seconds: Math.round(seconds * 10) / 10,
          spans_per_s: Math.round(total / seconds),
          raw_dexie_bulkadd_spans_per_s: Math.round(total / rawSeconds),
          vs_raw_bulkadd: Math.round((rawSeconds / seconds) * 1000) / 1000,
        };
      },
      { total, batch },
    );
  } finally {
    await harness.close();
  }
}
