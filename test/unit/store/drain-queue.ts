// The runner loop of the cross-process SQLite test, run by the test process and by each child
// (sqlite-runner-process.ts): dequeue → two spans in one batch → succeeded, until the queue is empty.
import type { LightningStore } from '../../../shared/store/store';

/** Runs rollouts until none is queued; returns the ids this worker ran. */
export async function drainQueue(store: LightningStore, workerId: string): Promise<string[]> {
  const ran: string[] = [];
  for (;;) {
    const taken = await store.dequeueRollout({ worker_id: workerId });
    if (!taken) return ran;
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
}
