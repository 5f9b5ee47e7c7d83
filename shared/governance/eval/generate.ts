import type { PiiType } from '../types';
import { createDatasetRandom, type InclusiveRandom, withInclusiveBounds } from '../../random';
import { FEEDBACK_TEMPLATES, RESPONSE_TEMPLATES } from './templates';
import * as values from './values';

// The labelled synthetic evaluation set: templates filled with faker-style values, with the
// character spans of every PII value and every compliance phrase recorded as they are inserted.

export type LabelledSpan = { type: PiiType; start: number; end: number };
export type LabelledRuleSpan = { rule: string; start: number; end: number; negated: boolean };
export type EvalItem = {
  id: string;
  template: string;
  split: 'dev' | 'test';
  kind: 'feedback' | 'response';
  text: string;
  pii: LabelledSpan[];
  rules: LabelledRuleSpan[];
};

const PII_SLOTS: Record<string, (r: InclusiveRandom) => string> = {
  EMAIL: values.email,
  PHONE: values.phone,
  CREDIT_CARD: values.creditCard,
  IBAN: values.iban,
  IP_ADDRESS: values.ip,
  US_SSN: values.ssn,
  PERSON: values.person,
  FIRST: values.firstName,
  STREET_ADDRESS: values.streetAddress,
};
const DISTRACTORS: Record<string, (r: InclusiveRandom) => string> = {
  VERSION: values.version,
  ORDER: values.orderNumber,
  PRICE: values.price,
  DATE: values.date,
  DIGITS: values.luhnInvalidDigits,
};
const SLOT = /\{([A-Z_]+|[VN]:[a-z0-9_]+:[^}]+)\}/g;

function fill(template: string, r: InclusiveRandom): Pick<EvalItem, 'text' | 'pii' | 'rules'> {
  let text = '';
  const pii: LabelledSpan[] = [];
  const rules: LabelledRuleSpan[] = [];
  let cursor = 0;
  for (const m of template.matchAll(SLOT)) {
    text += template.slice(cursor, m.index);
    cursor = m.index + m[0].length;
    const slot = m[1];
    if (slot.startsWith('V:') || slot.startsWith('N:')) {
      const [flag, rule, phrase] = slot.split(':');
      rules.push({ rule, start: text.length, end: text.length + phrase.length, negated: flag === 'N' });
      text += phrase;
    } else if (slot === 'HONORIFIC') {
      const { prefix, name } = values.honorificName(r);
      text += prefix;
      pii.push({ type: 'PERSON', start: text.length, end: text.length + name.length });
      text += name;
    } else if (PII_SLOTS[slot]) {
      const value = PII_SLOTS[slot](r);
      const type = (slot === 'FIRST' ? 'PERSON' : slot) as PiiType;
      pii.push({ type, start: text.length, end: text.length + value.length });
      text += value;
    } else if (DISTRACTORS[slot]) text += DISTRACTORS[slot](r);
    else throw new Error(`unknown slot {${slot}} in template: ${template}`);
  }
  return { text: text + template.slice(cursor), pii, rules };
}

export type EvalSetOptions = { seed?: number; perTemplate?: number };

/**
 * Every template filled `perTemplate` times. Templates are shuffled with the seed and assigned to the
 * `dev` or `test` half, so a template's sentences never appear in both.
 */
export function generateEvalSet(options: EvalSetOptions = {}): EvalItem[] {
  const r = withInclusiveBounds(createDatasetRandom(options.seed ?? 2026));
  const perTemplate = options.perTemplate ?? 12;
  const templates = [
    ...FEEDBACK_TEMPLATES.map((t) => ({ t, kind: 'feedback' as const })),
    ...RESPONSE_TEMPLATES.map((t) => ({ t, kind: 'response' as const })),
  ].map((x, i) => ({ ...x, id: `${x.kind === 'feedback' ? 'f' : 'r'}${i}`, order: r.next() }));
  templates.sort((a, b) => a.order - b.order);
  // Stratified by what a template exercises (its slots, rules and negations), so every PII type and
  // rule has support in both halves; a template still lands in exactly one half.
  const seen = { dev: new Map<string, number>(), test: new Map<string, number>() };
  const templateCount = { dev: 0, test: 0 };
  const items: EvalItem[] = [];
  for (const { t, kind, id } of templates) {
    const features = [...t.matchAll(/\{([A-Z_]+(?::[a-z0-9_]+)?)/g)].map((m) => `${kind}:${m[1]}`);
    const load = (half: 'dev' | 'test') => features.reduce((sum, f) => sum + (seen[half].get(f) ?? 0), 0);
    const split: 'dev' | 'test' =
      load('dev') !== load('test')
        ? load('dev') < load('test')
          ? 'dev'
          : 'test'
        : templateCount.dev <= templateCount.test
          ? 'dev'
          : 'test';
    templateCount[split]++;
    for (const f of features) seen[split].set(f, (seen[split].get(f) ?? 0) + 1);
    for (let k = 0; k < perTemplate; k++)
      items.push({ id: `${id}-${k}`, template: id, split, kind, ...fill(t, r) });
  }
  return items;
}

/** Items of about `bytes` characters made by joining evaluation sentences (for latency figures). */
export function sizedItems(count: number, bytes: number, seed = 7): string[] {
  const r = withInclusiveBounds(createDatasetRandom(seed));
  const pool = generateEvalSet({ seed, perTemplate: 4 }).map((i) => i.text);
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    let text = '';
    while (text.length < bytes) text += `${r.pick(pool)} `;
    out.push(text.slice(0, bytes));
  }
  return out;
}
