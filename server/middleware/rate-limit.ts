import type { MiddlewareHandler } from 'hono';
import { ApiError, errorResponse } from './errors';

export type RateLimitOptions = {
  /** Sustained requests per second per client. */
  perSecond: number;
  /** Requests a client may send at once above the sustained rate. */
  burst: number;
  /** Who the client is (createApp passes the socket's remote address). */
  clientKey: (request: Request, env: unknown) => string;
  now?: () => number;
};

type Bucket = { tokens: number; updated: number };

/**
 * A token bucket per client: cheap, memory bounded (idle buckets are dropped), and generous enough
 * for hundreds of runners on loopback while stopping a runaway loop from another machine.
 */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler {
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, Bucket>();
  let lastSweep = now();
  return async (c, next) => {
    const t = now();
    if (t - lastSweep > 60_000) {
      const fullAfter = (options.burst / options.perSecond) * 1000;
      for (const [key, bucket] of buckets) if (t - bucket.updated > fullAfter) buckets.delete(key);
      lastSweep = t;
    }
    const key = options.clientKey(c.req.raw, c.env);
    const bucket = buckets.get(key) ?? { tokens: options.burst, updated: t };
    bucket.tokens = Math.min(
      options.burst,
      bucket.tokens + ((t - bucket.updated) / 1000) * options.perSecond,
    );
    bucket.updated = t;
    buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      const waitSeconds = Math.ceil((1 - bucket.tokens) / options.perSecond);
      c.header('Retry-After', String(waitSeconds));
      return errorResponse(
        c,
        new ApiError(429, 'rate_limited', `too many requests; retry in ${waitSeconds}s`),
      );
    }
    bucket.tokens -= 1;
    return next();
  };
}
