// The spans the server adds to a feedback item's rollout (outcome, delivery), as children of the
// decision they are about. Their span ids are derived from what they record, so writing one twice (a
// restart that replays the change feed, a retry after a crash) stores it once: the store skips a span
// whose (rollout, attempt, span id) it already has.
import { createHash } from 'node:crypto';
import type { Attributes, SpanInput } from '../../shared/store/types';

/** Where a decision span sits: the server's spans about it go beside it, on the same attempt and trace. */
export type DecisionPlace = {
  rollout_id: string;
  attempt_id: string;
  span_id: string;
  trace_id: string;
};

/** 16 hex characters (an OpenTelemetry span id) derived from `parts`. */
export function derivedSpanId(...parts: (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);
}

export function childSpan(
  place: DecisionPlace,
  name: string,
  spanId: string,
  attributes: Attributes,
  times: { start: number; end: number; error?: string },
): SpanInput {
  return {
    rollout_id: place.rollout_id,
    attempt_id: place.attempt_id,
    trace_id: place.trace_id,
    parent_id: place.span_id,
    span_id: spanId,
    name,
    attributes,
    start_time: times.start,
    end_time: times.end,
    status: times.error ? { status_code: 'ERROR', description: times.error } : { status_code: 'OK' },
  };
}

/** 32 hex characters (an OpenTelemetry trace id) derived from `parts`. */
export function derivedTraceId(...parts: (string | number)[]): string {
  return createHash('sha256')
    .update(['trace', ...parts].join('\u0000'))
    .digest('hex')
    .slice(0, 32);
}
