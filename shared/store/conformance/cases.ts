// The LightningStore conformance suite: written once, run against every implementation
// (memory, Dexie in Node and in Chromium, SQLite, the HTTP client). Each case gets a fresh
// store on a FakeClock; the clock drives the watchdog, so no case sleeps beyond milliseconds.
// The cases follow what Agent Lightning's own store tests check (tests/store/*).

import type { LightningStore } from '../store';
import type { Attempt, Span, SpanInput } from '../types';
import { equal, ok, rejects } from './assert';
import type { FakeClock } from './fake-clock';

export type ConformanceContext = { store: LightningStore; clock: FakeClock };
export type ConformanceCase = { name: string; run(ctx: ConformanceContext): Promise<void> };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function span(
  rolloutId: string,
  attemptId: string,
  spanId: string,
  extra: Partial<SpanInput> = {},
): SpanInput {
  return {
    rollout_id: rolloutId,
    attempt_id: attemptId,
    trace_id: 'trace-1',
    span_id: spanId,
    name: 'step',
    ...extra,
  };
}

/** Enqueues one rollout and dequeues it: the usual start of a runner's work. */
async function running(store: LightningStore, config = {}, workerId = 'worker-1') {
  const rollout = await store.enqueueRollout({ input: { task: 1 }, config });
  const taken = await store.dequeueRollout({ worker_id: workerId });
  ok(taken && taken.rollout_id === rollout.rollout_id, 'the enqueued rollout is dequeued');
  return taken;
}

async function status(store: LightningStore, rolloutId: string) {
  return (await store.getRolloutById(rolloutId))?.status;
}

