import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { BlobStore } from '../../server/blobs/blob-store';
import { SqliteLightningStore } from '../../server/store/sqlite';

// Table-driven: every bad request gets the right 4xx, a JSON error body with no internals, and
// leaves the store (its change sequence and row counts) and the blob folder exactly as they were.

const TOKEN = 'bad-input-token';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

type Case = {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  status: number;
  code: string;
};

const validSpan = {
  rollout_id: 'ro-known',
  attempt_id: 'at-known',
  trace_id: 't',
  span_id: 's',
  name: 'agentlightning.message',
};

const cases: Case[] = [
  // A browser on another site can POST text/plain without a CORS preflight: only JSON is read.
  {
    name: 'a text/plain body (a cross-site form or no-cors fetch)',
    method: 'POST',
    path: '/v1/agl/queues/rollouts/enqueue',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain;charset=UTF-8' },
    body: '{"rollouts": [{"input": "forged"}]}',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'an empty text/plain POST to a route that reads an optional body',
    method: 'POST',
    path: '/v1/agl/queues/rollouts/dequeue',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' },
    body: '',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'bytes that are not UTF-8',
    method: 'POST',
    path: '/v1/agl/rollouts',
    body: new Uint8Array([
      ...new TextEncoder().encode('{"input": "'),
      0xff,
      0xfe,
      ...new TextEncoder().encode('"}'),
    ]),
    status: 400,
    code: 'invalid_utf8',
  },
  {
    name: 'JSON nested 5,000 levels deep',
    method: 'POST',
    path: '/v1/agl/rollouts',
    body: `{"input": ${'['.repeat(5000)}${']'.repeat(5000)}}`,
    status: 422,
    code: 'too_deep',
  },
  {
    name: 'malformed JSON',
    method: 'POST',
    path: '/v1/agl/rollouts',
    body: '{"input": ',
    status: 400,
    code: 'invalid_json',
  },
  {
    name: 'JSON of the wrong type',
    method: 'POST',
    path: '/v1/agl/queues/rollouts/enqueue',
    body: '{"rollouts": "many"}',
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a wrong enum value',
    method: 'POST',
    path: '/v1/agl/rollouts',
    body: '{"input": 1, "mode": "production"}',
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a negative limit',
    method: 'GET',
    path: '/v1/agl/rollouts?limit=-5',
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a non-numeric limit',
    method: 'GET',
    path: '/v1/agl/spans?rollout_id=ro-known&limit=ten',
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'an unknown sort field',
    method: 'POST',
    path: '/v1/agl/rollouts/search',
    body: '{"sort_by": "password"}',
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'an unknown key in an update',
    method: 'POST',
    path: '/v1/agl/rollouts/ro-known',
    body: '{"owner": "me"}',
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a span of an unknown attempt',
    method: 'POST',
    path: '/v1/agl/spans',
    body: JSON.stringify({ ...validSpan, attempt_id: 'at-nobody' }),
    status: 404,
    code: 'not_found',
  },
  {
    name: 'an update of an unknown rollout',
    method: 'POST',
    path: '/v1/agl/rollouts/ro-nobody',
    body: '{"status": "cancelled"}',
    status: 404,
    code: 'not_found',
  },
  {
    name: 'a span batch with one bad span',
    method: 'POST',
    path: '/v1/agl/spans/batch',
    body: JSON.stringify({ spans: [validSpan, { ...validSpan, span_id: 's2', name: 7 }] }),
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a path trick in a rollout id',
    method: 'POST',
    path: '/v1/agl/rollouts/..%2F..%2Fetc',
    body: '{"status": "cancelled"}',
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a space in a worker id',
    method: 'POST',
    path: '/v1/agl/workers/a%20b',
    body: '{}',
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'an overlong id',
    method: 'GET',
    path: `/v1/agl/rollouts/${'r'.repeat(300)}`,
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a body over the JSON limit',
    method: 'POST',
    path: '/v1/agl/queues/rollouts/enqueue',
    body: JSON.stringify({ rollouts: [{ input: 'x'.repeat(70_000) }] }),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'a sync push of the wrong shape',
    method: 'POST',
    path: '/v1/sync/push',
    body: '{"client_id": "c", "batch_id": "b", "records": {"spans": [{}]}}',
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a sync push with a bad id',
    method: 'POST',
    path: '/v1/sync/push',
    body: '{"client_id": "../x", "batch_id": "b", "records": {}}',
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a sync pull with a negative cursor',
    method: 'GET',
    path: '/v1/sync/pull?after=-1',
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'a blob whose bytes do not match its id',
    method: 'PUT',
    path: `/v1/blobs/${'a'.repeat(64)}`,
    body: new Uint8Array([1, 2, 3]),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a blob id that is not a sha256',
    method: 'PUT',
    path: '/v1/blobs/not-a-hash',
    body: new Uint8Array([1]),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a blob over the blob limit',
    method: 'PUT',
    path: `/v1/blobs/${'b'.repeat(64)}`,
    body: new Uint8Array(5000),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'a missing token',
    method: 'POST',
    path: '/v1/agl/rollouts',
    headers: { 'content-type': 'application/json' },
    body: '{"input": 1}',
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'a wrong token',
    method: 'POST',
    path: '/v1/sync/push',
    headers: { authorization: 'Bearer nope-nope-nope' },
    body: '{}',
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'an OTLP metrics export',
    method: 'POST',
    path: '/v1/metrics',
    body: 'protobuf bytes',
    status: 501,
    code: 'not_implemented',
  },
  {
    name: 'an OTLP trace export that is not JSON',
    method: 'POST',
    path: '/v1/traces',
    body: 'protobuf bytes',
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'an OTLP trace export of garbled protobuf',
    method: 'POST',
    path: '/v1/traces',
    headers: { ...auth, 'content-type': 'application/x-protobuf' },
    body: new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'an OTLP trace export as text/plain',
    method: 'POST',
    path: '/v1/traces',
    headers: { ...auth, 'content-type': 'text/plain' },
    body: '{"resourceSpans": []}',
    status: 415,
    code: 'unsupported_media_type',
  },
];

