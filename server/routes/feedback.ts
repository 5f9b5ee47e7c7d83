// The public intake's routes: the only ones a website calls without the server's token.
//   POST /v1/feedback                 JSON {text, category?, page?, locale?} or a plain HTML form post
//   OPTIONS /v1/feedback              CORS preflight, answered for origins some intake key lists
//   GET /v1/feedback/:id/status       {id, status, received_at}: nothing of the text or the review
//   GET /widget.js                    the embeddable form (intake/widget.js)
// createApp mounts them BEFORE the /v1 guards (origin guard, CORS, rate limit, bearer token), so those
// do not apply to exactly these method + path pairs and this file's own guards do instead: an intake
// key, its origin allow-list, a stricter rate limit per client address and key, a 16 KiB body limit
// and idempotency keys. Every other method on these paths, and every other /v1 path, falls through to
// the guards as before: an intake key authorises nothing else.
import { readFileSync } from 'node:fs';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { ApiError, validationError } from '../middleware/errors';
import { jsonBodyLimit } from '../middleware/body-limit';
import { rateLimit } from '../middleware/rate-limit';
import { readJson, readPathId } from '../middleware/validate';
import {
  FeedbackSubmission,
  type FeedbackIntake,
  IdempotencyConflictError,
  QueueFullError,
} from '../intake/intake';
import { IDEMPOTENCY_KEY } from '../intake/idempotency';
import { type IntakeKey, normalOrigin } from '../intake/keys';

export const INTAKE_KEY_HEADER = 'X-Edgelight-Intake-Key';
const ALLOWED_HEADERS = `Content-Type, ${INTAKE_KEY_HEADER}, Idempotency-Key`;

const WIDGET_SOURCE = readFileSync(new URL('../intake/widget.js', import.meta.url), 'utf8');

export interface FeedbackRouteOptions {
  intake: FeedbackIntake;
  /** Who is calling, for the rate limits (createApp's socket address). */
  clientAddress: (request: Request, env: unknown) => string;
}

