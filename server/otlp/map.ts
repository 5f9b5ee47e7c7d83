import { flattenAttributes, RESOURCE_ATTR } from '../../shared/agent/semconv';
import type { LightningStore } from '../../shared/store/store';
import {
  type Attributes,
  type SpanContext,
  SpanInput,
  StoreId,
  type TraceStatus,
} from '../../shared/store/types';
import type { OtlpLink, OtlpSpan, OtlpTraceRequest, PlainValue } from './decode';

// Decoded OTLP spans → the store's SpanInput, as Agent Lightning v0.3's receiver maps them
// (agentlightning/utils/otlp.py, spans_from_proto): the rollout and attempt come from the
// `agentlightning.*` resource attributes (a span attribute of the same name wins), ids become hex,
// times seconds. Where edgelight differs: the store keeps flat attributes, so kvlists are flattened to
// dotted keys and mixed arrays stored as JSON text (flattenAttributes, as the runners' spans); a span
// without an attempt id goes to the rollout's latest attempt; and a span that cannot be stored is
// counted as rejected (OTLP partial success) instead of being dropped with a log line.

export type MappedTraces = {
  /** Spans ready for `addSpans`: their rollout and attempt exist. */
  spans: SpanInput[];
  /** How many spans of the request will not be stored. */
  rejected: number;
  /** Why, summarised for ExportTracePartialSuccess.error_message ('' when none was rejected). */
  errorMessage: string;
};

type SpanLookup = Pick<LightningStore, 'getRolloutById' | 'queryAttempts'>;

/** A rollout as the mapping needs it: its latest attempt and, once asked, all its attempt ids. */
type RolloutTarget = { latestAttemptId: string | null; attemptIds?: Set<string> };

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO = /^0+$/;
/** At most this many distinct reasons are spelled out in the error message. */
const MAX_REASONS = 5;

// Span.flags and Link.flags (trace.proto, SpanFlags): bits 8 and 9 say whether the parent (or the
// linked) context is known to be remote.
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

export async function mapTraces(request: OtlpTraceRequest, store: SpanLookup): Promise<MappedTraces> {
  const spans: SpanInput[] = [];
  const reasons = new Map<string, number>();
  let rejected = 0;
  const reject = (reason: string) => {
    rejected++;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  };
  const rollouts = new Map<string, Promise<RolloutTarget | null>>();
  const rolloutTarget = (rolloutId: string) => {
    let target = rollouts.get(rolloutId);
    if (!target) {
      target = store
        .getRolloutById(rolloutId)
        .then((r) => (r ? { latestAttemptId: r.attempt?.attempt_id ?? null } : null));
      rollouts.set(rolloutId, target);
    }
    return target;
  };

  for (const resourceSpans of request.resourceSpans) {
    const resourceAttrs = resourceSpans.resource.attributes;
    const resource = {
      attributes: flattenAttributes(resourceAttrs),
      schema_url: resourceSpans.schemaUrl,
    };
    for (const scopeSpans of resourceSpans.scopeSpans) {
      for (const span of scopeSpans.spans) {
        const pick = (key: string) => span.attributes[key] ?? resourceAttrs[key];
        const rolloutId = idText(pick(RESOURCE_ATTR.rolloutId));
        if (rolloutId === null) {
          reject(`no ${RESOURCE_ATTR.rolloutId} resource attribute`);
          continue;
        }
        if (!StoreId.safeParse(rolloutId).success) {
          reject(`${RESOURCE_ATTR.rolloutId} '${rolloutId.slice(0, 60)}' is not a valid id`);
          continue;
        }
        if (!TRACE_ID.test(span.traceId) || ZERO.test(span.traceId)) {
          reject('trace id is not 16 non-zero bytes');
          continue;
        }
        if (!SPAN_ID.test(span.spanId) || ZERO.test(span.spanId)) {
          reject('span id is not 8 non-zero bytes');
          continue;
        }
        const target = await rolloutTarget(rolloutId);
        if (!target) {
          reject(`unknown rollout ${rolloutId}`);
          continue;
        }
        const attemptId = await resolveAttempt(
          store,
          rolloutId,
          target,
          idText(pick(RESOURCE_ATTR.attemptId)),
        );
        if (typeof attemptId !== 'string') {
          reject(attemptId.reason);
          continue;
        }
        const input = spanInput(
          span,
          rolloutId,
          attemptId,
          sequenceId(pick(RESOURCE_ATTR.spanSequenceId)),
          resource,
        );
        // Checked one by one: addSpans refuses the whole batch for one span it cannot store.
        const checked = SpanInput.safeParse(input);
        if (!checked.success) {
          reject(`span does not fit the store: ${checked.error.issues[0]?.message ?? 'invalid'}`);
          continue;
        }
        spans.push(input);
      }
    }
  }
  return { spans, rejected, errorMessage: summarise(rejected, reasons) };
}

