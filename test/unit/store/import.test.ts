// importRecords (sync push and pull) on every engine-based store: idempotent by id, never moving
// a row backwards, converging when batches arrive out of order.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteLightningStore } from '../../../server/store/sqlite';
import { DexieLightningStore } from '../../../shared/store/dexie';
import type { EngineLightningStore } from '../../../shared/store/engine';
import { InMemoryLightningStore } from '../../../shared/store/memory';
import type { StoreRecords } from '../../../shared/store/types';

const dir = mkdtempSync(join(tmpdir(), 'edgelight-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const implementations: [string, () => EngineLightningStore][] = [
  ['memory', () => new InMemoryLightningStore()],
  ['Dexie', () => new DexieLightningStore({ indexedDB: new IDBFactory(), IDBKeyRange })],
  ['SQLite', () => new SqliteLightningStore({ path: join(dir, `import-${n++}.db`) })],
];

/** Every row of a store, as a sync batch. */
async function snapshot(store: EngineLightningStore): Promise<StoreRecords> {
  const rollouts = (await store.queryRollouts()).items.map(({ attempt: _attempt, ...r }) => r);
  const attempts = [];
  const spans = [];
  for (const r of rollouts) {
    attempts.push(...(await store.queryAttempts(r.rollout_id)).items);
    spans.push(...(await store.querySpans({ rollout_id: r.rollout_id })).items);
  }
  const resources = (await store.queryResources()).items;
  const workers = (await store.queryWorkers()).items;
  return { rollouts, attempts, spans, resources, workers };
}

describe.each(implementations)('importRecords on %s', (_label, make) => {
  it('imports a batch once, skips a replay and a stale copy, and keeps counters ahead', async () => {
    const source = new InMemoryLightningStore();
    await source.addResources({ policy: { resource_type: 'policy', checkpoint_id: 'ckpt-1' } });
    const t = await source.startRollout({ input: { text: 'hi' }, worker_id: 'runner-1' });
    await source.addSpans(
      ['a', 'b', 'c'].map((id) => ({
        rollout_id: t.rollout_id,
        attempt_id: t.attempt.attempt_id,
        trace_id: 't',
        span_id: id,
        name: 'x',
      })),
    );
    await source.enqueueRollout({ input: 'queued' });
    const early = await snapshot(source);
    await source.updateAttempt(t.rollout_id, 'latest', { status: 'succeeded' });
    const late = await snapshot(source);

    const target = make();
    const first = await target.importRecords(late);
    expect(first.written).toEqual({ rollouts: 2, attempts: 1, spans: 3, resources: 1, workers: 1 });
    expect(first.skipped).toBe(0);

    const replay = await target.importRecords(late);
    expect(replay.written).toEqual({ rollouts: 0, attempts: 0, spans: 0, resources: 0, workers: 0 });
    expect(replay.skipped).toBe(8);

    // The earlier batch arrives last: finished rows stay finished, the worker stays as last seen.
    await target.importRecords(early);
    expect((await target.getRolloutById(t.rollout_id))?.status).toBe('succeeded');
    expect((await target.getLatestAttempt(t.rollout_id))?.status).toBe('succeeded');

    expect(await snapshot(target)).toEqual(late);
    expect((await target.getLatestResources())?.resources.policy).toMatchObject({ checkpoint_id: 'ckpt-1' });
    expect(await target.getNextSpanSequenceId(t.rollout_id, t.attempt.attempt_id)).toBe(4);
    // A queued rollout arrives queued: this store's runners can take it.
    expect((await target.dequeueRollout())?.input).toBe('queued');
    await target.close();
    await source.close();
  });

  it('rejects a malformed batch whole', async () => {
    const target = make();
    await expect(
      target.importRecords({
        rollouts: [{ rollout_id: 'ro-1', input: 1, start_time: 1 }, { rollout_id: 'ro-2' }],
      } as never),
    ).rejects.toMatchObject({ code: 'invalid' });
    expect((await target.queryRollouts()).total).toBe(0);
    await target.close();
  });
});
