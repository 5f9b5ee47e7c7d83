import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import type { BlobStore } from './blobs/blob-store';
import { accessLog } from './middleware/access-log';
import { bearerAuth } from './middleware/auth';
import { jsonBodyLimit } from './middleware/body-limit';
import { originGuard } from './middleware/origin';
import { createErrorHandler, notFoundHandler } from './middleware/errors';
import { rateLimit } from './middleware/rate-limit';
import { aglRoutes } from './routes/agl';
import { mountFeedbackRoutes } from './routes/feedback';
import type { FeedbackIntake } from './intake/intake';
import { chatRoutes } from './routes/chat';
import type { ChatServingOptions } from './serving/chat';
import { blobRoutes } from './routes/blobs';
import { otlpRoutes } from './routes/otlp';
import { servedRoutes } from './routes/served';
import type { PromotionManager } from './serving/promote';
import { type SyncServerStore, syncRoutes } from './routes/sync';
import { reviewRoutes } from './routes/review';
import type { ReviewService } from './review/service';
import { trainRoutes } from './routes/train';
import type { TrainJobManager } from './jobs/manager';
import type { z } from 'zod';
import type { LightningStore } from '../shared/store/store';
import { VERSION } from './version';

export type AppOptions = {
  /** Bearer token every /v1 route but health requires; undefined leaves the API open (loopback only). */
  token?: string;
  /** Origins allowed to call the API from a browser (CORS); '*' allows any (only with a token). Same-origin always works. */
  corsOrigins?: readonly string[];
  /**
   * Host names the API answers besides loopback ones (`localhost`, `127.x.x.x`, `[::1]`), without a
   * port: the DNS-rebinding guard refuses any other `Host` (middleware/origin.ts).
   */
  allowedHosts?: readonly string[];
  /** Largest JSON request body in bytes (default 16 MiB). Blobs have their own limit. */
  maxJsonBytes?: number;
  /** Sustained requests per second per client address, with a burst of the same size (default 10000; 0 disables). */
  rateLimitPerSecond?: number;
  /** The store behind /v1/agl; without it those routes are absent. */
  store?: LightningStore;
  /** Longest a rollout wait blocks, in seconds (default MAX_WAIT_SECONDS, 30). */
  maxWaitSeconds?: number;
  /** Where access-log lines go (one JSON object per request, middleware/access-log.ts); none when absent. */
  accessLog?: (line: string) => void;
  /** The change feed behind /v1/sync (the SQLite store); without it those routes are absent. */
  sync?: SyncServerStore;
  /**
   * Training jobs, the schema their config is checked with, and how large a new policy may be (default
   * 100 M parameters, 4 GiB estimated); without them /v1/train is absent.
   */
  jobs?: {
    manager: TrainJobManager;
    configSchema: z.ZodType<Record<string, unknown>>;
    limits?: { maxParameters?: number; maxMemoryBytes?: number };
  };
  /** The served policy and its promotion gate (serving/promote.ts); without it /v1/served is absent. */
  promotions?: PromotionManager;
  /** Content-addressed checkpoint files; without it the blob routes are absent. */
  blobs?: BlobStore;
  /**
   * The OpenAI-compatible serving routes (/v1/chat/completions, /v1/models): the store calls are
   * recorded in, the blob folder as checkpoint storage, and the loaded policies (serving/policy-cache.ts).
   * Without it those routes are absent.
   */
  serving?: ChatServingOptions;
  /**
   * The review loop (review/service.ts): decisions ruled on in server order, webhook deliveries. With
   * it and a store, /v1/items and /v1/replies/export exist, and a sync push wakes the loop.
   */
  review?: ReviewService;
  /**
   * The public feedback intake (intake/intake.ts): POST /v1/feedback and its status URL, the one API a
   * website calls without the token, behind its own intake keys, origins and limits; and GET /widget.js.
   * Without it those routes are absent (404).
   */
  intake?: FeedbackIntake;
  log?: (message: string) => void;
  /** Who is calling, for the rate limit; defaults to the socket's remote address. */
  clientAddress?: (request: Request, env: unknown) => string;
};

export { VERSION } from './version';

export const DEFAULT_MAX_JSON_BYTES = 16 * 1024 * 1024;