describe('bad input: the right 4xx and an unchanged store', () => {
  let dir: string;
  let store: SqliteLightningStore;
  let app: ReturnType<typeof createApp>;
  const logged: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-bad-input-'));
    store = new SqliteLightningStore({ path: join(dir, 'store.sqlite') });
    const blobs = new BlobStore(join(dir, 'blobs'), 4096);
    await blobs.init();
    app = createApp({
      store,
      sync: store,
      blobs,
      token: TOKEN,
      maxJsonBytes: 64 * 1024,
      rateLimitPerSecond: 0,
      log: (m) => logged.push(m),
    });
    // A rollout with an attempt, so "known" ids exist.
    const started = await store.startRollout({ input: 'known' });
    await store.updateRollout(started.rollout_id, { metadata: { note: 'fixture' } });
    validSpan.rollout_id = started.rollout_id;
    validSpan.attempt_id = started.attempt.attempt_id;
    for (const c of cases) {
      c.path = c.path.replace('ro-known', started.rollout_id);
      if (typeof c.body === 'string') c.body = c.body.replaceAll('ro-known', started.rollout_id);
    }
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const snapshot = async () => ({
    seq: await store.currentSeq(),
    stats: { ...(await store.statistics()), uptime: 0 },
    blobs: readdirSync(join(dir, 'blobs')).sort(),
  });

  it.each(cases)('$name → $status $code', async (c) => {
    const before = await snapshot();
    const res = await app.request(c.path, {
      method: c.method,
      headers: c.headers ?? auth,
      body: c.body as BodyInit | undefined,
    });
    expect(res.status).toBe(c.status);
    const text = await res.text();
    const body = JSON.parse(text) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(c.code);
    expect(body.error.message.length).toBeGreaterThan(0);
    expect(text).not.toMatch(/at .+\.ts:\d+|node_modules|SqliteError/);
    expect(await snapshot()).toEqual(before);
  });

  it('logged no unhandled error for any of them', () => {
    expect(logged.filter((m) => m.includes('unhandled'))).toEqual([]);
  });
});
