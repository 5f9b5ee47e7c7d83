import { getExample, parsePhoneNumber } from 'awesome-phonenumber';
import type { PiiFinding } from '../types';
import { CONTEXT_BOOST, finding, isWordChar, type Recognizer } from './recognizer';

// Phone numbers are recognised by libphonenumber (awesome-phonenumber), never by a hand-written
// phone pattern. A permissive scanner proposes runs of digits and phone punctuation; windows of
// their digit groups are parsed, international ones ('+…') as they are, national ones against a
// list of default regions, and only numbers libphonenumber calls valid are kept.
//
// Linear work: a window holds at most 15 digits (so each start tries a bounded number), findings of
// earlier recognisers are indexed once (binary search per window), answers are cached per text (a
// repeated number parses once) and one text gets at most PARSE_BUDGET parses; windows left after
// that are judged by shape and reported (fail closed). Digits of other scripts, fullwidth forms and
// zero-width characters are normalised before this runs (../normalize.ts).

export const DEFAULT_PHONE_REGIONS = ['US', 'GB', 'DE', 'FR', 'NZ', 'AU', 'IE', 'IN'] as const;

/** Digits and the punctuation phone numbers are written with; linear to scan (one class, one anchor). */
const CANDIDATE = /\+?\(?\d[\d ().\-\u00a0/]*\d/g;
const SPACELESS =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
const glues = (ch: string | undefined) => isWordChar(ch) && !SPACELESS.test(ch as string);
const isDigitCode = (code: number) => code >= 48 && code <= 57;
const DATE_LIKE = /^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$/;
const DOTTED_QUAD = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const CONTEXT = new Set([
  'phone',
  'call',
  'tel',
  'telephone',
  'mobile',
  'cell',
  'ring',
  'text',
  'whatsapp',
  'fax',
  'reach',
  'contact',
  'number',
  'landline',
]);
/** Words before a number that say it is an identifier, not a phone number. */
const NOT_A_PHONE = new Set([
  'order',
  'invoice',
  'ticket',
  'ref',
  'reference',
  'tracking',
  'serial',
  'case',
  'account',
  'version',
  'build',
  'release',
  'id',
  'sku',
  'po',
  'no',
  'customer',
]);
/** Digits in one phone number at most (E.164), and groups: "0 7 9 1 1 1 2 3 4 5 6" is typed digit by digit. */
const MAX_DIGITS = 15;
/** Groups in a number as people write it ("+44 (0) 20 7946 0958"); more are typed digit by digit. */
const MAX_WRITTEN_GROUPS = 6;
/** Characters between two groups of one number at most ("555 - 0187"). */
const MAX_GAP = 4;
/**
 * libphonenumber parses one text may make (each costs ~60–90 µs). Windows left when it is spent are
 * judged by shape alone and reported if they look like a phone number (fail closed: a flood of digit
 * groups is redacted, never left in clear).
 */
export const PARSE_BUDGET = 128;

let parseCalls = 0;
/** libphonenumber parses made so far in this process (a deterministic work count for tests). */
export function phoneParseCalls(): number {
  return parseCalls;
}

type RegionPlan = { trunkZero: string[]; noTrunkZero: string[] };

/**
 * Regions split by whether their national format starts with the trunk prefix 0 (GB "020 …",
 * DE "030 …") or not (US "(201) …"), read from libphonenumber's own example numbers. A national
 * candidate is only parsed against the regions its first digit can belong to.
 */
function planRegions(regions: readonly string[]): RegionPlan {
  const plan: RegionPlan = { trunkZero: [], noTrunkZero: [] };
  for (const region of regions) {
    const national = getExample(region, 'fixed-line').number?.national ?? '';
    (national.replace(/\D/g, '').startsWith('0') ? plan.trunkZero : plan.noTrunkZero).push(region);
  }
  return plan;
}

/** Parses left in this text. */
type Budget = { left: number };

function parseValid(
  candidate: string,
  plan: RegionPlan,
  cache: Map<string, boolean>,
  budget: Budget,
): boolean | undefined {
  const cached = cache.get(candidate);
  if (cached !== undefined) return cached;
  const regions = candidate.startsWith('+')
    ? [undefined]
    : candidate.replace(/^\(/, '').startsWith('0')
      ? plan.trunkZero
      : plan.noTrunkZero;
  if (budget.left < regions.length) return undefined;
  let valid = false;
  for (const regionCode of regions) {
    budget.left--;
    parseCalls++;
    if (parsePhoneNumber(candidate, regionCode ? { regionCode } : undefined).valid) {
      valid = true;
      break;
    }
  }
  cache.set(candidate, valid);
  return valid;
}

/** Judged without libphonenumber once the budget is spent: the shapes numbers are written in. */
function phoneShaped(raw: string, count: number, hasContext: boolean): boolean {
  if (raw.startsWith('+')) return count >= 8;
  return (count >= 10 && count <= 11) || (hasContext && count >= 7 && count <= 12);
}

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
const wordCode = (text: string, at: number) => {
  const code = text.charCodeAt(at);
  if (code < 0x80) return (code >= 48 && code <= 57) || ((code | 0x20) >= 97 && (code | 0x20) <= 122);
  return LETTER_OR_DIGIT.test(text[at]);
};
/** Characters before a number read for context words (the recognizers' usual window). */
const CONTEXT_WINDOW = 48;

/**
 * The words within `window` characters before `start`, read as recognizer.ts's wordsBefore splits
 * them but without building the list: whether the last word says "identifier" ("order", "ref") and
 * whether any says "phone". Words of digits only are skipped unread, so a flood of digit groups
 * allocates nothing here.
 */
function cuesBefore(text: string, start: number, window: number): { identifier: boolean; context: boolean } {
  const from = Math.max(0, start - window);
  let identifier = false;
  let context = false;
  let first = true;
  for (let c = start; c > from; ) {
    while (c > from && !wordCode(text, c - 1)) c--;
    const end = c;
    let letters = false;
    while (c > from && wordCode(text, c - 1)) {
      if (text.charCodeAt(c - 1) > 57) letters = true;
      c--;
    }
    if (end === c) break;
    if (letters) {
      const word = text.slice(c, end).toLowerCase();
      if (first && NOT_A_PHONE.has(word)) identifier = true;
      if (CONTEXT.has(word)) context = true;
    }
    first = false;
  }
  return { identifier, context };
}

/**
 * Answers "does [start, end) overlap a claimed span" and "does one claimed span cover it" in
 * O(log n) each, after an O(n log n) index.
 */
function claimedIndex(claimed: readonly PiiFinding[]): {
  overlaps: (start: number, end: number) => boolean;
  covers: (start: number, end: number) => boolean;
} {
  if (claimed.length === 0) return { overlaps: () => false, covers: () => false };
  const sorted = [...claimed].sort((a, b) => a.start - b.start);
  const starts = sorted.map((c) => c.start);
  const maxEnd: number[] = [];
  for (const c of sorted) maxEnd.push(Math.max(c.end, maxEnd[maxEnd.length - 1] ?? 0));
  /** How many claimed spans start before `limit`. */
  const before = (limit: number) => {
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] < limit) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    // Some span starting before `end` ends after `start`.
    overlaps: (start, end) => {
      const k = before(end);
      return k > 0 && maxEnd[k - 1] > start;
    },
    // Some span starting at or before `start` ends at or after `end`.
    covers: (start, end) => {
      const k = before(start + 1);
      return k > 0 && maxEnd[k - 1] >= end;
    },
  };
}