const lifecycle: ConformanceCase[] = [
  {
    name: 'enqueue stores a queuing rollout with defaults and no attempt',
    async run({ store, clock }) {
      const r = await store.enqueueRollout({ input: { question: 'q' }, mode: 'train' });
      ok(r.rollout_id.startsWith('ro-'), 'rollout ids start with ro-');
      equal(r.status, 'queuing', 'status');
      equal(r.start_time, clock.now(), 'start_time is the clock');
      equal(
        r.config,
        { timeout_seconds: null, unresponsive_seconds: null, max_attempts: 1, retry_condition: [] },
        'config',
      );
      equal(r.metadata, {}, 'metadata defaults to {}');
      equal(r.end_time, null, 'end_time');
      const read = await store.getRolloutById(r.rollout_id);
      equal(read, r, 'read back unchanged');
      ok(read && !('attempt' in read && read.attempt), 'no attempt before dequeue');
      equal(await store.getLatestAttempt(r.rollout_id), null, 'no latest attempt');
      equal(await store.getRolloutById('ro-missing'), null, 'unknown rollout is null');
    },
  },
  {
    name: 'startRollout creates a preparing rollout with attempt 1',
    async run({ store }) {
      const r = await store.startRollout({ input: 'x', worker_id: 'worker-9' });
      equal(r.status, 'preparing', 'rollout status');
      equal(r.attempt.sequence_id, 1, 'attempt sequence');
      equal(r.attempt.status, 'preparing', 'attempt status');
      ok(r.attempt.attempt_id.startsWith('at-'), 'attempt ids start with at-');
      equal(r.attempt.worker_id, 'worker-9', 'attempt worker');
      equal((await store.getWorkerById('worker-9'))?.status, 'busy', 'the worker is busy');
      equal((await store.dequeueRollout())?.rollout_id, undefined, 'a started rollout is not queued');
    },
  },
  {
    name: 'dequeue opens attempt 1 and an empty queue gives null',
    async run({ store }) {
      const r = await store.enqueueRollout({ input: 1 });
      const taken = await store.dequeueRollout({ worker_id: 'w' });
      ok(taken, 'a rollout is dequeued');
      equal(taken.rollout_id, r.rollout_id, 'the queued one');
      equal(taken.status, 'preparing', 'rollout becomes preparing');
      equal(taken.attempt.sequence_id, 1, 'first attempt');
      equal(taken.attempt.status, 'preparing', 'attempt preparing');
      equal(
        (await store.getLatestAttempt(r.rollout_id))?.attempt_id,
        taken.attempt.attempt_id,
        'latest attempt',
      );
      equal(await store.dequeueRollout(), null, 'queue now empty');
      equal(await store.dequeueRollouts({ limit: 5 }), [], 'batch dequeue of an empty queue');
    },
  },
  {
    name: 'a span is a heartbeat: preparing attempt and rollout become running',
    async run({ store, clock }) {
      const t = await running(store);
      clock.advance(2);
      const stored = await store.addSpan(span(t.rollout_id, t.attempt.attempt_id, 's-1'));
      ok(stored, 'span stored');
      equal(stored.sequence_id, 1, 'first sequence id');
      const attempt = await store.getLatestAttempt(t.rollout_id);
      equal(attempt?.status, 'running', 'attempt running');
      equal(attempt?.last_heartbeat_time, clock.now(), 'heartbeat time');
      equal(await status(store, t.rollout_id), 'running', 'rollout running');
    },
  },
  {
    name: 'a succeeded attempt finishes the rollout with an end time',
    async run({ store, clock }) {
      const t = await running(store);
      clock.advance(3);
      const a = await store.updateAttempt(t.rollout_id, t.attempt.attempt_id, { status: 'succeeded' });
      equal(a.status, 'succeeded', 'attempt status');
      equal(a.end_time, clock.now(), 'attempt end time');
      const r = await store.getRolloutById(t.rollout_id);
      equal(r?.status, 'succeeded', 'rollout succeeded');
      equal(r?.end_time, clock.now(), 'rollout end time');
      equal((await store.getWorkerById('worker-1'))?.status, 'idle', 'worker idle again');
      const done = await store.waitForRollouts({ rollout_ids: [t.rollout_id], timeout: 0 });
      equal(
        done.map((x) => x.rollout_id),
        [t.rollout_id],
        'wait returns it',
      );
    },
  },
  {
    name: 'the queue is FIFO across single and batch enqueues and dequeues',
    async run({ store }) {
      const first = await store.enqueueRollout({ input: 0 });
      const batch = await store.enqueueRollouts([1, 2, 3].map((input) => ({ input })));
      const last = await store.enqueueRollout({ input: 4 });
      const order = [first, ...batch, last].map((r) => r.rollout_id);
      equal(
        batch.map((r) => r.input),
        [1, 2, 3],
        'batch keeps its order',
      );
      const head = await store.dequeueRollouts({ limit: 3 });
      const one = await store.dequeueRollout();
      const rest = await store.dequeueRollouts({ limit: 10 });
      equal(
        [...head, one!, ...rest].map((r) => r.rollout_id),
        order,
        'dequeued in enqueue order',
      );
    },
  },
  {
    name: 'a rollout cancelled while queued is skipped by dequeue',
    async run({ store }) {
      const a = await store.enqueueRollout({ input: 'a' });
      const b = await store.enqueueRollout({ input: 'b' });
      const cancelled = await store.updateRollout(a.rollout_id, { status: 'cancelled' });
      equal(cancelled.status, 'cancelled', 'cancelled');
      ok(cancelled.end_time !== null, 'a cancelled rollout is finished');
      equal((await store.dequeueRollout())?.rollout_id, b.rollout_id, 'the next live rollout');
      equal(await store.dequeueRollout(), null, 'nothing else');
      equal(await store.getLatestAttempt(a.rollout_id), null, 'no attempt for the cancelled one');
    },
  },
  {
    name: 'failed attempts requeue until max_attempts, then the rollout fails',
    async run({ store }) {
      const t = await running(store, { max_attempts: 3, retry_condition: ['failed'] });
      await store.updateAttempt(t.rollout_id, 'latest', { status: 'failed' });
      equal(await status(store, t.rollout_id), 'requeuing', 'requeued after attempt 1');
      const second = await store.dequeueRollout({ worker_id: 'worker-2' });
      equal(second?.rollout_id, t.rollout_id, 'same rollout back from the queue');
      equal(second?.attempt.sequence_id, 2, 'attempt 2');
      equal(second?.status, 'preparing', 'preparing again');
      await store.updateAttempt(t.rollout_id, 'latest', { status: 'failed' });
      const third = await store.dequeueRollout();
      equal(third?.attempt.sequence_id, 3, 'attempt 3');
      await store.updateAttempt(t.rollout_id, 'latest', { status: 'failed' });
      const r = await store.getRolloutById(t.rollout_id);
      equal(r?.status, 'failed', 'no attempts left: failed');
      ok(r?.end_time !== null, 'failed rollouts have an end time');
      equal(await store.dequeueRollout(), null, 'not requeued');
      equal((await store.queryAttempts(t.rollout_id)).total, 3, 'three attempts');
    },
  },
  {
    name: 'a status outside retry_condition fails the rollout at once',
    async run({ store }) {
      const t = await running(store, { max_attempts: 5, retry_condition: ['timeout'] });
      await store.updateAttempt(t.rollout_id, 'latest', { status: 'failed' });
      equal(await status(store, t.rollout_id), 'failed', 'failed without retry');
      const u = await running(store, { max_attempts: 1, retry_condition: ['failed'] });
      await store.updateAttempt(u.rollout_id, 'latest', { status: 'failed' });
      equal(await status(store, u.rollout_id), 'failed', 'max_attempts 1 never retries');
    },
  },
  {
    name: 'startAttempt opens attempt k+1 on demand, beyond max_attempts',
    async run({ store }) {
      const t = await running(store);
      await store.updateAttempt(t.rollout_id, 'latest', { status: 'failed' });
      equal(await status(store, t.rollout_id), 'failed', 'failed');
      const again = await store.startAttempt(t.rollout_id, { worker_id: 'worker-3' });
      equal(again.attempt.sequence_id, 2, 'attempt 2');
      equal(again.status, 'preparing', 'rollout preparing');
      equal(again.attempt.worker_id, 'worker-3', 'worker recorded');
      await rejects(store.startAttempt('ro-missing'), 'not_found', 'unknown rollout');
    },
  },
  {
    name: 'only the latest attempt moves the rollout',
    async run({ store }) {
      const t = await running(store, { max_attempts: 2, retry_condition: ['failed'] });
      await store.updateAttempt(t.rollout_id, 'latest', { status: 'failed' });
      const second = await store.dequeueRollout();
      ok(second, 'attempt 2 dequeued');
      // The old attempt reports success late: it is recorded, the rollout does not follow.
      const old = await store.updateAttempt(t.rollout_id, t.attempt.attempt_id, { status: 'succeeded' });
      equal(old.status, 'succeeded', 'old attempt updated');
      equal(await status(store, t.rollout_id), 'preparing', 'rollout follows attempt 2 only');
      await store.updateAttempt(t.rollout_id, second.attempt.attempt_id, { status: 'succeeded' });
      equal(await status(store, t.rollout_id), 'succeeded', 'latest attempt finishes it');
    },
  },
  {
    name: 'updateAttempt resolves "latest" and reports unknown ids',
    async run({ store }) {
      const t = await running(store);
      const a = await store.updateAttempt(t.rollout_id, 'latest', { metadata: { note: 'x' } });
      equal(a.attempt_id, t.attempt.attempt_id, 'latest is attempt 1');
      equal(a.metadata, { note: 'x' }, 'metadata set');
      await rejects(
        store.updateAttempt('ro-missing', 'latest', { status: 'failed' }),
        'not_found',
        'unknown rollout',
      );
      await rejects(
        store.updateAttempt(t.rollout_id, 'at-missing', { status: 'failed' }),
        'not_found',
        'unknown attempt',
      );
      const queued = await store.enqueueRollout({ input: 0 });
      await rejects(store.updateAttempt(queued.rollout_id, 'latest', {}), 'not_found', 'no attempts yet');
    },
  },
  {
    name: 'setting a queued status puts a rollout back on the queue once',
    async run({ store }) {
      const t = await running(store);
      await store.updateRollout(t.rollout_id, { status: 'requeuing' });
      await store.updateRollout(t.rollout_id, { status: 'queuing' });
      const again = await store.dequeueRollouts({ limit: 5 });
      equal(
        again.map((r) => r.rollout_id),
        [t.rollout_id],
        'queued once',
      );
      equal(again[0].attempt.sequence_id, 2, 'attempt 2');
    },
  },
];

