// Issue 19: stored blobs are verified, not trusted. A file that no longer hashes to its name is refused
// (503), logged and moved to blobs-quarantine/, never served; a PUT of the right bytes repairs it; and
// `edgelight doctor` checks a whole data folder (blobs and the SQLite store).
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { BlobStore } from '../../server/blobs/blob-store';
import { openSqliteStore } from '../../server/store/sqlite';
import { runCli } from '../helpers/cli';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** Byte equality without vitest's element-by-element diff (slow on 200 KB). */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgelight-integrity-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const blobPath = (id: string) => join(dir, 'blobs', id.slice(0, 2), id);
const quarantined = () => {
  const q = join(dir, 'blobs-quarantine');
  return existsSync(q) ? readdirSync(q) : [];
};

describe('blob routes verify what they serve', () => {
  let app: ReturnType<typeof createApp>;
  let logged: string[];
  const bytes = randomBytes(200_000);
  const id = sha256(bytes);

  beforeEach(async () => {
    logged = [];
    const blobs = new BlobStore(join(dir, 'blobs'), 1 << 20, (m) => logged.push(m));
    await blobs.init();
    app = createApp({ blobs });
    const put = await putBytes(bytes);
    expect(put.status).toBe(201);
  });

  const putBytes = (body: Uint8Array) =>
    app.request(`/v1/blobs/${id}`, { method: 'PUT', body, duplex: 'half' } as RequestInit);
  const get = () => app.request(`/v1/blobs/${id}`);

  async function expectRefusedAndQuarantined(res: Response, bad: Uint8Array) {
    expect(res.status).toBe(503);
    expect(res.headers.get('cache-control')).toBeNull();
    const body = await res.json();
    expect(body.error.code).toBe('unavailable');
    expect(body.error.message).toMatch(/integrity/);
    expect(existsSync(blobPath(id))).toBe(false);
    const moved = quarantined();
    expect(moved).toHaveLength(1);
    expect(moved[0]?.startsWith(id)).toBe(true);
    // The evidence is kept byte for byte.
    expect(same(readFileSync(join(dir, 'blobs-quarantine', moved[0] as string)), bad)).toBe(true);
    expect(logged.join('\n')).toMatch(new RegExp(`blob ${id} is corrupt`));
  }

  async function expectRepairedByPut() {
    const put = await putBytes(bytes);
    expect(put.status).toBe(201);
    const again = await get();
    expect(again.status).toBe(200);
    expect(same(new Uint8Array(await again.arrayBuffer()), bytes)).toBe(true);
  }

  it('refuses a blob with a flipped byte (even one served before), quarantines it, and a PUT repairs it', async () => {
    const first = await get();
    expect(first.status).toBe(200);
    expect(same(new Uint8Array(await first.arrayBuffer()), bytes)).toBe(true);

    const bad = Buffer.from(bytes);
    bad[1234] = (bad[1234] as number) ^ 0x01;
    writeFileSync(blobPath(id), bad);
    await expectRefusedAndQuarantined(await get(), bad);

    // Gone now: 404, which tells a syncing client to upload it again.
    expect((await get()).status).toBe(404);
    expect((await app.request(`/v1/blobs/${id}`, { method: 'HEAD' })).status).toBe(404);
    await expectRepairedByPut();
  });

  it('refuses a truncated blob on HEAD and GET', async () => {
    truncateSync(blobPath(id), 100_000);
    const head = await app.request(`/v1/blobs/${id}`, { method: 'HEAD' });
    expect(head.status).toBe(503);
    expect(quarantined()).toHaveLength(1);
    expect(statSync(join(dir, 'blobs-quarantine', quarantined()[0] as string)).size).toBe(100_000);
    expect((await get()).status).toBe(404);
    await expectRepairedByPut();
  });

  it('a PUT over a corrupt file replaces it (201, not "already there")', async () => {
    const bad = Buffer.from(bytes.subarray(0, 10));
    writeFileSync(blobPath(id), bad);
    await expectRepairedByPut();
    expect(quarantined()).toHaveLength(1);
    expect(same(readFileSync(join(dir, 'blobs-quarantine', quarantined()[0] as string)), bad)).toBe(true);
  });

  it('a rewrite that restores the old mtime is still caught (the cache keys on ctime too)', async () => {
    const served = await get();
    expect(served.status).toBe(200);
    await served.arrayBuffer();
    const before = statSync(blobPath(id));
    const bad = Buffer.from(bytes);
    bad[0] = (bad[0] as number) ^ 0xff;
    writeFileSync(blobPath(id), bad);
    utimesSync(blobPath(id), before.atime, before.mtime);
    await expectRefusedAndQuarantined(await get(), bad);
  });

  it('serves a good blob repeatedly from the verified cache', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await get();
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe(`"${id}"`);
      expect(same(new Uint8Array(await res.arrayBuffer()), bytes)).toBe(true);
    }
    expect(quarantined()).toHaveLength(0);
    expect(logged).toEqual([]);
  });
});

