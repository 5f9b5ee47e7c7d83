// A server process for `bench/store.ts`: the API over a memory or SQLite store on a loopback port,
// so the benchmark's clients and the server use separate cores as they would in production.
// Prints `listening <url>` once ready; answers `cpu` on stdin with its CPU time. Usage: _server.ts memory|sqlite [DATA_DIR]
import { join } from 'node:path';
import { createApp } from '../server/app';
import { listen } from '../server/listen';
import { runChildServer } from './_child-server';
import { openSqliteStore } from '../server/store/sqlite';
import { InMemoryLightningStore } from '../shared/store/memory';

const [kind, dataDir] = process.argv.slice(2);
const store =
  kind === 'sqlite' ? openSqliteStore(join(dataDir as string, 'store.sqlite')) : new InMemoryLightningStore();
const sync = kind === 'sqlite' ? (store as ReturnType<typeof openSqliteStore>) : undefined;
const server = await listen(createApp({ store, sync, rateLimitPerSecond: 0 }));
runChildServer({ url: server.url, shutdown: () => server.close().then(() => store.close()) });
