import { isValidIBAN } from 'ibantools';
import type { PiiFinding } from '../types';
import { finding, isWordChar, type Recognizer, withContext } from './recognizer';

// An IBAN is a country code, two check digits and up to 30 alphanumerics, printed in groups of
// four or compact. Candidates start at "CC99" and take the following alphanumerics and single
// spaces; compact prefixes are then tried from longest to shortest and ibantools decides (country
// length and the mod-97 check), so a trailing word is never swallowed.

const START = /\b[A-Z]{2}\d{2}/g;
const CONTEXT = new Set(['iban', 'account', 'bank', 'transfer', 'wire', 'sepa', 'konto']);

function findIbans(text: string): PiiFinding[] {
  const found: PiiFinding[] = [];
  START.lastIndex = 0;
  for (let m = START.exec(text); m; m = START.exec(text)) {
    const start = m.index;
    // Walk forward collecting up to 34 alphanumerics (case-insensitive), allowing single spaces.
    const offsets: number[] = []; // offset just after each collected character
    let compact = '';
    let i = start;
    while (i < text.length && compact.length < 34) {
      const ch = text[i];
      if (/[A-Za-z0-9]/.test(ch)) {
        compact += ch.toUpperCase();
        offsets.push(i + 1);
        i++;
      } else if (ch === ' ' && /[A-Za-z0-9]/.test(text[i + 1] ?? '')) i++;
      else break;
    }
    for (let length = compact.length; length >= 15; length--) {
      const end = offsets[length - 1];
      if (isWordChar(text[end])) continue; // must end on a word boundary
      if (isValidIBAN(compact.slice(0, length))) {
        found.push(finding('IBAN', start, end, withContext(text, start, 0.95, CONTEXT)));
        START.lastIndex = end;
        break;
      }
    }
  }
  return found;
}

export const ibanRecognizer: Recognizer = { type: 'IBAN', find: (text) => findIbans(text) };
