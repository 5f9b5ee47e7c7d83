// `npm run bench -- store-backends`: the store implementations called directly (no HTTP), so the
// cost of persistence is seen on its own. Figures, all measured in this run:
//   - span ingest: batches of `--batch` spans through addSpans (one transaction per batch), spans/s;
//   - queue pattern: R runners in one process, each looping dequeue → 6 spans (one call each) →
//     attempt succeeded, rollouts/s;
// for the in-memory store (the baseline each ratio divides by), SQLite on a temp file, Dexie on
// fake-indexeddb (Node; a pure-JS IndexedDB, slower than a browser's), and with `--chromium`
// Dexie on Chromium's real IndexedDB. Flags: --quick, --batch=N, --runners=8,64, --seconds=S,
// --ingest-only.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { SqliteLightningStore } from '../server/store/sqlite';
import { DexieLightningStore } from '../shared/store/dexie';
import { InMemoryLightningStore } from '../shared/store/memory';
import type { LightningStore } from '../shared/store/store';
import type { SpanInput } from '../shared/store/types';

type Flags = {
  quick: boolean;
  batch: number;
  runners: number[];
  seconds: number;
  chromium: boolean;
  ingestOnly: boolean;
};

function parseFlags(flags: string[]): Flags {
  const value = (name: string) => flags.find((f) => f.startsWith(`--${name}=`))?.split('=')[1];
  const quick = flags.includes('--quick');
  return {
    quick,
    batch: Number(value('batch') ?? 500),
    runners: (value('runners') ?? '8,64').split(',').map(Number),
    seconds: Number(value('seconds') ?? (quick ? 1 : 3)),
    chromium: flags.includes('--chromium'),
    ingestOnly: flags.includes('--ingest-only'),
  };
}

const round = (x: number) => Math.round(x * 10) / 10;

/** A span shaped like the feedback agent's: a message with some text and a reward attribute. */
function span(rolloutId: string, attemptId: string, i: number): SpanInput {
  return {
    rollout_id: rolloutId,
    attempt_id: attemptId,
    trace_id: `trace-${rolloutId}`,
    span_id: `span-${i}`,
    name: i % 6 === 5 ? 'agentlightning.reward' : 'agentlightning.message',
    attributes: {
      'agentlightning.reward.0.value': 0.5,
      'message.content': 'Thank you for the report; we are still evaluating the layout bug you found.',
    },
    start_time: 1_700_000_000 + i,
    end_time: 1_700_000_000 + i + 0.5,
  };
}

/** addSpans in batches into a handful of rollouts; returns spans/s over `total` spans. */
async function ingest(store: LightningStore, total: number, batch: number) {
  const rollouts = await Promise.all(Array.from({ length: 4 }, (_, i) => store.startRollout({ input: i })));
  const started = performance.now();
  const cpu = process.cpuUsage();
  let written = 0;
  for (let b = 0; written < total; b++) {
    const r = rollouts[b % rollouts.length];
    const size = Math.min(batch, total - written);
    await store.addSpans(
      Array.from({ length: size }, (_, i) => span(r.rollout_id, r.attempt.attempt_id, written + i)),
    );
    written += size;
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  return {
    spans: written,
    batch,
    seconds: round(seconds),
    spans_per_s: Math.round(written / seconds),
    // CPU time of this process: steadier than wall time on a shared machine.
    spans_per_cpu_s: Math.round(written / cpuSeconds),
  };
}

/** Agent Lightning's queue pattern, in-process: each runner dequeues, emits 6 spans, succeeds. */
async function queuePattern(store: LightningStore, runners: number, seconds: number) {
  await store.enqueueRollouts(Array.from({ length: runners * 4 }, (_, i) => ({ input: i })));
  let finished = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const runner = async (index: number) => {
    while (performance.now() < deadline) {
      const taken = await store.dequeueRollout({ worker_id: `runner-${index}` });
      if (!taken) {
        await store.enqueueRollouts(Array.from({ length: 32 }, (_, i) => ({ input: i })));
        continue;
      }
      for (let i = 0; i < 6; i++) await store.addSpan(span(taken.rollout_id, taken.attempt.attempt_id, i));
      await store.updateAttempt(taken.rollout_id, taken.attempt.attempt_id, { status: 'succeeded' });
      finished++;
    }
  };
  await Promise.all(Array.from({ length: runners }, (_, i) => runner(i)));
  const elapsed = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    runners,
    rollouts: finished,
    seconds: round(elapsed),
    rollouts_per_s: round(finished / elapsed),
    rollouts_per_cpu_s: round(finished / ((used.user + used.system) / 1e6)),
  };
}

