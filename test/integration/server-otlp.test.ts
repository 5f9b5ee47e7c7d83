import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Attributes as OtelAttributes, context, SpanStatusCode, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { listen, type RunningServer } from '../../server/listen';
import { openSqliteStore } from '../../server/store/sqlite';
import { HttpLightningStore } from '../../shared/store/http';
import type { LightningStore } from '../../shared/store/store';
import type { Span } from '../../shared/store/types';

// OTLP/HTTP ingest against a real server on loopback with a real SQLite store. Requests are built by
// OpenTelemetry JS itself (the SDK's ReadableSpans through @opentelemetry/otlp-transformer, the
// serializers its OTLP exporters use), not by edgelight's own encoder, so the test checks edgelight
// against the encoding an exporter really sends.

const TOKEN = 'otlp-test-token';
const ROLLOUT = 'agentlightning.rollout_id';
const ATTEMPT = 'agentlightning.attempt_id';
const SEQUENCE = 'agentlightning.span_sequence_id';

type Encoding = 'protobuf' | 'json';
const CONTENT_TYPE: Record<Encoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/** Finished SDK spans of one tracer provider, whose resource carries `resource`. */
function recordSpans(
  resource: OtelAttributes,
  build: (tracer: ReturnType<BasicTracerProvider['getTracer']>) => void,
): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(resource),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  build(provider.getTracer('edgelight-otlp-test', '1.2.3'));
  return exporter.getFinishedSpans();
}

function serialize(encoding: Encoding, spans: ReadableSpan[]): Uint8Array {
  const bytes = (encoding === 'protobuf' ? ProtobufTraceSerializer : JsonTraceSerializer).serializeRequest(
    spans,
  );
  if (!bytes) throw new Error('the serializer produced nothing');
  return bytes;
}

function seconds([s, ns]: [number, number]): number {
  return s + ns / 1e9;
}

// Written byte by byte: an SDK will not build it, and protobufjs's own encoder would recurse as deep.
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
/** ExportTraceServiceRequest whose one resource attribute nests `depth` kvlists. */
function deeplyNestedProtobuf(depth: number): Uint8Array {
  // Inside-out lengths: AnyValue(level) = [0x32 len(KVL)] KVL; KVL = [0x0a len(KV)] KV; KV = 0x0a 01 'k' 0x12 len(AnyValue(level-1)) AnyValue(level-1)
  const leaf = [0x0a, 1, 0x61]; // AnyValue{string_value: "a"}
  const anyLen: number[] = [leaf.length];
  const kvLen: number[] = [0];
  const kvlLen: number[] = [0];
  for (let i = 1; i <= depth; i++) {
    kvLen[i] = 3 + 1 + varint(anyLen[i - 1]).length + anyLen[i - 1];
    kvlLen[i] = 1 + varint(kvLen[i]).length + kvLen[i];
    anyLen[i] = 1 + varint(kvlLen[i]).length + kvlLen[i];
  }
  const bytes: number[] = [];
  for (let i = depth; i >= 1; i--) {
    bytes.push(
      0x32,
      ...varint(kvlLen[i]),
      0x0a,
      ...varint(kvLen[i]),
      0x0a,
      1,
      0x6b,
      0x12,
      ...varint(anyLen[i - 1]),
    );
  }
  bytes.push(...leaf);
  // KeyValue{key:"deep", value: AnyValue(depth)} in Resource.attributes(1) in ResourceSpans.resource(1) in request.resource_spans(1)
  const kv = [0x0a, 4, ...Buffer.from('deep'), 0x12, ...varint(anyLen[depth]), ...bytes];
  const resource = [0x0a, ...varint(kv.length), ...kv];
  const rs = [0x0a, ...varint(resource.length), ...resource];
  return new Uint8Array([0x0a, ...varint(rs.length), ...rs]);
}

