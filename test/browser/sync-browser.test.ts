// Sync from real Chromium: a Dexie store and outbox on real IndexedDB, Web Locks from the browser,
// and fetch across origins to a real edgelight server (SQLite) on a loopback port.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { listen, type RunningServer } from '../../server/listen';
import { SqliteLightningStore } from '../../server/store/sqlite';
import { type BrowserHarness, openHarness } from '../helpers/browser';

const TOKEN = 'browser-sync-token';

type PageResult = { ran: boolean[]; pushed: number; outboxAfter: number; rollouts: string[] };

/** Runs in the page: writes `count` rollouts through the outbox recorder, optionally syncs twice at once. */
async function tabWork(args: {
  api: string;
  token: string;
  count: number;
  sync: boolean;
}): Promise<PageResult> {
  const load = window.importModule;
  const { DexieLightningStore } = (await load(
    '/shared/store/dexie.ts',
  )) as typeof import('../../shared/store/dexie');
  const { DexieOutbox } = (await load('/shared/sync/outbox.ts')) as typeof import('../../shared/sync/outbox');
  const { OutboxRecordingStore } = (await load(
    '/shared/sync/recording-store.ts',
  )) as typeof import('../../shared/sync/recording-store');
  const { HttpSyncRemote } = (await load(
    '/shared/sync/remote.ts',
  )) as typeof import('../../shared/sync/remote');
  const { Syncer } = (await load('/shared/sync/syncer.ts')) as typeof import('../../shared/sync/syncer');

  const store = new DexieLightningStore({ indexedDB, IDBKeyRange, name: 'sync-tab' });
  const outbox = new DexieOutbox('sync-tab-outbox', { indexedDB, IDBKeyRange });
  const runner = new OutboxRecordingStore(store, outbox);
  const rollouts: string[] = [];
  for (let i = 0; i < args.count; i++) {
    const r = await runner.startRollout({ input: { n: i }, worker_id: 'browser-runner' });
    await runner.addSpans([
      { rollout_id: r.rollout_id, attempt_id: r.attempt.attempt_id, trace_id: 't', span_id: 's', name: 'm' },
    ]);
    await runner.updateAttempt(r.rollout_id, r.attempt.attempt_id, { status: 'succeeded' });
    rollouts.push(r.rollout_id);
  }
  const result: PageResult = { ran: [], pushed: 0, outboxAfter: 0, rollouts };
  if (args.sync) {
    const make = () =>
      new Syncer({
        store,
        outbox,
        remote: new HttpSyncRemote({ baseUrl: args.api, token: args.token }),
        clientId: 'chromium-tab',
      });
    // Two syncers at once (as two tabs would): Web Locks lets exactly one of them run.
    const reports = await Promise.all([make().syncOnce(), make().syncOnce()]);
    result.ran = reports.map((r) => r.ran);
    result.pushed = reports.reduce((n, r) => n + r.pushed.rows, 0);
  }
  result.outboxAfter = await outbox.size();
  store.db.close();
  await outbox.close();
  return result;
}

describe('sync from Chromium (IndexedDB, Web Locks, cross-origin fetch)', () => {
  let dir: string;
  let serverStore: SqliteLightningStore;
  let api: RunningServer;
  let harness: BrowserHarness;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-browser-sync-'));
    serverStore = new SqliteLightningStore({ path: join(dir, 'store.sqlite') });
    api = await listen(
      createApp({ store: serverStore, sync: serverStore, token: TOKEN, corsOrigins: ['*'] }),
    );
    harness = await openHarness();
    ({ page, errors } = harness);
  });
  afterAll(async () => {
    await harness?.close();
    await api?.close();
    await serverStore?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the outbox across a reload, then one syncer (of two) pushes it all', async () => {
    const offline = await page.evaluate(tabWork, { api: api.url, token: TOKEN, count: 3, sync: false });
    expect(offline.outboxAfter).toBeGreaterThan(0);

    await page.reload();
    const online = await page.evaluate(tabWork, { api: api.url, token: TOKEN, count: 2, sync: true });
    expect(online.ran.filter(Boolean)).toHaveLength(1);
    expect(online.outboxAfter).toBe(0);
    for (const id of [...offline.rollouts, ...online.rollouts]) {
      expect((await serverStore.getRolloutById(id))?.status).toBe('succeeded');
    }
    expect((await serverStore.statistics()).total_spans).toBe(5);
    expect(errors).toEqual([]);
  });
});
