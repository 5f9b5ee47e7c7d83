// Promotion over HTTP: what `/v1/served` answers (the wire types, defined once here for the server, the
// lab and the command line) and a small client that asks for a promotion and waits for its gate.
// Isomorphic: it takes a fetch (the lab worker's, or createNodeFetch under Node).

/** One policy's figures on the gate's held-out set. */
export interface GateFigures {
  checkpoint_id: string;
  /** Feedback items drafted for. */
  n: number;
  replies: number;
  reward_mean: number;
  reward_std: number;
  /** Share of replies with any governance violation (inst_016/017/018 or PII). */
  violation_rate: number;
  sendable_rate: number;
}

export interface GateResult {
  candidate: GateFigures;
  served: GateFigures;
  /** candidate − served violation rate. */
  violation_rise: number;
  /** served − candidate mean reward. */
  reward_drop: number;
  margins: { max_violation_rise: number; max_reward_drop: number };
  passed: boolean;
  /** Why it failed, in words; [] when it passed. */
  reasons: string[];
  settings: { items: number; samples: number; seed: number; maxNewTokens: number; backend: string };
  seconds: number;
}

export type PromotionStatus = 'running' | 'promoted' | 'refused' | 'failed';

export interface PromotionRecord {
  promotion_id: string;
  checkpoint_id: string;
  status: PromotionStatus;
  /** Epoch seconds. */
  created_at: number;
  finished_at: number | null;
  requested_by: string;
  override: { reason: string } | null;
  /** The served checkpoint it was compared against. */
  against: string | null;
  gate: GateResult | null;
  /** On promotion: the served update that names it. */
  served: {
    checkpointId: string;
    resourcesId: string;
    since: number;
    metadata: Record<string, unknown>;
  } | null;
  error: string | null;
}

export interface PromotionClientOptions {
  baseUrl: string;
  token?: string;
  fetch?: typeof fetch;
  /** Between polls of a gate still running (default 2000 ms). */
  pollMs?: number;
  signal?: AbortSignal;
}

export interface PromoteRequest {
  checkpoint_id: string;
  override?: { reason: string };
  requested_by?: string;
}

/** A refusal or failure the server answered, with the promotion (and so the figures) when there is one. */
export class PromotionError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly promotion: PromotionRecord | null,
  ) {
    super(message);
  }
}

async function call(
  options: PromotionClientOptions,
  path: string,
  init: { method: 'GET' | 'POST'; body?: unknown },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await (options.fetch ?? fetch)(`${options.baseUrl.replace(/\/+$/, '')}${path}`, {
    method: init.method,
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { error: { code: 'bad_response', message: text.slice(0, 200) } };
  }
  return { status: response.status, body };
}

function errorOf(status: number, body: Record<string, unknown>): PromotionError {
  const error = (body.error ?? {}) as { code?: string; message?: string; details?: { promotion?: unknown } };
  return new PromotionError(
    error.message ?? `the server answered ${status}`,
    status,
    error.code ?? 'unknown',
    (error.details?.promotion as PromotionRecord | undefined) ?? null,
  );
}

/** What GET /v1/served answers. */
export async function readServedRemote(options: PromotionClientOptions): Promise<Record<string, unknown>> {
  const { status, body } = await call(options, '/v1/served', { method: 'GET' });
  if (status !== 200) throw errorOf(status, body);
  return body;
}

/**
 * Asks the server to promote a checkpoint and waits for the gate: resolves with the promoted record,
 * throws PromotionError for a refusal (409, `promotion` carries both sets of figures), an unknown
 * checkpoint (404), a bad request or a failed gate.
 */
export async function promoteRemote(
  options: PromotionClientOptions,
  request: PromoteRequest,
  onProgress?: (record: PromotionRecord) => void,
): Promise<PromotionRecord> {
  let { status, body } = await call(options, '/v1/served', { method: 'POST', body: request });
  while (status === 202) {
    const record = body.promotion as PromotionRecord;
    onProgress?.(record);
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 2000));
    options.signal?.throwIfAborted();
    ({ status, body } = await call(options, `/v1/served/promotions/${record.promotion_id}`, {
      method: 'GET',
    }));
    if (status !== 200) break;
    const now = body.promotion as PromotionRecord;
    if (now.status === 'running') status = 202;
    else if (now.status !== 'promoted')
      throw new PromotionError(
        now.status === 'refused'
          ? `the promotion gate refused ${now.checkpoint_id}: ${now.gate?.reasons.join('; ')}`
          : `the promotion gate could not run: ${now.error}`,
        now.status === 'refused' ? 409 : 422,
        now.status === 'refused' ? 'conflict' : 'bad_request',
        now,
      );
  }
  if (status !== 200) throw errorOf(status, body);
  return body.promotion as PromotionRecord;
}
