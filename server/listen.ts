import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

/**
 * How long an idle keep-alive connection stays open (Node's default is 5 s). Long work on the main thread
 * (a promotion gate, a chat generation) can delay both ends' timers past a short timeout, and a client
 * that reuses the socket just as the server closes it gets ECONNRESET (seen in a loaded CI run); clients
 * read the `Keep-Alive: timeout` hint and retire sockets before this.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export type RunningServer = { url: string; port: number; close: () => Promise<void> };

/** Serves `app` on a loopback port (0 picks a free one); resolves once it accepts connections. */
export function listen(app: Hono, port = 0, hostname = '127.0.0.1'): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, port, hostname, serverOptions: { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS } },
      (info: AddressInfo) => {
        resolve({
          url: `http://${hostname}:${info.port}`,
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              // Keep-alive sockets would hold close() open until they time out.
              (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
              server.close(() => done());
            }),
        });
      },
    );
    server.once('error', reject);
  });
}
