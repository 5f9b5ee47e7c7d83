import { StoreError, type StoreErrorCode } from './errors';
import type { LightningStore } from './store';
import type {
  Attempt,
  AttemptedRollout,
  AttemptQuery,
  AttemptUpdate,
  DequeueRequest,
  EnqueueRolloutRequest,
  NamedResourcesInput,
  PaginatedResult,
  ResourcesQuery,
  ResourcesUpdate,
  Rollout,
  RolloutQuery,
  RolloutRequest,
  RolloutUpdate,
  RolloutWithAttempt,
  Span,
  SpanInput,
  SpanQuery,
  StoreStatistics,
  WaitForRolloutsRequest,
  Worker,
  WorkerQuery,
  WorkerUpdate,
} from './types';
import { WaitForRolloutsRequest as WaitForRolloutsRequestSchema } from './types';

// A LightningStore that lives on an edgelight (or Agent Lightning v0.3) server: every call is one
// request to /v1/agl/*. Runs in the browser, a worker and Node: `fetch` is injected.

export type HttpStoreOptions = {
  /** Server root, e.g. `http://127.0.0.1:8787` (the /v1/agl prefix is added here). */
  baseUrl: string;
  /** Bearer token, when the server requires one. */
  token?: string;
  fetch?: typeof fetch;
  /**
   * Waits before each retry of a request that failed for a transient reason (network error, 5xx,
   * 408, 429). Other 4xx are the caller's mistake and are never retried, as in Agent Lightning. Each
   * wait is jittered (× 0.5–1.5, so many clients a restart dropped do not return in step) and never
   * shorter than the server's `Retry-After` (at most MAX_RETRY_AFTER_MS).
   */
  retryDelaysMs?: readonly number[];
  /** Uniform [0, 1) draws for the jitter (tests pin it; 0.5 means no jitter). */
  random?: () => number;
  /** Per-request time limit (default 60 s, above the server's 30 s wait cap); a request that exceeds it counts as a network error. */
  requestTimeoutMs?: number;
  /** Longest single wait request; `waitForRollouts` with a longer (or no) timeout polls in slices. */
  waitSliceSeconds?: number;
  sleep?: (ms: number) => Promise<void>;
};

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The longest `Retry-After` honoured: a server asking for more is treated as unavailable sooner. */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * `Retry-After` in ms (delta-seconds or an HTTP date), or 0 when absent or unreadable; at most `capMs`
 * (the webhook outbox, which waits for hours between attempts anyway, passes its own cap).
 */
export function retryAfterMs(header: string | null, now = Date.now(), capMs = MAX_RETRY_AFTER_MS): number {
  if (!header) return 0;
  const ms = /^\d+$/.test(header.trim()) ? Number(header) * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, capMs) : 0;
}

/** The server's `{"error": {...}}` body, or Agent Lightning's FastAPI `{"detail": ...}`. */
type ErrorPayload = { error?: { code?: string; message?: string; details?: unknown }; detail?: unknown };

function storeErrorCode(status: number): StoreErrorCode {
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 507) return 'quota_exceeded';
  if (status === 503) return 'closed';
  return 'invalid';
}

/** A transient failure that outlived every retry: the server was unreachable or kept failing. */
export class HttpStoreUnavailableError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'HttpStoreUnavailableError';
  }
}

/** Failures worth trying again: 5xx, 408, 429 (the webhook outbox retries by the same rule). */
export const isTransientStatus = (status: number) => status >= 500 || status === 408 || status === 429;

type Query = Record<string, string | number | boolean | readonly (string | number)[] | null | undefined>;

export type RequestOptions = {
  body?: unknown;
  query?: Query;
  /** Raw bytes instead of JSON (blob uploads). */
  bytes?: Uint8Array;
  /** Statuses that are an answer, not an error (e.g. 404 for a HEAD probe). */
  accept?: readonly number[];
};

/**
 * fetch with the retry policy of Agent Lightning's client: network errors, 5xx, 408 and 429 are
 * retried after each delay in `retryDelaysMs`; any other 4xx becomes a StoreError at once.
 */
