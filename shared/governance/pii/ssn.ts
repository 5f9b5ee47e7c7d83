import type { PiiFinding } from '../types';
import { finding, type Recognizer, withContext } from './recognizer';

// US Social Security numbers: AAA-GG-SSSS (also "AAA - GG - SSSS"; en dashes are folded to '-' by
// normalisation). Area 000, 666 and 900–999, group 00 and serial 0000 are
// never issued. Dashed or spaced numbers score high; an unseparated nine-digit run only counts
// with a context word ("SSN", "social security"), as in Presidio.

const SSN = /(?<![\d-])(\d{3})( - |[- ]?)(\d{2})\2(\d{4})(?![\d-])/g;
const CONTEXT = new Set(['ssn', 'social', 'security', 'ssa', 'taxpayer', 'tin']);

function findSsns(text: string): PiiFinding[] {
  const found: PiiFinding[] = [];
  SSN.lastIndex = 0;
  for (let m = SSN.exec(text); m; m = SSN.exec(text)) {
    const [whole, area, separator, group, serial] = m;
    if (area === '000' || area === '666' || area[0] === '9' || group === '00' || serial === '0000') continue;
    const base = separator.includes('-') ? 0.85 : separator === ' ' ? 0.6 : 0.3;
    const score = withContext(text, m.index, base, CONTEXT);
    if (score >= 0.5) found.push(finding('US_SSN', m.index, m.index + whole.length, score));
  }
  return found;
}

export const ssnRecognizer: Recognizer = { type: 'US_SSN', find: (text) => findSsns(text) };
