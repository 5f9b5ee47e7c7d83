import type { MiddlewareHandler } from 'hono';

/** What one request leaves in the access log: never a body, a query string or a header value. */
export type AccessLogEntry = {
  time: string;
  /** Also sent back as `x-request-id`, so a client's report can be matched to the line. */
  id: string;
  method: string;
  /** The path without its query string (queries may carry what a user typed). */
  path: string;
  status: number;
  ms: number;
  client: string;
};

/** One JSON line per request, written when the response is ready (errors included). */
export function accessLog(
  write: (line: string) => void,
  clientKey: (request: Request, env: unknown) => string,
): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    const id = crypto.randomUUID();
    try {
      await next();
    } finally {
      c.res.headers.set('x-request-id', id);
      const entry: AccessLogEntry = {
        time: new Date().toISOString(),
        id,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        client: clientKey(c.req.raw, c.env),
      };
      write(JSON.stringify(entry));
    }
  };
}
