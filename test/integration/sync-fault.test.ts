import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterAll, describe, expect, it } from 'vitest';
import { DexieLightningStore } from '../../shared/store/dexie';
import type { StoreRecords, StoreRecordsInput } from '../../shared/store/types';
import { MemoryOutbox } from '../../shared/sync/outbox';
import type { PushResponse } from '../../shared/sync/protocol';
import { OutboxRecordingStore } from '../../shared/sync/recording-store';
import { HttpSyncRemote, type SyncRemote } from '../../shared/sync/remote';
import { Syncer } from '../../shared/sync/syncer';

// The server process is killed with SIGKILL while a client streams pushes, then restarted on the
// same data folder: no acknowledged batch may be lost, no batch may be half applied, and the
// client must resume and converge.

const CLI = fileURLToPath(new URL('../../bin/edgelight.mjs', import.meta.url));
const TOKEN = 'fault-test-token';

type Server = { child: ChildProcess; url: string; port: number };

function startServer(dataDir: string, port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [CLI, 'serve', '--port', String(port), '--data', dataDir, '--token', TOKEN],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/[\d.]+:(\d+))/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1] as string, port: Number(match[2]) });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${out}`)));
  });
}

const killed = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

/** Every row key of a batch, e.g. `span:ro-1/at-1/s3`. */
function keysOf(records: StoreRecordsInput): string[] {
  return [
    ...(records.rollouts ?? []).map((r) => `rollout:${r.rollout_id}:${r.status}`),
    ...(records.attempts ?? []).map((a) => `attempt:${a.rollout_id}/${a.attempt_id}:${a.status}`),
    ...(records.spans ?? []).map((s) => `span:${s.rollout_id}/${s.attempt_id}/${s.span_id}`),
  ];
}

/** Everything the server holds, read through its own change feed. */
async function serverKeys(url: string): Promise<Set<string>> {
  const remote = new HttpSyncRemote({ baseUrl: url, token: TOKEN });
  const keys = new Set<string>();
  let after = 0;
  for (;;) {
    const page = await remote.pull(after, 5000);
    for (const k of keysOf(page.records)) keys.add(k);
    after = page.next;
    if (!page.has_more) return keys;
  }
}

describe('sync survives SIGKILL of the server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelight-fault-'));
  const children: ChildProcess[] = [];
  afterAll(async () => {
    await Promise.all(children.map(killed));
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses no acknowledged batch, applies none by half, and the client converges after restart', async () => {
    const dataDir = join(dir, 'data');
    let server = await startServer(dataDir);
    children.push(server.child);

    // A tab that has run 60 rollouts (1 rollout + 1 attempt + 6 spans each) while offline.
    const local = new DexieLightningStore({ indexedDB: new IDBFactory(), IDBKeyRange, name: 'fault' });
    const outbox = new MemoryOutbox();
    const runnerStore = new OutboxRecordingStore(local, outbox);
    await runnerStore.enqueueRollouts(Array.from({ length: 60 }, (_, i) => ({ input: { n: i } })));
    for (;;) {
      const taken = await runnerStore.dequeueRollout({ worker_id: 'runner' });
      if (!taken) break;
      const { rollout_id, attempt } = taken;
      await runnerStore.addSpans(
        Array.from({ length: 6 }, (_, i) => ({
          rollout_id,
          attempt_id: attempt.attempt_id,
          trace_id: 't',
          span_id: `s${i}`,
          name: 'm',
        })),
      );
      await runnerStore.updateAttempt(rollout_id, attempt.attempt_id, { status: 'succeeded' });
    }

    // The remote records what the server acknowledged, and what was sent but never answered.
    const acknowledged: StoreRecordsInput[] = [];
    const unanswered: StoreRecordsInput[] = [];
    let pushes = 0;
    let killAtPush = 4;
    const http = new HttpSyncRemote({ baseUrl: server.url, token: TOKEN, retryDelaysMs: [] });
    const remote: SyncRemote = {
      pull: (after, limit) => http.pull(after, limit),
      hasBlob: (sha) => http.hasBlob(sha),
      putBlob: (sha, bytes) => http.putBlob(sha, bytes),
      getBlob: (sha) => http.getBlob(sha),
      async push(clientId, batchId, records): Promise<PushResponse> {
        pushes++;
        const sending = http.push(clientId, batchId, records);
        // Kill the server while this push is on the wire (or in its transaction).
        if (pushes === killAtPush) setImmediate(() => server.child.kill('SIGKILL'));
        try {
          const ack = await sending;
          acknowledged.push(records);
          return ack;
        } catch (error) {
          unanswered.push(records);
          throw error;
        }
      },
    };
    const syncer = new Syncer({
      store: local,
      outbox,
      remote,
      clientId: 'fault-tab',
      batchEntries: 25,
      locks: null,
    });

    for (const round of [1, 2]) {
      await expect(syncer.syncOnce()).rejects.toThrow();
      await killed(server.child);
      expect(acknowledged.length).toBeGreaterThan(0);

      server = await startServer(dataDir, server.port);
      children.push(server.child);
      const held = await serverKeys(server.url);
      // No acknowledged batch lost.
      for (const batch of acknowledged)
        for (const key of keysOf(batch)) expect(held, `round ${round}`).toContain(key);
      // No batch half applied: the one in flight is all there or not there at all (a later
      // acknowledged batch may carry newer copies of its rows, so compare only what is unique to it).
      for (const batch of unanswered) {
        const keys = keysOf(batch).filter((k) => k.startsWith('span:'));
        const present = keys.filter((k) => held.has(k)).length;
        expect([0, keys.length], `round ${round}`).toContain(present);
      }
      killAtPush = pushes + 3;
    }

    // The client resumes from its outbox and converges.
    killAtPush = Number.POSITIVE_INFINITY;
    await syncer.syncOnce();
    expect(await outbox.size()).toBe(0);
    const localRows: StoreRecords = { rollouts: [], attempts: [], spans: [], resources: [], workers: [] };
    for (const r of (await local.queryRollouts()).items) {
      const { attempt, ...row } = r;
      localRows.rollouts.push(row);
      localRows.attempts.push(...(await local.queryAttempts(r.rollout_id)).items);
      localRows.spans.push(...(await local.querySpans({ rollout_id: r.rollout_id })).items);
    }
    const held = await serverKeys(server.url);
    expect(held).toEqual(new Set(keysOf(localRows)));
    expect(held.size).toBe(60 * 8);
    await local.destroy();
  });
});