/** Dexie on Chromium's IndexedDB: the same ingest loop, run inside a page. */
async function chromiumIngest(total: number, batch: number) {
  const { createServer } = await import('vite');
  const { launchChromium } = await import('../test/helpers/browser');
  const root = fileURLToPath(new URL('..', import.meta.url));
  const server = await createServer({
    configFile: false,
    root,
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
    optimizeDeps: { noDiscovery: true, include: ['dexie', 'zod'] },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('no dev server address');
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    // tsx compiles this file with esbuild's keepNames: functions sent to the page call __name.
    await page.addInitScript('window.__name = (fn) => fn');
    await page.goto(`http://127.0.0.1:${address.port}/test/browser/blank.html`);
    return await page.evaluate(
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
          attributes: { 'message.content': 'Thank you for the report; we are still evaluating it.' },
        });
        // Baseline first, on its own fresh database: the same rows through bare Dexie bulkAdd
        // into the spans table (no validation, sequence ids or heartbeats).
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
    await browser.close();
    await server.close();
  }
}

export async function run(flagList: string[]) {
  const flags = parseFlags(flagList);
  const dir = mkdtempSync(join(tmpdir(), 'edgelight-bench-store-'));
  let files = 0;
  const makers: Record<string, () => LightningStore> = {
    memory: () => new InMemoryLightningStore(),
    sqlite: () => new SqliteLightningStore({ path: join(dir, `bench-${files++}.db`) }),
    dexie_fake_indexeddb: () => new DexieLightningStore({ indexedDB: new IDBFactory(), IDBKeyRange }),
  };
  const spanTotal = flags.quick ? 5_000 : 50_000;
  try {
    const ingestResults: Record<string, unknown> = {};
    for (const [name, make] of Object.entries(makers)) {
      const store = make();
      // fake-indexeddb is a pure-JS IndexedDB: a tenth of the spans keeps the run short.
      ingestResults[name] = await ingest(
        store,
        name.startsWith('dexie') ? spanTotal / 10 : spanTotal,
        flags.batch,
      );
      await store.close();
    }
    if (flags.chromium) ingestResults.dexie_chromium = await chromiumIngest(spanTotal, flags.batch);
    const base = (ingestResults.memory as { spans_per_s: number }).spans_per_s;
    for (const value of Object.values(ingestResults) as { spans_per_s: number; vs_memory?: number }[]) {
      value.vs_memory = Math.round((value.spans_per_s / base) * 1000) / 1000;
    }

    const queueResults: Record<string, unknown> = {};
    for (const runners of flags.ingestOnly ? [] : flags.runners) {
      const row: Record<string, { rollouts_per_s: number; vs_memory?: number }> = {};
      for (const [name, make] of Object.entries(makers)) {
        const store = make();
        row[name] = await queuePattern(store, runners, flags.seconds);
        await store.close();
      }
      for (const value of Object.values(row)) {
        value.vs_memory = Math.round((value.rollouts_per_s / row.memory.rollouts_per_s) * 1000) / 1000;
      }
      queueResults[`runners_${runners}`] = row;
    }
    return {
      machine: { cpus: cpus().length, node: process.version },
      goal: '≥ 20,000 spans/s batched ingest into SQLite and into Dexie in Chromium (issue 5)',
      span_ingest: ingestResults,
      queue_pattern_in_process: queueResults,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
