// Normalisation before recognition. PII is often disguised by the way it is typed: fullwidth or
// Arabic-Indic digits, a zero-width space inside an address, an en dash in an SSN, "jane at example
// dot org". The recognisers read a normalised copy of the text and every finding is mapped back to
// the exact original characters, so redaction replaces what the user wrote, disguise included.
//
// Two linear passes:
// 1. characters: Unicode NFKC per segment (a character with its combining marks), decimal digits of
//    every script to ASCII 0–9, format characters (zero-width space/joiners, word joiner, BOM, soft
//    hyphen, bidi controls) and variation selectors removed, dash variants to '-', ideographic full
//    stops to '.'. Pure-ASCII text skips this pass.
// 2. spelled-out e-mail addresses ("jane at example dot org", "jane [at] example [dot] org",
//    "jane (at) example (dot) co (dot) uk", "jane @ example.com") rewritten to "jane@example.org",
//    only where the whole shape is an address: a local part, an at-form, a domain label, at least one
//    dot-form and a top-level domain; plain " at " + " dot " also needs a known TLD and a domain label
//    that is not a determiner ("looked at the dot in the corner" is prose).
//
// Each normalised character carries the original [start, end) it came from; a finding [s, e) maps to
// [from[s], to[e - 1]), which covers every original character in between, removed ones included.

export type NormalizedText = {
  /** The text the recognisers read. */
  text: string;
  /** True when `text` is the original and offsets need no mapping. */
  identity: boolean;
  /** The original [start, end) of normalised [start, end). */
  toOriginal(start: number, end: number): { start: number; end: number };
};

/** Growable pair of offset arrays: normalised index → original [from, to). */
class OffsetMap {
  from: Int32Array;
  to: Int32Array;
  length = 0;
  constructor(capacity: number) {
    this.from = new Int32Array(Math.max(16, capacity));
    this.to = new Int32Array(Math.max(16, capacity));
  }
  push(from: number, to: number): void {
    if (this.length === this.from.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.from = grow(this.from);
      this.to = grow(this.to);
    }
    this.from[this.length] = from;
    this.to[this.length] = to;
    this.length++;
  }
}

const NON_ASCII = /[^\x00-\x7f]/;
const DECIMAL_DIGIT = /\p{Nd}/u;
const COMBINING = /\p{M}/u;
const FORMAT = /\p{Cf}/u;
const DASH = /\p{Pd}/u;
/** Combining marks joined to one segment at most (a flood of marks is split, not sorted at once). */
const MAX_MARKS = 16;
const MAX_CACHE = 8192;

const nfkcCache = new Map<string, string>();
const digitCache = new Map<number, number>();

const isDecimalDigit = (cp: number) => DECIMAL_DIGIT.test(String.fromCodePoint(cp));

/**
 * The value of a decimal digit of any script. Unicode keeps each decimal digit set as one contiguous
 * run 0..9 and a maximal run of consecutive digits is whole sets, so the value is the distance from
 * the run's start modulo 10.
 */
export function digitValue(cp: number): number {
  if (cp >= 48 && cp <= 57) return cp - 48;
  let value = digitCache.get(cp);
  if (value === undefined) {
    let zero = cp;
    while (zero > 0 && isDecimalDigit(zero - 1)) zero--;
    value = (cp - zero) % 10;
    if (digitCache.size < MAX_CACHE) digitCache.set(cp, value);
  }
  return value;
}

/** Removed outright: format characters, variation selectors, the combining grapheme joiner. */
function invisible(cp: number, ch: string): boolean {
  return (cp >= 0xfe00 && cp <= 0xfe0f) || cp === 0x034f || FORMAT.test(ch);
}

/** One normalised character after NFKC: digits of any script to ASCII, dashes to '-'. */
function fold(ch: string): string {
  const code = ch.charCodeAt(0);
  if (code < 0x80) return ch;
  const cp = ch.codePointAt(0) ?? code;
  if (DECIMAL_DIGIT.test(ch)) return String.fromCharCode(48 + digitValue(cp));
  if (cp === 0x2212 || DASH.test(ch)) return '-';
  if (cp === 0x3002 || cp === 0xff61) return '.';
  if (invisible(cp, ch)) return '';
  return ch;
}

function nfkc(segment: string): string {
  let out = nfkcCache.get(segment);
  if (out === undefined) {
    out = '';
    for (const ch of segment.normalize('NFKC')) out += fold(ch);
    if (nfkcCache.size < MAX_CACHE && segment.length <= 4) nfkcCache.set(segment, out);
  }
  return out;
}

/** 1: a combining mark, 2: not (filled lazily, BMP only). */
let markTable: Uint8Array | undefined;
/** The replacement of a lone BMP character (filled lazily). */
let foldTable: (string | undefined)[] | undefined;

