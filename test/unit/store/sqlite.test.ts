import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, SQL } from '../../../server/store/sql';
import { changesToRecords, SqliteLightningStore } from '../../../server/store/sqlite';
import { describeStoreConformance } from '../../helpers/store-conformance';
import { drainQueue } from './drain-queue';

const dir = mkdtempSync(join(tmpdir(), 'edgelight-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `store-${n++}.db`);

describeStoreConformance('SQLite (better-sqlite3, temp file)', async (clock) => {
  const store = new SqliteLightningStore({ path: freshPath(), clock });
  return { store, cleanup: () => store.close() };
});

describe('SqliteLightningStore', () => {
  it('runs in WAL mode with its migrations recorded, and keeps rows across a reopen', async () => {
    const path = freshPath();
    const first = new SqliteLightningStore({ path });
    const r = await first.enqueueRollout({ input: { text: 'persist me' } });
    expect(first.schemaVersion).toBe(2);
    await first.close();

    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.prepare('SELECT version, name FROM schema_migrations').all()).toEqual([
      { version: 1, name: 'initial schema' },
      { version: 2, name: 'rollouts ordered by start time' },
    ]);
    raw.close();

    const second = new SqliteLightningStore({ path });
    expect((await second.getRolloutById(r.rollout_id))?.input).toEqual({ text: 'persist me' });
    expect((await second.dequeueRollout())?.rollout_id).toBe(r.rollout_id);
    await second.close();
  });

  it('upgrades a version-1 database in place', async () => {
    const path = freshPath();
    const v1 = new Database(path);
    v1.exec(SQL.createMigrationsTable);
    v1.exec(MIGRATIONS[0].up);
    v1.prepare(SQL.recordMigration).run(1, MIGRATIONS[0].name, 0);
    v1.prepare(SQL.putRollout).run(
      'ro-old',
      'queuing',
      5,
      1,
      JSON.stringify({
        rollout_id: 'ro-old',
        input: 'from v1',
        start_time: 5,
        end_time: null,
        mode: null,
        resources_id: null,
        status: 'queuing',
        config: { timeout_seconds: null, unresponsive_seconds: null, max_attempts: 1, retry_condition: [] },
        metadata: {},
      }),
    );
    v1.prepare(SQL.enqueue).run('ro-old');
    v1.close();
    const store = new SqliteLightningStore({ path });
    expect(store.schemaVersion).toBe(MIGRATIONS.at(-1)!.version);
    expect((await store.queryRollouts({ sort_by: 'start_time' })).items.map((r) => r.input)).toEqual([
      'from v1',
    ]);
    expect((await store.dequeueRollout())?.rollout_id).toBe('ro-old');
    await store.close();
  });

  it('two connections to one file share the queue without handing a rollout out twice', async () => {
    const path = freshPath();
    const a = new SqliteLightningStore({ path });
    const b = new SqliteLightningStore({ path });
    const made = await a.enqueueRollouts(Array.from({ length: 40 }, (_, i) => ({ input: i })));
    const taken = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).dequeueRollouts({ worker_id: `w-${i}`, limit: 3 }),
      ),
    );
    const ids = taken.flat().map((r) => r.rollout_id);
    expect(ids).toHaveLength(40);
    expect(new Set(ids)).toEqual(new Set(made.map((r) => r.rollout_id)));
    const spans = await Promise.all(
      taken.flat().map((r, i) =>
        (i % 2 ? a : b).addSpan({
          rollout_id: r.rollout_id,
          attempt_id: r.attempt.attempt_id,
          trace_id: 't',
          span_id: 's',
          name: 'n',
        }),
      ),
    );
    expect(spans.every((s) => s?.sequence_id === 1)).toBe(true);
    expect((await b.statistics()).total_spans).toBe(40);
    await a.close();
    await b.close();
  });

  it('runners in separate processes share one database file: every rollout runs exactly once', async () => {
    const path = freshPath();
    const store = new SqliteLightningStore({ path });
    const made = await store.enqueueRollouts(Array.from({ length: 60 }, (_, i) => ({ input: i })));
    const startFile = `${path}.start`;
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const child = fileURLToPath(new URL('./sqlite-runner-process.ts', import.meta.url));
    const runners = ['p-1', 'p-2'].map((id) =>
      promisify(execFile)(process.execPath, [join(root, 'bin/tsx.mjs'), child, path, startFile, id], {
        cwd: root,
      }),
    );
    // Start them together once both have opened the store, and run in this process too.
    while (!['p-1', 'p-2'].every((id) => existsSync(`${startFile}.${id}.ready`))) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    writeFileSync(startFile, '');
    const mine = await drainQueue(store, 'parent');
    const theirs = (await Promise.all(runners)).flatMap((r) => JSON.parse(r.stdout) as string[]);
    const all = [...mine, ...theirs];
    console.log('DIST', mine.length, theirs.length);
    expect(all).toHaveLength(60);
    expect(new Set(all)).toEqual(new Set(made.map((r) => r.rollout_id)));
    const stats = await store.statistics();
    expect(stats.rollouts_by_status.succeeded).toBe(60);
    expect(stats.total_attempts).toBe(60);
    expect(stats.total_spans).toBe(120);
    await store.close();
  }, 60_000);

  it('gives every write an increasing seq and pages through changes of all kinds', async () => {
    const store = new SqliteLightningStore({ path: freshPath() });
    expect(await store.currentSeq()).toBe(0);
    const t = await store.startRollout({ input: 1, worker_id: 'w-1' });
    await store.addSpans([
      { rollout_id: t.rollout_id, attempt_id: t.attempt.attempt_id, trace_id: 'tr', span_id: 'a', name: 'x' },
      { rollout_id: t.rollout_id, attempt_id: t.attempt.attempt_id, trace_id: 'tr', span_id: 'b', name: 'y' },
    ]);
    await store.addResources({ p: { resource_type: 'policy', checkpoint_id: 'c1' } });

    const all = await store.changesSince(0, 100);
    const seqs = all.changes.map((c) => c.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(all.has_more).toBe(false);
    expect(all.next).toBe(await store.currentSeq());
    const kinds = new Set(all.changes.map((c) => c.kind));
    expect(kinds).toEqual(new Set(['rollout', 'attempt', 'span', 'resources', 'worker']));
    // A row updated twice appears once, at its newest seq, with its newest content.
    const rollouts = all.changes.filter((c) => c.kind === 'rollout');
    expect(rollouts).toHaveLength(1);
    expect(rollouts[0].row).toMatchObject({ status: 'running' });

    // Paging: small pages visit the same changes in the same order.
    const paged = [];
    let cursor = 0;
    for (;;) {
      const page = await store.changesSince(cursor, 2);
      paged.push(...page.changes);
      cursor = page.next;
      if (!page.has_more) break;
    }
    expect(paged.map((c) => c.seq)).toEqual(seqs);
    expect((await store.changesSince(cursor, 10)).changes).toEqual([]);

    // Later writes only show up after the cursor.
    await store.updateAttempt(t.rollout_id, 'latest', { status: 'succeeded' });
    const later = await store.changesSince(cursor, 100);
    expect(later.changes.map((c) => c.kind).sort()).toEqual(['attempt', 'rollout', 'worker']);
    await expect(store.changesSince(-1, 10)).rejects.toMatchObject({ code: 'invalid' });
    await expect(store.changesSince(0, 0)).rejects.toMatchObject({ code: 'invalid' });
    await store.close();
  });

  it('upsertMany is idempotent, never moves a row backwards, and reports the seq of its commit', async () => {
    const source = new SqliteLightningStore({ path: freshPath() });
    const t = await source.startRollout({ input: 'task' });
    await source.addSpan({
      rollout_id: t.rollout_id,
      attempt_id: t.attempt.attempt_id,
      trace_id: 'tr',
      span_id: 's',
      name: 'n',
    });
    const running = changesToRecords((await source.changesSince(0, 100)).changes);
    await source.updateAttempt(t.rollout_id, 'latest', { status: 'succeeded' });
    const finished = changesToRecords((await source.changesSince(0, 100)).changes);

    const target = new SqliteLightningStore({ path: freshPath() });
    const first = await target.upsertMany(finished);
    expect(first.written).toEqual({ rollouts: 1, attempts: 1, spans: 1, resources: 0, workers: 0 });
    expect(first.seq).toBe(await target.currentSeq());

    const replay = await target.upsertMany(finished);
    expect(replay.written).toEqual({ rollouts: 0, attempts: 0, spans: 0, resources: 0, workers: 0 });
    expect(replay.seq).toBe(first.seq);

    // An older copy arriving late does not undo the finished rollout.
    const stale = await target.upsertMany(running);
    expect(stale.written.rollouts).toBe(0);
    expect((await target.getRolloutById(t.rollout_id))?.status).toBe('succeeded');
    expect((await target.querySpans({ rollout_id: t.rollout_id })).total).toBe(1);
    // Imported sequence ids are never issued again.
    expect(await target.getNextSpanSequenceId(t.rollout_id, t.attempt.attempt_id)).toBe(2);
    await expect(target.upsertMany({ rollouts: [{ rollout_id: 'bad id' }] } as never)).rejects.toMatchObject({
      code: 'invalid',
    });
    await source.close();
    await target.close();
  });
});
