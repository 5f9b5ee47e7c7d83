import { countrySpecs, isValidIBAN } from 'ibantools';
import type { PiiFinding } from '../types';
import { finding, isWordChar, type Recognizer, withContext } from './recognizer';

// An IBAN is a country code, two check digits and up to 30 alphanumerics, printed in groups of
// four (spaces, hyphens or dots), compact, or typed in lower case. Candidates start at "CC99" (either
// case) and take exactly the country's IBAN length in alphanumerics, allowing one space or hyphen
// between them; ibantools decides (mod-97 and national checks), so a trailing word is never
// swallowed and each candidate costs one check.

const START = /\b[A-Za-z]{2}\d{2}/g;
const ALNUM = /[A-Za-z0-9]/;
const SEPARATOR = /^(?: - | |-|\.)/;
const CONTEXT = new Set(['iban', 'account', 'bank', 'transfer', 'wire', 'sepa', 'konto']);

function ibanLength(country: string): number | undefined {
  return countrySpecs[country]?.chars;
}

function findIbans(text: string): PiiFinding[] {
  const found: PiiFinding[] = [];
  START.lastIndex = 0;
  for (let m = START.exec(text); m; m = START.exec(text)) {
    const start = m.index;
    const length = ibanLength(m[0].slice(0, 2).toUpperCase());
    if (!length) continue;
    let compact = '';
    let i = start;
    while (i < text.length && compact.length < length) {
      const ch = text[i];
      if (ALNUM.test(ch)) {
        compact += ch.toUpperCase();
        i++;
      } else if (compact.length > 0) {
        // One separator between groups: a space, hyphen or dot, or a hyphen with spaces (" - ").
        const sep = SEPARATOR.exec(text.slice(i, i + 4));
        if (!sep || !ALNUM.test(text[i + sep[0].length] ?? '')) break;
        i += sep[0].length;
      } else break;
    }
    if (compact.length !== length || isWordChar(text[i])) continue;
    if (!isValidIBAN(compact)) continue;
    found.push(finding('IBAN', start, i, withContext(text, start, 0.95, CONTEXT)));
    START.lastIndex = i;
  }
  return found;
}

export const ibanRecognizer: Recognizer = { type: 'IBAN', find: (text) => findIbans(text) };
