import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError, errorResponse } from './errors';

/** Paths a client may call without a token: liveness probes only. */
const PUBLIC_PATHS = new Set(['/v1/health', '/v1/agl/health']);

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // timingSafeEqual needs equal lengths; comparing b with itself keeps the time independent of `given`.
  return a.length === b.length ? timingSafeEqual(a, b) : !timingSafeEqual(b, b);
}

/**
 * `Authorization: Bearer <token>` on every API route except health. Only /v1/* is guarded: the SPA's
 * static files hold no data, and the browser cannot attach a header to a page load.
 */
export function bearerAuth(token: string): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === 'OPTIONS' || PUBLIC_PATHS.has(c.req.path) || !c.req.path.startsWith('/v1/'))
      return next();
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      c.header('WWW-Authenticate', 'Bearer');
      return errorResponse(
        c,
        new ApiError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <token>)'),
      );
    }
    if (!sameSecret(match[1] as string, token)) {
      c.header('WWW-Authenticate', 'Bearer error="invalid_token"');
      return errorResponse(c, new ApiError(401, 'unauthorized', 'invalid bearer token'));
    }
    return next();
  };
}

/** Hosts a server may bind without a token: only this machine can reach them. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
