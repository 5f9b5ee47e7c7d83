import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

  it('keeps unknown API paths a JSON 404 behind the token, never index.html', async () => {
    const res = await app.request('/v1/nothing', { headers: { authorization: 'Bearer static-test-token' } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect((await app.request('/v1/nothing')).status).toBe(401);
  });
});