const watchdog: ConformanceCase[] = [
  {
    name: 'watchdog: timeout_seconds times out the attempt and requeues it',
    async run({ store, clock }) {
      const t = await running(store, { timeout_seconds: 10, max_attempts: 2, retry_condition: ['timeout'] });
      await store.addSpan(span(t.rollout_id, t.attempt.attempt_id, 's-1'));
      clock.advance(9);
      await store.runWatchdog();
      equal((await store.getLatestAttempt(t.rollout_id))?.status, 'running', 'not yet timed out at 9 s');
      clock.advance(2);
      await store.runWatchdog();
      equal((await store.queryAttempts(t.rollout_id)).items[0].status, 'timeout', 'timed out at 11 s');
      equal(await status(store, t.rollout_id), 'requeuing', 'requeued');
      equal((await store.getWorkerById('worker-1'))?.status, 'unknown', 'its worker is unknown');
      const second = await store.dequeueRollout();
      equal(second?.attempt.sequence_id, 2, 'attempt 2 after timeout');
      clock.advance(11);
      await store.runWatchdog();
      equal(await status(store, t.rollout_id), 'failed', 'second timeout fails it');
    },
  },
  {
    name: 'watchdog: no heartbeat for unresponsive_seconds marks the attempt unresponsive',
    async run({ store, clock }) {
      const t = await running(store, { unresponsive_seconds: 5 });
      clock.advance(4);
      await store.runWatchdog();
      equal((await store.getLatestAttempt(t.rollout_id))?.status, 'preparing', 'still preparing at 4 s');
      clock.advance(2);
      await store.runWatchdog();
      equal((await store.getLatestAttempt(t.rollout_id))?.status, 'unresponsive', 'unresponsive at 6 s');
      equal(await status(store, t.rollout_id), 'failed', 'no retry configured: failed');
    },
  },
  {
    name: 'watchdog: spans keep an attempt alive and revive an unresponsive one',
    async run({ store, clock }) {
      const t = await running(store, {
        unresponsive_seconds: 5,
        max_attempts: 2,
        retry_condition: ['unresponsive'],
      });
      for (let i = 0; i < 4; i++) {
        clock.advance(3);
        await store.addSpan(span(t.rollout_id, t.attempt.attempt_id, `beat-${i}`));
        await store.runWatchdog();
      }
      equal(
        (await store.getLatestAttempt(t.rollout_id))?.status,
        'running',
        'alive after 12 s of heartbeats',
      );
      clock.advance(6);
      await store.runWatchdog();
      equal((await store.getLatestAttempt(t.rollout_id))?.status, 'unresponsive', 'silent for 6 s');
      equal(await status(store, t.rollout_id), 'requeuing', 'requeued');
      await store.addSpan(span(t.rollout_id, t.attempt.attempt_id, 'late'));
      equal((await store.getLatestAttempt(t.rollout_id))?.status, 'running', 'the late span revives it');
      equal(await status(store, t.rollout_id), 'running', 'the rollout runs again');
      equal(await store.dequeueRollout(), null, 'a revived rollout is not handed out again');
    },
  },
  {
    name: 'watchdog runs lazily before queries on the store clock',
    async run({ store, clock }) {
      const t = await running(store, { timeout_seconds: 30 });
      clock.advance(31);
      const page = await store.queryRollouts({ status_in: ['failed'] });
      equal(
        page.items.map((r) => r.rollout_id),
        [t.rollout_id],
        'timed out without an explicit watchdog call',
      );
    },
  },
  {
    name: 'requeue race: a late span or result from a superseded attempt does not steal the rollout',
    async run({ store, clock }) {
      const t = await running(store, {
        unresponsive_seconds: 5,
        max_attempts: 3,
        retry_condition: ['unresponsive'],
      });
      clock.advance(6);
      await store.runWatchdog();
      const second = await store.dequeueRollout({ worker_id: 'worker-2' });
      ok(second, 'attempt 2 handed to worker 2');
      await store.addSpan(span(t.rollout_id, t.attempt.attempt_id, 'old-1'));
      equal(await status(store, t.rollout_id), 'preparing', 'a span of attempt 1 does not start the rollout');
      equal((await store.getLatestAttempt(t.rollout_id))?.status, 'preparing', 'attempt 2 untouched');
      await store.addSpan(span(t.rollout_id, second.attempt.attempt_id, 'new-1'));
      equal(await status(store, t.rollout_id), 'running', 'rollout runs attempt 2');
      await store.updateAttempt(t.rollout_id, t.attempt.attempt_id, { status: 'failed' });
      equal(await status(store, t.rollout_id), 'running', 'old failure ignored');
      equal(await store.dequeueRollout(), null, 'not requeued by the old attempt');
      await store.updateAttempt(t.rollout_id, second.attempt.attempt_id, { status: 'succeeded' });
      equal(await status(store, t.rollout_id), 'succeeded', 'attempt 2 decides');
    },
  },
];