export class HttpTransport {
  private readonly root: string;
  private readonly fetchFn: typeof fetch;
  private readonly retryDelaysMs: readonly number[];
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: HttpStoreOptions) {
    this.root = options.baseUrl.replace(/\/+$/, '');
    // Bound so a browser's fetch keeps its `this` (an unbound window.fetch throws "Illegal invocation").
    this.fetchFn = (options.fetch ?? globalThis.fetch).bind(globalThis);
    this.retryDelaysMs = options.retryDelaysMs ?? [100, 250, 500, 1000, 2000];
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  /** One call with retries; resolves with the response once it is OK (or an accepted status). */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = this.root + path + encodeQuery(options.query);
    const headers: Record<string, string> = { accept: 'application/json' };
    let payload: BodyInit | undefined;
    if (options.bytes) {
      headers['content-type'] = 'application/octet-stream';
      payload = options.bytes as Uint8Array<ArrayBuffer>;
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(options.body);
    }
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;

    let lastProblem = '';
    let lastStatus: number | null = null;
    let serverAsked = 0; // the last response's Retry-After, in ms
    for (let attempt = 0; attempt <= this.retryDelaysMs.length; attempt++) {
      if (attempt > 0) {
        const jittered = (this.retryDelaysMs[attempt - 1] as number) * (0.5 + this.random());
        await this.sleep(Math.max(jittered, serverAsked));
      }
      serverAsked = 0;
      let response: Response;
      try {
        const timeoutMs = this.options.requestTimeoutMs ?? 60_000;
        const signal = timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined;
        response = await this.fetchFn(url, { method, headers, body: payload, signal });
      } catch (error) {
        lastProblem = `network error: ${(error as Error).message}`;
        lastStatus = null;
        continue;
      }
      if (response.ok || options.accept?.includes(response.status)) return response;
      const error = (await response.json().catch(() => ({}))) as ErrorPayload;
      const message =
        error.error?.message ?? (typeof error.detail === 'string' ? error.detail : `HTTP ${response.status}`);
      if (!isTransientStatus(response.status)) {
        throw new StoreError(storeErrorCode(response.status), message, error.error?.details ?? error.detail);
      }
      lastProblem = `HTTP ${response.status}: ${message}`;
      lastStatus = response.status;
      serverAsked = retryAfterMs(response.headers.get('retry-after'));
    }
    throw new HttpStoreUnavailableError(
      `${method} ${path} failed after ${this.retryDelaysMs.length + 1} tries (${lastProblem})`,
      lastStatus,
    );
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    return (await (await this.request(method, path, options)).json()) as T;
  }
}

export class HttpLightningStore implements LightningStore {
  private readonly transport: HttpTransport;
  private closed = false;

  constructor(private readonly options: HttpStoreOptions) {
    this.transport = new HttpTransport(options);
  }

  private call<T>(method: 'GET' | 'POST', path: string, body?: unknown, query?: Query): Promise<T> {
    if (this.closed) return Promise.reject(new StoreError('closed', 'the store is closed'));
    return this.transport.json<T>(method, `/v1/agl${path}`, { body, query });
  }

  startRollout(request: RolloutRequest): Promise<AttemptedRollout> {
    return this.call('POST', '/rollouts', request);
  }
  async enqueueRollout(request: EnqueueRolloutRequest): Promise<Rollout> {
    const [rollout] = await this.enqueueRollouts([request]);
    return rollout as Rollout;
  }
  enqueueRollouts(requests: EnqueueRolloutRequest[]): Promise<Rollout[]> {
    return this.call('POST', '/queues/rollouts/enqueue', { rollouts: requests });
  }
  async dequeueRollout(request: Omit<DequeueRequest, 'limit'> = {}): Promise<AttemptedRollout | null> {
    const [rollout] = await this.dequeueRollouts({ ...request, limit: 1 });
    return rollout ?? null;
  }
  dequeueRollouts(request: DequeueRequest = {}): Promise<AttemptedRollout[]> {
    return this.call('POST', '/queues/rollouts/dequeue', request);
  }
  startAttempt(rolloutId: string, request: { worker_id?: string | null } = {}): Promise<AttemptedRollout> {
    return this.call('POST', `/rollouts/${pathId(rolloutId)}/attempts`, request);
  }

  addSpan(span: SpanInput): Promise<Span | null> {
    return this.call('POST', '/spans', span);
  }
  /**
   * Many spans in one request and one transaction (all or none). Agent Lightning's API has no batch
   * span route; `POST /v1/agl/spans/batch` is edgelight's addition, so this needs an edgelight server.
   */
  addSpans(spans: SpanInput[]): Promise<Span[]> {
    return this.call('POST', '/spans/batch', { spans });
  }
  async getNextSpanSequenceId(rolloutId: string, attemptId: string): Promise<number> {
    const { sequence_id } = await this.call<{ sequence_id: number }>('POST', '/spans/next', {
      rollout_id: rolloutId,
      attempt_id: attemptId,
    });
    return sequence_id;
  }