type RawPost = {
  source: 'form' | 'api';
  fields: Record<string, unknown>;
  key: string | undefined;
  idempotencyKey: string | undefined;
  redirect: string | undefined;
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

const mediaType = (c: Context) => (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();

/** The body as fields: JSON through readJson (415, 400, 422 as every route), or an urlencoded form. */
async function readPost(c: Context): Promise<RawPost> {
  const headerKey = c.req.header(INTAKE_KEY_HEADER);
  const headerIdempotency = c.req.header('idempotency-key');
  if (mediaType(c) === 'application/x-www-form-urlencoded') {
    let text: string;
    try {
      text = utf8.decode(await c.req.arrayBuffer());
    } catch {
      throw new ApiError(400, 'invalid_utf8', 'request body is not valid UTF-8');
    }
    const form = new URLSearchParams(text);
    const field = (name: string) => {
      const value = form.get(name);
      return value === null || value.trim() === '' ? undefined : value;
    };
    const fields: Record<string, unknown> = {};
    for (const name of ['text', 'category', 'page', 'locale']) {
      const value = field(name);
      if (value !== undefined) fields[name] = value;
    }
    return {
      source: 'form',
      fields,
      key: headerKey ?? field('intake_key'),
      idempotencyKey: headerIdempotency ?? field('idempotency_key'),
      redirect: field('redirect'),
    };
  }
  const body = await readJson(c, z.unknown());
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new ApiError(
      422,
      'validation_failed',
      'request body must be a JSON object {text, category?, page?, locale?}',
    );
  return {
    source: 'api',
    fields: body as Record<string, unknown>,
    key: headerKey,
    idempotencyKey: headerIdempotency,
    redirect: undefined,
  };
}

/** A browser request must come from an origin the key lists; a server-side client sends no Origin. */
function assertOrigin(c: Context, key: IntakeKey): void {
  const origin = c.req.header('origin');
  if (origin === undefined) {
    if (c.req.header('sec-fetch-site')?.toLowerCase() === 'cross-site')
      throw new ApiError(403, 'forbidden', 'cross-site request without an Origin refused');
    return;
  }
  const normal = normalOrigin(origin);
  if (normal === null || !key.origins.has(normal))
    throw new ApiError(
      403,
      'forbidden',
      `origin '${origin.slice(0, 200)}' may not post with intake key '${key.name}' (serve --intake-origin)`,
    );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export function mountFeedbackRoutes(app: Hono, options: FeedbackRouteOptions): void {
  const { intake } = options;
  const browserOrigins = intake.keys.allOrigins();
  // Who a post's rate limit counts against: the client address and the key it presented (`?` for none
  // or a wrong one, so guessing keys is limited per address too).
  const keyOf = new WeakMap<Request, string>();
  const postLimit = rateLimit({
    perSecond: intake.limits.perSecond,
    burst: intake.limits.burst,
    clientKey: (request, env) => `${options.clientAddress(request, env)}|${keyOf.get(request) ?? '?'}`,
  });
  // A widget polls its item's status: a looser limit of its own, per address.
  const statusLimit = rateLimit({
    perSecond: Math.max(1, intake.limits.perSecond * 5),
    burst: Math.max(10, intake.limits.burst * 4),
    clientKey: options.clientAddress,
  });

  /** Runs a rate limiter inline; throws its 429 (its Retry-After header is already on the context). */
  async function limit(c: Context, limiter: MiddlewareHandler): Promise<void> {
    let passed = false;
    const refused = await limiter(c, async () => {
      passed = true;
    });
    if (!passed)
      throw new ApiError(
        429,
        'rate_limited',
        `too many requests; retry in ${refused instanceof Response ? (refused.headers.get('Retry-After') ?? '1') : '1'}s`,
      );
  }

  /** CORS headers for a listed origin (any key's: a preflight carries no key); none for others. */
  function corsFor(c: Context, methods: string): boolean {
    c.header('Vary', 'Origin');
    const origin = c.req.header('origin');
    const normal = origin === undefined ? null : normalOrigin(origin);
    if (normal === null || !browserOrigins.has(normal)) return false;
    c.header('Access-Control-Allow-Origin', normal);
    c.header('Access-Control-Allow-Methods', methods);
    c.header('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    c.header('Access-Control-Expose-Headers', 'Retry-After, Location');
    c.header('Access-Control-Max-Age', '600');
    return true;
  }

  const preflight = (methods: string) => (c: Context) => {
    if (c.req.header('origin') !== undefined && !corsFor(c, methods))
      throw new ApiError(403, 'forbidden', 'this origin may not call the intake (serve --intake-origin)');
    return c.body(null, 204);
  };
  app.options('/v1/feedback', preflight('POST, OPTIONS'));
  app.options('/v1/feedback/:id/status', preflight('GET, OPTIONS'));

  app.post('/v1/feedback', jsonBodyLimit(intake.limits.maxBodyBytes), async (c) => {
    corsFor(c, 'POST, OPTIONS');
    const type = mediaType(c);
    const isForm = type === 'application/x-www-form-urlencoded';
    try {
      if (!isForm && type !== 'application/json')
        throw new ApiError(
          415,
          'unsupported_media_type',
          'post feedback as application/json or an application/x-www-form-urlencoded form',
        );
      const raw = await readPost(c);
      const key = intake.keys.match(raw.key);
      if (key) keyOf.set(c.req.raw, key.name);
      await limit(c, postLimit);
      if (!key)
        throw new ApiError(
          401,
          'unauthorized',
          raw.key === undefined
            ? `missing intake key (header ${INTAKE_KEY_HEADER} or form field intake_key)`
            : 'unknown intake key',
        );
      assertOrigin(c, key);
      const parsed = FeedbackSubmission.safeParse(raw.fields);
      if (!parsed.success) throw validationError('body', parsed.error);
      if (raw.idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(raw.idempotencyKey))
        throw new ApiError(
          422,
          'validation_failed',
          'Idempotency-Key must be 1-200 printable ASCII characters',
        );
      const redirect = raw.redirect === undefined ? undefined : allowedRedirect(raw.redirect, key);

      const { id, replayed } = await intake.accept(parsed.data, key, raw.source, raw.idempotencyKey);
      const statusUrl = `/v1/feedback/${id}/status`;
      if (replayed) c.header('Idempotent-Replayed', 'true');
      if (raw.source === 'form') {
        if (redirect) {
          redirect.searchParams.set('edgelight_item', id);
          return c.redirect(redirect.toString(), 303);
        }
        return c.html(
          page(
            'Thank you',
            `<p>Your feedback was received. Personal details such as e-mail addresses and phone numbers are removed before it is stored.</p>
<p><a href="${escapeHtml(statusUrl)}">Its status</a> · <a href="javascript:history.back()">Back</a></p>`,
          ),
          202,
        );
      }
      c.header('Location', statusUrl);
      return c.json({ id, status_url: statusUrl }, 202);
    } catch (error) {
      if (error instanceof QueueFullError) c.header('Retry-After', String(error.retryAfterSeconds));
      const apiError = asApiError(error);
      if (!apiError) throw error;
      if (!isForm) throw apiError;
      // A visitor's browser shows the answer to a form post: a page, not JSON.
      return c.html(
        page('Your feedback was not sent', `<p>${escapeHtml(apiError.message)}</p>`),
        apiError.status,
      );
    }
  });

  app.get('/v1/feedback/:id/status', async (c) => {
    corsFor(c, 'GET, OPTIONS');
    await limit(c, statusLimit);
    const id = readPathId(c, 'id');
    const view = await intake.status(id);
    if (!view) throw new ApiError(404, 'not_found', `no feedback item ${id}`);
    c.header('Cache-Control', 'no-store');
    return c.json(view);
  });

  app.get('/widget.js', (c) => {
    c.header('Content-Type', 'text/javascript; charset=utf-8');
    c.header('Cache-Control', 'public, max-age=300');
    c.header('X-Content-Type-Options', 'nosniff');
    // Other sites load it with <script src>: allowed across origins explicitly.
    c.header('Cross-Origin-Resource-Policy', 'cross-origin');
    return c.body(WIDGET_SOURCE);
  });
}

/** A form's `redirect`: an absolute http(s) URL on one of the key's origins, or a 422. */
function allowedRedirect(value: string, key: IntakeKey): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ApiError(422, 'validation_failed', 'redirect must be an absolute URL');
  }
  if (!key.origins.has(url.origin))
    throw new ApiError(
      422,
      'validation_failed',
      `redirect must be on an origin intake key '${key.name}' lists (serve --intake-origin)`,
    );
  return url;
}

function asApiError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  if (error instanceof QueueFullError) {
    return new ApiError(429, 'rate_limited', error.message, { retry_after: error.retryAfterSeconds });
  }
  if (error instanceof IdempotencyConflictError) return new ApiError(409, 'conflict', error.message);
  return null;
}
