import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { mountWebApp } from '../../server/static';

describe('the SPA beside the API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelight-web-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>edgelight</title>');
  writeFileSync(join(dir, 'app.js'), 'console.log(1)');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const app = createApp({ token: 'static-test-token' });
  mountWebApp(app, dir);

  it.each([
    ['/', 200, '<!doctype html>'],
    ['/app.js', 200, 'console.log(1)'],
    ['/train/run-3', 200, '<!doctype html>'],
  ])('serves %s without a token (%i)', async (path, status, start) => {
    const res = await app.request(path);
    expect(res.status).toBe(status);
    expect(await res.text()).toMatch(new RegExp(`^${start.replace(/[()]/g, '\\$&')}`));
  });

  it('serves the starter policy files (web/public/starter-policy/ in the build) with their types', async () => {
    mkdirSync(join(dir, 'starter-policy'));
    writeFileSync(join(dir, 'starter-policy', 'manifest.json'), '{"format":"edgelight-checkpoint/1"}');
    writeFileSync(join(dir, 'starter-policy', 'model.safetensors'), new Uint8Array([1, 2, 3]));
    const manifest = await app.request('/starter-policy/manifest.json');
    expect(manifest.headers.get('content-type')).toMatch(/^application\/json/);
    const weights = await app.request('/starter-policy/model.safetensors');
    expect(weights.headers.get('content-type')).toBe('application/octet-stream');
    expect(new Uint8Array(await weights.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
    // A file the build lacks gets the SPA's index.html, which the lab worker reads as "no starter policy".
    const missing = await app.request('/starter-policy/tokenizer.json');
    expect(missing.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('keeps unknown API paths a JSON 404 behind the token, never index.html', async () => {
    const res = await app.request('/v1/nothing', { headers: { authorization: 'Bearer static-test-token' } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect((await app.request('/v1/nothing')).status).toBe(401);
  });
});
