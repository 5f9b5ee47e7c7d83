import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { BlobHashMismatchError, type BlobStore, BlobTooLargeError, SHA256_HEX } from '../blobs/blob-store';
import { ApiError } from '../middleware/errors';

function blobId(value: string | undefined): string {
  if (!value || !SHA256_HEX.test(value)) {
    throw new ApiError(400, 'bad_request', 'blob id must be a sha256 digest: 64 lowercase hex characters', {
      sha256: (value ?? '').slice(0, 100),
    });
  }
  return value;
}

/** `PUT|HEAD|GET /v1/blobs/:sha256`: checkpoints and other large payloads, addressed by their hash. */
export function blobRoutes(blobs: BlobStore) {
  const app = new Hono();

  app.put('/:sha256', async (c) => {
    const sha256 = blobId(c.req.param('sha256'));
    const existing = await blobs.stat(sha256);
    // Same id means same bytes: a repeated upload is acknowledged without reading it again.
    if (existing) return c.json(existing, 200);
    const declared = c.req.header('content-length');
    if (declared !== undefined && Number(declared) > blobs.maxBytes) {
      throw new ApiError(413, 'payload_too_large', `blob exceeds the limit of ${blobs.maxBytes} bytes`, {
        max_bytes: blobs.maxBytes,
      });
    }
    const body = c.req.raw.body;
    if (!body) throw new ApiError(400, 'bad_request', 'blob upload needs a body');
    try {
      return c.json(await blobs.write(sha256, body), 201);
    } catch (error) {
      if (error instanceof BlobTooLargeError)
        throw new ApiError(413, 'payload_too_large', error.message, { max_bytes: error.maxBytes });
      if (error instanceof BlobHashMismatchError)
        throw new ApiError(400, 'bad_request', error.message, {
          expected: error.expected,
          actual: error.actual,
        });
      throw error;
    }
  });

  app.on('HEAD', '/:sha256', async (c) => {
    const info = await blobs.stat(blobId(c.req.param('sha256')));
    if (!info) return c.body(null, 404);
    return c.body(null, 200, { 'Content-Length': String(info.size), ETag: `"${info.sha256}"` });
  });

  app.get('/:sha256', async (c) => {
    const sha256 = blobId(c.req.param('sha256'));
    const info = await blobs.stat(sha256);
    if (!info) throw new ApiError(404, 'not_found', `no blob ${sha256}`);
    const stream = Readable.toWeb(blobs.read(sha256)) as ReadableStream<Uint8Array>;
    return c.body(stream, 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(info.size),
      ETag: `"${sha256}"`,
      // Content-addressed: the bytes behind an id never change.
      'Cache-Control': 'public, max-age=31536000, immutable',
    });
  });

  return app;
}
