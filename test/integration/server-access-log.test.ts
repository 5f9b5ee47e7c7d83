import { describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import type { AccessLogEntry } from '../../server/middleware/access-log';
import { InMemoryLightningStore } from '../../shared/store/memory';

// The access log (issue 19): one JSON line per request with id, path, status, duration and client,
// refusals included; never a body, a query string or a token.

describe('access log', () => {
  it('logs every request as one JSON line without bodies, queries or tokens', async () => {
    const lines: string[] = [];
    const app = createApp({
      store: new InMemoryLightningStore(),
      token: 'secret-token-123',
      accessLog: (line) => lines.push(line),
      clientAddress: () => '203.0.113.7',
      rateLimitPerSecond: 0,
    });
    const health = await app.request('/v1/health');
    const refused = await app.request('/v1/agl/rollouts?input=private-query', {
      headers: { authorization: 'Bearer wrong-token' },
    });
    const created = await app.request('/v1/agl/rollouts', {
      method: 'POST',
      headers: { authorization: 'Bearer secret-token-123', 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'my private feedback text' }),
    });
    expect([health.status, refused.status, created.status]).toEqual([200, 401, 201]);

    const entries = lines.map((l) => JSON.parse(l) as AccessLogEntry);
    expect(entries.map((e) => [e.method, e.path, e.status, e.client])).toEqual([
      ['GET', '/v1/health', 200, '203.0.113.7'],
      ['GET', '/v1/agl/rollouts', 401, '203.0.113.7'],
      ['POST', '/v1/agl/rollouts', 201, '203.0.113.7'],
    ]);
    expect(entries.every((e) => e.ms >= 0 && !Number.isNaN(Date.parse(e.time)))).toBe(true);
    expect(created.headers.get('x-request-id')).toBe(entries[2].id);
    const all = lines.join('\n');
    for (const secret of ['secret-token-123', 'wrong-token', 'private-query', 'my private feedback text'])
      expect(all).not.toContain(secret);
  });

  it('is off unless asked for', async () => {
    const app = createApp({ store: new InMemoryLightningStore(), rateLimitPerSecond: 0 });
    const res = await app.request('/v1/health');
    expect(res.headers.get('x-request-id')).toBeNull();
  });
});