describe('POST /v1/traces', () => {
  let dir: string;
  let store: LightningStore;
  let server: RunningServer;
  let client: HttpLightningStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-otlp-'));
    store = openSqliteStore(join(dir, 'store.sqlite'));
    server = await listen(createApp({ store, token: TOKEN, rateLimitPerSecond: 0 }));
    client = new HttpLightningStore({ baseUrl: server.url, token: TOKEN, retryDelaysMs: [] });
  });
  afterAll(async () => {
    await server.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (body: Uint8Array | string, headers: Record<string, string>, path = '/v1/traces') =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, ...headers },
      body: body as BodyInit,
    });

  const spansOf = async (rolloutId: string): Promise<Span[]> =>
    (await client.querySpans({ rollout_id: rolloutId, sort_by: 'sequence_id' })).items;

  const newRollout = async () => (await client.startRollout({ input: { task: 'otlp' } })).rollout_id;

  it.each(['protobuf', 'json'] as const)(
    'stores an OpenTelemetry SDK export (%s) on the rollout named by its resource',
    async (encoding) => {
      const rolloutId = await newRollout();
      const attempt = await client.getLatestAttempt(rolloutId);
      const sdkSpans = recordSpans({ [ROLLOUT]: rolloutId, 'service.name': 'my-agent' }, (tracer) => {
        const root = tracer.startSpan('agent.run', {
          attributes: {
            'gen_ai.request.model': 'tiny',
            turns: 3,
            temperature: 0.7,
            ok: true,
            tags: ['a', 'b'],
          },
        });
        const child = tracer.startSpan(
          'llm.call',
          { links: [{ context: root.spanContext(), attributes: { why: 'follows' } }] },
          trace.setSpan(context.active(), root),
        );
        child.addEvent('token', { index: 7 });
        child.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
        child.end();
        root.end();
      });

      const res = await post(serialize(encoding, sdkSpans), { 'content-type': CONTENT_TYPE[encoding] });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain(CONTENT_TYPE[encoding]);
      const answer = (
        encoding === 'protobuf' ? ProtobufTraceSerializer : JsonTraceSerializer
      ).deserializeResponse(new Uint8Array(await res.arrayBuffer()));
      expect(answer.partialSuccess?.rejectedSpans ?? 0).toEqual(0);

      const stored = await spansOf(rolloutId);
      expect(stored.map((s) => s.name)).toEqual(['llm.call', 'agent.run']);
      const [child, root] = stored;
      const [sdkChild, sdkRoot] = sdkSpans;
      for (const [s, sdk] of [
        [child, sdkChild],
        [root, sdkRoot],
      ] as const) {
        expect(s.attempt_id).toBe(attempt?.attempt_id);
        expect(s.trace_id).toBe(sdk.spanContext().traceId);
        expect(s.span_id).toBe(sdk.spanContext().spanId);
        expect(s.context?.span_id).toBe(sdk.spanContext().spanId);
        expect(s.start_time).toBeCloseTo(seconds(sdk.startTime), 5);
        expect(s.end_time).toBeCloseTo(seconds(sdk.endTime), 5);
        expect(s.resource.attributes).toMatchObject({ [ROLLOUT]: rolloutId, 'service.name': 'my-agent' });
      }
      expect(child.sequence_id).toBeLessThan(root.sequence_id);
      expect(root.parent_id).toBeNull();
      expect(child.parent_id).toBe(sdkRoot.spanContext().spanId);
      expect(child.parent?.span_id).toBe(sdkRoot.spanContext().spanId);
      expect(root.attributes).toEqual({
        'gen_ai.request.model': 'tiny',
        turns: 3,
        temperature: 0.7,
        ok: true,
        tags: ['a', 'b'],
      });
      expect(root.status).toEqual({ status_code: 'UNSET', description: null });
      expect(child.status).toEqual({ status_code: 'ERROR', description: 'rate limited' });
      expect(child.events).toHaveLength(1);
      expect(child.events[0]).toMatchObject({ name: 'token', attributes: { index: 7 } });
      expect(child.events[0].timestamp).toBeCloseTo(seconds(sdkChild.events[0].time), 5);
      expect(child.links).toEqual([
        {
          context: {
            trace_id: sdkRoot.spanContext().traceId,
            span_id: sdkRoot.spanContext().spanId,
            is_remote: false,
            trace_state: {},
          },
          attributes: { why: 'follows' },
        },
      ]);
      // A span is the attempt's heartbeat, as through /v1/agl/spans.
      expect((await client.getLatestAttempt(rolloutId))?.status).toBe('running');
    },
  );

  it('takes the attempt and sequence id from the resource when given', async () => {
    const rolloutId = await newRollout();
    const first = await client.getLatestAttempt(rolloutId);
    await client.startAttempt(rolloutId); // the latest is now attempt 2; the export names attempt 1
    const sdkSpans = recordSpans(
      { [ROLLOUT]: rolloutId, [ATTEMPT]: first!.attempt_id, [SEQUENCE]: '41' },
      (tracer) => tracer.startSpan('retry.step').end(),
    );
    const res = await post(serialize('protobuf', sdkSpans), { 'content-type': CONTENT_TYPE.protobuf });
    expect(res.status).toBe(200);
    const [stored] = await spansOf(rolloutId);
    expect(stored).toMatchObject({ attempt_id: first!.attempt_id, sequence_id: 41, name: 'retry.step' });
    // Issued ids stay above the one the client chose.
    expect(await client.getNextSpanSequenceId(rolloutId, first!.attempt_id)).toBeGreaterThan(41);
  });

  it.each(['protobuf', 'json'] as const)(
    'answers partial success (%s) for spans it cannot place, and stores the rest',
    async (encoding) => {
      const rolloutId = await newRollout();
      const queued = await client.enqueueRollout({ input: { task: 'not started' } });
      const spans = [
        ...recordSpans({ 'service.name': 'no-rollout' }, (t) => {
          t.startSpan('orphan.1').end();
          t.startSpan('orphan.2').end();
        }),
        ...recordSpans({ [ROLLOUT]: 'ro-does-not-exist' }, (t) => t.startSpan('unknown').end()),
        ...recordSpans({ [ROLLOUT]: queued.rollout_id }, (t) => t.startSpan('no-attempt').end()),
        ...recordSpans({ [ROLLOUT]: rolloutId, [ATTEMPT]: 'at-nope' }, (t) =>
          t.startSpan('bad-attempt').end(),
        ),
        ...recordSpans({ [ROLLOUT]: rolloutId }, (t) => t.startSpan('kept').end()),
      ];
      const res = await post(serialize(encoding, spans), { 'content-type': CONTENT_TYPE[encoding] });
      expect(res.status).toBe(200);
      const answer = (
        encoding === 'protobuf' ? ProtobufTraceSerializer : JsonTraceSerializer
      ).deserializeResponse(new Uint8Array(await res.arrayBuffer()));
      expect(Number(answer.partialSuccess?.rejectedSpans)).toBe(5);
      const message = answer.partialSuccess?.errorMessage ?? '';
      expect(message).toContain('2 × no agentlightning.rollout_id');
      expect(message).toContain('unknown rollout ro-does-not-exist');
      expect(message).toContain(`rollout ${queued.rollout_id} has no attempt yet`);
      expect(message).toContain('unknown attempt at-nope');
      expect((await spansOf(rolloutId)).map((s) => s.name)).toEqual(['kept']);
      expect(await spansOf(queued.rollout_id)).toEqual([]);
    },
  );

  it('maps OTLP/JSON values the SDK cannot produce: kvlists, mixed arrays, bytes, big ints, NaN', async () => {
    const rolloutId = await newRollout();
    const body = {
      resourceSpans: [
        {
          resource: {
            attributes: [
              { key: ROLLOUT, value: { stringValue: rolloutId } },
              { key: SEQUENCE, value: { intValue: '7' } },
            ],
          },
          schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
          scopeSpans: [
            {
              scope: { name: 'hand-written' },
              spans: [
                {
                  traceId: '5B8EFFF798038103D269B633813FC60C',
                  spanId: 'EEE19B7EC3C1B174',
                  parentSpanId: '',
                  name: 'json.values',
                  kind: 'SPAN_KIND_CLIENT',
                  startTimeUnixNano: 1_700_000_000_123_456_000,
                  endTimeUnixNano: '1700000001500000000',
                  status: { code: 'STATUS_CODE_OK' },
                  attributes: [
                    {
                      key: 'request',
                      value: {
                        kvlistValue: {
                          values: [
                            { key: 'model', value: { stringValue: 'tiny' } },
                            {
                              key: 'sampling',
                              value: {
                                kvlistValue: { values: [{ key: 'top_p', value: { doubleValue: 0.9 } }] },
                              },
                            },
                          ],
                        },
                      },
                    },
                    {
                      key: 'mixed',
                      value: { arrayValue: { values: [{ intValue: 1 }, { stringValue: 'two' }] } },
                    },
                    { key: 'raw', value: { bytesValue: Buffer.from([0xca, 0xfe]).toString('base64') } },
                    { key: 'huge', value: { intValue: '9007199254740993' } },
                    { key: 'nan', value: { doubleValue: 'NaN' } },
                    { key: 'empty', value: {} },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await post(JSON.stringify(body), { 'content-type': 'application/json; charset=utf-8' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    const [stored] = await spansOf(rolloutId);
    expect(stored).toMatchObject({
      name: 'json.values',
      sequence_id: 7,
      trace_id: '5b8efff798038103d269b633813fc60c',
      span_id: 'eee19b7ec3c1b174',
      parent_id: null,
      status: { status_code: 'OK' },
      resource: { schema_url: 'https://opentelemetry.io/schemas/1.26.0' },
    });
    expect(stored.start_time).toBeCloseTo(1_700_000_000.123456, 5);
    expect(stored.end_time).toBeCloseTo(1_700_000_001.5, 6);
    expect(stored.attributes).toEqual({
      'request.model': 'tiny',
      'request.sampling.top_p': 0.9,
      mixed: '[1,"two"]',
      raw: 'cafe',
      huge: '9007199254740993',
      nan: 'NaN',
    });
  });

  it('accepts a gzip body', async () => {
    const rolloutId = await newRollout();
    const spans = recordSpans({ [ROLLOUT]: rolloutId }, (t) => t.startSpan('zipped').end());
    const res = await post(gzipSync(serialize('protobuf', spans)), {
      'content-type': CONTENT_TYPE.protobuf,
      'content-encoding': 'gzip',
    });
    expect(res.status).toBe(200);
    expect((await spansOf(rolloutId)).map((s) => s.name)).toEqual(['zipped']);
  });

  it('answers an empty export with an empty response', async () => {
    const res = await post(new Uint8Array(0), { 'content-type': CONTENT_TYPE.protobuf });
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toHaveLength(0);
  });

  describe('refusals store nothing', () => {
    let rolloutId: string;
    let validProtobuf: Uint8Array;
    beforeAll(async () => {
      rolloutId = await newRollout();
      validProtobuf = serialize(
        'protobuf',
        recordSpans({ [ROLLOUT]: rolloutId }, (t) => t.startSpan('never').end()),
      );
    });

    it.each([
      ['garbled protobuf', new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), CONTENT_TYPE.protobuf, {}],
      ['invalid JSON', '{"resourceSpans": [', CONTENT_TYPE.json, {}],
      ['JSON of the wrong shape', '{"resourceSpans": 5}', CONTENT_TYPE.json, {}],
      [
        'base64 ids in OTLP/JSON',
        JSON.stringify({
          resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'W47/95gDgQPSabYzgT/GDA==' }] }] }],
        }),
        CONTENT_TYPE.json,
        {},
      ],
      ['not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), CONTENT_TYPE.json, {}],
      [
        'a corrupt gzip body',
        new Uint8Array([0x1f, 0x8b, 0x08, 0, 1, 2, 3]),
        CONTENT_TYPE.protobuf,
        { 'content-encoding': 'gzip' },
      ],
    ] as const)('%s → 400', async (_label, body, contentType, extra) => {
      const res = await post(body, { 'content-type': contentType, ...extra });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    });

    it('a body nested past the depth limit → 400', async () => {
      let value: unknown = { stringValue: 'deep' };
      for (let i = 0; i < 60; i++) value = { kvlistValue: { values: [{ key: 'k', value }] } };
      const body = JSON.stringify({
        resourceSpans: [{ scopeSpans: [{ spans: [{ attributes: [{ key: 'deep', value }] }] }] }],
      });
      const res = await post(body, { 'content-type': CONTENT_TYPE.json });
      expect(res.status).toBe(400);
    });

    it.each([30, 100_000])('a protobuf body nesting %i kvlists → 400', async (depth) => {
      const res = await post(deeplyNestedProtobuf(depth), { 'content-type': CONTENT_TYPE.protobuf });
      expect(res.status).toBe(400);
    });

    it.each([
      ['text/plain', {}],
      ['application/grpc', {}],
      [CONTENT_TYPE.protobuf, { 'content-encoding': 'br' }],
    ] as const)('%s %j → 415', async (contentType, extra) => {
      const res = await post(validProtobuf, { 'content-type': contentType, ...extra });
      expect(res.status).toBe(415);
    });

    it('needs the token, and refuses a cross-site browser', async () => {
      const bare = await fetch(`${server.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': CONTENT_TYPE.protobuf },
        body: validProtobuf as BodyInit,
      });
      expect(bare.status).toBe(401);
      const crossSite = await post(validProtobuf, {
        'content-type': CONTENT_TYPE.protobuf,
        origin: 'https://attacker.example',
      });
      expect(crossSite.status).toBe(403);
    });

    it('a body over the limit → 413, compressed or not', async () => {
      // A server of its own with a small limit: a body far past the socket's buffers would be cut off
      // mid-write when the server answers early, and the next request on that connection would fail.
      const small = await listen(createApp({ store, token: TOKEN, maxJsonBytes: 16 * 1024 }));
      try {
        const postSmall = (body: Uint8Array, headers: Record<string, string>) =>
          fetch(`${small.url}/v1/traces`, {
            method: 'POST',
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': CONTENT_TYPE.protobuf, ...headers },
            body: body as BodyInit,
          });
        expect((await postSmall(new Uint8Array(20 * 1024), {})).status).toBe(413);
        // 1 MiB of zeros gzip to about 1 KiB: the limit holds for what the body expands to.
        const bomb = gzipSync(new Uint8Array(1024 * 1024));
        expect(bomb.length).toBeLessThan(4 * 1024);
        const res = await postSmall(bomb, { 'content-encoding': 'gzip' });
        expect(res.status).toBe(413);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
        // Under the limit, the same server stores.
        const other = await newRollout();
        const fits = serialize(
          'protobuf',
          recordSpans({ [ROLLOUT]: other }, (t) => t.startSpan('fits').end()),
        );
        expect((await postSmall(fits, { 'content-encoding': 'identity' })).status).toBe(200);
        expect((await spansOf(other)).map((s) => s.name)).toEqual(['fits']);
      } finally {
        await small.close();
      }
    });

    afterAll(async () => {
      expect(await spansOf(rolloutId)).toEqual([]);
    });
  });

  it.each(['/v1/metrics', '/v1/logs', '/v1/development/profiles'])('%s still answers 501', async (path) => {
    const res = await post(new Uint8Array(0), { 'content-type': CONTENT_TYPE.protobuf }, path);
    expect(res.status).toBe(501);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('/v1/agl/spans');
  });
});
