// `npm run bench -- store`: how fast traces reach a store, and Agent Lightning's queue pattern over
// REST on loopback. Flags: --quick (smaller counts), --runners=32,256, --seconds=S per queue run.
import { createApp } from '../server/app';
import { listen } from '../server/listen';
import type { LightningStore } from '../shared/store/store';
import { HttpLightningStore } from '../shared/store/http';
import { InMemoryLightningStore } from '../shared/store/memory';
import type { SpanInput } from '../shared/store/types';

type Flags = { quick: boolean; runners: number[]; seconds: number };

function parseFlags(flags: string[]): Flags {
  const value = (name: string) => flags.find((f) => f.startsWith(`--${name}=`))?.split('=')[1];
  return {
    quick: flags.includes('--quick'),
    runners: (value('runners') ?? '32,256').split(',').map(Number),
    seconds: Number(value('seconds') ?? (flags.includes('--quick') ? 2 : 5)),
  };
}

function span(rolloutId: string, attemptId: string, i: number): SpanInput {
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
 * Each simulated runner loops: dequeue one rollout → add 6 spans (one request each, as Agent
 * Lightning's runner emits them) → mark the attempt succeeded. Rollouts are enqueued in batches
 * ahead of the runners. Returns finished rollouts per second over `seconds`.
 */
async function queuePattern(store: LightningStore, runners: number, seconds: number) {
  const backlog = 200;
  await store.enqueueRollouts(
    Array.from({ length: runners * 2 + backlog }, (_, i) => ({ input: { task: i } })),
  );
  let finished = 0;
  let enqueued = runners * 2 + backlog;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const runner = async (index: number) => {
    const workerId = `runner-${index}`;
    while (performance.now() < deadline) {
      const taken = await store.dequeueRollout({ worker_id: workerId });
      if (!taken) {
        enqueued += 64;
        await store.enqueueRollouts(
          Array.from({ length: 64 }, (_, i) => ({ input: { task: enqueued + i } })),
        );
        continue;
      }
      for (let i = 0; i < 6; i++) await store.addSpan(span(taken.rollout_id, taken.attempt.attempt_id, i));
      await store.updateAttempt(taken.rollout_id, taken.attempt.attempt_id, { status: 'succeeded' });
      finished++;
    }
  };
  await Promise.all(Array.from({ length: runners }, (_, i) => runner(i)));
  const elapsed = (performance.now() - started) / 1000;
  return { runners, rollouts: finished, seconds: round(elapsed), rollouts_per_s: round(finished / elapsed) };
}

const round = (x: number) => Math.round(x * 10) / 10;

export async function run(flagList: string[]) {
  const flags = parseFlags(flagList);
  const results: Record<string, unknown> = {
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    goals: { ingest_spans_per_s: 20_000, queue_rollouts_per_s: 500 },
    anchor: 'Agent Lightning v0.3: 31 rollouts/s (in-memory), 57 (MongoDB) at 256 runners on 32-64 vCPU',
  };

  const queue: Record<string, unknown> = {};
  for (const runners of flags.runners) {
    // Baseline: the same loop calling the store in-process, no HTTP.
    const direct = new InMemoryLightningStore();
    const baseline = await queuePattern(direct, runners, flags.seconds);
    await direct.close();

    const backing = new InMemoryLightningStore();
    const server = await listen(createApp({ store: backing, rateLimitPerSecond: 0 }));
    const client = new HttpLightningStore({ baseUrl: server.url });
    const rest = await queuePattern(client, runners, flags.seconds);
    await server.close();
    await backing.close();
    queue[`runners_${runners}`] = {
      rest_memory: rest,
      direct_memory: baseline,
      rest_vs_direct: round(rest.rollouts_per_s / baseline.rollouts_per_s),
    };
  }
  results.queue_pattern = queue;
  return results;
}
