import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';

/**
 * Serves the built SPA from `webRoot`: real files as they are, every other GET that is not under
 * /v1/ gets index.html so client-side routes survive a reload.
 */
export function mountWebApp(app: Hono, webRoot: string): void {
  const root = resolve(webRoot);
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/', (c) =>
      c.text(
        `edgelight: the web app is not built (no ${join(root, 'index.html')}). Run 'npm run build'.`,
        503,
      ),
    );
    return;
  }
  const files = serveStatic({ root });
  // API paths never touch the file system, even unknown ones (they get the JSON 404).
  app.use('/*', (c, next) => (c.req.path.startsWith('/v1/') ? next() : files(c, next)));
  app.get('*', async (c, next) => {
    if (c.req.path.startsWith('/v1/')) return next();
    return c.html(await readFile(join(root, 'index.html'), 'utf8'));
  });
}
