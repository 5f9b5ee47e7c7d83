import type { PiiFinding } from '../types';
import { finding, isWordChar, type Recognizer } from './recognizer';

// Passport numbers have no common check digit and no shape of their own (9 digits in the US and
// UK, 12AB34567 in France, AAA123456 in Spain, C01X00T47 in Germany), so only a number right after
// a passport word counts: "passport no. 123456789", "numéro de passeport 12AB34567",
// "Reisepass-Nr. C01X00T47". From each cue at most a few filler words ("number", "is", "my", ":")
// are skipped; the first other token must have a passport's shape or nothing is reported. Each cue
// reads a bounded window after it, so the scan is linear. A number right before "is my passport"
// counts too.

const CUE =
  /(?<![\p{L}\p{N}])(?:passports?|pasaportes?|passeports?|reisepass|reisepasses|passaportos?|passaporte|paspoort|passnummer|reisepassnummer)(?![\p{L}])/giu;
const FILLER = new Set(
  (
    'number no nr n num numero número numéro nummer is was my mi mon ma mein meine meines de du del of the ' +
    'id ist lautet es est è reads details detail info ref'
  ).split(' '),
);
const TOKEN = /[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu;
const WINDOW = 48;
const MAX_FILLERS = 4;
/** 6–9 letters and digits with at least five digits: every national format listed above. */
const SHAPE = /^(?=(?:\D*\d){5})[A-Z0-9]{6,9}$/;
const LETTER_PREFIX = /^[A-Z]{1,3}$/;
const DIGITS = /^\d{5,8}$/;
const BEFORE = /(?<![\p{L}\p{N}\-/.])([A-Za-z0-9]{6,9}) (?:is|was) (?:(?:my|his|her|their|our|the) )?$/iu;
const BEFORE_HINT = /(?:is|was|my|his|her|their|our|the) $/i;
const RUNS_ON = /^[-/. ]?\d/;

function findPassports(text: string): PiiFinding[] {
  const found: PiiFinding[] = [];
  let lastEnd = 0;
  CUE.lastIndex = 0;
  for (let m = CUE.exec(text); m; m = CUE.exec(text)) {
    // "X1234567 is my passport number": the number right before the cue.
    const before = BEFORE_HINT.test(text.slice(Math.max(0, m.index - 8), m.index))
      ? BEFORE.exec(text.slice(Math.max(0, lastEnd, m.index - WINDOW), m.index))
      : null;
    if (before && SHAPE.test(before[1].toUpperCase())) {
      const start = m.index - before[0].length;
      found.push(finding('PASSPORT', start, start + before[1].length, 0.75));
      lastEnd = m.index;
      continue;
    }
    const from = m.index + m[0].length;
    const window = text.slice(from, from + WINDOW);
    let fillers = 0;
    TOKEN.lastIndex = 0;
    for (let t = TOKEN.exec(window); t; t = TOKEN.exec(window)) {
      const token = t[0];
      if (!/[\p{L}\p{N}]/u.test(token)) {
        if (token === '.' && /\s/.test(window[t.index + 1] ?? ' ') && fillers === 0) break; // sentence end
        continue; // ":", "#", "-", "°", "(" …
      }
      const lower = token.toLowerCase();
      if (FILLER.has(lower) && !/\d/.test(token)) {
        if (++fillers > MAX_FILLERS) break;
        continue;
      }
      const upper = token.toUpperCase();
      let end = t.index + token.length;
      // "AB 1234567": a letter prefix written apart from its digits.
      if (LETTER_PREFIX.test(upper)) {
        const next = /^ (\d+)(?![\p{L}\p{N}])/u.exec(window.slice(end));
        if (next && DIGITS.test(next[1]) && upper.length + next[1].length <= 9) end += next[0].length;
        else break;
      } else if (!SHAPE.test(upper)) break;
      // A number running on ("123456789 0", "1234567-89") is something else.
      if (RUNS_ON.test(window.slice(end, end + 2)) || isWordChar(text[from + end])) break;
      const start = from + t.index;
      found.push(finding('PASSPORT', start, from + end, 0.75));
      lastEnd = from + end;
      CUE.lastIndex = Math.max(CUE.lastIndex, from + end);
      break;
    }
  }
  return found;
}

export const passportRecognizer: Recognizer = { type: 'PASSPORT', find: (text) => findPassports(text) };
