import type { MiddlewareHandler } from 'hono';
import { isLoopbackHost } from './auth';
import { ApiError, errorResponse } from './errors';

export type OriginGuardOptions = {
  /**
   * Host names (or addresses) the API answers besides loopback ones, without a port. Loopback names
   * (`localhost`, `127.x.x.x`, `[::1]`) are always answered: a DNS name cannot rebind to them.
   */
  allowedHosts?: readonly string[];
  /** Browser origins allowed to change state besides the server's own (the CORS allow-list); '*' any. */
  corsOrigins?: readonly string[];
};

/** Probes that must answer whatever name they used; they reveal only the name and version. */
const PROBE_PATHS = new Set(['/v1/health', '/v1/agl/health']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `host[:port]` → the host in lower case, IPv6 without brackets; null when it does not parse. */
export function hostName(hostHeader: string): string | null {
  try {
    const url = new URL(`http://${hostHeader}`);
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return null;
    return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return null;
  }
}

/** An allow-list entry (a name or address, IPv6 with or without brackets) as hostName() writes it. */
export function allowedHostName(entry: string): string | null {
  const h = entry.trim();
  const bracketed = h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
  const name = hostName(bracketed);
  // A port is not part of the rule: the guard compares names only.
  return name !== null && new URL(`http://${bracketed}`).port === '' ? name : null;
}

/** `scheme://host[:port]` as the browser writes it (default port dropped); null when not a URL origin. */
function normalOrigin(origin: string): string | null {
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    return url.origin;
  } catch {
    return null;
  }
}

/**
 * Guards /v1 against other websites the user visits (docs/server.md, "Threat model"):
 * - **DNS rebinding**: every request but the health probes must name this server in `Host` (a
 *   loopback name or one of `allowedHosts`). A page on `attacker.example` whose name was rebound to
 *   127.0.0.1 sends `Host: attacker.example` and is refused, GETs included (they read data).
 * - **Cross-site writes**: POST, PUT, PATCH and DELETE must carry no `Origin` (a non-browser client)
 *   or the server's own origin or an allow-listed one. A browser attaches `Origin` to every
 *   cross-origin POST, also the "simple" `text/plain` ones it sends without a CORS preflight.
 *   `Sec-Fetch-Site: cross-site` without an allowed `Origin` is refused too.
 */
export function originGuard(options: OriginGuardOptions = {}): MiddlewareHandler {
  const hosts = new Set(
    (options.allowedHosts ?? []).map((h) => allowedHostName(h)).filter((h): h is string => h !== null),
  );
  const anyOrigin = options.corsOrigins?.includes('*') ?? false;
  const origins = new Set(
    (options.corsOrigins ?? []).map((o) => normalOrigin(o)).filter((o): o is string => o !== null),
  );
  return async (c, next) => {
    if (!c.req.path.startsWith('/v1/')) return next();
    const url = new URL(c.req.url);
    // @hono/node-server builds the URL from Host; app.request() sends none, so the URL's host stands in.
    const hostHeader = c.req.header('host') ?? url.host;
    if (!PROBE_PATHS.has(c.req.path)) {
      const name = hostName(hostHeader);
      if (name === null || !(isLoopbackHost(name) || hosts.has(name))) {
        return errorResponse(
          c,
          new ApiError(
            403,
            'forbidden',
            `Host '${hostHeader.slice(0, 200)}' is not a name this server answers to ` +
              '(add it with serve --allowed-host)',
          ),
        );
      }
    }
    if (SAFE_METHODS.has(c.req.method)) return next();

    const origin = c.req.header('origin');
    if (origin === undefined) {
      if (c.req.header('sec-fetch-site')?.toLowerCase() === 'cross-site')
        return errorResponse(
          c,
          new ApiError(403, 'forbidden', 'cross-site request without an allowed Origin refused'),
        );
      return next();
    }
    const normal = normalOrigin(origin);
    // The server's own origin is the Host it was asked by; the scheme is the page's, since behind a
    // TLS-terminating proxy this server sees http while the page is https (same host, same server).
    const own = normal === null ? null : normalOrigin(`${new URL(normal).protocol}//${hostHeader}`);
    if (anyOrigin || (normal !== null && (normal === own || origins.has(normal)))) return next();
    return errorResponse(
      c,
      new ApiError(
        403,
        'forbidden',
        `cross-origin ${c.req.method} from '${origin.slice(0, 200)}' refused: not this server's origin ` +
          'nor on the allow-list (serve --cors)',
      ),
    );
  };
}