const concurrency: ConformanceCase[] = [
  {
    name: 'concurrent dequeues hand out each rollout exactly once',
    async run({ store }) {
      const enqueued = await store.enqueueRollouts(Array.from({ length: 24 }, (_, i) => ({ input: i })));
      const batches = await Promise.all(
        Array.from({ length: 10 }, (_, w) => store.dequeueRollouts({ worker_id: `worker-${w}`, limit: 3 })),
      );
      const ids = batches.flat().map((r) => r.rollout_id);
      equal(ids.length, 24, 'every rollout handed out');
      equal(new Set(ids).size, 24, 'none twice');
      equal(new Set(ids), new Set(enqueued.map((r) => r.rollout_id)), 'exactly the enqueued ones');
      ok(
        batches.flat().every((r) => r.attempt.sequence_id === 1),
        'each has attempt 1',
      );
    },
  },
  {
    name: 'concurrent enqueues and dequeues lose nothing',
    async run({ store }) {
      const enqueues = Array.from({ length: 30 }, (_, i) => store.enqueueRollout({ input: i }));
      const dequeues = Array.from({ length: 30 }, () => store.dequeueRollout());
      const [made, taken] = await Promise.all([Promise.all(enqueues), Promise.all(dequeues)]);
      const rest = await store.dequeueRollouts({ limit: 100 });
      const seen = [
        ...taken.filter((r) => r !== null).map((r) => r!.rollout_id),
        ...rest.map((r) => r.rollout_id),
      ];
      equal(seen.length, 30, 'all 30 dequeued once');
      equal(new Set(seen), new Set(made.map((r) => r.rollout_id)), 'the same 30');
    },
  },
  {
    name: 'span sequence ids are unique and increasing under concurrency',
    async run({ store }) {
      const t = await running(store);
      const a = t.attempt.attempt_id;
      const issued = await Promise.all(
        Array.from({ length: 20 }, () => store.getNextSpanSequenceId(t.rollout_id, a)),
      );
      const spans = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.addSpan(span(t.rollout_id, a, `auto-${i}`))),
      );
      const batch = await store.addSpans(
        Array.from({ length: 10 }, (_, i) => span(t.rollout_id, a, `batch-${i}`)),
      );
      const all = [...issued, ...spans.map((s) => s!.sequence_id), ...batch.map((s) => s.sequence_id)];
      equal(new Set(all).size, 50, 'fifty distinct ids');
      equal(
        [...all].sort((x, y) => x - y),
        Array.from({ length: 50 }, (_, i) => i + 1),
        'exactly 1..50',
      );
      const later = await store.getNextSpanSequenceId(t.rollout_id, a);
      equal(later, 51, 'the next id is above all issued');
    },
  },
  {
    name: 'a client-chosen sequence id raises the counter',
    async run({ store }) {
      const t = await running(store);
      const stored = await store.addSpan(
        span(t.rollout_id, t.attempt.attempt_id, 's-10', { sequence_id: 10 }),
      );
      equal(stored?.sequence_id, 10, 'kept as given');
      equal(await store.getNextSpanSequenceId(t.rollout_id, t.attempt.attempt_id), 11, 'next is 11');
    },
  },
];

