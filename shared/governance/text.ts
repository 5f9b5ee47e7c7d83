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
  /**
   * Words (runs of letters, digits, apostrophes), in order, as parallel offset arrays (no object per
   * word): negation cues are read from here, not rescanned.
   */
  words: { starts: Int32Array; ends: Int32Array };
}

export function indexText(text: string): IndexedText {
  const breaks: Span[] = [];
  CLAUSE_BREAK.lastIndex = 0;
  for (let m = CLAUSE_BREAK.exec(text); m; m = CLAUSE_BREAK.exec(text))
    breaks.push({ start: m.index, end: m.index + m[0].length });
  return { text, sentences: sentenceSpans(text), breaks, words: indexWords(text) };
}

const WORD_CHAR = /[\p{L}\p{N}'’]/u;
/** ASCII word characters: letters, digits and the apostrophe (a table, not a regex test per character). */
const ASCII_WORD = new Uint8Array(128).map((_, code) =>
  /[A-Za-z0-9']/.test(String.fromCharCode(code)) ? 1 : 0,
);

function isWordCharAt(text: string, i: number): boolean {
  const code = text.charCodeAt(i);
  if (code < 128) return ASCII_WORD[code] === 1;
  return WORD_CHAR.test(String.fromCodePoint(text.codePointAt(i) ?? code));
}

/**
 * One pass over the text. A character loop into preallocated typed arrays: a regex exec per word
 * allocates a match per word, and growing plain arrays cost more than the scan (34k words: 6 ms vs 1 ms).
 */
function indexWords(text: string): { starts: Int32Array; ends: Int32Array } {
  const capacity = (text.length >> 1) + 1; // words are separated, so at most every other character starts one
  const starts = new Int32Array(capacity);
  const ends = new Int32Array(capacity);
  let count = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    // A low surrogate belongs to the code point before it.
    const code = text.charCodeAt(i);
    if (code >= 0xdc00 && code <= 0xdfff && i > 0) continue;
    const word = isWordCharAt(text, i);
    if (word && !inWord) starts[count] = i;
    else if (!word && inWord) ends[count++] = i;
    inWord = word;
  }
  if (inWord) ends[count++] = text.length;
  return { starts: starts.subarray(0, count), ends: ends.subarray(0, count) };
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

/** Longer words are read as their first this-many characters: no cue is longer, and a flood stays cheap. */
const WORD_CHARS = 64;

/**
 * The indices `[first, end)` into `indexed.words` of the words starting in `[from, to)`, by binary search:
 * a constant cost per match however long the clause (reading the clause text back per match made 100 KB
 * of `'5% '` cost 250 ms in compliance).
 */
export function wordsBetween(indexed: IndexedText, from: number, to: number): [number, number] {
  return [firstWordFrom(indexed.words.starts, from), firstWordFrom(indexed.words.starts, to)];
}

/** The index of the first word starting at or after `offset` (binary search). */
function firstWordFrom(starts: Int32Array, offset: number): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid] < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const lowered = new WeakMap<IndexedText, string[]>();

function readWord(text: string, start: number, until: number): string {
  return text
    .slice(start, Math.min(until, start + WORD_CHARS))
    .toLowerCase()
    .replace(/’/g, "'");
}

// No closures in these per-match helpers: under tsx (esbuild's keepNames) every closure created costs a
// defineProperty call, which made them 4× slower than the work they do.

/**
 * Word `i` lower-cased with apostrophes normalised, cut at `to` when the word runs past it. Each word is
 * lower-cased once per text (cached), so many matches reading the same words allocate nothing new.
 */
export function wordAt(indexed: IndexedText, i: number, to = indexed.text.length): string {
  const start = indexed.words.starts[i];
  const end = indexed.words.ends[i];
  if (end > to) return readWord(indexed.text, start, to);
  let cache = lowered.get(indexed);
  if (!cache) {
    cache = [];
    lowered.set(indexed, cache);
  }
  cache[i] ??= readWord(indexed.text, start, end);
  return cache[i];
}

/** The last `count` words of `text[from, to)`, as `wordAt` reads them. */
export function lastWords(indexed: IndexedText, count: number, from = 0, to = indexed.text.length): string[] {
  const [first, end] = wordsBetween(indexed, from, to);
  const words: string[] = [];
  for (let i = Math.max(first, end - count); i < end; i++) words.push(wordAt(indexed, i, to));
  return words;
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
