// Splits a text into segments from character offsets so marks can be rendered as plain text nodes
// inside spans: never as HTML, so a feedback containing markup shows as the characters it is.

export type Mark = { start: number; end: number; kind: 'pii' | 'violation'; label: string };
export type Segment = { text: string; start: number; marks: Mark[] };

export function segmentText(text: string, marks: readonly Mark[]): Segment[] {
  const valid = marks.filter((m) => m.start >= 0 && m.end <= text.length && m.start < m.end);
  const cuts = new Set<number>([0, text.length]);
  for (const m of valid) {
    cuts.add(m.start);
    cuts.add(m.end);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const segments: Segment[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const start = points[i];
    const end = points[i + 1];
    segments.push({
      text: text.slice(start, end),
      start,
      marks: valid.filter((m) => m.start <= start && m.end >= end),
    });
  }
  return segments;
}
