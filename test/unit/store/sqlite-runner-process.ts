// A runner in its own process for the cross-process SQLite test: opens the store at argv[2],
// says it is ready (a file), waits for the start signal (another file), drains the queue
// (drain-queue.ts) and prints the rollout ids it ran as JSON.
import { existsSync, writeFileSync } from 'node:fs';
import { SqliteLightningStore } from '../../../server/store/sqlite';
import { drainQueue } from './drain-queue';

const [path, startFile, workerId] = process.argv.slice(2);
const store = new SqliteLightningStore({ path });
writeFileSync(`${startFile}.${workerId}.ready`, '');
while (!existsSync(startFile)) await new Promise((resolve) => setTimeout(resolve, 5));
const ran = await drainQueue(store, workerId);
await store.close();
process.stdout.write(JSON.stringify(ran));
