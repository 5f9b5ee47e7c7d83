// Splits a text into segments from character offsets so marks can be rendered as plain text nodes
// inside spans: never as HTML, so a feedback containing markup shows as the characters it is.

import type { PiiType } from '../../shared/governance/types';

/** `piiType` (personal-data marks only) picks the mark's colour group. */
export type Mark = {
  start: number;
  end: number;
  kind: 'pii' | 'violation';
  label: string;
  piiType?: PiiType;
};

/** Colour groups of personal data on the Feedback page; each has its own background in styles.css. */
export type PiiGroup = 'contact' | 'identity' | 'financial' | 'government-id' | 'network';

/**
 * A reader's label and colour group for every PiiType. A Record over PiiType, so a type added to
 * the schema without a label here fails to compile.
 */
export const PII_TYPE_INFO: Record<PiiType, { label: string; group: PiiGroup }> = {
  EMAIL: { label: 'email address', group: 'contact' },
  PHONE: { label: 'phone number', group: 'contact' },
  STREET_ADDRESS: { label: 'street address', group: 'contact' },
  PERSON: { label: 'person name', group: 'identity' },
  DATE_OF_BIRTH: { label: 'date of birth', group: 'identity' },
  CREDIT_CARD: { label: 'card number', group: 'financial' },
  IBAN: { label: 'IBAN', group: 'financial' },
  IP_ADDRESS: { label: 'IP address', group: 'network' },
  US_SSN: { label: 'US Social Security number', group: 'government-id' },
  UK_NINO: { label: 'UK National Insurance number', group: 'government-id' },
  IN_AADHAAR: { label: 'Aadhaar number (India)', group: 'government-id' },
  CA_SIN: { label: 'Social Insurance Number (Canada)', group: 'government-id' },
  ES_NIF: { label: 'DNI/NIF (Spain)', group: 'government-id' },
  ES_NIE: { label: 'NIE (Spain)', group: 'government-id' },
  IT_FISCAL_CODE: { label: 'codice fiscale (Italy)', group: 'government-id' },
  FR_NIR: { label: 'social security number (France)', group: 'government-id' },
  PASSPORT: { label: 'passport number', group: 'government-id' },
};

export const PII_GROUP_LABELS: Record<PiiGroup, string> = {
  contact: 'contact details',
  identity: 'name or birth date',
  financial: 'card or bank account',
  'government-id': 'ID or passport number',
  network: 'network address',
};

/** The CSS class of a personal-data mark of this type: `pii-<group>`. */
export function piiClass(type: PiiType): string {
  return `pii-${PII_TYPE_INFO[type].group}`;
}
export type Segment = { text: string; start: number; marks: Mark[] };

export function segmentText(text: string, marks: readonly Mark[]): Segment[] {
  const valid = marks.filter((m) => m.start >= 0 && m.end <= text.length && m.start < m.end);
  const cuts = new Set<number>([0, text.length]);
  for (const m of valid) {
    cuts.add(m.start);
    cuts.add(m.end);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const segments: Segment[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const start = points[i];
    const end = points[i + 1];
    segments.push({
      text: text.slice(start, end),
      start,
      marks: valid.filter((m) => m.start <= start && m.end >= end),
    });
  }
  return segments;
}
