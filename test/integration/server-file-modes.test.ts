import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteLightningStore } from '../../server/store/sqlite';
import { writeFileAtomic } from '../../server/write-file-atomic';

// The server's files are the owner's alone (issue 19): store.sqlite and its WAL were created
// world-readable (0644 under the usual umask), and they hold feedback and traces.

const mode = (path: string) => statSync(path).mode & 0o777;
const dir = mkdtempSync(join(tmpdir(), 'edgelight-modes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('file modes', () => {
  it('creates the store, its folder and its WAL owner-only', async () => {
    const path = join(dir, 'data', 'store.sqlite');
    const store = new SqliteLightningStore({ path });
    await store.enqueueRollout({ input: 'written' });
    expect(mode(path)).toBe(0o600);
    expect(mode(join(dir, 'data'))).toBe(0o700);
    if (existsSync(`${path}-wal`)) expect(mode(`${path}-wal`)).toBe(0o600);
    store.close();
  });

  it('tightens an existing world-readable store', () => {
    const path = join(dir, 'old.sqlite');
    writeFileSync(path, '', { mode: 0o644 });
    new SqliteLightningStore({ path }).close();
    expect(mode(path)).toBe(0o600);
  });

  it('writes checkpoint files owner-only', async () => {
    const path = join(dir, 'run', 'step-000001', 'model.safetensors');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect(mode(path)).toBe(0o600);
    expect(mode(join(dir, 'run'))).toBe(0o700);
  });
});
