// Behaviour of the shared engine that the conformance suite does not pin down for every store
// (the HTTP client has its own): closing, the watchdog's debounce, and waits answered by writes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteLightningStore } from '../../../server/store/sqlite';
import { FakeClock } from '../../../shared/store/conformance/fake-clock';
import { DexieLightningStore } from '../../../shared/store/dexie';
import type { EngineLightningStore, EngineOptions } from '../../../shared/store/engine';
import { InMemoryLightningStore } from '../../../shared/store/memory';

const dir = mkdtempSync(join(tmpdir(), 'edgelight-engine-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const implementations: [string, (options: EngineOptions) => EngineLightningStore][] = [
  ['memory', (o) => new InMemoryLightningStore(o)],
  ['Dexie', (o) => new DexieLightningStore({ ...o, indexedDB: new IDBFactory(), IDBKeyRange })],
  ['SQLite', (o) => new SqliteLightningStore({ ...o, path: join(dir, `engine-${n++}.db`) })],
];

describe.each(implementations)('engine behaviour on %s', (_label, make) => {
  it('a closed store rejects every call with code "closed"', async () => {
    const store = make({});
    await store.enqueueRollout({ input: 1 });
    await store.close();
    await store.close();
    await expect(store.dequeueRollout()).rejects.toMatchObject({ code: 'closed' });
    await expect(store.queryRollouts()).rejects.toMatchObject({ code: 'closed' });
    await expect(store.runWatchdog()).rejects.toMatchObject({ code: 'closed' });
    await expect(store.addResources({})).rejects.toMatchObject({ code: 'closed' });
  });

  it('the lazy watchdog runs at most once per interval of the store clock', async () => {
    const clock = new FakeClock();
    const store = make({ clock, watchdogIntervalSeconds: 10 });
    const t = await store.startRollout({ input: 1, config: { timeout_seconds: 5 } });
    clock.advance(6);
    // The start ran the watchdog at t=0; 6 s later the next lazy run is not due yet.
    expect((await store.getRolloutById(t.rollout_id))?.status).toBe('preparing');
    clock.advance(5);
    expect((await store.getRolloutById(t.rollout_id))?.status).toBe('failed');
    await store.close();
  });

  it('a wait in this process is answered by the write, not by the poll interval', async () => {
    const store = make({ waitPollMilliseconds: 60_000 });
    const t = await store.startRollout({ input: 1 });
    const waiting = store.waitForRollouts({ rollout_ids: [t.rollout_id], timeout: 30 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    await store.updateAttempt(t.rollout_id, 'latest', { status: 'succeeded' });
    const done = await waiting;
    expect(done.map((r) => r.status)).toEqual(['succeeded']);
    await store.close();
  }, 20_000);
});