  queryRollouts(query: RolloutQuery = {}): Promise<PaginatedResult<RolloutWithAttempt>> {
    return this.call('POST', '/rollouts/search', query);
  }
  getRolloutById(rolloutId: string): Promise<RolloutWithAttempt | null> {
    return this.call('GET', `/rollouts/${pathId(rolloutId)}`);
  }
  queryAttempts(rolloutId: string, query: AttemptQuery = {}): Promise<PaginatedResult<Attempt>> {
    return this.call('POST', `/rollouts/${pathId(rolloutId)}/attempts/search`, query);
  }
  getLatestAttempt(rolloutId: string): Promise<Attempt | null> {
    return this.call('GET', `/rollouts/${pathId(rolloutId)}/attempts/latest`);
  }
  querySpans(query: SpanQuery): Promise<PaginatedResult<Span>> {
    return this.call('POST', '/spans/search', query);
  }

  addResources(resources: NamedResourcesInput): Promise<ResourcesUpdate> {
    return this.call('POST', '/resources', resources);
  }
  updateResources(resourcesId: string, resources: NamedResourcesInput): Promise<ResourcesUpdate> {
    return this.call('POST', `/resources/${pathId(resourcesId)}`, resources);
  }
  getResourcesById(resourcesId: string): Promise<ResourcesUpdate | null> {
    return this.call('GET', `/resources/${pathId(resourcesId)}`);
  }
  getLatestResources(): Promise<ResourcesUpdate | null> {
    return this.call('GET', '/resources/latest');
  }
  queryResources(query: ResourcesQuery = {}): Promise<PaginatedResult<ResourcesUpdate>> {
    return this.call('GET', '/resources', undefined, query as Query);
  }

  /**
   * Long waits are cut into slices of `waitSliceSeconds` so no single request outlives proxies'
   * idle timeouts; the answer is the same as one long wait.
   */
  async waitForRollouts(input: WaitForRolloutsRequest): Promise<Rollout[]> {
    // Checked here too: a slice of a bad timeout would otherwise look valid to the server.
    const parsed = WaitForRolloutsRequestSchema.safeParse(input);
    if (!parsed.success)
      throw new StoreError('invalid', `invalid wait request: ${parsed.error.message}`, parsed.error.issues);
    const request = parsed.data;
    const slice = this.options.waitSliceSeconds ?? 10;
    const timeout = request.timeout;
    const deadline = timeout === null || !Number.isFinite(timeout) ? Infinity : Date.now() + timeout * 1000;
    for (;;) {
      const remaining = (deadline - Date.now()) / 1000;
      const wait = Math.max(0, Math.min(slice, remaining));
      const finished = await this.call<Rollout[]>('POST', '/waits/rollouts', { ...request, timeout: wait });
      if (finished.length >= new Set(request.rollout_ids).size || Date.now() >= deadline) return finished;
    }
  }

  updateRollout(rolloutId: string, update: RolloutUpdate): Promise<Rollout> {
    return this.call('POST', `/rollouts/${pathId(rolloutId)}`, update);
  }
  updateAttempt(rolloutId: string, attemptId: string, update: AttemptUpdate): Promise<Attempt> {
    return this.call('POST', `/rollouts/${pathId(rolloutId)}/attempts/${pathId(attemptId)}`, update);
  }

  queryWorkers(query: WorkerQuery = {}): Promise<PaginatedResult<Worker>> {
    return this.call('POST', '/workers/search', query);
  }
  getWorkerById(workerId: string): Promise<Worker | null> {
    return this.call('GET', `/workers/${pathId(workerId)}`);
  }
  updateWorker(workerId: string, update: WorkerUpdate = {}): Promise<Worker> {
    return this.call('POST', `/workers/${pathId(workerId)}`, update);
  }

  statistics(): Promise<StoreStatistics> {
    return this.call('GET', '/statistics');
  }
  /** The server's store runs its watchdog before queue and query calls; a statistics read triggers it. */
  async runWatchdog(): Promise<void> {
    await this.call('POST', '/rollouts/search', { limit: 1 });
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Ids are checked by the server; encoding here keeps a hostile id from changing the path. */
function pathId(id: string): string {
  return encodeURIComponent(id);
}

function encodeQuery(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const item of value) params.append(key, String(item));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}
