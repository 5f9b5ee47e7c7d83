import { getExample, parsePhoneNumber } from 'awesome-phonenumber';
import type { PiiFinding } from '../types';
import { finding, isWordChar, type Recognizer, withContext, wordsBefore } from './recognizer';

// Phone numbers are recognised by libphonenumber (awesome-phonenumber), never by a hand-written
// phone pattern. A permissive scanner proposes runs of digits and phone punctuation; windows of
// their digit groups are parsed, international ones ('+…') as they are, national ones against a
// list of default regions, and only numbers libphonenumber calls valid are kept.

export const DEFAULT_PHONE_REGIONS = ['US', 'GB', 'DE', 'FR', 'NZ', 'AU', 'IE', 'IN'] as const;

/** Digits and the punctuation phone numbers are written with; linear to scan (one class, one anchor). */
const CANDIDATE = /\+?\(?\d[\d ().\-\u00a0/]*\d/g;
const GROUP = /\d+/g;
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
const MAX_GROUPS = 6;
const MAX_RUN_GROUPS = 24;

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

function parseValid(candidate: string, plan: RegionPlan): boolean {
  if (candidate.startsWith('+')) return parsePhoneNumber(candidate).valid;
  const regions = candidate.replace(/^\(/, '').startsWith('0') ? plan.trunkZero : plan.noTrunkZero;
  for (const regionCode of regions) if (parsePhoneNumber(candidate, { regionCode }).valid) return true;
  return false;
}

function findPhones(text: string, plan: RegionPlan, claimed: readonly PiiFinding[]): PiiFinding[] {
  const found: PiiFinding[] = [];
  CANDIDATE.lastIndex = 0;
  for (let m = CANDIDATE.exec(text); m; m = CANDIDATE.exec(text)) {
    const runStart = m.index;
    const run = m[0];
    // A number glued to letters ("v2.1.0", "ID4155550132", "DE89…") is an identifier: windows may
    // not start at such a run's first group nor end at its last.
    const gluedLeft = isWordChar(text[runStart - 1]);
    const gluedRight = isWordChar(text[runStart + run.length]);
    const groups: { start: number; end: number }[] = [];
    GROUP.lastIndex = 0;
    for (let g = GROUP.exec(run); g && groups.length <= MAX_RUN_GROUPS; g = GROUP.exec(run))
      groups.push({ start: runStart + g.index, end: runStart + g.index + g[0].length });
    // No written phone number has this many groups; a long table of digits is not worth parsing.
    if (groups.length > MAX_RUN_GROUPS) continue;
    // A window starts and ends only where the run has a space: "2.1.0 (212) 555-0187" may yield
    // "(212) 555-0187" but never "0 (212) 555-0187".
    const spaceBefore = (k: number) => k === 0 || /\s/.test(text.slice(groups[k - 1].end, groups[k].start));
    const last = groups.length - 1;
    let next = 0;
    for (let i = 0; i < groups.length; i++) {
      if (groups[i].start < next || (i === 0 && gluedLeft) || !spaceBefore(i)) continue;
      // Longest window first: "+44 20 7946 0958" must not be cut into "20 7946 0958".
      for (let j = Math.min(groups.length, i + MAX_GROUPS) - 1; j >= i; j--) {
        if ((j === last && gluedRight) || (j < last && !spaceBefore(j + 1))) continue;
        let start = groups[i].start;
        if (text[start - 1] === '(') start--;
        if (text[start - 1] === '+') start--;
        let end = groups[j].end;
        if (text[end] === ')' && text.lastIndexOf('(', end) >= start) end++;
        // Digits inside a card, IBAN, SSN or IP address already found are theirs, not a phone's.
        if (claimed.some((c) => start < c.end && end > c.start)) continue;
        const raw = text.slice(start, end);
        const count = raw.replace(/\D/g, '').length;
        if (count < 7 || count > 15) continue;
        if (DATE_LIKE.test(raw) || DOTTED_QUAD.test(raw)) continue;
        const before = wordsBefore(text, start, 24);
        if (before.length > 0 && NOT_A_PHONE.has(before[before.length - 1])) continue;
        if (text[start - 1] === '#' || text[start - 1] === '$' || text[start - 1] === '€') continue;
        const international = raw.startsWith('+');
        const bare = !international && i === j;
        const hasContext = before.some((w) => CONTEXT.has(w));
        // An unpunctuated national run shorter than 10 digits is more often an id than a number.
        if (bare && count < 10 && !hasContext) continue;
        if (!parseValid(raw, plan)) continue;
        const base = international ? 0.9 : 0.7;
        found.push(finding('PHONE', start, end, withContext(text, start, base, CONTEXT)));
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