const spansCases: ConformanceCase[] = [
  {
    name: 'duplicate spans are skipped, not stored twice',
    async run({ store }) {
      const t = await running(store);
      const a = t.attempt.attempt_id;
      ok(await store.addSpan(span(t.rollout_id, a, 'dup')), 'first insert');
      equal(await store.addSpan(span(t.rollout_id, a, 'dup')), null, 'second insert returns null');
      const batch = await store.addSpans([span(t.rollout_id, a, 'dup'), span(t.rollout_id, a, 'fresh')]);
      equal(
        batch.map((s) => s.span_id),
        ['fresh'],
        'only the new span is inserted',
      );
      equal((await store.querySpans({ rollout_id: t.rollout_id })).total, 2, 'two spans stored');
    },
  },
  {
    name: 'a span batch with an unknown attempt is rejected whole',
    async run({ store }) {
      const t = await running(store);
      await rejects(
        store.addSpans([
          span(t.rollout_id, t.attempt.attempt_id, 'ok'),
          span(t.rollout_id, 'at-missing', 'bad'),
        ]),
        'not_found',
        'unknown attempt',
      );
      equal((await store.querySpans({ rollout_id: t.rollout_id })).total, 0, 'nothing stored');
      await rejects(store.addSpan(span('ro-missing', 'at-x', 's')), 'not_found', 'unknown rollout');
      equal((await store.getLatestAttempt(t.rollout_id))?.status, 'preparing', 'no heartbeat recorded');
    },
  },
  {
    name: 'spans keep their fields and defaults round-trip',
    async run({ store }) {
      const t = await running(store);
      const full = {
        ...span(t.rollout_id, t.attempt.attempt_id, 'full'),
        parent_id: 'p-1',
        name: 'agentlightning.reward',
        status: { status_code: 'OK' as const, description: null },
        attributes: { 'reward.primary': 0.5, tags: ['a', 'b'], flag: true },
        events: [{ name: 'e', attributes: { k: 1 }, timestamp: 3 }],
        start_time: 1,
        end_time: 2,
        resource: { attributes: { 'service.name': 'edgelight' }, schema_url: '' },
      };
      await store.addSpan(full);
      const [stored] = (await store.querySpans({ rollout_id: t.rollout_id })).items;
      equal(
        { ...stored, sequence_id: undefined },
        { ...full, sequence_id: undefined, links: [], context: null, parent: null },
        'round trip',
      );
      await store.addSpan(span(t.rollout_id, t.attempt.attempt_id, 'bare'));
      const bare = (await store.querySpans({ rollout_id: t.rollout_id, span_id: 'bare' })).items[0] as Span;
      equal(bare.status, { status_code: 'UNSET' }, 'default status');
      equal([bare.attributes, bare.events, bare.links, bare.parent_id], [{}, [], [], null], 'default fields');
    },
  },
  {
    name: 'querySpans filters, sorts and paginates',
    async run({ store, clock }) {
      const t = await running(store, { max_attempts: 2, retry_condition: ['failed'] });
      const a1 = t.attempt.attempt_id;
      await store.addSpans([
        span(t.rollout_id, a1, 'a', { name: 'agentlightning.message', start_time: 3 }),
        span(t.rollout_id, a1, 'b', { name: 'agentlightning.reward', start_time: 1, parent_id: 'a' }),
        span(t.rollout_id, a1, 'c', { name: 'llm.call', start_time: 2, trace_id: 'trace-2' }),
      ]);
      await store.updateAttempt(t.rollout_id, 'latest', { status: 'failed' });
      clock.advance(1);
      const second = await store.dequeueRollout();
      ok(second, 'attempt 2');
      await store.addSpan(
        span(t.rollout_id, second.attempt.attempt_id, 'd', { name: 'agentlightning.reward' }),
      );

      const names = (r: { items: Span[] }) => r.items.map((s) => s.span_id);
      equal(
        names(await store.querySpans({ rollout_id: t.rollout_id })),
        ['a', 'b', 'c', 'd'],
        'by sequence id',
      );
      equal(
        names(await store.querySpans({ rollout_id: t.rollout_id, attempt_id: a1 })),
        ['a', 'b', 'c'],
        'one attempt',
      );
      equal(
        names(await store.querySpans({ rollout_id: t.rollout_id, attempt_id: 'latest' })),
        ['d'],
        'latest attempt',
      );
      equal(
        names(await store.querySpans({ rollout_id: t.rollout_id, name: 'agentlightning.reward' })),
        ['b', 'd'],
        'by name',
      );
      equal(
        names(
          await store.querySpans({
            rollout_id: t.rollout_id,
            name_contains: 'agentlightning',
            attempt_id: a1,
          }),
        ),
        ['a', 'b'],
        'name contains',
      );
      equal(
        names(
          await store.querySpans({
            rollout_id: t.rollout_id,
            trace_id: 'trace-2',
            parent_id: 'a',
            filter_logic: 'or',
          }),
        ),
        ['b', 'c'],
        'or logic',
      );
      equal(
        names(await store.querySpans({ rollout_id: t.rollout_id, trace_id: 'trace-2', parent_id: 'a' })),
        [],
        'and logic',
      );
      equal(
        names(
          await store.querySpans({
            rollout_id: t.rollout_id,
            attempt_id: a1,
            sort_by: 'start_time',
            sort_order: 'desc',
          }),
        ),
        ['a', 'c', 'b'],
        'sort by start time desc',
      );
      const page = await store.querySpans({ rollout_id: t.rollout_id, limit: 2, offset: 1 });
      equal([names(page), page.total, page.limit, page.offset], [['b', 'c'], 4, 2, 1], 'a page');
      equal((await store.querySpans({ rollout_id: 'ro-none' })).total, 0, 'unknown rollout: no spans');
    },
  },
];

