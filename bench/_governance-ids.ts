import { fileURLToPath } from 'node:url';
import { detectPii } from '../shared/governance';
import type { PiiFinding, PiiType } from '../shared/governance/types';
import { readJsonLines } from './_jsonl';

export const ID_TYPES = [
  'UK_NINO',
  'IN_AADHAAR',
  'CA_SIN',
  'ES_NIF',
  'ES_NIE',
  'IT_FISCAL_CODE',
  'FR_NIR',
  'PASSPORT',
  'DATE_OF_BIRTH',
] as const satisfies readonly PiiType[];

type Span = { type: string; start: number; end: number };
export type IdItem = {
  id: string;
  type: string;
  valid: boolean;
  text: string;
  value: string;
  spans: Span[];
  note?: string;
};

const FIXTURE = fileURLToPath(new URL('./fixtures/governance/ids.jsonl', import.meta.url));
const round = (x: number) => Math.round(x * 1000) / 1000;
const overlaps = (a: Span, b: Span) => a.start < b.end && b.start < a.end;

export async function loadIdItems(path = FIXTURE): Promise<IdItem[]> {
  return readJsonLines<IdItem>(path);
}

export async function measureIds(path = FIXTURE): Promise<object> {
  const items = await loadIdItems(path);
  const stats = new Map(
    ID_TYPES.map((t) => [
      t as string,
      { valid: 0, found: 0, exact: 0, predicted: 0, correct: 0, invalid: 0, invalidReported: 0 },
    ]),
  );
  const misses: string[] = [];
  const falseReports: string[] = [];
  let otherItems = 0;
  let otherReported = 0;
  const t0 = performance.now();
  for (const item of items) {
    const found: PiiFinding[] = detectPii(item.text);
    for (const f of found) {
      const s = stats.get(f.type);
      if (!s) continue;
      s.predicted++;
      if (item.spans.some((g) => g.type === f.type && overlaps(g, f))) s.correct++;
      else if (falseReports.length < 20)
        falseReports.push(`${item.id} ${f.type} "${item.text.slice(f.start, f.end)}": ${item.text}`);
    }
    if (item.type === 'OTHER') {
      otherItems++;
      if (found.some((f) => stats.has(f.type))) otherReported++;
      continue;
    }
    const s = stats.get(item.type);
    if (!s) continue;
    if (item.valid) {
      for (const gold of item.spans) {
        s.valid++;
        const hit = found.find((f) => f.type === gold.type && overlaps(f, gold));
        if (hit) {
          s.found++;
          if (hit.start === gold.start && hit.end === gold.end) s.exact++;
        } else {
          const other = found.find((f) => overlaps(f, gold));
          misses.push(`${item.id} "${item.value}"${other ? ` (taken as ${other.type})` : ''}: ${item.text}`);
        }
      }
    } else {
      s.invalid++;
      if (found.some((f) => f.type === item.type)) s.invalidReported++;
    }
  }
  const ms = performance.now() - t0;
  const perType = Object.fromEntries(
    [...stats].map(([type, s]) => [
      type,
      {
        recall: round(s.valid ? s.found / s.valid : 1),
        exact_recall: round(s.valid ? s.exact / s.valid : 1),
        precision: round(s.predicted ? s.correct / s.predicted : 1),
        support: s.valid,
        invalid: s.invalid,
        invalid_reported: s.invalidReported,
      },
    ]),
  );
  const all = [...stats.values()];
  const sum = (k: keyof (typeof all)[number]) => all.reduce((a, s) => a + s[k], 0);
  return {
    items: items.length,
    per_type: perType,
    overall: {
      recall: round(sum('found') / sum('valid')),
      precision: round(sum('predicted') ? sum('correct') / sum('predicted') : 1),
      invalid: sum('invalid'),
      invalid_reported: sum('invalidReported'),
    },
    other_numbers: { items: otherItems, reported_as_id: otherReported },
    misses,
    false_reports: falseReports,
    ms_per_item: round(ms / items.length),
  };
}
