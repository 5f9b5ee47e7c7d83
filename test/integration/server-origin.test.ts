// Cross-site requests and DNS rebinding (issue 19): requests forged as a browser on another site sends
// them (a "simple" text/plain POST needs no CORS preflight) must be refused before they touch the store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { SqliteLightningStore } from '../../server/store/sqlite';
import { runCli } from '../helpers/cli';

type ErrorJson = { error: { code: string; message: string; details: unknown } };

const ENQUEUE = '/v1/agl/queues/rollouts/enqueue';
const BODY = JSON.stringify({ rollouts: [{ input: { task: 'forged' } }] });

describe('Origin and Host guards on /v1', () => {
  let dir: string;
  let store: SqliteLightningStore;
  let app: ReturnType<typeof createApp>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-origin-'));
    store = new SqliteLightningStore({ path: join(dir, 'store.sqlite') });
    app = createApp({
      store,
      sync: store,
      corsOrigins: ['https://lab.example'],
      allowedHosts: ['edgelight.internal'],
      rateLimitPerSecond: 0,
    });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (headers: Record<string, string>, path = ENQUEUE, body = BODY) =>
    app.request(`http://127.0.0.1:8787${path}`, { method: 'POST', headers, body });

  it.each([
    ['text/plain from another site', { 'content-type': 'text/plain', origin: 'https://evil.example' }],
    [
      'JSON from another site',
      { 'content-type': 'application/json', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    ],
    ['another port of this host', { 'content-type': 'text/plain', origin: 'http://127.0.0.1:5173' }],
    ['an opaque origin (sandboxed iframe, file://)', { 'content-type': 'text/plain', origin: 'null' }],
    [
      'Sec-Fetch-Site: cross-site without Origin',
      { 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site' },
    ],
  ] as [string, Record<string, string>][])(
    'refuses %s with 403 and leaves the store unchanged',
    async (_label, headers) => {
      const before = await store.currentSeq();
      const res = await post(headers);
      expect(res.status).toBe(403);
      const body = (await res.json()) as ErrorJson;
      expect(body.error.code).toBe('forbidden');
      if (headers.origin) expect(body.error.message).toContain(headers.origin);
      expect(await store.currentSeq()).toBe(before);
    },
  );

  it('refuses a forged sync push from another site', async () => {
    const before = await store.currentSeq();
    const res = await post(
      { 'content-type': 'text/plain', origin: 'https://evil.example' },
      '/v1/sync/push',
      '{}',
    );
    expect(res.status).toBe(403);
    expect(await store.currentSeq()).toBe(before);
  });

  it.each([
    ['the server’s own origin', { origin: 'http://127.0.0.1:8787', 'sec-fetch-site': 'same-origin' }],
    ['an allow-listed origin', { origin: 'https://lab.example', 'sec-fetch-site': 'cross-site' }],
    ['no Origin (curl, the Python client)', {}],
  ])('accepts a write from %s', async (_label, headers) => {
    const res = await post({ 'content-type': 'application/json', ...headers });
    expect(res.status).toBe(201);
  });

  it.each([
    ['attacker.example', 403],
    ['attacker.example:8787', 403],
    ['127.0.0.1.attacker.example:8787', 403],
    ['localhost.attacker.example', 403],
    ['10.0.0.5:8787', 403],
    ['localhost:8787', 200],
    ['LOCALHOST:1', 200],
    ['127.0.0.1:8787', 200],
    ['127.0.0.1', 200],
    ['[::1]:8787', 200],
    ['edgelight.internal:443', 200],
  ] as const)('Host: %s on a read answers %i', async (host, status) => {
    const res = await app.request('/v1/agl/rollouts', { headers: { host } });
    expect(res.status).toBe(status);
    if (status === 403) {
      const body = (await res.json()) as ErrorJson;
      expect(body.error.code).toBe('forbidden');
      expect(body.error.message).toContain(host);
      expect(JSON.stringify(body)).not.toContain('forged');
    }
  });

  it('accepts the own origin behind a TLS proxy (https page, http to this server)', async () => {
    const res = await app.request(ENQUEUE, {
      method: 'POST',
      headers: {
        host: 'edgelight.internal',
        origin: 'https://edgelight.internal',
        'content-type': 'application/json',
      },
      body: BODY,
    });
    expect(res.status).toBe(201);
  });

  it('refuses a write through a rebound name even with a matching Origin', async () => {
    const before = await store.currentSeq();
    const res = await app.request(ENQUEUE, {
      method: 'POST',
      headers: { host: 'attacker.example', origin: 'http://attacker.example', 'content-type': 'text/plain' },
      body: BODY,
    });
    expect(res.status).toBe(403);
    expect(await store.currentSeq()).toBe(before);
  });

  it('keeps the health probes reachable whatever the Host', async () => {
    for (const path of ['/v1/health', '/v1/agl/health'])
      expect((await app.request(path, { headers: { host: 'pod-10-0-0-5:8787' } })).status).toBe(200);
  });

  it('lets a CORS preflight from an allowed origin through', async () => {
    const res = await app.request('http://127.0.0.1:8787/v1/sync/push', {
      method: 'OPTIONS',
      headers: { origin: 'https://lab.example', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
  });
});

describe("CORS '*'", () => {
  it('createApp refuses it without a token', () => {
    expect(() => createApp({ corsOrigins: ['*'] })).toThrow(/token/);
    expect(() => createApp({ corsOrigins: ['*'], token: 'correct-horse-battery' })).not.toThrow();
  });

  it("serve --cors '*' without a token exits 2 with a one-line message", async () => {
    const saved = process.env.EDGELIGHT_TOKEN;
    delete process.env.EDGELIGHT_TOKEN;
    try {
      const result = await runCli('serve', '--port', '0', '--cors', 'https://lab.example,*');
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^edgelight serve: refusing --cors '\*' without a token/);
      expect(result.stderr.split('\n')).toHaveLength(1);
    } finally {
      if (saved !== undefined) process.env.EDGELIGHT_TOKEN = saved;
    }
  });

  it('serve --allowed-host refuses a name with a port', async () => {
    const result = await runCli('serve', '--port', '0', '--allowed-host', 'lab.example:8787');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--allowed-host');
  });
});
