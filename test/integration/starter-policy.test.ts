// scripts/starter-policy.ts in-process: its smoke mode (`--steps 2`) is deterministic and gives the same
// weights as `edgelight data generate` + `edgelight train` with the recipe's flags (converted with `--from`);
// `--from` drops optimizer and trainer state; `--check` passes on equal files and fails on others.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../scripts/starter-policy';
import { STARTER_POLICY } from '../../shared/train/starter-policy';
import { runCli } from '../helpers/cli';

const STARTER_FILES = [...STARTER_POLICY.files].sort();

/** Runs the script's main, capturing stdout (the id) and stderr (progress, messages). */
async function script(...argv: string[]): Promise<{ code: number; id: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
  try {
    const code = await main(argv);
    return { code, id: out.join('\n').trim(), stderr: err.join('') };
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
}

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

describe('scripts/starter-policy.ts', () => {
  let dir = '';
  const tmp = async () => (dir ||= await mkdtemp(join(tmpdir(), 'edgelight-starter-test-')));
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('--steps 2 twice gives one id, the same as the recipe command converted with --from', async () => {
    const root = await tmp();
    const first = await script('--steps', '2', '--out', join(root, 'a'));
    const second = await script('--steps', '2', '--out', join(root, 'b'));
    expect(first.code).toBe(0);
    expect(first.id).toMatch(/^[0-9a-f]{64}$/);
    expect(second.id).toBe(first.id);
    expect(first.stderr).toMatch(/step 2\/2 {2}loss/);
    // Weights only: the five files, the id the manifest's hash, each file under the 4 MB the app serves.
    expect((await readdir(join(root, 'a'))).sort()).toEqual(STARTER_FILES);
    expect(await sha256(join(root, 'a', 'manifest.json'))).toBe(first.id);
    for (const name of STARTER_FILES) expect((await stat(join(root, 'a', name))).size).toBeLessThan(4 << 20);

    // The recipe as commands (2 of its steps; checkpoints at steps 1 and 2), then converted.
    const data = join(root, 'data');
    const run = join(root, 'run');
    expect((await runCli('data', 'generate', '--out', data)).code).toBe(0);
    const trained = await runCli(
      ...['train', '--algo', 'sft', '--steps', '2', '--batch', '8', '--lr', '3e-3', '--warmup', '10'],
      ...['--lr-horizon', '1200', '--backend', 'wasm', '--save-every', '1'],
      ...['--data', join(data, 'sft.jsonl'), '--out', run],
    );
    expect(trained.code, trained.stderr).toBe(0);
    const converted = await script('--from', run, '--out', join(root, 'c'));
    expect(converted.code).toBe(0);
    expect(converted.id).toBe(first.id);
    expect(converted.stderr).toContain('step 2 (recipe 1200)'); // a run other than the recipe's is named
    expect((await readdir(join(root, 'c'))).sort()).toEqual(STARTER_FILES);
    expect(await sha256(join(root, 'c', 'model.safetensors'))).toBe(
      await sha256(join(run, 'step-000002', 'model.safetensors')),
    );
    expect(await readdir(join(run, 'step-000002'))).toContain('optimizer.safetensors');

    // --check: equal files pass; another checkpoint fails with exit 1 naming what differs; nothing written.
    const passed = await script('--from', run, '--out', join(root, 'c'), '--check');
    expect(passed.code).toBe(0);
    expect(passed.stderr).toContain('check passed');
    const failed = await script('--from', join(run, 'step-000001'), '--out', join(root, 'c'), '--check');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /check failed: .* is [0-9a-f]{64} \(files that differ: model\.safetensors\)/,
    );
    expect(await sha256(join(root, 'c', 'manifest.json'))).toBe(first.id);
    const none = await script('--from', run, '--out', join(root, 'missing'), '--check');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no committed starter policy');
  }, 120_000);
});
