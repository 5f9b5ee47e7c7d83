// A server process for `bench/store.ts`: the API over a memory or SQLite store on a loopback port,
// so the benchmark's clients and the server use separate cores as they would in production.
// Prints `listening <url>` once ready; answers `cpu` on stdin with its CPU time. Usage: _server.ts memory|sqlite [DATA_DIR]
import { join } from 'node:path';
import { createApp } from '../server/app';
import { listen } from '../server/listen';
import { openSqliteStore } from '../server/store/sqlite';
import { InMemoryLightningStore } from '../shared/store/memory';

const [kind, dataDir] = process.argv.slice(2);
const store =
  kind === 'sqlite' ? openSqliteStore(join(dataDir as string, 'store.sqlite')) : new InMemoryLightningStore();
const sync = kind === 'sqlite' ? (store as ReturnType<typeof openSqliteStore>) : undefined;
const server = await listen(createApp({ store, sync, rateLimitPerSecond: 0 }));
console.log(`listening ${server.url}`);
// "cpu" on stdin → "cpu <microseconds>": the CPU this process has used, so the benchmark can report
// server CPU per rollout, which does not depend on how busy the machine is.
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text: string) => {
  if (text.includes('cpu')) {
    const { user, system } = process.cpuUsage();
    console.log(`cpu ${user + system}`);
  }
});
process.on('SIGTERM', () => {
  void server
    .close()
    .then(() => store.close())
    .then(() => process.exit(0));
});