const queries: ConformanceCase[] = [
  {
    name: 'queryRollouts filters, sorts and paginates and attaches the latest attempt',
    async run({ store, clock }) {
      const made = [];
      for (let i = 0; i < 5; i++) {
        made.push(await store.enqueueRollout({ input: i }));
        clock.advance(1);
      }
      const [r0, r1, r2, r3, r4] = made.map((r) => r.rollout_id);
      const t = await store.dequeueRollouts({ limit: 2 });
      await store.updateAttempt(t[0].rollout_id, 'latest', { status: 'succeeded' });
      const ids = (p: { items: { rollout_id: string }[] }) => p.items.map((r) => r.rollout_id);

      const all = await store.queryRollouts({ sort_by: 'start_time' });
      equal(ids(all), [r0, r1, r2, r3, r4], 'all by start time');
      equal(all.total, 5, 'total');
      equal(all.items[0].attempt?.status, 'succeeded', 'latest attempt attached');
      ok(all.items[4].attempt === undefined, 'queued rollout has no attempt');
      equal(
        ids(await store.queryRollouts({ status_in: ['queuing'], sort_by: 'start_time' })),
        [r2, r3, r4],
        'status_in',
      );
      equal(
        ids(await store.queryRollouts({ rollout_id_in: [r3, r1], sort_by: 'start_time' })),
        [r1, r3],
        'id in',
      );
      equal(ids(await store.queryRollouts({ rollout_id_contains: r4.slice(3) })), [r4], 'id contains');
      equal(
        ids(
          await store.queryRollouts({
            status_in: ['succeeded'],
            rollout_id_in: [r4],
            filter_logic: 'or',
            sort_by: 'start_time',
          }),
        ),
        [r0, r4],
        'or logic',
      );
      equal(
        ids(await store.queryRollouts({ status_in: ['succeeded'], rollout_id_in: [r4] })),
        [],
        'and logic',
      );
      const page = await store.queryRollouts({
        sort_by: 'start_time',
        sort_order: 'desc',
        limit: 2,
        offset: 1,
      });
      equal([ids(page), page.total], [[r3, r2], 5], 'desc page');
      const byId = await store.queryRollouts({ sort_by: 'rollout_id' });
      equal(ids(byId), [...ids(byId)].sort(), 'by id');
    },
  },
  {
    name: 'listings order ties by rollout id, filtered or not, in both directions',
    async run({ store, clock }) {
      const early = await store.enqueueRollouts(Array.from({ length: 5 }, (_, i) => ({ input: i })));
      clock.advance(1);
      const late = await store.enqueueRollouts(Array.from({ length: 3 }, (_, i) => ({ input: i })));
      const byId = (rows: { rollout_id: string }[]) => rows.map((r) => r.rollout_id).sort();
      const asc = [...byId(early), ...byId(late)];
      const ids = (p: { items: { rollout_id: string }[] }) => p.items.map((r) => r.rollout_id);
      const everyStatus = [
        'queuing',
        'preparing',
        'running',
        'succeeded',
        'failed',
        'cancelled',
        'requeuing',
      ] as const;
      for (const sort_order of ['asc', 'desc'] as const) {
        const expected = sort_order === 'asc' ? asc : [...asc].reverse();
        const plain = await store.queryRollouts({ sort_by: 'start_time', sort_order });
        const filtered = await store.queryRollouts({
          sort_by: 'start_time',
          sort_order,
          status_in: [...everyStatus],
        });
        equal(ids(plain), expected, `unfiltered ${sort_order}`);
        equal(ids(filtered), expected, `filtered ${sort_order}`);
        const page = await store.queryRollouts({ sort_by: 'start_time', sort_order, offset: 3, limit: 4 });
        equal([ids(page), page.total], [expected.slice(3, 7), 8], `page ${sort_order}`);
      }
      equal(ids(await store.queryRollouts()), [...asc].sort(), 'no sort_by: by id');
      equal(ids(await store.queryRollouts({ offset: 6 })), [...asc].sort().slice(6), 'offset without limit');
    },
  },
  {
    name: 'queryAttempts sorts and paginates attempts of one rollout',
    async run({ store }) {
      const t = await running(store, { max_attempts: 3, retry_condition: ['failed'] });
      await store.updateAttempt(t.rollout_id, 'latest', { status: 'failed' });
      await store.dequeueRollout();
      await store.updateAttempt(t.rollout_id, 'latest', { status: 'failed' });
      await store.dequeueRollout();
      const seq = (p: { items: Attempt[] }) => p.items.map((a) => a.sequence_id);
      equal(seq(await store.queryAttempts(t.rollout_id)), [1, 2, 3], 'by sequence id');
      equal(seq(await store.queryAttempts(t.rollout_id, { sort_order: 'desc' })), [3, 2, 1], 'desc');
      const page = await store.queryAttempts(t.rollout_id, { limit: 1, offset: 1 });
      equal([seq(page), page.total], [[2], 3], 'page');
      equal((await store.queryAttempts('ro-none')).total, 0, 'unknown rollout');
      equal((await store.getLatestAttempt(t.rollout_id))?.sequence_id, 3, 'latest');
    },
  },
];

const waits: ConformanceCase[] = [
  {
    name: 'waitForRollouts: 0 polls, finite waits, null waits until done',
    async run({ store }) {
      const a = await running(store);
      const b = await store.enqueueRollout({ input: 'b' });
      equal(
        await store.waitForRollouts({ rollout_ids: [a.rollout_id], timeout: 0 }),
        [],
        'poll: nothing finished',
      );

      // A finite wait that ends early because the rollout finishes.
      const finishing = sleep(30).then(() =>
        store.updateAttempt(a.rollout_id, 'latest', { status: 'succeeded' }),
      );
      const waited = await store.waitForRollouts({ rollout_ids: [a.rollout_id], timeout: 10 });
      await finishing;
      equal(
        waited.map((r) => [r.rollout_id, r.status]),
        [[a.rollout_id, 'succeeded']],
        'finite wait sees the result',
      );

      // A finite wait that times out returns what finished, in the order asked.
      const partial = await store.waitForRollouts({
        rollout_ids: [b.rollout_id, a.rollout_id, 'ro-unknown'],
        timeout: 0.05,
      });
      equal(
        partial.map((r) => r.rollout_id),
        [a.rollout_id],
        'partial result after the timeout',
      );

      // Unbounded waits (null or Infinity) return once everything asked for is finished.
      const c = await store.enqueueRollout({ input: 'c' });
      const unbounded = store.waitForRollouts({ rollout_ids: [a.rollout_id, b.rollout_id], timeout: null });
      const infinite = store.waitForRollouts({
        rollout_ids: [c.rollout_id, b.rollout_id],
        timeout: Infinity,
      });
      await sleep(20);
      await store.updateRollout(b.rollout_id, { status: 'cancelled' });
      equal(
        (await unbounded).map((r) => r.status),
        ['succeeded', 'cancelled'],
        'unbounded wait resolves',
      );
      await sleep(20);
      await store.updateRollout(c.rollout_id, { status: 'failed' });
      equal(
        (await infinite).map((r) => r.rollout_id),
        [c.rollout_id, b.rollout_id],
        'an Infinity wait resolves once all are finished',
      );
    },
  },
];

