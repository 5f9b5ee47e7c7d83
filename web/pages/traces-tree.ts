import type { Span } from '../../shared/store/types';

// The span tree of one attempt, flattened in display order (depth-first, siblings by sequence), with
// each span's place on the attempt's timeline as fractions for a waterfall.

export type WaterfallRow = { span: Span; depth: number; offset: number; width: number };

export function waterfall(spans: readonly Span[]): WaterfallRow[] {
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<string | null, Span[]>();
  for (const span of spans) {
    const parent = span.parent_id && ids.has(span.parent_id) ? span.parent_id : null;
    const list = children.get(parent) ?? [];
    list.push(span);
    children.set(parent, list);
  }
  const times = spans.flatMap((s) => [s.start_time, s.end_time]).filter((t): t is number => t !== null);
  const t0 = times.length ? Math.min(...times) : 0;
  const t1 = times.length ? Math.max(...times) : 0;
  const range = t1 - t0 || 1;
  const rows: WaterfallRow[] = [];
  const visit = (parent: string | null, depth: number) => {
    const list = (children.get(parent) ?? []).sort((a, b) => a.sequence_id - b.sequence_id);
    for (const span of list) {
      const start = span.start_time ?? t0;
      const end = span.end_time ?? start;
      rows.push({ span, depth, offset: (start - t0) / range, width: (end - start) / range });
      if (depth < 32) visit(span.span_id, depth + 1);
    }
  };
  visit(null, 0);
  return rows;
}
