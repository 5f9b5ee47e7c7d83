// A runner in its own process for the cross-process SQLite test: opens the store at argv[2],
// says it is ready (a file), waits for the start signal (another file), then loops dequeue → span → succeeded until the queue is
// empty, and prints the rollout ids it ran as JSON.
import { existsSync, writeFileSync } from 'node:fs';
import { SqliteLightningStore } from '../../../server/store/sqlite';

const [path, startFile, workerId] = process.argv.slice(2);
const store = new SqliteLightningStore({ path });
writeFileSync(`${startFile}.${workerId}.ready`, '');
while (!existsSync(startFile)) await new Promise((resolve) => setTimeout(resolve, 5));
const ran: string[] = [];
for (;;) {
  const taken = await store.dequeueRollout({ worker_id: workerId });
  if (!taken) break;
  const span = {
    rollout_id: taken.rollout_id,
    attempt_id: taken.attempt.attempt_id,
    trace_id: 't',
    name: 'step',
  };
  await store.addSpans([
    { ...span, span_id: 'a' },
    { ...span, span_id: 'b' },
  ]);
  await store.updateAttempt(taken.rollout_id, 'latest', { status: 'succeeded' });
  ran.push(taken.rollout_id);
}
await store.close();
process.stdout.write(JSON.stringify(ran));
