// Spawns the real `edgelight govern` (bin/edgelight.mjs under Node) and checks the JSON Lines
// contract: one output line per input line, in order, malformed lines reported in place, exit 2.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Verdict } from '../../shared/governance/types';

const bin = fileURLToPath(new URL('../../bin/edgelight.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'edgelight-govern-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function govern(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'govern', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

const lines = (s: string) =>
  s
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));

// Each case spawns its own process, so they run concurrently.
describe.concurrent('edgelight govern', () => {
  it('governs JSON Lines from stdin to stdout, in order, with the contract fields', async () => {
    const input = [
      { id: 'a', text: 'Reach me at kai@example.com, the export is broken.' },
      { id: 'b', text: 'It is guaranteed to work and production-ready.', kind: 'response' },
      { id: 'c', text: 'Please decide our mission for us.', kind: 'feedback' },
    ];
    const { code, stdout, stderr } = await govern([], input.map((x) => JSON.stringify(x)).join('\n'));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = lines(stdout);
    expect(out.map((o) => o.id)).toEqual(['a', 'b', 'c']);
    for (const o of out) {
      const { id, ...verdict } = o;
      expect(Object.keys(o)).toEqual([
        'id',
        'kind',
        'decision',
        'pii',
        'redacted',
        'sentiment',
        'violations',
        'boundaries',
        'reasons',
        'overruns',
      ]);
      expect(Verdict.parse(verdict)).toEqual(verdict);
    }
    expect(out[0]).toMatchObject({
      kind: 'feedback',
      decision: 'allow',
      redacted: 'Reach me at <EMAIL_1>, the export is broken.',
    });
    expect(out[0].pii).toEqual([{ type: 'EMAIL', start: 12, end: 27, score: 0.99 }]);
    expect(out.map((o) => o.overruns)).toEqual([[], [], []]);
    expect(out[1]).toMatchObject({ kind: 'response', decision: 'block' });
    expect(out[1].violations.map((v: { rule: string }) => v.rule)).toEqual(['inst_017', 'inst_018']);
    expect(out[2]).toMatchObject({ decision: 'review', boundaries: [{ boundary: 'PURPOSE' }] });
  });

  it('reports malformed lines in place, goes on, and exits 2 without a stack trace', async () => {
    const input = [
      '{"id":"ok","text":"fine"}',
      'not json',
      '{"id":7,"text":"x"}',
      '{"id":"k","text":"x","kind":"memo"}',
      '{"id":"last","text":"also fine"}',
    ];
    const { code, stdout, stderr } = await govern([], `${input.join('\r\n')}\r\n`);
    expect(code).toBe(2);
    const out = lines(stdout);
    expect(out).toHaveLength(5);
    expect(out[0].id).toBe('ok');
    expect(out[1]).toEqual({ line: 2, error: expect.stringMatching(/^invalid JSON/) });
    expect(out[2]).toEqual({ line: 3, error: expect.stringMatching(/^id:/) });
    expect(out[3]).toEqual({ line: 4, error: expect.stringMatching(/^kind:/) });
    expect(out[4].id).toBe('last');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('reads --in and writes --out files, streaming a large input', async () => {
    const inFile = join(dir, 'in.jsonl');
    const outFile = join(dir, 'out.jsonl');
    const n = 2000;
    const body = Array.from({ length: n }, (_, i) =>
      JSON.stringify({ id: `m${i}`, text: `Message ${i} from user${i}@example.com` }),
    );
    writeFileSync(inFile, `${body.join('\n')}\n`);
    const { code, stdout } = await govern(['--in', inFile, '--out', outFile]);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    const out = lines(readFileSync(outFile, 'utf8'));
    expect(out).toHaveLength(n);
    expect(out[n - 1]).toMatchObject({ id: `m${n - 1}`, redacted: `Message ${n - 1} from <EMAIL_1>` });
  });

  it('turns usage mistakes into one-line errors with exit 2', async () => {
    const missing = await govern(['--in', join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toMatch(/^edgelight govern: cannot read input file/);
    const unknown = await govern(['--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
  });
});
