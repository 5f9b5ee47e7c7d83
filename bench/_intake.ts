// A server process for `bench/intake.ts`: the public intake over a SQLite store in DATA_DIR on a
// loopback port, drafting (or not) with the served starter policy on wasm, so the benchmark's client
// and the server use separate processes as a website and edgelight would.
// Usage: _intake.ts DATA_DIR '{"drafting":true,"backlog":1000,"group":4,"maxTokens":48}'
// Prints `listening <url>` once ready. Commands on stdin, one per line:
//   cpu   → `cpu <microseconds>` (this process's CPU time)
//   idle  → `idle <drafted>` once the drafting backlog is empty
import { join } from 'node:path';
import { createApp } from '../server/app';
import { DirectoryBlobStorage } from '../server/checkpoints/directory';
import { FeedbackDrafter } from '../server/intake/drafter';
import { FeedbackIntake } from '../server/intake/intake';
import { listen } from '../server/listen';
import { runChildServer } from './_child-server';
import { openSqliteStore } from '../server/store/sqlite';
import { createGovernancePipeline } from '../shared/governance';
import { loadNameData } from '../shared/governance/pii/names';

const BENCH_INTAKE_KEY = 'bench-key-0123456789abcdef';

const [dataDir, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson ?? '{}') as {
  drafting?: boolean;
  backlog?: number;
  group?: number;
  maxTokens?: number;
};
const store = openSqliteStore(join(dataDir as string, 'store.sqlite'));
const checkpoints = new DirectoryBlobStorage(join(dataDir as string, 'blobs'));
await loadNameData();
const governance = createGovernancePipeline();
const drafter = options.drafting
  ? new FeedbackDrafter({
      store,
      checkpoints,
      governance,
      group: options.group ?? 4,
      maxTokens: options.maxTokens ?? 48,
      log: (message) => console.error(message),
    })
  : null;
const intake = await FeedbackIntake.open({
  store,
  checkpoints,
  governance,
  drafter,
  keys: [{ name: 'bench', key: BENCH_INTAKE_KEY, origins: ['https://site.example'] }],
  // The per-client rate limit is not what is measured: every post comes from one address.
  limits: { perSecond: 1e6, burst: 1e6, maxBacklog: options.backlog ?? 1000 },
});
const server = await listen(createApp({ store, intake, rateLimitPerSecond: 0 }));
runChildServer({
  url: server.url,
  commands: {
    idle: () =>
      void (drafter ? drafter.idle() : Promise.resolve()).then(() =>
        console.log(`idle ${drafter?.drafted ?? 0}`),
      ),
  },
  shutdown: () => (drafter?.stop() ?? Promise.resolve()).then(() => server.close()).then(() => store.close()),
});