const resources: ConformanceCase[] = [
  {
    name: 'resources are versioned and new rollouts take the latest',
    async run({ store, clock }) {
      equal(await store.getLatestResources(), null, 'none yet');
      const before = await store.enqueueRollout({ input: 0 });
      equal(before.resources_id, null, 'no resources to take');
      const llm = { resource_type: 'llm' as const, endpoint: 'http://127.0.0.1:8080/v1', model: 'tiny' };
      const first = await store.addResources({ llm });
      ok(first.resources_id.startsWith('rs-'), 'resources ids start with rs-');
      equal(
        [first.version, first.create_time, first.update_time],
        [1, clock.now(), clock.now()],
        'version 1',
      );
      equal(first.resources.llm.resource_type, 'llm', 'resource kept');
      equal((await store.enqueueRollout({ input: 1 })).resources_id, first.resources_id, 'takes latest');

      clock.advance(5);
      const second = await store.addResources({
        policy: { resource_type: 'policy', checkpoint_id: 'ckpt-1' },
      });
      equal((await store.getLatestResources())?.resources_id, second.resources_id, 'new bundle is latest');
      equal(
        (await store.startRollout({ input: 2 })).resources_id,
        second.resources_id,
        'startRollout takes latest',
      );
      const pinned = await store.enqueueRollout({ input: 3, resources_id: first.resources_id });
      equal(pinned.resources_id, first.resources_id, 'an explicit id is kept');

      clock.advance(5);
      const bumped = await store.updateResources(first.resources_id, { llm: { ...llm, model: 'tiny-2' } });
      equal(
        [bumped.version, bumped.create_time, bumped.update_time],
        [2, first.create_time, clock.now()],
        'version 2',
      );
      equal((await store.getLatestResources())?.resources_id, first.resources_id, 'updated bundle is latest');
      equal(
        (await store.getResourcesById(first.resources_id))?.resources.llm,
        { ...llm, model: 'tiny-2', sampling_parameters: {} },
        'content replaced',
      );
      const named = await store.updateResources('rs-named', { llm });
      equal(named.version, 1, 'update of an unknown id creates it');
      equal(await store.getResourcesById('rs-missing'), null, 'unknown id');
      const page = await store.queryResources({ sort_by: 'version', sort_order: 'desc', limit: 1 });
      equal([page.items[0].resources_id, page.total], [first.resources_id, 3], 'query resources');
      await rejects(
        store.addResources({ bad: { resource_type: 'nope' } } as never),
        'invalid',
        'unknown resource type',
      );
    },
  },
];

const workers: ConformanceCase[] = [
  {
    name: 'workers: heartbeats, busy and idle from the queue, queries',
    async run({ store, clock }) {
      const hb = await store.updateWorker('worker-a', { heartbeat_stats: { gpu: 'none' } });
      equal(
        [hb.status, hb.last_heartbeat_time, hb.heartbeat_stats],
        ['unknown', clock.now(), { gpu: 'none' }],
        'heartbeat',
      );
      clock.advance(1);
      const kept = await store.updateWorker('worker-a', {});
      equal(
        [kept.heartbeat_stats, kept.last_heartbeat_time],
        [{ gpu: 'none' }, clock.now()],
        'absent stats are kept',
      );
      equal(
        (await store.updateWorker('worker-a', { heartbeat_stats: null })).heartbeat_stats,
        null,
        'null clears',
      );

      equal(await store.dequeueRollout({ worker_id: 'worker-b' }), null, 'empty queue');
      const idle = await store.getWorkerById('worker-b');
      equal([idle?.status, idle?.last_dequeue_time], ['idle', clock.now()], 'idle after an empty dequeue');

      await store.enqueueRollout({ input: 1 });
      clock.advance(1);
      const t = await store.dequeueRollout({ worker_id: 'worker-b' });
      const busy = await store.getWorkerById('worker-b');
      equal(
        [busy?.status, busy?.current_rollout_id, busy?.current_attempt_id, busy?.last_busy_time],
        ['busy', t?.rollout_id, t?.attempt.attempt_id, clock.now()],
        'busy with its attempt',
      );
      equal(
        (await store.queryWorkers({ status_in: ['busy'] })).items.map((w) => w.worker_id),
        ['worker-b'],
        'status_in',
      );
      equal(
        (await store.queryWorkers({ worker_id_contains: '-a' })).items.map((w) => w.worker_id),
        ['worker-a'],
        'contains',
      );
      equal(
        (await store.queryWorkers({ sort_by: 'worker_id', sort_order: 'desc' })).items.map(
          (w) => w.worker_id,
        ),
        ['worker-b', 'worker-a'],
        'sorted',
      );
      equal(await store.getWorkerById('worker-none'), null, 'unknown worker');
    },
  },
];