function isMarkUnit(code: number): boolean {
  if (code < 0x300) return false;
  if (code >= 0xd800 && code <= 0xdfff) return false; // astral marks are read as their own segment
  markTable ??= new Uint8Array(0x10000);
  let known = markTable[code];
  if (known === 0) {
    known = COMBINING.test(String.fromCharCode(code)) ? 1 : 2;
    markTable[code] = known;
  }
  return known === 1;
}

/** The normalised form of a lone character (no combining marks after it). */
function foldSingle(code: number, ch: string): string {
  if (code >= 0xd800 && code <= 0xdfff) return foldSegment(ch);
  foldTable ??= new Array<string | undefined>(0x10000);
  let out = foldTable[code];
  if (out === undefined) {
    out = foldSegment(ch);
    foldTable[code] = out;
  }
  return out;
}

function foldSegment(segment: string): string {
  const cp = segment.codePointAt(0) ?? 0;
  if (segment.length === (cp > 0xffff ? 2 : 1)) {
    if (invisible(cp, segment)) return '';
    if (DECIMAL_DIGIT.test(segment)) return String.fromCharCode(48 + digitValue(cp));
  }
  return nfkc(segment);
}

/** Pass 1. Returns null when nothing changes. */
function normalizeCharacters(text: string): { text: string; map: OffsetMap } | null {
  if (!NON_ASCII.test(text)) return null;
  const map = new OffsetMap(text.length + 16);
  let out = '';
  let changed = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    // A run of ASCII is copied as is.
    let j = i;
    while (j < n && text.charCodeAt(j) < 0x80) j++;
    // A combining mark after an ASCII letter joins it in one segment ("e\u0301" → "é").
    if (j < n && j > i && isMarkUnit(text.charCodeAt(j))) j--;
    if (j > i) {
      out += text.slice(i, j);
      for (let k = i; k < j; k++) map.push(k, k + 1);
      i = j;
      if (i >= n) break;
    }
    const code = text.charCodeAt(i);
    const width = code >= 0xd800 && code <= 0xdbff && i + 1 < n ? 2 : 1;
    let end = i + width;
    let marks = 0;
    while (end < n && marks < MAX_MARKS && isMarkUnit(text.charCodeAt(end))) {
      end++;
      marks++;
    }
    const original = text.slice(i, end);
    const replacement = end - i === 1 ? foldSingle(code, original) : foldSegment(original);
    if (replacement !== original) changed = true;
    out += replacement;
    for (let k = 0; k < replacement.length; k++) map.push(i, end);
    i = end;
  }
  return changed ? { text: out, map } : null;
}

// ---- pass 2: spelled-out e-mail addresses ---------------------------------------------------------

