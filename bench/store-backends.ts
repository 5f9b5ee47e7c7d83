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
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { SqliteLightningStore } from '../server/store/sqlite';
import { DexieLightningStore } from '../shared/store/dexie';
import { InMemoryLightningStore } from '../shared/store/memory';
import type { LightningStore } from '../shared/store/store';
import { benchSpan as span, dexieIngestInChromium, flagValue, round } from './_store';

type Flags = {
  quick: boolean;
  batch: number;
  runners: number[];
  seconds: number;
  chromium: boolean;
  ingestOnly: boolean;
};

function parseFlags(flags: string[]): Flags {
  const value = (name: string) => flagValue(flags, name);
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
    if (flags.chromium) ingestResults.dexie_chromium = await dexieIngestInChromium(spanTotal, flags.batch);
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
