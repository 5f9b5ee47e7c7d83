// PERSON names on bench/fixtures/governance/names.jsonl: hand-written feedback sentences with gold name
// spans, split by culture family. The test half holds families whose faker locales
// scripts/build-name-data.ts leaves out of the name data (HELD_OUT) or that faker has no locale for, so
// it measures names the data never saw. Not a suite of its own: the governance bench calls
// measureNames(). A name counts as found only when a PERSON span matches it exactly (a partial span
// leaks the rest of the name); every other PERSON span is a false positive.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { detectPii } from '../shared/governance';
import { sizedItems } from '../shared/governance/eval/generate';
import { parseNameData } from '../shared/governance/pii/names';
import { personRecognizer } from '../shared/governance/pii/person';
import { readJsonLines } from './_jsonl';

export type NameSpan = { start: number; end: number; text: string };
export type NameItem = {
  id: string;
  family: string;
  split: 'build' | 'test';
  text: string;
  names: NameSpan[];
};

const FIXTURE = fileURLToPath(new URL('./fixtures/governance/names.jsonl', import.meta.url));
const DATA = fileURLToPath(new URL('../shared/governance/pii/names/name-data.json', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const round = (x: number) => Math.round(x * 1000) / 1000;

export async function loadNameItems(path = FIXTURE): Promise<NameItem[]> {
  return readJsonLines<NameItem>(path);
}

/** Items whose gold offsets do not quote their names (the fixture's own check). */
export function badOffsets(items: NameItem[]): string[] {
  return items.flatMap((item) =>
    item.names.filter((n) => item.text.slice(n.start, n.end) !== n.text).map((n) => `${item.id}: ${n.text}`),
  );
}

type Counts = { tp: number; fn: number; fp: number };
const figures = (c: Counts) => ({
  names: c.tp + c.fn,
  recall: c.tp + c.fn ? round(c.tp / (c.tp + c.fn)) : null,
  precision: c.tp + c.fp ? round(c.tp / (c.tp + c.fp)) : null,
  found: c.tp,
  missed: c.fn,
  false_positives: c.fp,
});

/** Recall and precision per split and per family, with the misses and false positives quoted. */
export function scoreNames(items: NameItem[]) {
  const bySplit = new Map<string, Counts>();
  const byFamily = new Map<string, Counts & { split: string }>();
  const misses: string[] = [];
  const falsePositives: string[] = [];
  for (const item of items) {
    const predicted = detectPii(item.text, { types: ['PERSON'] });
    const split = bySplit.get(item.split) ?? { tp: 0, fn: 0, fp: 0 };
    bySplit.set(item.split, split);
    const family = byFamily.get(item.family) ?? { tp: 0, fn: 0, fp: 0, split: item.split };
    byFamily.set(item.family, family);
    for (const gold of item.names) {
      const hit = predicted.some((p) => p.start === gold.start && p.end === gold.end);
      const counts = hit ? 'tp' : 'fn';
      split[counts]++;
      family[counts]++;
      if (!hit) {
        const partial = predicted.find((p) => p.start < gold.end && gold.start < p.end);
        const took = partial ? ` (took "${item.text.slice(partial.start, partial.end)}")` : '';
        misses.push(`${item.split}/${item.family}: ${gold.text}${took}`);
      }
    }
    for (const p of predicted) {
      if (item.names.some((g) => g.start === p.start && g.end === p.end)) continue;
      split.fp++;
      family.fp++;
      falsePositives.push(
        `${item.split}/${item.family}: "${item.text.slice(p.start, p.end)}" in "${item.text}"`,
      );
    }
  }
  return {
    splits: Object.fromEntries([...bySplit].map(([k, c]) => [k, figures(c)])),
    families: Object.fromEntries(
      [...byFamily]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, c]) => [k, { split: c.split, ...figures(c) }]),
    ),
    misses,
    falsePositives,
  };
}

function cpuMs(fn: () => unknown): number {
  const t0 = process.cpuUsage();
  fn();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1000;
}

function percentiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  return { cpu_p50_ms: round(at(50)), cpu_p99_ms: round(at(99)) };
}

/** CPU time of the PERSON recognizer alone on 1 KB items and on 100 KB adversarial inputs. */
function personCost(items: NameItem[], quick: boolean) {
  const find = (text: string) => personRecognizer.find(text, []);
  const synthetic = sizedItems(quick ? 100 : 500, 1024);
  // 1 KB of the fixture's own sentences: name-dense text, every cue and particle.
  const sentences = items.map((i) => i.text);
  const dense: string[] = [];
  for (let k = 0; dense.length < (quick ? 100 : 500); k++) {
    let text = '';
    for (let s = k; text.length < 1024; s += 7) text += `${sentences[s % sentences.length]} `;
    dense.push(text.slice(0, 1024));
  }
  for (const text of [...synthetic.slice(0, 20), ...dense.slice(0, 20)]) find(text); // warm-up
  const fill = (unit: string) => unit.repeat(Math.ceil((100 * 1024) / unit.length)).slice(0, 100 * 1024);
  const adversarial: Record<string, string> = {
    capitalised_words: fill('Anna Maria Kofi Abena '),
    name_cues: fill('my name is priya van der '),
    particles: fill('de la van der bin ap '),
    one_capitalised_token: `Z${'a'.repeat(100 * 1024 - 1)}`,
    hyphens: fill('Owusu-Ansah-'),
  };
  return {
    synthetic_1kb: percentiles(synthetic.map((t) => cpuMs(() => find(t)))),
    names_dense_1kb: percentiles(dense.map((t) => cpuMs(() => find(t)))),
    adversarial_100kb_cpu_ms: Object.fromEntries(
      Object.entries(adversarial).map(([k, text]) => [k, round(cpuMs(() => find(text)))]),
    ),
  };
}

export async function measureNames(options: { quick?: boolean; path?: string } = {}): Promise<object> {
  const items = await loadNameItems(options.path);
  const bad = badOffsets(items);
  if (bad.length) throw new Error(`names.jsonl: offsets do not quote the names: ${bad.join('; ')}`);
  const scored = scoreNames(items);
  const raw = readFileSync(DATA);
  const parseMs = cpuMs(() => parseNameData(raw.toString('utf8')));
  const data = JSON.parse(raw.toString('utf8')) as { source: object; heldOut: object };
  let buildCheck: { ms: number; up_to_date: boolean } | undefined;
  const t0 = performance.now();
  try {
    execFileSync(process.execPath, ['bin/tsx.mjs', 'scripts/build-name-data.ts', '--check'], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    buildCheck = { ms: Math.round(performance.now() - t0), up_to_date: true };
  } catch {
    buildCheck = { ms: Math.round(performance.now() - t0), up_to_date: false };
  }
  const families = Object.values(scored.families);
  return {
    items: items.length,
    names: items.reduce((n, i) => n + i.names.length, 0),
    families: families.length - (scored.families.none ? 1 : 0),
    ...scored.splits,
    per_family: scored.families,
    misses: scored.misses.slice(0, 20),
    misses_total: scored.misses.length,
    false_positives: scored.falsePositives.slice(0, 20),
    data: {
      file: 'shared/governance/pii/names/name-data.json',
      raw_bytes: raw.length,
      gzip_bytes: gzipSync(raw, { level: 9 }).length,
      parse_cpu_ms: round(parseMs),
      source: data.source,
      held_out: data.heldOut,
      build_check: buildCheck,
    },
    person_cost: personCost(items, !!options.quick),
    goals: 'PERSON recall >= 0.95 and precision >= 0.95 on the test half (held-out families)',
  };
}
