import { Hono } from 'hono';
import { VERSION } from './version';

export type AppOptions = {
  /** Folder of the built SPA (vite build output); when absent only the API is served. */
  webRoot?: string;
};

export { VERSION } from './version';

/** The Hono application: routes only; storage and static files come in through options. */
export function createApp(options: AppOptions = {}) {
  const app = new Hono();
  app.get('/v1/agl/health', (c) => c.json({ status: 'ok' }));
  app.get('/v1/health', (c) => c.json({ status: 'ok', name: 'edgelight', version: VERSION }));
  void options;
  return app;
}
