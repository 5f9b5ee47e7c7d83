import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { BlobStore } from '../../server/blobs/blob-store';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A body that arrives in chunks with no Content-Length, as a browser's streamed upload does. */
function chunked(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    pull(controller) {
      const next = parts.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
}

describe('blobs: PUT/HEAD/GET /v1/blobs/:sha256', () => {
  let dir: string;
  let blobs: BlobStore;
  let app: ReturnType<typeof createApp>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-blobs-'));
    blobs = new BlobStore(join(dir, 'blobs'), 1024);
    await blobs.init();
    app = createApp({ blobs });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const put = (id: string, body: BodyInit) =>
    app.request(`/v1/blobs/${id}`, { method: 'PUT', body, duplex: 'half' } as RequestInit);

  it('stores content under its hash, then serves it back byte for byte', async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 252]);
    const id = sha256(bytes);
    const created = await put(id, bytes);
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ sha256: id, size: 6 });

    const again = await put(id, bytes);
    expect(again.status).toBe(200);

    const head = await app.request(`/v1/blobs/${id}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('6');

    const got = await app.request(`/v1/blobs/${id}`);
    expect(got.status).toBe(200);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
  });

  it('accepts a chunked upload with no Content-Length', async () => {
    const parts = [new Uint8Array(300).fill(7), new Uint8Array(300).fill(8)];
    const id = sha256(new Uint8Array([...parts[0]!, ...parts[1]!]));
    const res = await put(id, chunked(parts));
    expect(res.status).toBe(201);
    expect((await blobs.stat(id))?.size).toBe(600);
  });

  it.each([
    ['a wrong hash', 'f'.repeat(64), new Uint8Array([1, 2, 3]), 400, 'bad_request'],
    ['uppercase hex', 'A'.repeat(64), new Uint8Array([1]), 400, 'bad_request'],
    ['a short id', 'abc', new Uint8Array([1]), 400, 'bad_request'],
    ['a path trick', '..%2F..%2Fetc%2Fpasswd', new Uint8Array([1]), 400, 'bad_request'],
    ['a body over the limit', '0'.repeat(64), new Uint8Array(2000), 413, 'payload_too_large'],
    [
      'a chunked body over the limit',
      '1'.repeat(64),
      chunked([new Uint8Array(800), new Uint8Array(800)]),
      413,
      'payload_too_large',
    ],
  ] as const)('refuses %s and leaves nothing on disk', async (_label, id, body, status, code) => {
    const res = await put(id, body as BodyInit);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    expect(readdirSync(join(dir, 'blobs')).filter((f) => f !== 'tmp')).toEqual([]);
    expect(readdirSync(join(dir, 'blobs', 'tmp'))).toEqual([]);
  });

  it('answers 404 for a blob it does not hold', async () => {
    expect((await app.request(`/v1/blobs/${'e'.repeat(64)}`)).status).toBe(404);
    expect((await app.request(`/v1/blobs/${'e'.repeat(64)}`, { method: 'HEAD' })).status).toBe(404);
  });
});