describe('edgelight doctor', () => {
  function writeBlob(bytes: Uint8Array, id = sha256(bytes)): string {
    mkdirSync(join(dir, 'blobs', id.slice(0, 2)), { recursive: true });
    writeFileSync(blobPath(id), bytes);
    return id;
  }

  it('names a corrupt blob (exit 1), --fix quarantines it, then all is fine (exit 0)', async () => {
    const good = writeBlob(randomBytes(5000));
    const badBytes = randomBytes(5000);
    const bad = writeBlob(badBytes.subarray(0, 4000), sha256(badBytes));

    const first = await runCli('doctor', '--data', dir);
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(
      new RegExp(`corrupt blob blobs/${bad.slice(0, 2)}/${bad}: its 4000 bytes hash to`),
    );
    expect(first.stdout).not.toMatch(good);
    expect(first.stdout).toMatch(/2 blobs checked, 1 corrupt, 0 stray/);
    expect(existsSync(blobPath(bad))).toBe(true); // without --fix nothing moves

    const fixed = await runCli('doctor', '--data', dir, '--fix', '--json');
    expect(fixed.code).toBe(1);
    const report = JSON.parse(fixed.stdout);
    expect(report.ok).toBe(false);
    expect(report.blobs).toMatchObject({ checked: 2, corrupt: 1, quarantined: 1 });
    expect(report.findings[0].quarantined_as).toMatch(new RegExp(`^blobs-quarantine/${bad}\\.`));
    expect(existsSync(blobPath(bad))).toBe(false);
    expect(quarantined()).toHaveLength(1);

    const after = await runCli('doctor', '--data', dir);
    expect(after).toMatchObject({ code: 0, stderr: '' });
    expect(after.stdout).toMatch(/1 blobs checked, 0 corrupt, 0 stray.*all fine/);
    expect(existsSync(blobPath(good))).toBe(true);
  });

  it('reports stray files in the blob folder and ignores tmp/', async () => {
    writeBlob(randomBytes(100));
    mkdirSync(join(dir, 'blobs', 'tmp'), { recursive: true });
    writeFileSync(join(dir, 'blobs', 'tmp', 'upload.part'), 'x');
    mkdirSync(join(dir, 'blobs', 'ab'), { recursive: true });
    writeFileSync(join(dir, 'blobs', 'ab', 'notes.txt'), 'x');
    const res = await runCli('doctor', '--data', dir);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/stray file blobs\/ab\/notes.txt/);
    expect(res.stdout).not.toMatch(/upload\.part/);
  });

  it('passes a healthy SQLite store (integrity_check and quick_check) and fails a damaged one', async () => {
    const store = openSqliteStore(join(dir, 'store.sqlite'));
    await store.enqueueRollout({ input: { text: 'hello' } });
    await store.close();

    const full = await runCli('doctor', '--data', dir);
    expect(full.code).toBe(0);
    expect(full.stdout).toMatch(/store\.sqlite integrity_check ok/);
    const quick = await runCli('doctor', '--data', dir, '--quick', '--json');
    expect(quick.code).toBe(0);
    expect(JSON.parse(quick.stdout).store).toMatchObject({ check: 'quick_check', present: true, ok: true });

    writeFileSync(join(dir, 'store.sqlite'), Buffer.alloc(8192, 0x41));
    rmSync(join(dir, 'store.sqlite-wal'), { force: true });
    rmSync(join(dir, 'store.sqlite-shm'), { force: true });
    const broken = await runCli('doctor', '--data', dir);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^store store\.sqlite: /m);
  });

  it('the real bin exits 1 on a corrupt blob', () => {
    writeBlob(Buffer.from('not what the name says'), 'ab'.repeat(32));
    const bin = fileURLToPath(new URL('../../bin/edgelight.mjs', import.meta.url));
    const child = spawnSync(process.execPath, [bin, 'doctor', '--data', dir], { encoding: 'utf8' });
    expect(child.status).toBe(1);
    expect(child.stdout).toMatch(/corrupt blob blobs\/ab\/abab/);
  });

  it('exits 2 on usage errors and prints --help', async () => {
    expect((await runCli('doctor', '--bogus')).code).toBe(2);
    const missing = await runCli('doctor', '--data', join(dir, 'nope'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no data folder/);
    const help = await runCli('doctor', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--fix/);
    expect((await runCli('--help')).stdout).toMatch(/doctor/);
  });
});
