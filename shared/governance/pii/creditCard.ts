import isCreditCard from 'validator/es/lib/isCreditCard';
import type { PiiFinding } from '../types';
import { digitRuns, luhnValid, onlyDigits } from './digits';
import { finding, type Recognizer, withContext } from './recognizer';

// A card number is 13–19 digits, optionally grouped, and Luhn-valid. Numbers that validator also
// recognises as a known issuer's (Visa, Mastercard, Amex, ...) score high; any other Luhn-valid
// run scores lower but is still reported, so no Luhn-valid 13–19 digit run survives redaction.
// Luhn-invalid runs (order numbers, tracking ids) are never reported.

const CONTEXT = new Set([
  'card',
  'credit',
  'debit',
  'visa',
  'mastercard',
  'amex',
  'cc',
  'payment',
  'paid',
  'charged',
]);

function cardFinding(text: string, start: number, end: number): PiiFinding | undefined {
  const digits = onlyDigits(text.slice(start, end));
  if (digits.length < 13 || digits.length > 19 || !luhnValid(digits)) return undefined;
  const base = isCreditCard(digits) ? 0.95 : 0.6;
  return finding('CREDIT_CARD', start, end, withContext(text, start, base, CONTEXT));
}

function findCards(text: string): PiiFinding[] {
  const found: PiiFinding[] = [];
  for (const run of digitRuns(text, 13)) {
    const whole = cardFinding(text, run.start, run.end);
    if (whole) {
      found.push(whole);
      continue;
    }
    // A grouped card can sit next to other numbers ("card 4111 1111 1111 1111 2 times"): try the
    // windows of consecutive groups holding 13–19 digits, longest first, and keep the first valid
    // one from each start. The Luhn check runs on the run's digit string, so a 100 KB run of short
    // groups stays linear and allocation-free until a window passes.
    const groups = run.groups;
    const digits = onlyDigits(text.slice(run.start, run.end));
    const offsets: number[] = [0]; // digits before each group
    for (const g of groups) offsets.push(offsets[offsets.length - 1] + g.end - g.start);
    // Printed cards are grouped in threes to sixes (4-4-4-4, 4-6-5); single-digit "groups" are not.
    const printable = (k: number) =>
      groups[k].end - groups[k].start >= 3 && groups[k].end - groups[k].start <= 6;
    let next = 0;
    for (let i = 0; i < groups.length; i++) {
      if (groups[i].start < next) continue;
      let last = i;
      if (printable(i))
        while (last + 1 < groups.length && printable(last + 1) && offsets[last + 2] - offsets[i] <= 19)
          last++;
      for (let j = last; j >= i; j--) {
        const count = offsets[j + 1] - offsets[i];
        if (count < 13) break;
        if (count > 19 || !luhnValid(digits, offsets[i], offsets[j + 1])) continue;
        const hit = cardFinding(text, groups[i].start, groups[j].end);
        if (hit) {
          found.push(hit);
          next = hit.end;
          break;
        }
      }
    }
  }
  return found;
}

export const creditCardRecognizer: Recognizer = { type: 'CREDIT_CARD', find: (text) => findCards(text) };