async function resolveAttempt(
  store: SpanLookup,
  rolloutId: string,
  target: RolloutTarget,
  attemptId: string | null,
): Promise<string | { reason: string }> {
  if (attemptId === null) {
    return target.latestAttemptId ?? { reason: `rollout ${rolloutId} has no attempt yet` };
  }
  if (attemptId === target.latestAttemptId) return attemptId;
  if (!StoreId.safeParse(attemptId).success)
    return { reason: `${RESOURCE_ATTR.attemptId} '${attemptId.slice(0, 60)}' is not a valid id` };
  if (!target.attemptIds) {
    const attempts = await store.queryAttempts(rolloutId);
    target.attemptIds = new Set(attempts.items.map((a) => a.attempt_id));
  }
  return target.attemptIds.has(attemptId)
    ? attemptId
    : { reason: `unknown attempt ${attemptId} of rollout ${rolloutId}` };
}

function spanInput(
  span: OtlpSpan,
  rolloutId: string,
  attemptId: string,
  sequenceId: number | undefined,
  resource: { attributes: Attributes; schema_url: string },
): SpanInput {
  const parentId = span.parentSpanId === '' || ZERO.test(span.parentSpanId) ? null : span.parentSpanId;
  return {
    rollout_id: rolloutId,
    attempt_id: attemptId,
    // Absent: addSpans issues the next one of the rollout's counter (getNextSpanSequenceId's), in the
    // same transaction as the insert.
    ...(sequenceId !== undefined ? { sequence_id: sequenceId } : {}),
    trace_id: span.traceId,
    span_id: span.spanId,
    parent_id: parentId,
    name: span.name,
    status: status(span.status),
    attributes: flattenAttributes(span.attributes),
    events: span.events.map((event) => ({
      name: event.name,
      attributes: flattenAttributes(event.attributes),
      timestamp: seconds(event.timeUnixNano),
    })),
    links: span.links.map(link),
    start_time: seconds(span.startTimeUnixNano),
    end_time: seconds(span.endTimeUnixNano),
    context: context(span.traceId, span.spanId, span.traceState, false),
    parent: parentId === null ? null : context(span.traceId, parentId, '', remote(span.flags)),
    resource,
  };
}

function link(l: OtlpLink) {
  const attributes = flattenAttributes(l.attributes);
  return {
    context: context(l.traceId, l.spanId, l.traceState, remote(l.flags)),
    attributes: Object.keys(attributes).length > 0 ? attributes : null,
  };
}

function context(traceId: string, spanId: string, traceState: string, isRemote: boolean): SpanContext {
  return {
    trace_id: traceId,
    span_id: spanId,
    is_remote: isRemote,
    trace_state: parseTraceState(traceState),
  };
}

function remote(flags: number): boolean {
  return (flags & HAS_IS_REMOTE) !== 0 && (flags & IS_REMOTE) !== 0;
}

const STATUS_CODES = ['UNSET', 'OK', 'ERROR'] as const;

function status(s: { code: number; message: string }): TraceStatus {
  return { status_code: STATUS_CODES[s.code] ?? 'UNSET', description: s.message === '' ? null : s.message };
}

/** Unix nanoseconds → the store's seconds; 0 is OTLP's "not set". */
export function seconds(nanos: bigint): number | null {
  if (nanos === 0n) return null;
  // Whole microseconds first, so the float division keeps what a double can hold of the rest.
  return Number(nanos / 1000n) / 1e6;
}

/** W3C `tracestate` (`vendor=value,other=value`) as a record; malformed members are skipped. */
function parseTraceState(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const member of header.split(',')) {
    const eq = member.indexOf('=');
    if (eq <= 0) continue;
    const key = member.slice(0, eq).trim();
    if (key) out[key] = member.slice(eq + 1).trim();
  }
  return out;
}

/** An id attribute as text (Agent Lightning applies `str()`); null when absent or not a scalar. */
function idText(value: PlainValue | undefined): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

/** `agentlightning.span_sequence_id` when it is a positive integer; otherwise the store issues one. */
function sequenceId(value: PlainValue | undefined): number | undefined {
  const text = idText(value ?? null);
  if (text === null || !/^\d{1,15}$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return n >= 1 ? n : undefined;
}

function summarise(rejected: number, reasons: Map<string, number>): string {
  if (rejected === 0) return '';
  const listed = [...reasons].slice(0, MAX_REASONS).map(([reason, n]) => `${n} × ${reason}`);
  const more = reasons.size > MAX_REASONS ? `; and ${reasons.size - MAX_REASONS} more reasons` : '';
  return `${rejected} span${rejected === 1 ? '' : 's'} rejected: ${listed.join('; ')}${more}`;
}
