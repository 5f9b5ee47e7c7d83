// `npm run bench -- store`: how fast spans reach a store (SQLite directly, through the REST API,
// Dexie in Chromium), and Agent Lightning's queue pattern over REST on loopback.
// Flags: --quick (smaller counts), --runners=32,256, --seconds=S per queue run, --warmup=S before
// each measured run (default 1), --no-browser.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNodeFetch } from '../server/node-fetch';
import { SqliteLightningStore } from '../server/store/sqlite';
import { HttpLightningStore, HttpTransport } from '../shared/store/http';
import { InMemoryLightningStore } from '../shared/store/memory';
import type { LightningStore } from '../shared/store/store';
import type { Span, SpanInput } from '../shared/store/types';
import { benchSpan as span, dexieIngestInChromium, flagValue, round } from './_store';

type Flags = { quick: boolean; runners: number[]; seconds: number; warmup: number; browser: boolean };

function parseFlags(flags: string[]): Flags {
  const value = (name: string) => flagValue(flags, name);
  const quick = flags.includes('--quick');
  return {
    quick,
    runners: (value('runners') ?? '32,256').split(',').map(Number),
    seconds: Number(value('seconds') ?? (quick ? 2 : 5)),
    // Each server process starts cold; the first second of a run mostly measures the JIT.
    warmup: Number(value('warmup') ?? 1),
    browser: !flags.includes('--no-browser'),
  };
}

// ---- servers in their own process, so clients and server use separate cores ------------------

const here = fileURLToPath(new URL('.', import.meta.url));

type ServerProcess = {
  url: string;
  child: ChildProcess;
  cpuMicros: () => Promise<number>;
  stop: () => Promise<void>;
};

