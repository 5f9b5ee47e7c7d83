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

/** Where the clause holding `offset` begins: after the last , ; : — or "but" within the sentence. */
export function clauseStart(text: string, sentence: Span, offset: number): number {
  const before = text.slice(sentence.start, offset);
  let cut = -1;
  const breaks = /[,;:—–()]|\b(?:but|however|although|though|whereas)\b/gi;
  for (let m = breaks.exec(before); m; m = breaks.exec(before)) cut = m.index + m[0].length;
  return sentence.start + Math.max(cut, 0);
}

/** The last `count` words (lower-cased, apostrophes normalised) of `text`. */
export function lastWords(text: string, count: number): string[] {
  const words =
    text
      .toLowerCase()
      .replace(/’/g, "'")
      .match(/[\p{L}\p{N}']+/gu) ?? [];
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
