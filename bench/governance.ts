// `npm run bench -- governance`: accuracy of the governance pipeline on the labelled synthetic
// evaluation set (per PII type and per compliance rule, split by template), latency per 1 KB item,
// and the time for 100 KB adversarial inputs. Baseline in the same run: compromise's own person
// tagger over the same 1 KB items, the library the PERSON recognizer borrows its lexicon from.
import { cpus, loadavg } from 'node:os';
import nlp from 'compromise';
import { checkCompliance, createGovernancePipeline, detectPii } from '../shared/governance';
import { type EvalItem, generateEvalSet, sizedItems } from '../shared/governance/eval/generate';
import { PiiType } from '../shared/governance/types';

type Span = { start: number; end: number };
const overlaps = (a: Span, b: Span) => a.start < b.end && b.start < a.end;
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

function f2(precision: number, recall: number): number {
  return precision + recall === 0 ? 0 : (5 * precision * recall) / (4 * precision + recall);
}

/** Greedy one-to-one matching of predicted to gold spans; a match overlaps (partial-match criterion). */
function score(gold: Span[], predicted: Span[]) {
  const used = new Set<number>();
  let tp = 0;
  let exact = 0;
  for (const p of predicted) {
    const g = gold.findIndex((s, i) => !used.has(i) && overlaps(s, p));
    if (g >= 0) {
      used.add(g);
      tp++;
      if (gold[g].start === p.start && gold[g].end === p.end) exact++;
    }
  }
  return { tp, fp: predicted.length - tp, fn: gold.length - tp, exact };
}

function summarise(c: { tp: number; fp: number; fn: number; exact: number }) {
  const precision = c.tp + c.fp === 0 ? 1 : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? 1 : c.tp / (c.tp + c.fn);
  return {
    precision: round(precision),
    recall: round(recall),
    f2: round(f2(precision, recall)),
    exact_recall: round(c.tp + c.fn === 0 ? 1 : c.exact / (c.tp + c.fn)),
    support: c.tp + c.fn,
    predicted: c.tp + c.fp,
  };
}