const misc: ConformanceCase[] = [
  {
    name: 'statistics count rows by kind and rollouts by status',
    async run({ store, clock }) {
      const t = await running(store);
      await store.enqueueRollouts([{ input: 1 }, { input: 2 }]);
      await store.addSpans([
        span(t.rollout_id, t.attempt.attempt_id, 'a'),
        span(t.rollout_id, t.attempt.attempt_id, 'b'),
      ]);
      await store.addResources({ p: { resource_type: 'policy', checkpoint_id: 'c' } });
      clock.advance(7);
      const s = await store.statistics();
      equal(
        [
          s.total_rollouts,
          s.total_attempts,
          s.total_spans,
          s.total_resources,
          s.total_workers,
          s.queue_length,
        ],
        [3, 1, 2, 1, 1, 2],
        'totals',
      );
      equal(
        [s.rollouts_by_status.queuing, s.rollouts_by_status.running, s.rollouts_by_status.failed],
        [2, 1, 0],
        'by status',
      );
      ok(typeof s.name === 'string' && s.name.length > 0, 'named');
      ok(s.uptime >= 7, 'uptime follows the clock');
    },
  },
  {
    name: 'updates: an absent key keeps a field, null clears it',
    async run({ store }) {
      const r = await store.enqueueRollout({
        input: 'x',
        mode: 'train',
        metadata: { a: 1 },
        resources_id: 'rs-pinned',
      });
      const moded = await store.updateRollout(r.rollout_id, { mode: 'val' });
      equal(
        [moded.mode, moded.metadata, moded.resources_id, moded.input],
        ['val', { a: 1 }, 'rs-pinned', 'x'],
        'only mode changed',
      );
      const cleared = await store.updateRollout(r.rollout_id, { metadata: null, resources_id: null });
      equal([cleared.metadata, cleared.resources_id, cleared.mode], [null, null, 'val'], 'null clears');
      const inputNull = await store.updateRollout(r.rollout_id, { input: null });
      equal(inputNull.input, null, 'input may be set to null');
      equal(await store.getRolloutById(r.rollout_id), inputNull, 'persisted');
      const config = await store.updateRollout(r.rollout_id, { config: { max_attempts: 4 } });
      equal(config.config.max_attempts, 4, 'config replaced, defaults filled');

      const t = await store.startRollout({ input: 'y', worker_id: 'worker-1' });
      const a = await store.updateAttempt(t.rollout_id, 'latest', { last_heartbeat_time: 5 });
      equal([a.worker_id, a.last_heartbeat_time], ['worker-1', 5], 'worker kept');
      const b = await store.updateAttempt(t.rollout_id, 'latest', { worker_id: null });
      equal([b.worker_id, b.last_heartbeat_time, b.status], [null, 5, 'preparing'], 'worker cleared only');
    },
  },
  {
    name: 'bad input is rejected with a clear invalid error and changes nothing',
    async run({ store }) {
      const r = await store.enqueueRollout({ input: 1 });
      await rejects(
        store.updateRollout(r.rollout_id, { status: 'done' } as never),
        'invalid',
        'unknown status',
      );
      await rejects(
        store.updateRollout(r.rollout_id, { colour: 'red' } as never),
        'invalid',
        'unknown field',
      );
      await rejects(store.updateRollout(r.rollout_id, { status: null } as never), 'invalid', 'null status');
      await rejects(store.updateRollout('../etc/passwd', { mode: 'train' }), 'invalid', 'unsafe id');
      await rejects(store.queryRollouts({ limit: -2 }), 'invalid', 'limit below -1');
      await rejects(store.queryRollouts({ sort_by: 'password' } as never), 'invalid', 'unknown sort field');
      await rejects(
        store.enqueueRollouts([{ input: 1 }, { input: 2, mode: 'prod' } as never]),
        'invalid',
        'bad batch item',
      );
      await rejects(
        store.enqueueRollout({ input: 1, config: { max_attempts: 0 } }),
        'invalid',
        'max_attempts 0',
      );
      await rejects(store.dequeueRollouts({ limit: 0 }), 'invalid', 'limit 0');
      await rejects(store.waitForRollouts({ rollout_ids: [], timeout: -1 }), 'invalid', 'negative timeout');
      await rejects(store.updateRollout('ro-missing', { mode: 'train' }), 'not_found', 'unknown rollout');
      equal((await store.queryRollouts()).total, 1, 'no partial batch was stored');
      equal(await store.getRolloutById(r.rollout_id), r, 'unchanged');
    },
  },
  {
    name: 'returned rows are copies: mutating them changes nothing stored',
    async run({ store }) {
      const r = await store.enqueueRollout({ input: { deep: [1] }, metadata: { a: 1 } });
      (r.input as { deep: number[] }).deep.push(2);
      (r.metadata as Record<string, number>).a = 9;
      const read = await store.getRolloutById(r.rollout_id);
      equal([read?.input, read?.metadata], [{ deep: [1] }, { a: 1 }], 'stored row intact');
    },
  },
];

export const storeConformanceCases: ConformanceCase[] = [
  ...lifecycle,
  ...watchdog,
  ...concurrency,
  ...spansCases,
  ...queries,
  ...waits,
  ...resources,
  ...workers,
  ...misc,
];
