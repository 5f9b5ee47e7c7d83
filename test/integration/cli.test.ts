// The dispatcher itself: --version, the usage text. Spawns the real bin/edgelight.mjs once, for the exit
// code and what reaches stdout through tsx; the other cases run in-process.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';

const bin = fileURLToPath(new URL('../../bin/edgelight.mjs', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

describe('edgelight --version', () => {
  it("prints package.json's version and exits 0", () => {
    const child = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    expect(child.status).toBe(0);
    expect(child.stdout).toBe(`${version}\n`);
    expect(child.stderr).toBe('');
  });

  it('answers -v the same, and the usage text names it', async () => {
    expect(await runCli('-v')).toEqual({ code: 0, stdout: version, stderr: '' });
    const help = await runCli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/edgelight --version/);
  });
});
