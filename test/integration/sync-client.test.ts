import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { BlobStore } from '../../server/blobs/blob-store';
import { listen, type RunningServer } from '../../server/listen';
import { SqliteLightningStore } from '../../server/store/sqlite';
import {
  blobStorageOf,
  loadCheckpoint,
  MemoryBlobStorage,
  saveCheckpoint,
} from '../../shared/policy/checkpoint';
import { DexieLightningStore } from '../../shared/store/dexie';
import type { LightningStore } from '../../shared/store/store';
import { DexieOutbox, MemoryOutbox } from '../../shared/sync/outbox';
import { OutboxRecordingStore } from '../../shared/sync/recording-store';
import { HttpBlobStorage, HttpSyncRemote } from '../../shared/sync/remote';
import { type LockManagerLike, Syncer } from '../../shared/sync/syncer';
import { StoreError } from '../../shared/store/errors';
import type { SyncRemote } from '../../shared/sync/remote';

const TOKEN = 'sync-test-token';

/** A browser tab: Dexie store + outbox on (fake) IndexedDB, runners writing through the recorder. */
function makeTab(server: RunningServer, name: string, locks: LockManagerLike | null = null) {
  const indexedDB = new IDBFactory();
  const local = new DexieLightningStore({ indexedDB, IDBKeyRange, name: `store-${name}` });
  const outbox = new DexieOutbox(`outbox-${name}`, { indexedDB, IDBKeyRange });
  const runnerStore = new OutboxRecordingStore(local, outbox);
  const syncer = new Syncer({
    store: local,
    outbox,
    remote: new HttpSyncRemote({ baseUrl: server.url, token: TOKEN, retryDelaysMs: [] }),
    blobs: blobStorageOf(local),
    clientId: `tab-${name}`,
    batchEntries: 7,
    locks,
  });
  return { local, outbox, runnerStore, syncer, close: () => local.destroy() };
}

/** One rollout run the way a runner does: dequeue, spans, finish. */
async function runOne(store: LightningStore, spans: number) {
  await store.enqueueRollouts([{ input: { feedback: 'the parcel arrived late' } }]);
  const taken = await store.dequeueRollout({ worker_id: 'runner-1' });
  if (!taken) throw new Error('queue empty');
  await store.addSpans(
    Array.from({ length: spans }, (_, i) => ({
      rollout_id: taken.rollout_id,
      attempt_id: taken.attempt.attempt_id,
      trace_id: `t-${taken.rollout_id}`,
      span_id: `s${i}`,
      name: 'agentlightning.message',
    })),
  );
  await store.updateAttempt(taken.rollout_id, taken.attempt.attempt_id, { status: 'succeeded' });
  return taken.rollout_id;
}

