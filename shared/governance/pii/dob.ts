import type { PiiFinding } from '../types';
import { finding, type Recognizer } from './recognizer';

// Dates of birth: a date is reported only right after a birth cue ("born on", "date of birth",
// "DOB", "d.o.b.", "birthday", "né le", "geboren am", "fecha de nacimiento", "nato il"), in numeric
// (12/03/1985, 1985-03-12, 12.03.85) or written forms (12 March 1985, March 12th, 1985, the 4th of
// July 1990, 12 de marzo de 1985, 12. März 1985). Other dates (deadlines, releases, "born in 1985")
// are not personal data by themselves and are left alone. Each cue reads a bounded window after
// it, so the scan is linear.

const CUE =
  /(?<![\p{L}\p{N}])(?:born|birth\s*date|birthdate|date\s+of\s+birth|birthday|bday|b-day|dob|d\.o\.b\.?|née?(?:\s+le)?|geboren(?:\s+am)?|geburtsdatum|geburtstag|fecha\s+de\s+nacimiento|nacid[oa](?:\s+el)?|nac[ií](?:\s+el)?|data\s+di\s+nascita|nat[oa](?:\s+il)?|date\s+de\s+naissance|data\s+de\s+nascimento)(?![\p{L}\p{N}])/giu;
/** Between a cue and its date: "born on the", "DOB is", "bday's", "date of birth (DD/MM/YYYY): ". */
const GAP =
  /(?:\([^()\n]{0,14}\)|[\s:=,\-–—()]|['’]s\b|\b(?:is|was|on|the|of|am|le|el|il|es|ist|est|my|in)\b)*/iy;

const MONTHS =
  'january|february|march|april|may|june|july|august|september|october|november|december|' +
  'janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre|' +
  'januar|jänner|februar|märz|maerz|juni|juli|oktober|dezember|' +
  'enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|' +
  'gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|' +
  'sept|jan|feb|mar|apr|jun|jul|aug|sep|oct|nov|dec';
const DAY = '\\d{1,2}(?:st|nd|rd|th|er|º)?';
const YEAR = "(?:(?:19|20)\\d{2}|['’]\\d{2})";
const DATE_SOURCE = `(?:${[
  `(?<iso>\\d{4}[-/.]\\d{1,2}[-/.]\\d{1,2})`,
  `(?<num>\\d{1,2}[-/.]\\d{1,2}[-/.](?:\\d{4}|\\d{2}))`,
  // 12 March 1985, 12th of March, 1985, 12 de marzo de 1985, 12. März 1985, 12 March
  `(?<dmy>${DAY}\\.?(?:\\s+(?:of|de))?\\s+(?:${MONTHS})\\.?(?:,?\\s+(?:de\\s+)?${YEAR})?)`,
  // March 12, 1985, March 12th 1985, March 12
  `(?<mdy>(?:${MONTHS})\\.?\\s+${DAY}(?:,?\\s+${YEAR})?)`,
].join('|')})(?![\\p{L}\\p{N}])`;
const DATE = new RegExp(DATE_SOURCE, 'iyu');
/** "12/03/1985 is my date of birth": a date right before the cue. */
const BEFORE = new RegExp(
  `(?<![\\p{L}\\p{N}\\-/.])(?<date>${DATE_SOURCE}),? (?:is|was) (?:(?:my|his|her|their|our|the) )?$`,
  'iu',
);
const WINDOW = 24;
const BEFORE_HINT = /(?:is|was|my|his|her|their|our|the) $/i;

function plausible(groups: Record<string, string | undefined>): boolean {
  const numbers = (s: string) => (s.match(/\d+/g) ?? []).map(Number);
  if (groups.iso) {
    const [y, mo, d] = numbers(groups.iso);
    return y >= 1900 && y <= 2099 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
  }
  if (groups.num) {
    const [a, b, y] = numbers(groups.num);
    const yearOk = y < 100 || (y >= 1900 && y <= 2099);
    // Day-month or month-day: one of the two readings must be a date.
    return yearOk && a >= 1 && b >= 1 && ((a <= 31 && b <= 12) || (a <= 12 && b <= 31));
  }
  const day = numbers(groups.dmy ?? groups.mdy ?? '')[0];
  return day >= 1 && day <= 31;
}

/** The date right after the cue at [cueStart, cueEnd), or the date right before "is my <cue>". */
function dateNear(
  text: string,
  cueStart: number,
  cueEnd: number,
  after: number,
): [number, number] | undefined {
  // The gap and the date are read from a bounded slice: never past WINDOW + a date's length.
  const slice = text.slice(cueEnd, cueEnd + WINDOW + 40);
  GAP.lastIndex = 0;
  GAP.exec(slice);
  const at = GAP.lastIndex;
  if (at <= WINDOW) {
    DATE.lastIndex = at;
    const date = DATE.exec(slice);
    // A month's abbreviation dot at the end of a sentence ("born on 12 Mar.") is the sentence's.
    const length = date ? date[0].length - (date[0].endsWith('.') ? 1 : 0) : 0;
    if (date?.groups && plausible(date.groups)) return [cueEnd + at, cueEnd + at + length];
  }
  if (!BEFORE_HINT.test(text.slice(Math.max(0, cueStart - 8), cueStart))) return undefined;
  const from = Math.max(after, cueStart - WINDOW - 40);
  const before = BEFORE.exec(text.slice(from, cueStart));
  if (!before?.groups || !plausible(before.groups)) return undefined;
  const start = cueStart - before[0].length;
  return [start, start + before.groups.date.length];
}

function findBirthDates(text: string): PiiFinding[] {
  const found: PiiFinding[] = [];
  let lastEnd = 0;
  CUE.lastIndex = 0;
  for (let m = CUE.exec(text); m; m = CUE.exec(text)) {
    const span = dateNear(text, m.index, m.index + m[0].length, lastEnd);
    if (!span) continue;
    found.push(finding('DATE_OF_BIRTH', span[0], span[1], 0.85));
    lastEnd = Math.max(lastEnd, span[1]);
    CUE.lastIndex = Math.max(CUE.lastIndex, span[1]);
  }
  return found;
}

export const dateOfBirthRecognizer: Recognizer = {
  type: 'DATE_OF_BIRTH',
  find: (text) => findBirthDates(text),
};