function startServer(kind: 'memory' | 'sqlite', dataDir: string): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(here, '../bin/tsx.mjs'), join(here, '_server.ts'), kind, dataDir],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
    let cpuWaiter: ((micros: number) => void) | null = null;
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      const cpu = /cpu (\d+)/.exec(text);
      if (cpu && cpuWaiter) cpuWaiter(Number(cpu[1]));
      const match = /listening (\S+)/.exec(text);
      if (!match) return;
      resolve({
        url: match[1] as string,
        child,
        cpuMicros: () =>
          new Promise<number>((done) => {
            cpuWaiter = done;
            child.stdin.write('cpu\n');
          }),
        stop: () =>
          new Promise<void>((done) => {
            child.removeAllListeners('exit');
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

// ---- ingest --------------------------------------------------------------------------------

/** Spans/s for `total` spans written in batches of `batch` by `concurrency` writers. */
async function timeIngest(
  total: number,
  batch: number,
  concurrency: number,
  write: (spans: SpanInput[]) => Promise<unknown>,
) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const from = next;
        if (from >= total) return;
        next += batch;
        await write(Array.from({ length: Math.min(batch, total - from) }, (_, i) => makeSpan(from + i)));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { spans: total, batch, seconds: round(seconds), spans_per_s: Math.round(total / seconds) };
}

let ingestRollout = { rollout_id: '', attempt_id: '' };
const makeSpan = (i: number) => span(ingestRollout.rollout_id, ingestRollout.attempt_id, i);

/** Whole span rows with sequence ids, as a sync push carries them. */
function asRows(spans: SpanInput[]): Span[] {
  return spans.map((s, i) => ({
    parent_id: null,
    status: { status_code: 'OK' },
    events: [],
    links: [],
    context: null,
    parent: null,
    resource: { attributes: {}, schema_url: '' },
    ...s,
    sequence_id: Number(String(s.span_id).slice(5)) + 1 + i * 0,
  })) as Span[];
}

async function ingestBenchmarks(flags: Flags, dir: string) {
  const total = flags.quick ? 20_000 : 100_000;
  const out: Record<string, unknown> = {};

  const direct = new SqliteLightningStore({ path: join(dir, 'direct.sqlite') });
  const started = await direct.startRollout({ input: 'ingest' });
  ingestRollout = { rollout_id: started.rollout_id, attempt_id: started.attempt.attempt_id };
  out.sqlite_direct_addSpans = await timeIngest(total, 500, 1, (spans) => direct.addSpans(spans));
  const second = await direct.startRollout({ input: 'ingest-2' });
  ingestRollout = { rollout_id: second.rollout_id, attempt_id: second.attempt.attempt_id };
  out.sqlite_direct_upsertMany = await timeIngest(total, 500, 1, (spans) =>
    direct.upsertMany({ spans: asRows(spans) }),
  );
  await direct.close();

  const server = await startServer('sqlite', join(dir, 'rest'));
  try {
    const fetch = createNodeFetch();
    const store = new HttpLightningStore({ baseUrl: server.url, fetch });
    const transport = new HttpTransport({ baseUrl: server.url, fetch });
    // Warm-up (discarded): the server process starts cold.
    const warm = await store.startRollout({ input: 'warm-up' });
    ingestRollout = { rollout_id: warm.rollout_id, attempt_id: warm.attempt.attempt_id };
    await timeIngest(5000, 500, 4, (spans) => store.addSpans(spans));
    await timeIngest(10_000, 1, 32, ([s]) =>
      store.addSpan({ ...(s as SpanInput), span_id: `w-${Math.random()}` }),
    );
    const a = await store.startRollout({ input: 'rest-ingest' });
    ingestRollout = { rollout_id: a.rollout_id, attempt_id: a.attempt.attempt_id };
    out.rest_spans_batch = await timeIngest(total, 500, 4, (spans) => store.addSpans(spans));
    const b = await store.startRollout({ input: 'rest-sync' });
    ingestRollout = { rollout_id: b.rollout_id, attempt_id: b.attempt.attempt_id };
    let batchNo = 0;
    out.rest_sync_push = await timeIngest(total, 500, 4, (spans) =>
      transport.json('POST', '/v1/sync/push', {
        body: { client_id: 'bench', batch_id: `b${batchNo++}`, records: { spans: asRows(spans) } },
      }),
    );
    const c = await store.startRollout({ input: 'rest-single' });
    ingestRollout = { rollout_id: c.rollout_id, attempt_id: c.attempt.attempt_id };
    out.rest_single_span_requests = await timeIngest(flags.quick ? 2000 : 10_000, 1, 32, ([s]) =>
      store.addSpan(s as SpanInput),
    );
  } finally {
    await server.stop();
  }
  return out;
}

// ---- the queue pattern ----------------------------------------------------------------------

/**
 * Each simulated runner loops: dequeue one rollout → 6 spans → attempt succeeded. With
 * `batchedSpans` the 6 spans go in one request (as Agent Lightning's OTLP exporter batches them),
 * otherwise one request each. Rollouts are enqueued ahead in batches. Returns rollouts/s.
 */
async function queuePattern(store: LightningStore, runners: number, seconds: number, batchedSpans: boolean) {
  const ahead = runners * 4 + 256;
  let enqueued = ahead;
  await store.enqueueRollouts(Array.from({ length: ahead }, (_, i) => ({ input: { task: i } })));
  let finished = 0;
  let refilling: Promise<unknown> | null = null;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const runner = async (index: number) => {
    const workerId = `runner-${index}`;
    while (performance.now() < deadline) {
      const taken = await store.dequeueRollout({ worker_id: workerId });
      if (!taken) {
        refilling ??= store
          .enqueueRollouts(Array.from({ length: 256 }, (_, i) => ({ input: { task: enqueued + i } })))
          .finally(() => {
            enqueued += 256;
            refilling = null;
          });
        await refilling;
        continue;
      }
      const spans = Array.from({ length: 6 }, (_, i) => span(taken.rollout_id, taken.attempt.attempt_id, i));
      if (batchedSpans) await store.addSpans(spans);
      else for (const s of spans) await store.addSpan(s);
      await store.updateAttempt(taken.rollout_id, taken.attempt.attempt_id, { status: 'succeeded' });
      finished++;
    }
  };
  await Promise.all(Array.from({ length: runners }, (_, i) => runner(i)));
  const elapsed = (performance.now() - started) / 1000;
  return { rollouts: finished, seconds: round(elapsed), rollouts_per_s: round(finished / elapsed) };
}

async function queueBenchmarks(flags: Flags, dir: string) {
  const out: Record<string, unknown> = {};
  for (const runners of flags.runners) {
    const row: Record<string, unknown> = {};
    // Baseline: the same loop calling an in-memory store in-process, no HTTP.
    const direct = new InMemoryLightningStore();
    await queuePattern(direct, runners, flags.warmup, false);
    row.direct_memory = await queuePattern(direct, runners, flags.seconds, false);
    await direct.close();
    for (const kind of ['sqlite', 'memory'] as const) {
      for (const batched of [false, true]) {
        const server = await startServer(kind, join(dir, `queue-${kind}-${runners}-${batched}`));
        try {
          const client = new HttpLightningStore({ baseUrl: server.url, fetch: createNodeFetch() });
          await queuePattern(client, runners, flags.warmup, batched);
          const serverBefore = await server.cpuMicros();
          const clientBefore = process.cpuUsage();
          const result = await queuePattern(client, runners, flags.seconds, batched);
          const serverMs = ((await server.cpuMicros()) - serverBefore) / 1000;
          const client_ = process.cpuUsage(clientBefore);
          const rollouts = Math.max(1, result.rollouts);
          const serverPerRollout = serverMs / rollouts;
          row[`rest_${kind}${batched ? '_batched_spans' : ''}`] = {
            ...result,
            server_cpu_ms_per_rollout: Math.round(serverPerRollout * 100) / 100,
            client_cpu_ms_per_rollout:
              Math.round(((client_.user + client_.system) / 1000 / rollouts) * 100) / 100,
            // What one dedicated core would sustain for the server: independent of the machine's load.
            rollouts_per_server_core_s: Math.round(1000 / serverPerRollout),
          };
        } finally {
          await server.stop();
        }
      }
    }
    out[`runners_${runners}`] = row;
  }
  return out;
}

export async function run(flagList: string[]) {
  const flags = parseFlags(flagList);
  const dir = mkdtempSync(join(tmpdir(), 'edgelight-bench-store-'));
  try {
    const result: Record<string, unknown> = {
      machine: { cpus: cpus().length, node: process.version, load_average_at_start: loadavg().map(round) },
      goals: { ingest_spans_per_s: 20_000, queue_rollouts_per_s: 500 },
      anchor:
        'Agent Lightning v0.3: 31 rollouts/s (in-memory), 57 (MongoDB) at 256 runners on 32-64 vCPU machines',
      notes:
        'REST runs use a server in its own process and clients with createNodeFetch (node:http keep-alive)',
    };
    result.ingest = await ingestBenchmarks(flags, dir);
    if (flags.browser)
      result.ingest_dexie_chromium = await dexieIngestInChromium(flags.quick ? 10_000 : 50_000, 500);
    result.queue_pattern = await queueBenchmarks(flags, dir);
    result.load_average_at_end = loadavg().map(round);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