/** At-forms: "[at]", "(at)", "{at}", "<at>" (also with '@' inside), a bare word "at", or '@'. */
const AT_ANCHOR = /[[({<] {0,2}(?:at|@) {0,2}[\])}>]|\bat\b|@/gi;
/** Dot-forms after a domain label: '.', " dot ", "[dot]", "(.)" and the like. */
const DOT_FORM = /\s{1,3}dot\s{1,3}|\s{0,3}[[({<] {0,2}(?:dot|\.) {0,2}[\])}>]\s{0,3}|\./iy;
/** A dot-form ending right before a position (for local parts written "jane dot doe"). */
const DOT_BEFORE = /(?:\s{1,3}dot\s{1,3}|\s{0,3}[[({<] {0,2}(?:dot|\.) {0,2}[\])}>]\s{0,3})$/i;
const LABEL = /[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?/y;
const LOCAL_CHAR = /[A-Za-z0-9._%+'-]/;
const WORD_CHAR = /[\p{L}\p{N}_]/u;
const MAX_LOCAL = 64;
const MAX_LABELS = 6;

/** Top-level domains accepted after a plain " dot ": generic ones and every two-letter country code. */
const GENERIC_TLDS = new Set(
  'com org net edu gov mil int info biz name pro io ai app dev co me tv xyz online site tech store shop blog cloud email mail live news page club design agency studio media digital solutions services systems network global world today group company work travel museum jobs mobi aero coop asia cat tel post academy art bank law health school university africa berlin london nyc paris tokyo wales scot eus quebec gal'.split(
    ' ',
  ),
);
/**
 * Two-letter words of English prose; as a TLD after a plain " dot " they need a stronger form.
 * "in" and "it" are left out: India's and Italy's addresses are spelled "dot in" and "dot it" often.
 */
const PROSE_TLDS = new Set('am an as at be by do go he hi if is me my no of on or so to up us we'.split(' '));
/** Domain labels that are words of prose, never a mail domain after a plain "at". */
const PROSE_LABELS = new Set(
  'the a an this that these those it its my your our their his her each every any some one no which what home least last first once all all night noon work school'.split(
    ' ',
  ),
);

const addressSide = (ch: string | undefined) =>
  ch !== undefined && (ch === ' ' || ch === '\t' || LOCAL_CHAR.test(ch));

const SPELLED_DOT = /dot|[[({<]/i;
/** A "dot" or a bracket within an address's reach of the '@' at `at`. */
function spelledNear(text: string, at: number): boolean {
  return (
    SPELLED_DOT.test(text.slice(at + 1, at + 1 + 80)) || /dot/i.test(text.slice(Math.max(0, at - 24), at))
  );
}

type Rewrite = { start: number; end: number; pieces: { text: string; start: number; end: number }[] };

/** The spelled-out address around the at-form [a, b) of `text`, if the whole shape is one. */
function spelledEmail(text: string, a: number, b: number, minStart: number): Rewrite | null {
  const form = text.slice(a, b);
  const literalAt = form === '@';
  const bracketed = form.length > 2;
  // Spaces around the at-form: a bare "at" needs them, '@' takes none or some on both sides.
  let left = a;
  while (left > minStart && a - left < 3 && (text[left - 1] === ' ' || text[left - 1] === '\t')) left--;
  let right = b;
  while (right < text.length && right - b < 3 && (text[right] === ' ' || text[right] === '\t')) right++;
  const spacedLeft = left < a;
  const spacedRight = right > b;
  if (!bracketed && !literalAt && (!spacedLeft || !spacedRight)) return null;
  if (literalAt && spacedLeft !== spacedRight) return null;
  // Local part: word characters of an address, then "dot" forms joining more of them.
  const pieces: Rewrite['pieces'] = [];
  let localStart = left;
  while (localStart > minStart && left - localStart < MAX_LOCAL && LOCAL_CHAR.test(text[localStart - 1]))
    localStart--;
  while (localStart < left && text[localStart] === '.') localStart++;
  if (localStart === left || WORD_CHAR.test(text[localStart - 1] ?? '') || text[localStart - 1] === '@')
    return null;
  const localPieces = [{ text: text.slice(localStart, left), start: localStart, end: left }];
  let spelledLocal = false;
  for (let k = 0; k < 3; k++) {
    // Cheap test first: a dot-form ends in "dot"/"DOT" or a closing bracket, then spaces.
    let back = localStart;
    while (back > minStart && localStart - back < 3 && (text[back - 1] === ' ' || text[back - 1] === '\t'))
      back--;
    const last = text[back - 1];
    if (last !== 't' && last !== 'T' && last !== ']' && last !== ')' && last !== '}' && last !== '>') break;
    const head = text.slice(Math.max(minStart, localStart - 16), localStart);
    const dot = DOT_BEFORE.exec(head);
    if (!dot) break;
    const dotStart = localStart - dot[0].length;
    let wordStart = dotStart;
    while (wordStart > minStart && dotStart - wordStart < MAX_LOCAL && LOCAL_CHAR.test(text[wordStart - 1]))
      wordStart--;
    if (wordStart === dotStart || WORD_CHAR.test(text[wordStart - 1] ?? '')) break;
    localPieces.unshift(
      { text: text.slice(wordStart, dotStart), start: wordStart, end: dotStart },
      { text: '.', start: dotStart, end: localStart },
    );
    localStart = wordStart;
    spelledLocal = true;
  }
  // Domain: labels joined by dot-forms.
  const labels: { start: number; end: number }[] = [];
  const dots: { start: number; end: number; spelled: boolean }[] = [];
  LABEL.lastIndex = right;
  let m = LABEL.exec(text);
  if (!m) return null;
  labels.push({ start: right, end: right + m[0].length });
  let at = right + m[0].length;
  while (labels.length < MAX_LABELS) {
    DOT_FORM.lastIndex = at;
    const d = DOT_FORM.exec(text);
    if (!d) break;
    LABEL.lastIndex = at + d[0].length;
    m = LABEL.exec(text);
    if (!m) break;
    dots.push({ start: at, end: at + d[0].length, spelled: d[0] !== '.' });
    labels.push({ start: LABEL.lastIndex - m[0].length, end: LABEL.lastIndex });
    at = LABEL.lastIndex;
  }
  if (dots.length === 0) return null;
  const end = labels[labels.length - 1].end;
  if (WORD_CHAR.test(text[end] ?? '') || text[end] === '@') return null;
  const tld = text.slice(labels[labels.length - 1].start, end).toLowerCase();
  if (!/^[a-z]{2,24}$/.test(tld)) return null;
  const anySpelledDot = dots.some((d) => d.spelled);
  // Written the ordinary way ("jane@example.com"): the e-mail recogniser reads it as it is.
  if (literalAt && !spacedLeft && !anySpelledDot && !spelledLocal) return null;
  if (!bracketed && !literalAt) {
    // A bare "at": the shape alone is not enough in prose. The domain may not start with a word of
    // prose ("at the dot in the corner"); a two-letter TLD that is also an English word ("in", "it",
    // "me") needs more evidence: a bracketed dot, a third label, or a local part no word has
    // ("jo-ellen", "j.doe", "li2").
    const firstLabel = text.slice(labels[0].start, labels[0].end).toLowerCase();
    if (PROSE_LABELS.has(firstLabel)) return null;
    const local = localPieces.map((p) => p.text).join('');
    const strongDot = dots.some((d) => d.spelled && /[[({<]/.test(text.slice(d.start, d.end)));
    const addressLike = strongDot || labels.length >= 3 || spelledLocal || /[._%+'\-\d]/.test(local);
    const knownTld = GENERIC_TLDS.has(tld) || tld.length === 2;
    if (!strongDot && !knownTld) return null;
    if (PROSE_TLDS.has(tld) && !addressLike) return null;
    if (!anySpelledDot && !spelledLocal && !/[._%+'\-\d]/.test(local)) return null;
  }
  pieces.push(...localPieces, { text: '@', start: left, end: right });
  for (let k = 0; k < labels.length; k++) {
    if (k > 0) pieces.push({ text: '.', start: dots[k - 1].start, end: dots[k - 1].end });
    pieces.push({
      text: text.slice(labels[k].start, labels[k].end),
      start: labels[k].start,
      end: labels[k].end,
    });
  }
  return { start: localStart, end, pieces };
}

/** Pass 2 over `text` (already pass-1 normalised). Returns null when nothing is rewritten. */
function rewriteSpelledEmails(text: string): { text: string; map: OffsetMap } | null {
  const rewrites: Rewrite[] = [];
  let consumed = 0;
  AT_ANCHOR.lastIndex = 0;
  for (let m = AT_ANCHOR.exec(text); m; m = AT_ANCHOR.exec(text)) {
    if (m.index < consumed) continue;
    // A lone '@' needs an address character or a space on each side ("@@@" is rejected here).
    if (m[0] === '@' && !(addressSide(text[m.index - 1]) && addressSide(text[m.index + 1]))) continue;
    // An '@' written the ordinary way needs rewriting only with a spelled-out dot near it.
    if (m[0] === '@' && text[m.index - 1] !== ' ' && text[m.index + 1] !== ' ' && !spelledNear(text, m.index))
      continue;
    const r = spelledEmail(text, m.index, m.index + m[0].length, consumed);
    if (!r) continue;
    rewrites.push(r);
    consumed = r.end;
    AT_ANCHOR.lastIndex = r.end;
  }
  if (rewrites.length === 0) return null;
  const map = new OffsetMap(text.length);
  let out = '';
  let cursor = 0;
  const copy = (from: number, to: number) => {
    out += text.slice(from, to);
    for (let k = from; k < to; k++) map.push(k, k + 1);
  };
  for (const r of rewrites) {
    copy(cursor, r.start);
    for (const p of r.pieces) {
      if (p.text.length === p.end - p.start && text.slice(p.start, p.end) === p.text) copy(p.start, p.end);
      else {
        out += p.text;
        for (let k = 0; k < p.text.length; k++) map.push(p.start, p.end);
      }
    }
    cursor = r.end;
  }
  copy(cursor, text.length);
  return { text: out, map };
}

function identity(text: string): NormalizedText {
  return { text, identity: true, toOriginal: (start, end) => ({ start, end }) };
}

/** The text the recognisers read, and the way back to the original offsets. */
export function normalizeForRecognition(original: string): NormalizedText {
  const chars = normalizeCharacters(original);
  const stage1 = chars ? chars.text : original;
  const emails = rewriteSpelledEmails(stage1);
  if (!chars && !emails) return identity(original);
  let from: Int32Array;
  let to: Int32Array;
  let length: number;
  if (chars && emails) {
    length = emails.map.length;
    from = new Int32Array(length);
    to = new Int32Array(length);
    for (let k = 0; k < length; k++) {
      from[k] = chars.map.from[emails.map.from[k]];
      to[k] = chars.map.to[emails.map.to[k] - 1];
    }
  } else {
    const only = (chars ?? emails) as { map: OffsetMap };
    ({ from, to, length } = only.map);
  }
  const text = emails ? emails.text : stage1;
  return {
    text,
    identity: false,
    toOriginal(start, end) {
      if (length === 0) return { start: 0, end: 0 };
      const s = Math.min(Math.max(start, 0), length - 1);
      const e = Math.min(Math.max(end, 1), length);
      if (e <= s) return { start: from[s], end: from[s] };
      return { start: from[s], end: to[e - 1] };
    },
  };
}
