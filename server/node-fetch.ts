import http from 'node:http';
import https from 'node:https';

/**
 * A `fetch` for Node clients of the API (runners, `edgelight train --server`, benchmarks) over
 * node:http with keep-alive sockets. Node 20's built-in fetch (undici) costs about ten times more
 * CPU per small request on loopback (measured: 443 vs 5146 health requests/s, 32 concurrent, same
 * server), which dominates a runner's many tiny calls. It supports what HttpTransport uses:
 * method, headers, a string or byte body, an abort signal; the answer is a standard Response.
 */
export function createNodeFetch(options: { maxSockets?: number } = {}): typeof fetch {
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 }),
  };
  return ((input: string | URL | Request, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
      const protocol = url.protocol as 'http:' | 'https:';
      const body = init.body;
      if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
        reject(new TypeError('createNodeFetch sends string or Uint8Array bodies only'));
        return;
      }
      const headers = new Headers(init.headers);
      if (body !== undefined && body !== null) headers.set('content-length', String(Buffer.byteLength(body)));
      const request = (protocol === 'https:' ? https : http).request(
        url,
        {
          method: init.method ?? 'GET',
          headers: Object.fromEntries(headers),
          agent: agents[protocol],
          signal: init.signal ?? undefined,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            const responseHeaders = new Headers();
            for (const [key, value] of Object.entries(response.headers)) {
              if (typeof value === 'string') responseHeaders.set(key, value);
              else if (Array.isArray(value)) for (const v of value) responseHeaders.append(key, v);
            }
            // A Response may not carry a body for these statuses (or for HEAD).
            const empty = status === 204 || status === 304 || init.method === 'HEAD';
            resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers: responseHeaders }));
          });
        },
      );
      request.on('error', (error) => reject(new TypeError(`fetch failed: ${error.message}`)));
      if (body !== undefined && body !== null) request.end(body);
      else request.end();
    })) as typeof fetch;
}
