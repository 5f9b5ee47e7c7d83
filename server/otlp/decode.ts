import { z } from 'zod';
import { depthOf, MAX_JSON_DEPTH } from '../middleware/validate';
import { otlpTraceTypes } from './proto';

// An OTLP ExportTraceServiceRequest, from either encoding of OTLP/HTTP, into one shape: ids as
// lower-case hex, times as bigint nanoseconds, attributes as plain JSON values. Both encodings go
// through the same zod schema: a protobuf body is decoded by protobufjs into the object form of the
// message (camelCase names, longs as decimal strings, bytes as base64), which is OTLP/JSON except
// for the ids (base64 there, hex in OTLP/JSON), so only the id codec differs.
// https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding

/** An attribute value as plain JSON: OTLP's AnyValue without its wrapper. */
export type PlainValue = string | number | boolean | null | PlainValue[] | { [key: string]: PlainValue };
export type PlainAttributes = Record<string, PlainValue>;

export type OtlpStatus = { code: number; message: string };
export type OtlpEvent = { timeUnixNano: bigint; name: string; attributes: PlainAttributes };
export type OtlpLink = {
  traceId: string;
  spanId: string;
  traceState: string;
  flags: number;
  attributes: PlainAttributes;
};
export type OtlpSpan = {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: PlainAttributes;
  events: OtlpEvent[];
  links: OtlpLink[];
  status: OtlpStatus;
};
export type OtlpScopeSpans = {
  scope: { name: string; version: string; attributes: PlainAttributes } | null;
  schemaUrl: string;
  spans: OtlpSpan[];
};
export type OtlpResourceSpans = {
  resource: { attributes: PlainAttributes };
  schemaUrl: string;
  scopeSpans: OtlpScopeSpans[];
};
export type OtlpTraceRequest = { resourceSpans: OtlpResourceSpans[] };

/** A body that is not an ExportTraceServiceRequest; the route answers 400 with this message. */
export class OtlpDecodeError extends Error {
  constructor(
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Scalars of the proto3 JSON mapping.

/** 64-bit integers arrive as decimal strings (the proto3 JSON rule) or, from lax encoders, as numbers. */
const UInt64 = z
  .union([
    z.string().regex(/^\d{1,20}$/, 'not a decimal integer'),
    z.number().nonnegative().refine(Number.isInteger),
  ])
  .transform((v) => BigInt(v));

/** Enums as their number (OTLP/JSON's rule) or, leniently, their name. */
function enumOf(names: readonly string[]) {
  return z.union([
    z.number().int(),
    z.enum(names as [string, ...string[]]).transform((name) => names.indexOf(name)),
  ]);
}
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'] as const;
const SPAN_KINDS = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
] as const;

const hexId = z
  .string()
  .regex(/^(?:[0-9a-fA-F]{2})*$/, 'ids are hex strings in OTLP/JSON')
  .transform((s) => s.toLowerCase());
const base64Id = z.string().transform((s) => Buffer.from(s, 'base64').toString('hex'));

// ---------------------------------------------------------------------------------------------
// AnyValue → plain JSON value. Walked by hand, not by a recursive zod schema: attribute values are
// most of a request, and the schema took ~10× the time of the protobuf decode itself (about 250 ms
// against 25 ms for 500 spans). The depth is bounded before this runs (validate below).

const INT64 = /^-?\d{1,20}$/;
const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

/** A malformed value, with its path below the attribute list it was found in. */
class ValueError extends Error {
  constructor(
    message: string,
    readonly path: (string | number)[],
  ) {
    super(message);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function int64Value(value: unknown, path: (string | number)[]): number | string {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value !== 'string' || !INT64.test(value))
    throw new ValueError('intValue is not an integer', path);
  const big = BigInt(value);
  // Beyond 2^53 a number would silently change the value: keep the decimal text.
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(big)
    : value;
}

function plainValue(value: unknown, path: (string | number)[]): PlainValue {
  if (value === undefined || value === null) return null;
  if (!isRecord(value)) throw new ValueError('an AnyValue is an object', path);
  const { stringValue, boolValue, intValue, doubleValue, arrayValue, kvlistValue, bytesValue } = value;
  if (stringValue !== undefined) {
    if (typeof stringValue !== 'string') throw new ValueError('stringValue is not a string', path);
    return stringValue;
  }
  if (boolValue !== undefined) {
    if (typeof boolValue !== 'boolean') throw new ValueError('boolValue is not a boolean', path);
    return boolValue;
  }
  if (intValue !== undefined) return int64Value(intValue, path);
  if (doubleValue !== undefined) {
    // Non-finite doubles stay text: JSON (and the store) has no number for them.
    if (typeof doubleValue === 'number')
      return Number.isFinite(doubleValue) ? doubleValue : String(doubleValue);
    if (typeof doubleValue === 'string' && NON_FINITE.has(doubleValue)) return doubleValue;
    throw new ValueError('doubleValue is not a number', path);
  }
  if (arrayValue !== undefined) {
    if (!isRecord(arrayValue)) throw new ValueError('arrayValue is not an object', path);
    const values = arrayValue.values ?? [];
    if (!Array.isArray(values)) throw new ValueError('arrayValue.values is not an array', path);
    return values.map((v, i) => plainValue(v, [...path, 'arrayValue', 'values', i]));
  }
  if (kvlistValue !== undefined) {
    if (!isRecord(kvlistValue)) throw new ValueError('kvlistValue is not an object', path);
    return keyValues(kvlistValue.values ?? [], [...path, 'kvlistValue', 'values']);
  }
  if (bytesValue !== undefined) {
    if (typeof bytesValue !== 'string') throw new ValueError('bytesValue is not base64 text', path);
    // Bytes as hex, as Agent Lightning's OTLP receiver stores them.
    return Buffer.from(bytesValue, 'base64').toString('hex');
  }
  // An empty AnyValue (or string_value_strindex, which only profiles use) is no value.
  return null;
}

/** A repeated KeyValue as a record; a repeated key keeps its last value. */
function keyValues(pairs: unknown, path: (string | number)[]): PlainAttributes {
  if (!Array.isArray(pairs)) throw new ValueError('attributes are an array of KeyValue', path);
  const out: PlainAttributes = {};
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i];
    if (!isRecord(pair)) throw new ValueError('a KeyValue is an object', [...path, i]);
    const key = pair.key ?? '';
    if (typeof key !== 'string') throw new ValueError('a KeyValue key is a string', [...path, i, 'key']);
    out[key] = plainValue(pair.value, [...path, i, 'value']);
  }
  return out;
}

