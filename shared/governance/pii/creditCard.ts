import isCreditCard from 'validator/es/lib/isCreditCard';
import type { PiiFinding } from '../types';
import { contextBefore, digitRuns, luhnValid, onlyDigits } from './digits';
import { CONTEXT_BOOST, finding, type Recognizer } from './recognizer';

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

/** A dotted number is a card only when printed in groups of three to six ("4111.1111.1111.1111"). */
const DOTTED_NOT_PRINTED = /\.(?!\d{3,6}(?:\D|$))|(?:^|\D)\d{1,2}\.|^\d{7,}\./;

function cardFinding(text: string, start: number, end: number): PiiFinding | undefined {
  const raw = text.slice(start, end);
  if (raw.includes('.') && DOTTED_NOT_PRINTED.test(raw)) return undefined;
  const digits = onlyDigits(raw);
  if (digits.length < 13 || digits.length > 19 || !luhnValid(digits)) return undefined;
  const base = isCreditCard(digits) ? 0.95 : 0.6;
  const score = contextBefore(text, start, CONTEXT) ? Math.min(1, base + CONTEXT_BOOST) : base;
  return finding('CREDIT_CARD', start, end, score);
}

function findCards(text: string): PiiFinding[] {
  const found: PiiFinding[] = [];
  for (const run of digitRuns(text, 13)) {
    const whole = run.digits <= 19 ? cardFinding(text, run.start, run.end) : undefined;
    if (whole) {
      found.push(whole);
      continue;
    }
    // A grouped card can sit next to other numbers ("card 4111 1111 1111 1111 2 times"): try the
    // windows of consecutive groups holding 13–19 digits, longest first, and keep the first valid
    // one from each start. The Luhn check runs on the run's digit string, so a 100 KB run of short
    // groups stays linear and allocation-free until a window passes.
    const { starts, ends } = run;
    const groupCount = starts.length;
    let digits = '';
    const offsets = new Int32Array(groupCount + 1); // digits before each group
    for (let k = 0; k < groupCount; k++) offsets[k + 1] = offsets[k] + ends[k] - starts[k];
    // Printed cards are grouped in threes to sixes (4-4-4-4, 4-6-5); single-digit "groups" are not.
    const printable = (k: number) => ends[k] - starts[k] >= 3 && ends[k] - starts[k] <= 6;
    let next = 0;
    for (let i = 0; i < groupCount; i++) {
      if (starts[i] < next) continue;
      // A card typed digit by digit ("4 1 1 1 …"): a stretch of 13–19 one-digit groups, taken whole
      // when it is Luhn-valid and a known issuer's number (one check per stretch, so linear).
      if (ends[i] - starts[i] === 1 && (i === 0 || ends[i - 1] - starts[i - 1] !== 1)) {
        let stretch = i;
        while (stretch + 1 < groupCount && ends[stretch + 1] - starts[stretch + 1] === 1) stretch++;
        const length = stretch - i + 1;
        if (length >= 13 && length <= 19) {
          const value = onlyDigits(text.slice(starts[i], ends[stretch]));
          if (luhnValid(value) && isCreditCard(value)) {
            const hit = cardFinding(text, starts[i], ends[stretch]);
            if (hit) {
              found.push(hit);
              next = hit.end;
              continue;
            }
          }
        }
      }
      let last = i;
      if (printable(i))
        while (last + 1 < groupCount && printable(last + 1) && offsets[last + 2] - offsets[i] <= 19) last++;
      if (offsets[last + 1] - offsets[i] < 13) continue;
      if (digits === '') digits = onlyDigits(text.slice(run.start, run.end));
      for (let j = last; j >= i; j--) {
        const count = offsets[j + 1] - offsets[i];
        if (count < 13) break;
        if (count > 19 || !luhnValid(digits, offsets[i], offsets[j + 1])) continue;
        const hit = cardFinding(text, starts[i], ends[j]);
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
