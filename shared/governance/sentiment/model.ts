// A small word model beside the rules: multinomial logistic regression over the words and word pairs
// of a text. The rules know what a lexicon can list; the model has learnt what complaints sound like
// when they use no listed word ("tapping play does nothing", "the kettle is cold") and how irony reads
// ("love getting ads for the thing I already bought"). It only vetoes: see sentiment.ts. Trained on the
// development set by scripts/build-sentiment-model.ts (weights in model.json, reproducible with
// --check); never on the evaluation set.
import type { SentimentDetail } from './analyze';
import { NEGATORS } from './lexicon';

export const LABELS = ['negative', 'neutral', 'positive'] as const;
export type ModelLabel = (typeof LABELS)[number];

export type SentimentModel = {
  /** what it was trained on and how (for --check) */
  trained: { items: number; sha256: string; epochs: number; l2: number; rate: number; minCount: number };
  bias: [number, number, number];
  /** feature → weight per label (negative, neutral, positive) */
  weights: Record<string, [number, number, number]>;
};

/**
 * The features of one text: the words and word pairs present (numbers as "#", the three words after a
 * negator marked as negated), and whether the rules
 * read a question or a request in it. The rules' own score is not a feature: the rules were built on
 * the same development set, so the model would learn to trust them more than they deserve.
 */
export function wordFeatures(detail: SentimentDetail): Map<string, number> {
  const f = new Map<string, number>();
  const words = detail.words.map((w) => (/^\d+$/.test(w) ? '#' : w));
  let negatedUntil = -1;
  for (let i = 0; i < words.length; i++) {
    // the three words after a negator are marked: "no problems" is not "problems"
    f.set(i <= negatedUntil ? `n:${words[i]}` : `w:${words[i]}`, 1);
    if (NEGATORS.has(words[i])) negatedUntil = i + 3;
    if (i > 0) f.set(`b:${words[i - 1]}_${words[i]}`, 1);
  }
  if (detail.evidence.question) f.set('r:question', 1);
  if (detail.evidence.request) f.set('r:request', 1);
  return f;
}

/** Label probabilities (negative, neutral, positive). */
export function predictProbabilities(model: SentimentModel, features: Map<string, number>): number[] {
  const z = [...model.bias];
  for (const [name, value] of features) {
    const w = model.weights[name];
    if (!w) continue;
    z[0] += w[0] * value;
    z[1] += w[1] * value;
    z[2] += w[2] * value;
  }
  const m = Math.max(z[0], z[1], z[2]);
  const e = z.map((x) => Math.exp(x - m));
  const sum = e[0] + e[1] + e[2];
  return e.map((x) => x / sum);
}

export type TrainingItem = { features: Map<string, number>; label: ModelLabel };

/**
 * Full-batch gradient descent on the L2-regularised cross-entropy, from zero weights: deterministic,
 * so the same items give the same weights. Words and pairs seen in fewer than `minCount` items are
 * left out (they would only memorise the training sentences).
 */
export function trainModel(
  items: TrainingItem[],
  options: { epochs?: number; l2?: number; rate?: number; minCount?: number } = {},
): Omit<SentimentModel, 'trained'> {
  const epochs = options.epochs ?? 300;
  const l2 = options.l2 ?? 0.003;
  const rate = options.rate ?? 1;
  const minCount = options.minCount ?? 2;
  const counts = new Map<string, number>();
  for (const item of items)
    for (const name of item.features.keys()) counts.set(name, (counts.get(name) ?? 0) + 1);
  const names = [...counts.keys()]
    .filter((n) => n.startsWith('r:') || (counts.get(n) ?? 0) >= minCount)
    .sort();
  const index = new Map(names.map((n, i) => [n, i]));
  const rows = items.map((item) => {
    const idx: number[] = [];
    const val: number[] = [];
    for (const [name, value] of item.features) {
      const i = index.get(name);
      if (i !== undefined) {
        idx.push(i);
        val.push(value);
      }
    }
    return { idx, val, y: LABELS.indexOf(item.label) };
  });
  const W = Array.from({ length: 3 }, () => new Float64Array(names.length));
  const b = [0, 0, 0];
  const n = rows.length;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const gW = Array.from({ length: 3 }, () => new Float64Array(names.length));
    const gb = [0, 0, 0];
    for (const row of rows) {
      const z = [b[0], b[1], b[2]];
      for (let k = 0; k < row.idx.length; k++)
        for (let c = 0; c < 3; c++) z[c] += W[c][row.idx[k]] * row.val[k];
      const m = Math.max(...z);
      const e = z.map((x) => Math.exp(x - m));
      const s = e[0] + e[1] + e[2];
      for (let c = 0; c < 3; c++) {
        const d = e[c] / s - (c === row.y ? 1 : 0);
        gb[c] += d;
        for (let k = 0; k < row.idx.length; k++) gW[c][row.idx[k]] += d * row.val[k];
      }
    }
    for (let c = 0; c < 3; c++) {
      b[c] -= (rate * gb[c]) / n;
      for (let j = 0; j < names.length; j++) W[c][j] -= rate * (gW[c][j] / n + l2 * W[c][j]);
    }
  }
  const round = (x: number) => Math.round(x * 1e4) / 1e4;
  const weights: Record<string, [number, number, number]> = {};
  names.forEach((name, j) => {
    const w: [number, number, number] = [round(W[0][j]), round(W[1][j]), round(W[2][j])];
    if (w.some((x) => x !== 0)) weights[name] = w;
  });
  return { bias: [round(b[0]), round(b[1]), round(b[2])], weights };
}
