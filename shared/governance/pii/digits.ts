// Digit runs: maximal sequences of digit groups joined by one space, hyphen or dot ("4111 1111 1111
// 1111", "123-45-6789", "4111.1111.1111.1111"), read by one scan of the characters, so a 100 KB run
// of digits costs linear time and no regex match objects.

/** A run and its digit groups: group k is [starts[k], ends[k]) (typed arrays, no object per group). */
export type DigitRun = { start: number; end: number; starts: Int32Array; ends: Int32Array; digits: number };

const isDigit = (code: number) => code >= 48 && code <= 57;
const isJoiner = (code: number) => code === 32 || code === 45 || code === 46;

/** Runs with at least `minDigits` digits. Longer runs keep their groups so callers can try windows. */
export function digitRuns(text: string, minDigits: number): DigitRun[] {
  const runs: DigitRun[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    while (i < n && !isDigit(text.charCodeAt(i))) i++;
    if (i >= n) break;
    // First pass: the run's extent, digits and groups; only runs long enough get arrays.
    const start = i;
    let groups = 0;
    let digits = 0;
    for (;;) {
      const groupStart = i;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      groups++;
      digits += i - groupStart;
      if (i + 1 < n && isJoiner(text.charCodeAt(i)) && isDigit(text.charCodeAt(i + 1))) i++;
      else break;
    }
    if (digits < minDigits) continue;
    const starts = new Int32Array(groups);
    const ends = new Int32Array(groups);
    for (let k = 0, c = start; k < groups; k++) {
      starts[k] = c;
      while (c < i && isDigit(text.charCodeAt(c))) c++;
      ends[k] = c;
      c++; // the joiner
    }
    runs.push({ start, end: i, starts, ends, digits });
  }
  return runs;
}

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
function wordAt(text: string, at: number): boolean {
  const code = text.charCodeAt(at);
  if (code < 0x80) return isDigit(code) || ((code | 0x20) >= 97 && (code | 0x20) <= 122);
  return LETTER_OR_DIGIT.test(text[at]);
}

/**
 * True when one of `words` (lower case) is among the words within `window` characters before
 * `start`, split as recognizer.ts's wordsBefore splits them. Words of digits only are skipped
 * unread, so numbers in a flood of numbers cost no allocation.
 */
export function contextBefore(text: string, start: number, words: ReadonlySet<string>, window = 48): boolean {
  const from = Math.max(0, start - window);
  for (let c = start; c > from; ) {
    while (c > from && !wordAt(text, c - 1)) c--;
    const end = c;
    let letters = false;
    while (c > from && wordAt(text, c - 1)) {
      if (text.charCodeAt(c - 1) > 57) letters = true;
      c--;
    }
    if (end === c) break;
    if (letters && words.has(text.slice(c, end).toLowerCase())) return true;
  }
  return false;
}

export function onlyDigits(s: string): string {
  return s.replace(/\D/g, '');
}

/** The Luhn (mod 10) checksum used by payment card numbers, over digits[from, to). */
export function luhnValid(digits: string, from = 0, to = digits.length): boolean {
  let sum = 0;
  let double = false;
  for (let i = to - 1; i >= from; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return to > from && sum % 10 === 0;
}

/** The digit that makes `payload` + digit pass luhnValid (the check digit card numbers end in). */
export function luhnCheckDigit(payload: string): number {
  for (let d = 0; d < 9; d++) if (luhnValid(payload + d)) return d;
  return 9;
}