/** Options no server may run with (`serve` prints the message and exits 2). */
export class AppConfigError extends Error {}

/** Refuses options that would open the API to every website; `serve` asks before it touches the disk. */
export function assertSafeOptions(options: Pick<AppOptions, 'corsOrigins' | 'token'>): void {
  if (options.corsOrigins?.includes('*') && !options.token)
    throw new AppConfigError(
      "refusing --cors '*' without a token: every website could read and write the store. " +
        'Pass --token T (or set EDGELIGHT_TOKEN), or list the origins.',
    );
}

function socketAddress(_request: Request, env: unknown): string {
  // Under @hono/node-server the socket is in env.incoming; app.request() has none.
  const incoming = (env as Partial<HttpBindings> | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'local';
}

/** The Hono application: routes only; storage and static files come in through options. */
export function createApp(options: AppOptions = {}) {
  const app = new Hono();
  app.onError(createErrorHandler(options.log));
  app.notFound(notFoundHandler);
  // First, so every answer is logged, refusals included.
  if (options.accessLog) app.use('*', accessLog(options.accessLog, options.clientAddress ?? socketAddress));

  assertSafeOptions(options);
  // Before the /v1 guards: exactly its routes answer under the intake's own guards (routes/feedback.ts).
  if (options.intake)
    mountFeedbackRoutes(app, {
      intake: options.intake,
      clientAddress: options.clientAddress ?? socketAddress,
    });
  // Host (DNS rebinding) and Origin (cross-site writes) first: a refused request touches nothing.
  app.use('/v1/*', originGuard({ allowedHosts: options.allowedHosts, corsOrigins: options.corsOrigins }));
  if (options.corsOrigins && options.corsOrigins.length > 0) {
    const origins = [...options.corsOrigins];
    app.use(
      '/v1/*',
      cors({
        origin: origins.includes('*') ? '*' : origins,
        allowHeaders: ['Authorization', 'Content-Type'],
        allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
        maxAge: 600,
      }),
    );
  }
  const perSecond = options.rateLimitPerSecond ?? 10_000;
  if (perSecond > 0)
    app.use(
      '/v1/*',
      rateLimit({ perSecond, burst: perSecond, clientKey: options.clientAddress ?? socketAddress }),
    );
  if (options.token) app.use('/v1/*', bearerAuth(options.token));

  app.get('/v1/agl/health', (c) => c.json({ status: 'ok' }));
  app.get('/v1/health', (c) => c.json({ status: 'ok', name: 'edgelight', version: VERSION }));

  const maxJsonBytes = options.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES;
  app.use('/v1/agl/*', jsonBodyLimit(maxJsonBytes));
  app.use('/v1/sync/*', jsonBodyLimit(maxJsonBytes));
  app.use('/v1/train/*', jsonBodyLimit(maxJsonBytes));
  app.use('/v1/items/*', jsonBodyLimit(maxJsonBytes));
  app.use('/v1/chat/*', jsonBodyLimit(maxJsonBytes));
  app.use('/v1/served', jsonBodyLimit(maxJsonBytes));

  if (options.store)
    app.route('/v1/agl', aglRoutes(options.store, { maxWaitSeconds: options.maxWaitSeconds }));
  if (options.sync) {
    const sync = options.sync;
    const review = options.review;
    // A push may carry decisions: the review loop rules on them now instead of at its next poll.
    const pushed: SyncServerStore = review
      ? {
          upsertMany: async (records) => {
            const result = await sync.upsertMany(records);
            review.wake();
            return result;
          },
          changesSince: (after, limit) => sync.changesSince(after, limit),
        }
      : sync;
    app.route('/v1/sync', syncRoutes(pushed, options.log));
  }
  if (options.jobs)
    app.route('/v1/train', trainRoutes(options.jobs.manager, options.jobs.configSchema, options.jobs.limits));
  if (options.blobs) app.route('/v1/blobs', blobRoutes(options.blobs));
  if (options.review && options.store) app.route('/v1', reviewRoutes(options.store, options.review));
  if (options.serving) app.route('/v1', chatRoutes(options.serving));
  if (options.promotions) app.route('/v1/served', servedRoutes(options.promotions));
  app.route('/v1', otlpRoutes({ store: options.store, maxBodyBytes: maxJsonBytes }));
  return app;
}