describe('sync between a browser store and the server', () => {
  let dir: string;
  let serverStore: SqliteLightningStore;
  let blobs: BlobStore;
  let server: RunningServer;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-sync-'));
    serverStore = new SqliteLightningStore({ path: join(dir, 'store.sqlite') });
    blobs = new BlobStore(join(dir, 'blobs'), 1 << 20);
    await blobs.init();
    server = await listen(createApp({ store: serverStore, sync: serverStore, blobs, token: TOKEN }));
  });
  afterEach(async () => {
    await server.close();
    await serverStore.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes what runners wrote, in batches, and a second pass sends nothing', async () => {
    const tab = makeTab(server, 'a');
    const ids = [await runOne(tab.runnerStore, 5), await runOne(tab.runnerStore, 3)];
    const report = await tab.syncer.syncOnce();
    expect(report.ran).toBe(true);
    expect(report.pushed.batches).toBeGreaterThan(1);
    expect(await tab.outbox.size()).toBe(0);
    for (const id of ids) {
      expect((await serverStore.getRolloutById(id))?.status).toBe('succeeded');
    }
    expect((await serverStore.statistics()).total_spans).toBe(8);
    expect((await serverStore.statistics()).total_attempts).toBe(2);

    const again = await tab.syncer.syncOnce();
    expect(again.pushed.rows).toBe(0);
    await tab.close();
  });

  it('pushes rows written before sync was switched on (backfill)', async () => {
    const tab = makeTab(server, 'b');
    const id = await runOne(tab.local, 4); // straight to the store: nothing in the outbox
    expect(await tab.outbox.size()).toBe(0);
    await tab.syncer.syncOnce();
    expect((await serverStore.getRolloutById(id))?.status).toBe('succeeded');
    expect((await serverStore.querySpans({ rollout_id: id })).total).toBe(4);
    await tab.close();
  });

  it('pulls what other tabs and runners pushed, by cursor, and resumes from it', async () => {
    const a = makeTab(server, 'c1');
    const b = makeTab(server, 'c2');
    const fromA = await runOne(a.runnerStore, 2);
    await a.syncer.syncOnce();
    const first = await b.syncer.syncOnce();
    expect(first.pulled.rows).toBeGreaterThan(0);
    expect((await b.local.getRolloutById(fromA))?.status).toBe('succeeded');
    expect((await b.local.querySpans({ rollout_id: fromA })).total).toBe(2);

    const direct = await serverStore.enqueueRollouts([{ input: 'queued on the server' }]);
    const second = await b.syncer.syncOnce();
    expect(second.cursor).toBeGreaterThan(first.cursor);
    expect(await b.local.getRolloutById(direct[0]?.rollout_id as string)).not.toBeNull();
    // Pulled rows are not pushed back: the pull wrote to the local store, not the outbox.
    expect(await b.outbox.size()).toBe(0);
    await a.close();
    await b.close();
  });

  it('uploads a checkpoint before the resources row that names it, and the other side downloads it', async () => {
    const a = makeTab(server, 'd1');
    const checkpointId = await saveCheckpoint(blobStorageOf(a.local), {
      config: { preset: 'micro' },
      weights: { 'wte.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } },
      tokenizer: '{"model":{"type":"BPE"}}',
    });
    const published = await a.runnerStore.updateResources('policy', {
      policy: { resource_type: 'policy', checkpoint_id: checkpointId },
    });
    const report = await a.syncer.syncOnce();
    expect(report.missingCheckpoints).toEqual([]);
    expect(await blobs.stat(checkpointId)).not.toBeNull();
    expect((await serverStore.getResourcesById('policy'))?.version).toBe(published.version);

    const b = makeTab(server, 'd2');
    await b.syncer.syncOnce();
    expect(await b.local.hasBlob(checkpointId)).toBe(true);
    expect((await b.local.getLatestResources())?.resources.policy).toMatchObject({
      checkpoint_id: checkpointId,
    });
    await a.close();
    await b.close();
  });

  it('saves and loads a checkpoint straight to the server over HTTP (a Node trainer with --server)', async () => {
    const storage = new HttpBlobStorage({ baseUrl: server.url, token: TOKEN });
    const checkpoint = {
      config: { preset: 'micro' },
      weights: {
        'wte.weight': { dtype: 'F32' as const, shape: [1, 3], data: new Float32Array([0.5, -1, 2]) },
      },
      tokenizer: '{"model":{"type":"BPE"}}',
    };
    const id = await saveCheckpoint(storage, checkpoint);
    expect(await blobs.stat(id)).not.toBeNull();
    expect(await saveCheckpoint(storage, checkpoint)).toBe(id);
    const loaded = await loadCheckpoint(storage, id);
    expect(Array.from(loaded.weights['wte.weight']?.data ?? [])).toEqual([0.5, -1, 2]);
    expect(await storage.get('0'.repeat(64))).toBeUndefined();
  });

  it('converges when batches are replayed, duplicated and delivered out of order', async () => {
    const tab = makeTab(server, 'e');
    const remote = new HttpSyncRemote({ baseUrl: server.url, token: TOKEN });
    const id = await runOne(tab.local, 3);
    const rollout = (await tab.local.getRolloutById(id)) as NonNullable<
      Awaited<ReturnType<LightningStore['getRolloutById']>>
    >;
    const { attempt, ...row } = rollout;
    const spans = (await tab.local.querySpans({ rollout_id: id })).items;
    const finished = { rollouts: [row], attempts: attempt ? [attempt] : [], spans };
    const stale = {
      rollouts: [{ ...row, status: 'running' as const, end_time: null }],
      attempts: attempt ? [{ ...attempt, status: 'running' as const, end_time: null }] : [],
      spans: spans.slice(0, 1),
    };
    await remote.push('tab-e', 'b2', finished);
    await remote.push('tab-e', 'b2', finished); // replay
    await remote.push('tab-e', 'b1', stale); // an older batch arriving late
    await Promise.all([remote.push('tab-e', 'b2', finished), remote.push('tab-e', 'b1', stale)]); // duplicated, racing
    const onServer = await serverStore.getRolloutById(id);
    expect(onServer?.status).toBe('succeeded');
    expect(onServer?.attempt?.status).toBe('succeeded');
    const stats = await serverStore.statistics();
    expect([stats.total_rollouts, stats.total_attempts, stats.total_spans]).toEqual([1, 1, 3]);
    await tab.close();
  });

  it('runs one syncer at a time: a second one skips while the lock is held', async () => {
    const held = new Set<string>();
    const locks: LockManagerLike = {
      async request(name, _options, body) {
        if (held.has(name)) return body(null);
        held.add(name);
        try {
          return await body({ name });
        } finally {
          held.delete(name);
        }
      },
    };
    const a = makeTab(server, 'f1', locks);
    const b = makeTab(server, 'f2', locks);
    await runOne(a.runnerStore, 50);
    const [ra, rb] = await Promise.all([a.syncer.syncOnce(), b.syncer.syncOnce()]);
    expect([ra.ran, rb.ran].sort()).toEqual([false, true]);
    await a.close();
    await b.close();
  });

  it('sets aside an entry the server refuses for good, and delivers the rest', async () => {
    const tab = makeTab(server, 'h');
    const good = await runOne(tab.runnerStore, 2);
    const bad = await runOne(tab.runnerStore, 2);
    const http = new HttpSyncRemote({ baseUrl: server.url, token: TOKEN });
    // The server refuses any batch that carries the `bad` rollout (as it would a row it cannot accept).
    const remote: SyncRemote = {
      pull: (after, limit) => http.pull(after, limit),
      hasBlob: (sha) => http.hasBlob(sha),
      putBlob: (sha, bytes) => http.putBlob(sha, bytes),
      getBlob: (sha) => http.getBlob(sha),
      push: async (clientId, batchId, records) => {
        if (records.rollouts?.some((r) => r.rollout_id === bad)) throw new StoreError('invalid', 'refused');
        return http.push(clientId, batchId, records);
      },
    };
    const syncer = new Syncer({
      store: tab.local,
      outbox: tab.outbox,
      remote,
      clientId: 'tab-h',
      locks: null,
    });
    const report = await syncer.syncOnce();
    expect(report.rejected.map((r) => r.key)).toContainEqual({ kind: 'rollout', rollout_id: bad });
    expect(await tab.outbox.size()).toBe(0);
    expect((await serverStore.getRolloutById(good))?.status).toBe('succeeded');
    expect((await serverStore.querySpans({ rollout_id: bad })).total).toBe(2);
    expect(await serverStore.getRolloutById(bad)).toBeNull();
    await tab.close();
  });

  it('syncs on its own timer once started, until stopped', async () => {
    const tab = makeTab(server, 'g');
    const id = await runOne(tab.runnerStore, 1);
    const reports: unknown[] = [];
    const pushed = new Promise<void>((resolve) => {
      tab.syncer.start(20, (report) => {
        reports.push(report);
        if (!(report instanceof Error) && report.pushed.rows > 0) resolve();
      });
    });
    await pushed;
    tab.syncer.stop();
    expect((await serverStore.getRolloutById(id))?.status).toBe('succeeded');
    expect(reports.every((r) => !(r instanceof Error))).toBe(true);
    await tab.close();
  });

  it('keeps unacknowledged rows in the outbox while the server is away, and delivers them later', async () => {
    const outbox = new MemoryOutbox();
    const local = new DexieLightningStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: 'offline' });
    const runnerStore = new OutboxRecordingStore(local, outbox);
    const offline = new Syncer({
      store: local,
      outbox,
      remote: new HttpSyncRemote({ baseUrl: 'http://127.0.0.1:9', token: TOKEN, retryDelaysMs: [1] }),
      clientId: 'tab-offline',
      blobs: new MemoryBlobStorage(),
      locks: null,
    });
    const id = await runOne(runnerStore, 2);
    const pending = await outbox.size();
    await expect(offline.syncOnce()).rejects.toThrow(/failed after 2 tries/);
    expect(await outbox.size()).toBeGreaterThanOrEqual(pending);

    const online = new Syncer({
      store: local,
      outbox,
      remote: new HttpSyncRemote({ baseUrl: server.url, token: TOKEN }),
      clientId: 'tab-offline',
      locks: null,
    });
    await online.syncOnce();
    expect(await outbox.size()).toBe(0);
    expect((await serverStore.getRolloutById(id))?.status).toBe('succeeded');
    await local.destroy();
  });
});