function evaluate(items: EvalItem[]) {
  const zero = () => ({ tp: 0, fp: 0, fn: 0, exact: 0 });
  const perType = new Map(PiiType.options.map((t) => [t, zero()]));
  const perRule = new Map<string, ReturnType<typeof zero>>();
  let negatedCases = 0;
  let negatedFlags = 0;
  const misses: string[] = [];
  for (const item of items) {
    const found = detectPii(item.text);
    for (const type of PiiType.options) {
      const gold = item.pii.filter((s) => s.type === type);
      const predicted = found.filter((s) => s.type === type);
      const c = score(gold, predicted);
      const total = perType.get(type)!;
      total.tp += c.tp;
      total.fp += c.fp;
      total.fn += c.fn;
      total.exact += c.exact;
      if ((c.fn > 0 || c.fp > 0) && misses.length < 12)
        misses.push(`${type} ${c.fn ? 'missed' : 'false'}: ${item.text}`);
    }
    if (item.kind !== 'response') continue;
    const violations = checkCompliance(item.text);
    for (const negated of item.rules.filter((r) => r.negated)) {
      negatedCases++;
      if (violations.some((v) => overlaps(v, negated))) negatedFlags++;
    }
    const rules = new Set([...item.rules.map((r) => r.rule), ...violations.map((v) => v.rule)]);
    for (const rule of rules) {
      const gold = item.rules.filter((r) => r.rule === rule && !r.negated);
      const predicted = violations.filter((v) => v.rule === rule);
      const c = score(gold, predicted);
      const total = perRule.get(rule) ?? zero();
      total.tp += c.tp;
      total.fp += c.fp;
      total.fn += c.fn;
      total.exact += c.exact;
      perRule.set(rule, total);
    }
  }
  const all = [...perType.values()].reduce(
    (a, c) => ({ tp: a.tp + c.tp, fp: a.fp + c.fp, fn: a.fn + c.fn, exact: a.exact + c.exact }),
    zero(),
  );
  return {
    items: items.length,
    pii: Object.fromEntries([...perType].map(([t, c]) => [t, summarise(c)])),
    pii_overall: summarise(all),
    rules: Object.fromEntries([...perRule].sort().map(([r, c]) => [r, summarise(c)])),
    negated_cases: negatedCases,
    negated_false_flags: negatedFlags,
    sample_errors: misses,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Wall-clock and CPU time of one call, in ms. CPU time is the steadier figure on a shared machine. */
function measure(fn: () => unknown): { wall: number; cpu: number } {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

function timeEach(items: string[], fn: (text: string) => unknown) {
  for (const text of items.slice(0, 20)) fn(text); // warm-up: model load, JIT
  const wall: number[] = [];
  const cpu: number[] = [];
  const started = performance.now();
  for (const text of items) {
    const m = measure(() => fn(text));
    wall.push(m.wall);
    cpu.push(m.cpu);
  }
  const total = performance.now() - started;
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return {
    p50_ms: round(percentile(wall, 50)),
    p99_ms: round(percentile(wall, 99)),
    cpu_p50_ms: round(percentile(cpu, 50)),
    cpu_p99_ms: round(percentile(cpu, 99)),
    items_per_s: Math.round((items.length / total) * 1000),
  };
}

function adversarialInputs(size: number): Record<string, string> {
  const fillTo = (unit: string) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  return {
    digit_run: fillTo('0123456789'),
    spaced_digits: fillTo('4 1 1 1 '),
    grouped_digits: fillTo('4111 1111 1111 1111 '),
    at_signs: fillTo('@'),
    word_at_signs: fillTo('a.b@'),
    nested_brackets: `${'([{<'.repeat(size / 8)}${'>}])'.repeat(size / 8)}`,
    letters: fillTo('a'),
    hex_colons: fillTo('a:'),
    capitalised_words: fillTo('Anna Berg '),
    dotted_numbers: fillTo('1.2.'),
  };
}

export async function run(flags: string[]): Promise<object> {
  const quick = flags.includes('--quick');
  const pipeline = createGovernancePipeline();
  const set = generateEvalSet({ seed: 2026, perTemplate: quick ? 4 : 12 });
  const accuracy = {
    test: evaluate(set.filter((i) => i.split === 'test')),
    dev: evaluate(set.filter((i) => i.split === 'dev')),
  };

  const items = sizedItems(quick ? 100 : 500, 1024);
  const latency = timeEach(items, (text) => pipeline.govern(text, 'feedback'));
  const baseline = timeEach(items.slice(0, quick ? 50 : 200), (text) => nlp(text).people().out('offset'));

  const adversarial: Record<string, { wall_ms: number; cpu_ms: number }> = {};
  for (const [name, text] of Object.entries(adversarialInputs(100 * 1024))) {
    const runs = [0, 1, 2].map(() => measure(() => pipeline.govern(text, 'feedback')));
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[1];
    adversarial[name] = {
      wall_ms: round(median(runs.map((r) => r.wall)), 1),
      cpu_ms: round(median(runs.map((r) => r.cpu)), 1),
    };
  }
  const loadAverage = loadavg()[0];

  return {
    set: { seed: 2026, items: set.length, split: 'by template (dev/test halves)' },
    accuracy,
    latency_1kb: latency,
    baseline_compromise_people_1kb: baseline,
    speedup_vs_baseline_cpu_p50: round(baseline.cpu_p50_ms / latency.cpu_p50_ms, 1),
    adversarial_100kb: adversarial,
    adversarial_max_wall_ms: Math.max(...Object.values(adversarial).map((a) => a.wall_ms)),
    adversarial_max_cpu_ms: Math.max(...Object.values(adversarial).map((a) => a.cpu_ms)),
    machine: { cpus: cpus().length, load_average_1m: round(loadAverage, 2) },
    goals: {
      recall_structured: '>= 0.95 EMAIL, PHONE, CREDIT_CARD, IBAN, IP_ADDRESS, US_SSN',
      recall_names: '>= 0.85 PERSON, STREET_ADDRESS',
      precision_overall: '>= 0.90',
      rules: '>= 0.95 recall, 0 flags on negated cases',
      latency: 'p50 <= 2 ms, p99 <= 10 ms per 1 KB; adversarial <= 100 ms',
    },
  };
}
