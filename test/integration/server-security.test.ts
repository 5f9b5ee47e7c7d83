import { describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { isLoopbackHost } from '../../server/middleware/auth';
import { run as serve } from '../../server/commands/serve';
import { CliUsageError } from '../../server/commands/args';

type ErrorJson = { error: { code: string; message: string; details: unknown } };

describe('bearer token', () => {
  const app = createApp({ token: 'correct-horse-battery' });

  it.each([
    ['no header', {}, 401],
    ['a wrong token', { authorization: 'Bearer wrong-horse-battery' }, 401],
    ['a token of another length', { authorization: 'Bearer x' }, 401],
    ['another scheme', { authorization: 'Basic Y29ycmVjdC1ob3JzZQ==' }, 401],
    ['the right token', { authorization: 'Bearer correct-horse-battery' }, 404],
    ['the right token, lower-case scheme', { authorization: 'bearer correct-horse-battery' }, 404],
  ] as const)('an API route with %s answers %i', async (_label, headers, status) => {
    // /v1/nothing does not exist: 404 shows the request got past authentication.
    const res = await app.request('/v1/nothing', { headers });
    expect(res.status).toBe(status);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.code).toBe(status === 401 ? 'unauthorized' : 'not_found');
    expect(JSON.stringify(body)).not.toContain('correct-horse');
  });

  it('leaves health open for liveness probes', async () => {
    expect((await app.request('/v1/health')).status).toBe(200);
    expect((await app.request('/v1/agl/health')).status).toBe(200);
  });
});

describe('serve refuses an open non-loopback bind', () => {
  it.each(['0.0.0.0', '192.168.1.20', '::'])('refuses %s without a token', async (host) => {
    const saved = process.env.EDGELIGHT_TOKEN;
    delete process.env.EDGELIGHT_TOKEN;
    try {
      await expect(serve(['--host', host, '--port', '0'])).rejects.toThrow(CliUsageError);
      await expect(serve(['--host', host, '--port', '0'])).rejects.toThrow(/without a token/);
    } finally {
      if (saved !== undefined) process.env.EDGELIGHT_TOKEN = saved;
    }
  });

  it('knows loopback hosts', () => {
    expect(['127.0.0.1', 'localhost', '::1', '[::1]', '127.1.2.3'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', '::', 'example.com'].some(isLoopbackHost)).toBe(false);
  });
});

describe('CORS allow-list', () => {
  const app = createApp({ corsOrigins: ['https://lab.example'] });

  it('answers a preflight from an allowed origin', async () => {
    const res = await app.request('/v1/sync/push', {
      method: 'OPTIONS',
      headers: { origin: 'https://lab.example', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://lab.example');
  });

  it('grants nothing to another origin', async () => {
    const res = await app.request('/v1/health', { headers: { origin: 'https://evil.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('body-size limit', () => {
  const app = createApp({ maxJsonBytes: 1024 });

  it('refuses a JSON body over the limit with 413 before routing', async () => {
    const res = await app.request('/v1/agl/rollouts', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'x'.repeat(4096) }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorJson).error.code).toBe('payload_too_large');
  });

  it('counts a chunked body with no Content-Length', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(600));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 4) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await app.request('/v1/sync/push', { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After once a client spends its burst, and keeps clients apart', async () => {
    const app = createApp({
      rateLimitPerSecond: 5,
      clientAddress: (request) => request.headers.get('x-client') ?? '',
    });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await app.request('/v1/health', { headers: { 'x-client': 'a' } })).status);
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toContain(429);
    const limited = await app.request('/v1/health', { headers: { 'x-client': 'a' } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await app.request('/v1/health', { headers: { 'x-client': 'b' } })).status).toBe(200);
  });
});
