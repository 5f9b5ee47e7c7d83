// Digit runs: maximal sequences of digit groups joined by one space or hyphen ("4111 1111 1111
// 1111", "123-45-6789"). The separators are required between groups, so the pattern is unambiguous
// and scans in linear time even over a 100 KB run of digits.
const DIGIT_RUN = /\d+(?:[ -]\d+)*/g;

export type DigitGroup = { start: number; end: number };
export type DigitRun = { start: number; end: number; groups: DigitGroup[] };

/** Runs with at least `minDigits` digits. Longer runs keep their groups so callers can try windows. */
export function digitRuns(text: string, minDigits: number): DigitRun[] {
  const runs: DigitRun[] = [];
  DIGIT_RUN.lastIndex = 0;
  for (let m = DIGIT_RUN.exec(text); m; m = DIGIT_RUN.exec(text)) {
    const value = m[0];
    let digits = 0;
    for (let i = 0; i < value.length; i++)
      if (value.charCodeAt(i) >= 48 && value.charCodeAt(i) <= 57) digits++;
    if (digits < minDigits) continue;
    const groups: DigitGroup[] = [];
    const group = /\d+/g;
    for (let g = group.exec(value); g; g = group.exec(value))
      groups.push({ start: m.index + g.index, end: m.index + g.index + g[0].length });
    runs.push({ start: m.index, end: m.index + value.length, groups });
  }
  return runs;
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
