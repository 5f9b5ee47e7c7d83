import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError, errorResponse } from './errors';

/**
 * JSON bodies above `maxBytes` are refused with 413 before anything is parsed. hono's bodyLimit
 * checks Content-Length and counts chunked bodies as they stream (fixed in hono 4.12.16).
 */
export function jsonBodyLimit(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      errorResponse(
        c,
        new ApiError(413, 'payload_too_large', `request body exceeds ${maxBytes} bytes`, {
          max_bytes: maxBytes,
        }),
      ),
  });
}