/** Per-run arrays, reused from run to run and text to text (grown when a run has more groups). */
let buffers = {
  gStart: new Int32Array(64),
  gEnd: new Int32Array(64),
  digitsBefore: new Int32Array(65),
  spaced: new Uint8Array(64),
  joined: new Uint8Array(64),
};
function scratch(groups: number): typeof buffers {
  if (buffers.gStart.length < groups) {
    const size = Math.max(groups, buffers.gStart.length * 2);
    buffers = {
      gStart: new Int32Array(size),
      gEnd: new Int32Array(size),
      digitsBefore: new Int32Array(size + 1),
      spaced: new Uint8Array(size),
      joined: new Uint8Array(size),
    };
  }
  return buffers;
}

function findPhones(text: string, plan: RegionPlan, claimed: readonly PiiFinding[]): PiiFinding[] {
  const found: PiiFinding[] = [];
  // Answers per text (a repeated number parses once); per text, so a result never depends on
  // what was read before.
  const cache = new Map<string, boolean>();
  const { overlaps: isClaimed, covers: isCovered } = claimedIndex(claimed);
  const budget: Budget = { left: PARSE_BUDGET };
  CANDIDATE.lastIndex = 0;
  for (let m = CANDIDATE.exec(text); m; m = CANDIDATE.exec(text)) {
    const runStart = m.index;
    const run = m[0];
    // A number glued to letters ("v2.1.0", "ID4155550132", "DE89…") is an identifier: windows may
    // not start at such a run's first group nor end at its last.
    // Scripts written without spaces (Chinese, Japanese, Thai) do not glue: "電話は(212)555-0187まで".
    const gluedLeft = glues(text[runStart - 1]);
    const gluedRight = glues(text[runStart + run.length]);
    // Groups of digits in the run, by two scans of its characters: count, then fill typed arrays.
    const runEnd = runStart + run.length;
    let groupCount = 0;
    for (let c = runStart; c < runEnd; c++)
      if (isDigitCode(text.charCodeAt(c)) && (c === runStart || !isDigitCode(text.charCodeAt(c - 1))))
        groupCount++;
    if (groupCount === 0) continue;
    // Digits already inside one finding of an earlier recogniser (an SSN, a card) are theirs.
    const firstDigit = runStart + run.search(/\d/);
    if (isCovered(firstDigit, runEnd)) continue;
    const { gStart, gEnd, digitsBefore, spaced, joined } = scratch(groupCount);
    for (let c = runStart, k = 0; c < runEnd; ) {
      while (c < runEnd && !isDigitCode(text.charCodeAt(c))) c++;
      if (c >= runEnd) break;
      gStart[k] = c;
      while (c < runEnd && isDigitCode(text.charCodeAt(c))) c++;
      gEnd[k++] = c;
    }
    const last = groupCount - 1;
    // digitsBefore[k]: digits in groups before k. spaced[k]: the gap before group k holds a space
    // (a window starts and ends only there: "2.1.0 (212) 555-0187" may yield "(212) 555-0187" but
    // never "0 (212) 555-0187"). joined[k]: the gap is short enough to be inside one number.
    digitsBefore[0] = 0;
    spaced[0] = 1;
    joined[0] = 0;
    for (let k = 0; k < groupCount; k++) {
      digitsBefore[k + 1] = digitsBefore[k] + gEnd[k] - gStart[k];
      if (k === 0) continue;
      const from = gEnd[k - 1];
      const to = gStart[k];
      joined[k] = to - from <= MAX_GAP ? 1 : 0;
      spaced[k] = 0;
      for (let c = from; c < to; c++) {
        const code = text.charCodeAt(c);
        if (code === 32 || code === 0xa0 || (code >= 9 && code <= 13)) spaced[k] = 1;
      }
    }
    let next = 0;
    for (let i = 0; i < groupCount; i++) {
      if (gStart[i] < next) continue;
      // More digits typed one by one than two numbers hold: no window of it is worth parsing (a
      // flood of them would cost ~10 windows per digit); the stretch is reported whole (fail closed).
      if (gEnd[i] - gStart[i] === 1 && (i === 0 || gEnd[i - 1] - gStart[i - 1] !== 1 || !joined[i])) {
        let stretch = i;
        while (stretch < last && joined[stretch + 1] && gEnd[stretch + 1] - gStart[stretch + 1] === 1)
          stretch++;
        if (stretch - i + 1 > 2 * MAX_DIGITS) {
          if (!isClaimed(gStart[i], gEnd[stretch]))
            found.push(finding('PHONE', gStart[i], gEnd[stretch], 0.5));
          next = gEnd[stretch];
          continue;
        }
      }
      if ((i === 0 && gluedLeft) || !spaced[i]) continue;
      // Windows from group i hold at most MAX_DIGITS digits, so each start tries a bounded number.
      let top = i;
      while (top < last && joined[top + 1] && digitsBefore[top + 2] - digitsBefore[i] <= MAX_DIGITS) top++;
      if (digitsBefore[top + 1] - digitsBefore[i] < 7) continue;
      let start = gStart[i];
      if (text[start - 1] === '(') start--;
      if (text[start - 1] === '+') start--;
      if (text[start - 1] === '#' || text[start - 1] === '$' || text[start - 1] === '€') continue;
      const near = cuesBefore(text, start, 24);
      if (near.identifier) continue;
      const hasContext = near.context;
      const international = text[start] === '+';
      // Longest window first: "+44 20 7946 0958" must not be cut into "20 7946 0958".
      for (let j = top; j >= i; j--) {
        const count = digitsBefore[j + 1] - digitsBefore[i];
        if (count < 7) break;
        if ((j === last && gluedRight) || (j < last && !spaced[j + 1])) continue;
        // An unpunctuated national run shorter than 10 digits is more often an id than a number.
        if (!international && i === j && count < 10 && !hasContext) continue;
        let end = gEnd[j];
        if (text[end] === ')' && text.slice(start, end).includes('(')) end++;
        // Digits inside a card, IBAN, SSN or IP address already found are theirs, not a phone's.
        if (isClaimed(start, end)) continue;
        // Typed digit by digit, a number has at least 9 digits (IE, NZ); shorter runs of many tiny
        // groups are counts and lists, and skipping them halves the windows of a digit flood.
        if (j - i >= MAX_WRITTEN_GROUPS && count < 9) continue;
        const raw = text.slice(start, end);
        const groups = j - i + 1;
        if ((groups === 3 && DATE_LIKE.test(raw)) || (groups === 4 && DOTTED_QUAD.test(raw))) continue;
        const valid = parseValid(raw, plan, cache, budget);
        if (valid === false || (valid === undefined && !phoneShaped(raw, count, hasContext))) continue;
        const base = valid === undefined ? 0.5 : international ? 0.9 : 0.7;
        const boosted = hasContext || cuesBefore(text, start, CONTEXT_WINDOW).context;
        found.push(finding('PHONE', start, end, boosted ? Math.min(1, base + CONTEXT_BOOST) : base));
        next = end;
        break;
      }
    }
  }
  return found;
}

export function phoneRecognizer(regions: readonly string[] = DEFAULT_PHONE_REGIONS): Recognizer {
  const plan = planRegions(regions);
  return { type: 'PHONE', find: (text, claimed) => findPhones(text, plan, claimed) };
}