const KeyValues = z
  .unknown()
  .optional()
  .transform((pairs, ctx): PlainAttributes => {
    try {
      return keyValues(pairs ?? [], []);
    } catch (error) {
      if (!(error instanceof ValueError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message, path: error.path });
      return z.NEVER;
    }
  });

// ---------------------------------------------------------------------------------------------
// The request, for one id codec.

function traceRequestSchema(id: z.ZodType<string, string>) {
  const optionalId = id.optional().transform((v) => v ?? '');
  const Event = z.object({
    timeUnixNano: UInt64.default(0n),
    name: z.string().default(''),
    attributes: KeyValues,
  });
  const Link = z.object({
    traceId: optionalId,
    spanId: optionalId,
    traceState: z.string().default(''),
    flags: z.number().int().nonnegative().default(0),
    attributes: KeyValues,
  });
  const Span = z.object({
    traceId: optionalId,
    spanId: optionalId,
    parentSpanId: optionalId,
    traceState: z.string().default(''),
    flags: z.number().int().nonnegative().default(0),
    name: z.string().default(''),
    kind: enumOf(SPAN_KINDS).default(0),
    startTimeUnixNano: UInt64.default(0n),
    endTimeUnixNano: UInt64.default(0n),
    attributes: KeyValues,
    events: z.array(Event).default([]),
    links: z.array(Link).default([]),
    status: z
      .object({ code: enumOf(STATUS_CODES).default(0), message: z.string().default('') })
      .default({ code: 0, message: '' }),
  });
  const ScopeSpans = z.object({
    scope: z
      .object({ name: z.string().default(''), version: z.string().default(''), attributes: KeyValues })
      .nullable()
      .default(null),
    schemaUrl: z.string().default(''),
    spans: z.array(Span).default([]),
  });
  const ResourceSpans = z.object({
    resource: z.object({ attributes: KeyValues }).default({ attributes: {} }),
    schemaUrl: z.string().default(''),
    scopeSpans: z.array(ScopeSpans).default([]),
  });
  return z.object({ resourceSpans: z.array(ResourceSpans).default([]) });
}

const JsonTraceRequest = traceRequestSchema(hexId);
const ProtobufTraceRequest = traceRequestSchema(base64Id);

function validate(schema: z.ZodType<OtlpTraceRequest>, value: unknown): OtlpTraceRequest {
  // Measured without recursion before the (recursive) schema walks it.
  if (depthOf(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
    throw new OtlpDecodeError(`the request nests more than ${MAX_JSON_DEPTH} levels deep`);
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 20).map((issue) => ({
      loc: issue.path.map((p) => (typeof p === 'number' ? p : String(p))),
      msg: issue.message,
    }));
    const first = issues[0];
    throw new OtlpDecodeError(
      `not an OTLP ExportTraceServiceRequest${first ? `: ${first.loc.join('.')}: ${first.msg}` : ''}`,
      issues,
    );
  }
  return parsed.data;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** OTLP/JSON (`application/json`). An empty body is an empty request, as OTLP receivers accept. */
export function decodeJsonTraces(bytes: Uint8Array): OtlpTraceRequest {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new OtlpDecodeError('the request body is not valid UTF-8');
  }
  if (text.trim() === '') return { resourceSpans: [] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new OtlpDecodeError(`the request body is not valid JSON: ${(error as Error).message}`);
  }
  return validate(JsonTraceRequest, value);
}

/** OTLP/protobuf (`application/x-protobuf`): a binary ExportTraceServiceRequest. */
export function decodeProtobufTraces(bytes: Uint8Array): OtlpTraceRequest {
  if (bytes.length === 0) return { resourceSpans: [] };
  const { request } = otlpTraceTypes();
  let object: unknown;
  try {
    object = request.toObject(request.decode(bytes), {
      longs: String,
      enums: Number,
      bytes: String,
      defaults: false,
    });
  } catch (error) {
    // Truncated or garbled bytes, wrong wire types, or nesting deep enough to exhaust the stack.
    throw new OtlpDecodeError(
      `the request body is not an OTLP protobuf message: ${(error as Error).message}`,
    );
  }
  return validate(ProtobufTraceRequest, object);
}
