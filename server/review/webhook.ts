// The webhook an approved reply is delivered through: a JSON body, signed the way Stripe and GitHub
// sign theirs, so a receiver can tell the body came from this server and was not replayed.
//
//   X-Edgelight-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256 of "<t>.<raw body>" keyed with the secret>
//   X-Edgelight-Delivery:  <delivery id>   (the same on every retry of one delivery: dedupe on it)
//   X-Edgelight-Attempt:   <1, 2, ...>
//
// The timestamp is inside the signed text, so an old request cannot be re-sent with a fresh `t`;
// `verifySignature` refuses a `t` further than `toleranceSeconds` (default 300) from its clock.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { FeedbackCategory } from '../../shared/agent/task';
import { ReviewAction } from '../../shared/review/contract';
import { isTransientStatus, retryAfterMs } from '../../shared/store/http';
import { VERSION } from '../version';

export const SIGNATURE_HEADER = 'X-Edgelight-Signature';
export const DELIVERY_HEADER = 'X-Edgelight-Delivery';
export const ATTEMPT_HEADER = 'X-Edgelight-Attempt';
/** How far a signature's timestamp may be from the receiver's clock (seconds). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** What a delivery POSTs. Never the raw feedback: the server only ever had the redacted text. */
export const WebhookBody = z.object({
  type: z.literal('edgelight.reply'),
  delivery_id: z.string(),
  decision_id: z.string(),
  item_id: z.string(),
  rollout_id: z.string(),
  action: ReviewAction,
  reply: z.string(),
  /** The visitor's feedback as governance redacted it. */
  feedback: z.string(),
  category: FeedbackCategory.nullable(),
  reviewer: z.string(),
  /** Epoch seconds on the reviewer's clock. */
  decided_at: z.number(),
});
export type WebhookBody = z.infer<typeof WebhookBody>;

const hmacHex = (secret: string, text: string) => createHmac('sha256', secret).update(text).digest('hex');

/** The signature header's value for `body` sent at `timestamp` (epoch seconds). */
export function signatureHeader(secret: string, body: string, timestamp: number): string {
  const t = Math.floor(timestamp);
  return `t=${t},v1=${hmacHex(secret, `${t}.${body}`)}`;
}

export type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: string };

/**
 * Checks a delivery as a receiver should: the raw body bytes as received (before any JSON parsing),
 * the header, the shared secret. Any `v1` entry may match (a sender rotating secrets can send two);
 * comparison is constant-time; a timestamp outside the tolerance is refused even when it matches.
 */
export function verifySignature(options: {
  body: string;
  header: string | null | undefined;
  secret: string;
  toleranceSeconds?: number;
  /** Epoch seconds (default now). */
  now?: number;
}): VerifyResult {
  const { body, header, secret } = options;
  if (!header) return { ok: false, reason: 'no signature header' };
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === null) return { ok: false, reason: 'no timestamp in the signature header' };
  if (signatures.length === 0) return { ok: false, reason: 'no v1 signature in the header' };
  const now = options.now ?? Date.now() / 1000;
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - timestamp) > tolerance)
    return {
      ok: false,
      reason: `timestamp is ${Math.round(now - timestamp)} s from now (tolerance ${tolerance} s)`,
    };
  const expected = Buffer.from(hmacHex(secret, `${timestamp}.${body}`), 'hex');
  const matches = signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  return matches ? { ok: true, timestamp } : { ok: false, reason: 'signature does not match the body' };
}

export type WebhookConfig = {
  url: string;
  secret: string;
  /** Per-request time limit (default 10 s); a request that exceeds it counts as a network error. */
  timeoutMs?: number;
  fetch?: typeof fetch;
};

/** One attempt's result: `retryAfterMs` when the receiver asked for a pause (429/503). */
export type AttemptResult =
  | { ok: true; httpStatus: number }
  | { ok: false; transient: boolean; httpStatus: number | null; error: string; retryAfterMs: number };

/** POSTs a body once, signed at the current time. Never throws for the receiver's failures. */
export async function postWebhook(
  config: WebhookConfig,
  delivery: { body: string; deliveryId: string; attempt: number; maxRetryAfterMs: number },
  signal?: AbortSignal,
): Promise<AttemptResult> {
  const fetchFn = config.fetch ?? fetch;
  const timeout = AbortSignal.timeout(config.timeoutMs ?? 10_000);
  try {
    const response = await fetchFn(config.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': `edgelight/${VERSION}`,
        [SIGNATURE_HEADER]: signatureHeader(config.secret, delivery.body, Date.now() / 1000),
        [DELIVERY_HEADER]: delivery.deliveryId,
        [ATTEMPT_HEADER]: String(delivery.attempt),
      },
      body: delivery.body,
      redirect: 'manual',
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    // The body is not read; cancelling it frees the connection.
    await response.body?.cancel().catch(() => {});
    if (response.status >= 200 && response.status < 300) return { ok: true, httpStatus: response.status };
    return {
      ok: false,
      // No answer, 5xx, 408 and 429 are worth another try (the HTTP store client's rule); any other
      // answer outside 2xx (a 400, a 401 from a wrong secret, a redirect) will not change by itself,
      // so the delivery fails at once instead of spending its attempts.
      transient: isTransientStatus(response.status),
      httpStatus: response.status,
      error: `HTTP ${response.status}`,
      retryAfterMs:
        response.status === 429 || response.status === 503
          ? retryAfterMs(response.headers.get('retry-after'), Date.now(), delivery.maxRetryAfterMs)
          : 0,
    };
  } catch (error) {
    if (signal?.aborted) throw error; // shutting down: not the receiver's failure
    const e = error as Error & { cause?: { code?: string } };
    const detail = e.name === 'TimeoutError' ? 'timed out' : (e.cause?.code ?? e.message);
    return {
      ok: false,
      transient: true,
      httpStatus: null,
      error: `network error: ${detail}`,
      retryAfterMs: 0,
    };
  }
}
