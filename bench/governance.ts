// `npm run bench -- governance`: accuracy of the governance pipeline on the labelled synthetic
// evaluation set (per PII type and per compliance rule, split by template); on the hand-written
// sets in bench/fixtures/governance (names by culture family, national IDs, disguised PII, sentiment);
// latency per 1 KB item; and the time for 100 KB adversarial inputs, per stage without budgets and
// through the pipeline as deployed (with its time budgets, reporting any overrun). Baselines in the
// same run: compromise's own person tagger over the same 1 KB items, the library the PERSON
// recognizer borrows its lexicon from, and wink-nlp's lexicon sentiment on the sentiment set.
import { cpus, loadavg } from 'node:os';
import nlp from 'compromise';
import {
  analyzeSentiment,
  checkBoundaries,
  checkCompliance,
  createGovernancePipeline,
  detectPii,
  redact,
} from '../shared/governance';
import { adversarialInputs } from '../shared/governance/eval/adversarial';
import { type EvalItem, generateEvalSet, sizedItems } from '../shared/governance/eval/generate';
import { PiiType } from '../shared/governance/types';
import { measureDisguised } from './_governance-disguised';
import { measureIds } from './_governance-ids';
import { measureNames } from './_governance-names';
import { measureSentiment } from './_governance-sentiment';

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

/**
 * Latency per 1 KB item, twice. `cold`: a fresh process's first items (after 20 for loading; run
 * first in the bench), as a worker that has just started sees them: V8 compiles hot paths on a background thread whose CPU time
 * counts against the item that triggered it, and words seen for the first time miss the sentiment
 * lookup cache. `steady`: the same items once the pipeline has governed `warm` other items (other
 * seeds), as a long-running worker or server sees them. The measured items are never among the warm ones.
 */
function latencyColdAndSteady(items: string[], warm: number) {
  const coldPipeline = createGovernancePipeline();
  const cold = timeEach(items, (text) => coldPipeline.govern(text, 'feedback'));
  const steadyPipeline = createGovernancePipeline();
  for (let seed = 101; seed < 101 + Math.ceil(warm / 250); seed++)
    for (const text of sizedItems(250, 1024, seed)) steadyPipeline.govern(text, 'feedback');
  const steady = timeEach(items, (text) => steadyPipeline.govern(text, 'feedback'));
  return { cold, steady, warm_items_before_steady: Math.ceil(warm / 250) * 250 };
}

/** The stages a verdict is made of, each timed alone on the adversarial inputs. */
const STAGES: Record<string, (text: string) => unknown> = {
  pii: (text) => detectPii(text),
  redact: (text) => redact(text),
  sentiment: analyzeSentiment,
  compliance: (text) => checkCompliance(text),
  boundaries: (text) => checkBoundaries(text),
};

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/**
 * Each 100 KB adversarial input: CPU ms per stage (no budgets), and the deployed pipeline's time and
 * overruns. Five runs each; `cpu_ms` is the least, the input's own cost: process CPU time also counts
 * V8's garbage-collector and compiler threads, so single runs on this machine vary by tens of ms.
 */
const RUNS = [0, 1, 2, 3, 4];
function adversarial(size: number) {
  const deployed = createGovernancePipeline();
  const unbudgeted = createGovernancePipeline({ itemBudgetMs: 1e9, ruleBudgetMs: 1e9 });
  const result: Record<string, object> = {};
  let maxDeployedCpu = 0;
  let maxUnbudgetedCpu = 0;
  for (const [name, text] of Object.entries(adversarialInputs(size))) {
    const stages = Object.fromEntries(
      Object.entries(STAGES).map(([stage, fn]) => [
        stage,
        round(Math.min(...RUNS.map(() => measure(() => fn(text)).cpu)), 1),
      ]),
    );
    const full = RUNS.map(() => measure(() => unbudgeted.govern(text, 'feedback')));
    let overruns: string[] = [];
    const runs = RUNS.map(() =>
      measure(() => {
        overruns = deployed.govern(text, 'feedback').overruns.map((o) => `${o.stage} ${o.ms} ms`);
      }),
    );
    const entry = {
      cpu_ms: round(Math.min(...runs.map((r) => r.cpu)), 1),
      cpu_median_ms: round(median(runs.map((r) => r.cpu)), 1),
      wall_median_ms: round(median(runs.map((r) => r.wall)), 1),
      overruns,
      unbudgeted_cpu_ms: round(Math.min(...full.map((r) => r.cpu)), 1),
      unbudgeted_cpu_median_ms: round(median(full.map((r) => r.cpu)), 1),
      stages_cpu_ms: stages,
    };
    maxDeployedCpu = Math.max(maxDeployedCpu, entry.cpu_ms);
    maxUnbudgetedCpu = Math.max(maxUnbudgetedCpu, entry.unbudgeted_cpu_ms);
    result[name] = entry;
  }
  return { inputs: result, max_cpu_ms: maxDeployedCpu, max_unbudgeted_cpu_ms: maxUnbudgetedCpu };
}

export async function run(flags: string[]): Promise<object> {
  const quick = flags.includes('--quick');
  // First, while the process is fresh: `cold` is what a worker that has just started sees.
  const items = sizedItems(quick ? 100 : 500, 1024);
  const latency = latencyColdAndSteady(items, quick ? 250 : 1000);
  const set = generateEvalSet({ seed: 2026, perTemplate: quick ? 4 : 12 });
  const accuracy = {
    test: evaluate(set.filter((i) => i.split === 'test')),
    dev: evaluate(set.filter((i) => i.split === 'dev')),
  };

  const baseline = timeEach(items.slice(0, quick ? 50 : 200), (text) => nlp(text).people().out('offset'));

  const adversarial100kb = adversarial(100 * 1024);
  const names = await measureNames({ quick });
  const ids = await measureIds();
  const disguised = await measureDisguised({ quick });
  const sentiment = await measureSentiment();
  const loadAverage = loadavg()[0];

  return {
    set: { seed: 2026, items: set.length, split: 'by template (dev/test halves)' },
    accuracy,
    latency_1kb: latency,
    baseline_compromise_people_1kb: baseline,
    speedup_vs_baseline_cpu_p50: round(baseline.cpu_p50_ms / latency.cold.cpu_p50_ms, 1),
    adversarial_100kb: adversarial100kb,
    names,
    ids,
    disguised,
    sentiment,
    machine: { cpus: cpus().length, load_average_1m: round(loadAverage, 2) },
    goals: {
      recall_structured: '>= 0.95 EMAIL, PHONE, CREDIT_CARD, IBAN, IP_ADDRESS, US_SSN',
      recall_names: '>= 0.85 PERSON, STREET_ADDRESS',
      precision_overall: '>= 0.90',
      rules: '>= 0.95 recall, 0 flags on negated cases',
      latency: 'CPU p50 <= 2 ms, p99 <= 10 ms per 1 KB; every 100 KB adversarial input <= 100 ms CPU',
      names: 'PERSON recall >= 0.95 and precision >= 0.95 on held-out culture families',
      ids: 'each new ID type recall >= 0.95, invalid checksums rejected',
      disguised: 'recall >= 0.95, no partial leaks',
      sentiment: 'macro-F1 >= 0.90 on the hand-written set; complaints labelled positive <= 1 %',
    },
  };
}
