import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { listen, type RunningServer } from '../../server/listen';
import { createNodeFetch } from '../../server/node-fetch';
import { isStoreError } from '../../shared/store/errors';
import {
  HttpLightningStore,
  HttpStoreUnavailableError,
  MAX_RETRY_AFTER_MS,
  retryAfterMs,
} from '../../shared/store/http';
import { InMemoryLightningStore } from '../../shared/store/memory';
import { describeStoreConformance } from '../helpers/store-conformance';

const noSleep = async () => {};

// The whole conformance suite, through HTTP: each case gets a fresh store (on the case's fake
// clock) behind a real server on a loopback port.
describeStoreConformance('HTTP (HttpLightningStore → edgelight server on loopback)', async (clock) => {
  const backing = new InMemoryLightningStore({ clock });
  const server = await listen(createApp({ store: backing, rateLimitPerSecond: 0 }));
  const store = new HttpLightningStore({ baseUrl: server.url, retryDelaysMs: [] });
  return {
    store,
    cleanup: async () => {
      await server.close();
      await backing.close();
    },
  };
});

describe('HttpLightningStore against a real server on loopback', () => {
  let backing: InMemoryLightningStore;
  let server: RunningServer;
  beforeAll(async () => {
    backing = new InMemoryLightningStore();
    server = await listen(createApp({ store: backing, token: 'loopback-token' }));
  });
  afterAll(async () => {
    await server.close();
    await backing.close();
  });

  const client = (options: Partial<ConstructorParameters<typeof HttpLightningStore>[0]> = {}) =>
    new HttpLightningStore({ baseUrl: server.url, token: 'loopback-token', sleep: noSleep, ...options });

  it('runs the queue pattern: enqueue, dequeue, spans, finish, wait', async () => {
    const store = client();
    const [queued] = await store.enqueueRollouts([{ input: { feedback: 'late parcel' } }]);
    const taken = await store.dequeueRollout({ worker_id: 'runner-a' });
    expect(taken?.rollout_id).toBe(queued?.rollout_id);
    const attemptId = taken?.attempt.attempt_id as string;
    const rolloutId = taken?.rollout_id as string;
    const spans = await store.addSpans(
      [1, 2, 3].map((i) => ({
        rollout_id: rolloutId,
        attempt_id: attemptId,
        trace_id: 't1',
        span_id: `s${i}`,
        name: 'agentlightning.message',
      })),
    );
    expect(spans.map((s) => s.sequence_id)).toEqual([1, 2, 3]);
    await store.updateAttempt(rolloutId, attemptId, { status: 'succeeded' });
    const [done] = await store.waitForRollouts({ rollout_ids: [rolloutId], timeout: 5 });
    expect(done?.status).toBe('succeeded');
    expect((await store.querySpans({ rollout_id: rolloutId })).total).toBe(3);
    expect(await store.getRolloutById('ro-none')).toBeNull();
  });

  it('turns a 404 into a StoreError not_found and a bad body into invalid, without retrying', async () => {
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const store = client({ fetch: counting });
    const missing = await store.updateRollout('ro-none', { status: 'cancelled' }).catch((e: unknown) => e);
    expect(isStoreError(missing, 'not_found')).toBe(true);
    expect(calls).toBe(1);
    const invalid = await store
      .updateRollout('ro-none', { status: 'nonsense' as never })
      .catch((e: unknown) => e);
    expect(isStoreError(invalid, 'invalid')).toBe(true);
    expect(calls).toBe(2);
  });

  it('is refused without the token and does not retry a 401', async () => {
    let calls = 0;
    const store = new HttpLightningStore({
      baseUrl: server.url,
      sleep: noSleep,
      fetch: (input, init) => {
        calls++;
        return fetch(input, init);
      },
    });
    await expect(store.statistics()).rejects.toThrow(/bearer token/);
    expect(calls).toBe(1);
  });

  it('retries network errors, 5xx and 408 with backoff, then succeeds', async () => {
    const failures: Array<() => Promise<Response>> = [
      () => Promise.reject(new TypeError('fetch failed: ECONNRESET')),
      async () => new Response('{"error":{"code":"internal","message":"boom"}}', { status: 503 }),
      async () => new Response('', { status: 408 }),
    ];
    const waits: number[] = [];
    const store = client({
      fetch: (input, init) => (failures.shift() ?? (() => fetch(input, init)))(),
      retryDelaysMs: [5, 10, 20, 40],
      random: () => 0.5, // no jitter: the delays as configured
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    const stats = await store.statistics();
    expect(stats.total_rollouts).toBeGreaterThanOrEqual(0);
    expect(waits).toEqual([5, 10, 20]);
  });

  it('jitters each back-off and waits at least what Retry-After asks (issue 19)', async () => {
    const failures: Array<() => Promise<Response>> = [
      async () => new Response('{}', { status: 503, headers: { 'retry-after': '2' } }),
      async () => new Response('{}', { status: 429 }),
      async () => new Response('{}', { status: 429, headers: { 'retry-after': '86400' } }),
    ];
    const draws = [0, 0.99, 0.5];
    const waits: number[] = [];
    const store = client({
      fetch: (input, init) => (failures.shift() ?? (() => fetch(input, init)))(),
      retryDelaysMs: [100, 100, 100],
      random: () => draws.shift() ?? 0.5,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    await store.statistics();
    // 100 × 0.5 jittered, raised to the server's 2 s; 100 × 1.49; a day capped at MAX_RETRY_AFTER_MS.
    expect(waits).toEqual([2000, 149, MAX_RETRY_AFTER_MS]);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:59 GMT'))).toBe(
      1000,
    );
    expect(retryAfterMs('soon')).toBe(0);
  });

  it('works the same over createNodeFetch (node:http keep-alive), errors and retries included', async () => {
    const store = client({ fetch: createNodeFetch(), retryDelaysMs: [1] });
    const started = await store.startRollout({ input: 'node fetch', worker_id: 'runner-n' });
    const [stored] = await store.addSpans([
      {
        rollout_id: started.rollout_id,
        attempt_id: started.attempt.attempt_id,
        trace_id: 't',
        span_id: 'n1',
        name: 'm',
      },
    ]);
    expect(stored?.sequence_id).toBe(1);
    expect((await store.getRolloutById(started.rollout_id))?.status).toBe('running');
    const missing = await store
      .updateAttempt('ro-none', 'latest', { status: 'failed' })
      .catch((e: unknown) => e);
    expect(isStoreError(missing, 'not_found')).toBe(true);
    const away = new HttpLightningStore({
      baseUrl: 'http://127.0.0.1:9',
      fetch: createNodeFetch(),
      retryDelaysMs: [1],
      sleep: noSleep,
    });
    await expect(away.statistics()).rejects.toThrow(HttpStoreUnavailableError);
  });

  it('gives up after its retries with a clear error when the server stays away', async () => {
    const store = new HttpLightningStore({
      baseUrl: 'http://127.0.0.1:9',
      retryDelaysMs: [1, 1],
      sleep: noSleep,
    });
    const error = await store.statistics().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpStoreUnavailableError);
    expect(String(error)).toMatch(/failed after 3 tries \(network error/);
  });
});
