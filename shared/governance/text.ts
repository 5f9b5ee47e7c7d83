// Small text helpers shared by the rule checks: sentences, clause starts, words before a match.

export type Span = { start: number; end: number };

/** Sentence spans: a run of text ending in . ! ? or … followed by space, or a line break. */
export function sentenceSpans(text: string): Span[] {
  const spans: Span[] = [];
  const boundary = /[.!?…]+(?=\s|$)|\n+/g;
  let start = 0;
  for (let m = boundary.exec(text); m; m = boundary.exec(text)) {
    const end = m.index + m[0].length;
    if (end > start) spans.push({ start, end });
    start = end;
  }
  if (start < text.length) spans.push({ start, end: text.length });
  return spans;
}

/** Every non-empty match of a global regex in `text`, from the start (an empty match steps one on). */
export function* nonEmptyMatches(pattern: RegExp, text: string): Generator<RegExpExecArray> {
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    if (m[0].length === 0) {
      pattern.lastIndex++;
      continue;
    }
    yield m;
  }
}

/** The sentence containing `offset` (spans are sorted; binary search keeps long texts cheap). */
export function sentenceAt(spans: Span[], offset: number): Span {
  let lo = 0;
  let hi = spans.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (spans[mid].start <= offset) lo = mid;
    else hi = mid - 1;
  }
  return spans[lo] ?? { start: 0, end: 0 };
}

const CLAUSE_BREAK = /[,;:—–()]|\b(?:but|however|although|though|whereas)\b/gi;

/**
 * A text with its sentences and clause breaks found once, so every rule match asks for its sentence and
 * clause in O(log n) instead of rescanning from the sentence start (which made a long sentence full of
 * matches quadratic: `'5% '` × 40 KB took 10 s in compliance; issue 18).
 */
export interface IndexedText {
  text: string;
  sentences: Span[];
  /** Clause breaks (, ; : — – ( ) and but / however / although / though / whereas), in order. */
  breaks: Span[];
}

export function indexText(text: string): IndexedText {
  const breaks: Span[] = [];
  CLAUSE_BREAK.lastIndex = 0;
  for (let m = CLAUSE_BREAK.exec(text); m; m = CLAUSE_BREAK.exec(text))
    breaks.push({ start: m.index, end: m.index + m[0].length });
  return { text, sentences: sentenceSpans(text), breaks };
}

/** Where the clause holding `offset` begins: after the last clause break within its sentence. */
export function clauseStart(indexed: IndexedText, sentence: Span, offset: number): number {
  // The last break that ends at or before `offset` (binary search over the sorted breaks).
  const { breaks } = indexed;
  let lo = 0;
  let hi = breaks.length; // first break ending after offset
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (breaks[mid].end <= offset) lo = mid + 1;
    else hi = mid;
  }
  const last = breaks[lo - 1];
  return last && last.start >= sentence.start ? last.end : sentence.start;
}

/**
 * The last `count` words (lower-cased, apostrophes normalised) of `text[from, to)`. Reads back at most
 * 64 characters a word from `to`, so a clause of any length costs the same; a word cut by that window
 * is dropped rather than read as a shorter one.
 */
export function lastWords(text: string, count: number, from = 0, to = text.length): string[] {
  const windowStart = Math.max(from, to - 64 * count);
  let words: string[] =
    text
      .slice(windowStart, to)
      .toLowerCase()
      .replace(/’/g, "'")
      .match(/[\p{L}\p{N}']+/gu) ?? [];
  if (
    windowStart > from &&
    /[\p{L}\p{N}']/u.test(text[windowStart - 1] ?? '') &&
    /[\p{L}\p{N}']/u.test(text[windowStart])
  )
    words = words.slice(1);
  return words.slice(-count);
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * One case-insensitive regex matching any of `terms` on word boundaries; inside a term a space or a
 * hyphen matches either, so "production ready" finds "production-ready".
 */
export function termsPattern(terms: readonly string[]): RegExp | undefined {
  if (terms.length === 0) return undefined;
  const alternatives = [...terms]
    .sort((a, b) => b.length - a.length)
    .map((t) =>
      t
        .trim()
        .split(/[\s-]+/)
        .map(escapeRegExp)
        .join('[\\s\\u00a0-]+'),
    );
  return new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}])`, 'giu');
}
