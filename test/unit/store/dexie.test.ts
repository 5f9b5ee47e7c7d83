import Dexie from 'dexie';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../shared/store/conformance/fake-clock';
import { DEXIE_SCHEMA, DexieLightningStore } from '../../../shared/store/dexie';
import { describeStoreConformance } from '../../helpers/store-conformance';

describeStoreConformance('Dexie on fake-indexeddb', async (clock) => {
  const store = new DexieLightningStore({ indexedDB: new IDBFactory(), IDBKeyRange, clock });
  return { store, cleanup: () => store.destroy() };
});

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Buffer.from(digest).toString('hex');
}

describe('DexieLightningStore', () => {
  it('keeps rows across a reopen of the same database', async () => {
    const indexedDB = new IDBFactory();
    const first = new DexieLightningStore({ indexedDB, IDBKeyRange, name: 'reopen' });
    const r = await first.enqueueRollout({ input: { text: 'hello' } });
    await first.addResources({ policy: { resource_type: 'policy', checkpoint_id: 'ckpt-a' } });
    await first.close();
    const second = new DexieLightningStore({ indexedDB, IDBKeyRange, name: 'reopen' });
    expect((await second.getRolloutById(r.rollout_id))?.input).toEqual({ text: 'hello' });
    expect((await second.getLatestResources())?.resources.policy).toMatchObject({ checkpoint_id: 'ckpt-a' });
    expect((await second.dequeueRollout())?.rollout_id).toBe(r.rollout_id);
    await second.destroy();
  });

  it('stores content-addressed blobs and refuses a wrong hash', async () => {
    const store = new DexieLightningStore({ indexedDB: new IDBFactory(), IDBKeyRange });
    const bytes = new Uint8Array(64_000).map((_, i) => i % 251);
    const id = await sha256(bytes);
    expect(await store.hasBlob(id)).toBe(false);
    expect(await store.getBlob(id)).toBeNull();
    await store.putBlob(id, bytes);
    await store.putBlob(id, bytes);
    expect(await store.hasBlob(id)).toBe(true);
    expect(await store.getBlob(id)).toEqual(bytes);
    await expect(store.putBlob('0'.repeat(64), bytes)).rejects.toMatchObject({ code: 'invalid' });
    await expect(store.putBlob('../x', bytes)).rejects.toMatchObject({ code: 'invalid' });
    await store.deleteBlob(id);
    expect(await store.hasBlob(id)).toBe(false);
    await store.destroy();
  });

  it('migrates a version-1 database: running rollouts get the active flag the watchdog reads', async () => {
    const indexedDB = new IDBFactory();
    const v1 = new Dexie('migrate', { indexedDB, IDBKeyRange });
    v1.version(1).stores(DEXIE_SCHEMA[0].stores);
    const rollout = {
      rollout_id: 'ro-old',
      input: 1,
      start_time: 1000,
      end_time: null,
      mode: null,
      resources_id: null,
      status: 'running',
      config: { timeout_seconds: 10, unresponsive_seconds: null, max_attempts: 1, retry_condition: [] },
      metadata: {},
    };
    const attempt = {
      rollout_id: 'ro-old',
      attempt_id: 'at-old',
      sequence_id: 1,
      start_time: 1000,
      end_time: null,
      status: 'running',
      worker_id: null,
      last_heartbeat_time: 1000,
      metadata: {},
    };
    await v1.table('rollouts').put(rollout);
    await v1.table('attempts').put(attempt);
    v1.close();

    const clock = new FakeClock(1100);
    const store = new DexieLightningStore({ indexedDB, IDBKeyRange, name: 'migrate', clock });
    expect((await store.db.rollouts.get('ro-old'))?.active).toBe(1);
    expect(store.db.verno).toBe(DEXIE_SCHEMA.at(-1)!.version);
    await store.runWatchdog();
    expect((await store.getRolloutById('ro-old'))?.status).toBe('failed');
    expect((await store.getLatestAttempt('ro-old'))?.status).toBe('timeout');
    await store.destroy();
  });

  it('a quota error fails the whole batch with a clear error and writes nothing', async () => {
    const store = new DexieLightningStore({ indexedDB: new IDBFactory(), IDBKeyRange });
    // Inject the browser's QuotaExceededError on the span table, as a full disk would raise it.
    let failSpans = false;
    store.db.use({
      stack: 'dbcore',
      name: 'quota-fault',
      create: (down) => ({
        ...down,
        table: (name) => {
          const table = down.table(name);
          return {
            ...table,
            mutate: (req) =>
              failSpans && name === 'spans'
                ? Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError'))
                : table.mutate(req),
          };
        },
      }),
    });
    const t = await store.startRollout({ input: 1 });
    const spans = Array.from({ length: 50 }, (_, i) => ({
      rollout_id: t.rollout_id,
      attempt_id: t.attempt.attempt_id,
      trace_id: 'trace',
      span_id: `s-${i}`,
      name: 'step',
    }));
    failSpans = true;
    const error = await store.addSpans(spans).catch((e) => e);
    expect(error).toMatchObject({ code: 'quota_exceeded' });
    expect(String(error.message)).toMatch(/quota exceeded.*rolled back/);
    failSpans = false;
    expect((await store.querySpans({ rollout_id: t.rollout_id })).total).toBe(0);
    // The heartbeat and the span counter were in the same transaction: rolled back too.
    expect((await store.getLatestAttempt(t.rollout_id))?.status).toBe('preparing');
    expect(await store.getNextSpanSequenceId(t.rollout_id, t.attempt.attempt_id)).toBe(1);
    expect((await store.addSpans(spans)).length).toBe(50);
    await store.destroy();
  });
});
