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

/**
 * A stored file failed its hash (it has just been moved to quarantine). 503, not 500: nothing is broken
 * in the code, the server cannot give correct bytes right now, and a `PUT` of the right bytes repairs
 * it. Not 410 (a cacheable "gone for good", yet a re-upload brings it back) nor 409 (a request in
 * conflict with the resource's state; the client did nothing wrong). Clients retry 503, and the retry
 * finds the file gone (404), which tells a syncing client to upload it again.
 */
function corruptBlob(sha256: string): ApiError {
  return new ApiError(
    503,
    'unavailable',
    `blob ${sha256} failed its integrity check and was quarantined; upload it again`,
    { sha256 },
  );
}

/**
 * `PUT|HEAD|GET /v1/blobs/:sha256`: checkpoints and other large payloads, addressed by their hash.
 * Every answer that says "this blob is here" is backed by a hash check (cached per file version):
 * bytes that do not match their name are never served, and a re-upload replaces them.
 */
export function blobRoutes(blobs: BlobStore) {
  const app = new Hono();

  app.put('/:sha256', async (c) => {
    const sha256 = blobId(c.req.param('sha256'));
    const existing = await blobs.open(sha256);
    // Same id means same bytes: a repeated upload of a verified blob is acknowledged without reading
    // it again. A corrupt one has just been quarantined, and the new bytes take its place.
    if (existing.status === 'ok') {
      await existing.handle.close();
      return c.json(existing.info, 200);
    }
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
    const found = await blobs.open(blobId(c.req.param('sha256')));
    if (found.status === 'missing') return c.body(null, 404);
    if (found.status === 'corrupt') return c.body(null, 503);
    await found.handle.close();
    return c.body(null, 200, { 'Content-Length': String(found.info.size), ETag: `"${found.info.sha256}"` });
  });

  app.get('/:sha256', async (c) => {
    const sha256 = blobId(c.req.param('sha256'));
    const found = await blobs.open(sha256);
    if (found.status === 'missing') throw new ApiError(404, 'not_found', `no blob ${sha256}`);
    if (found.status === 'corrupt') throw corruptBlob(sha256);
    // The bytes just verified, from the same open file; the stream closes it.
    const stream = Readable.toWeb(found.handle.createReadStream({ start: 0 })) as ReadableStream<Uint8Array>;
    return c.body(stream, 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(found.info.size),
      ETag: `"${sha256}"`,
      // Content-addressed: the bytes behind an id never change.
      'Cache-Control': 'public, max-age=31536000, immutable',
    });
  });

  return app;
}
