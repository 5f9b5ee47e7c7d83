import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { type Context, Hono } from 'hono';
import type { LightningStore } from '../../shared/store/store';
import { jsonBodyLimit } from '../middleware/body-limit';
import { ApiError } from '../middleware/errors';
import { isJsonType } from '../middleware/validate';
import { decodeJsonTraces, decodeProtobufTraces, OtlpDecodeError } from '../otlp/decode';
import { mapTraces } from '../otlp/map';
import { otlpTraceTypes } from '../otlp/proto';

// OpenTelemetry exports over OTLP/HTTP (https://opentelemetry.io/docs/specs/otlp/#otlphttp).
// /v1/traces stores the spans of Agent Lightning rollouts (docs/otlp.md): each span names its rollout
// and attempt in `agentlightning.*` resource attributes, as Agent Lightning v0.3's tracers export them.
// Metrics, logs and profiles have no place in the store: they answer 501 with a message, rather than
// dropping data silently.
const UNSUPPORTED_PATHS = ['/metrics', '/logs', '/development/profiles'] as const;

const PROTOBUF_TYPES = new Set(['application/x-protobuf', 'application/protobuf']);

const gunzipAsync = promisify(gunzip);

export type OtlpRouteOptions = {
  /** Where /v1/traces stores spans; without a store it answers 501 like the other signals. */
  store?: LightningStore;
  /** Largest body, compressed and (for gzip) decompressed, in bytes. */
  maxBodyBytes: number;
};

export function otlpRoutes(options: OtlpRouteOptions) {
  const app = new Hono();
  for (const path of UNSUPPORTED_PATHS)
    app.post(path, () =>
      notImplemented(
        `OTLP export to /v1${path} is not supported by edgelight; send spans as JSON to POST /v1/agl/spans`,
      ),
    );
  const store = options.store;
  if (!store) {
    app.post('/traces', () => notImplemented('OTLP export to /v1/traces needs a server with a store'));
    return app;
  }

  app.use('/traces', jsonBodyLimit(options.maxBodyBytes));
  app.post('/traces', async (c) => {
    const encoding = bodyEncoding(c.req.header('content-type'));
    const bytes = await readBody(c, options.maxBodyBytes);
    let request: ReturnType<typeof decodeJsonTraces>;
    try {
      request = encoding === 'json' ? decodeJsonTraces(bytes) : decodeProtobufTraces(bytes);
    } catch (error) {
      if (error instanceof OtlpDecodeError)
        throw new ApiError(400, 'bad_request', error.message, error.details);
      throw error;
    }
    const mapped = await mapTraces(request, store);
    if (mapped.spans.length > 0) await store.addSpans(mapped.spans);
    // ExportTraceServiceResponse, in the request's encoding; partial_success only when spans were refused.
    const partialSuccess =
      mapped.rejected > 0 ? { rejectedSpans: mapped.rejected, errorMessage: mapped.errorMessage } : undefined;
    if (encoding === 'json') return c.json(partialSuccess ? { partialSuccess } : {}, 200);
    const { response } = otlpTraceTypes();
    const body = response.encode(response.fromObject(partialSuccess ? { partialSuccess } : {})).finish();
    return c.body(new Uint8Array(body), 200, { 'content-type': 'application/x-protobuf' });
  });
  return app;
}

function notImplemented(message: string): never {
  throw new ApiError(501, 'not_implemented', message);
}

/** OTLP/HTTP's two encodings; any other type is a 415 (a browser's simple `text/plain` POST among them). */
function bodyEncoding(contentType: string | undefined): 'json' | 'protobuf' {
  if (contentType !== undefined) {
    if (isJsonType(contentType)) return 'json';
    if (PROTOBUF_TYPES.has(contentType.split(';')[0].trim().toLowerCase())) return 'protobuf';
  }
  throw new ApiError(
    415,
    'unsupported_media_type',
    `OTLP/HTTP bodies are application/x-protobuf or application/json, got ${contentType ?? 'no content type'}`,
  );
}

/** The body, gunzipped when the exporter compressed it (OpenTelemetry exporters can gzip). */
async function readBody(c: Context, maxBytes: number): Promise<Uint8Array> {
  const raw = new Uint8Array(await c.req.arrayBuffer());
  const contentEncoding = (c.req.header('content-encoding') ?? '').trim().toLowerCase();
  if (contentEncoding === '' || contentEncoding === 'identity') return raw;
  if (contentEncoding !== 'gzip')
    throw new ApiError(
      415,
      'unsupported_media_type',
      `Content-Encoding ${contentEncoding.slice(0, 40)} is not supported; send gzip or no encoding`,
    );
  try {
    // The limit holds for what the body expands to too: a small gzip bomb stops at maxBytes.
    return new Uint8Array(await gunzipAsync(raw, { maxOutputLength: maxBytes }));
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new ApiError(413, 'payload_too_large', `request body expands past ${maxBytes} bytes`, {
        max_bytes: maxBytes,
      });
    throw new ApiError(400, 'bad_request', `the gzip body does not decompress: ${(error as Error).message}`);
  }
}
