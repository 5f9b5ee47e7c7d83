// Trains the sentiment word model (shared/governance/sentiment/model.ts) on the development set
// bench/fixtures/governance/sentiment-dev.jsonl and writes shared/governance/sentiment/model.json.
// The evaluation set is never read. Training is deterministic (full-batch gradient descent from zero).
//
//   node bin/tsx.mjs scripts/build-sentiment-model.ts          # retrain and write model.json
//   node bin/tsx.mjs scripts/build-sentiment-model.ts --check  # retrain; fail if model.json differs
//
// The features use the rules' tokens and question/request reading: after changing analyze.ts or
// lexicon.ts, run --check (and rebuild if it fails).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { explainSentiment } from '../shared/governance/sentiment/analyze';
import {
  type ModelLabel,
  type SentimentModel,
  trainModel,
  wordFeatures,
} from '../shared/governance/sentiment/model';

const ROOT = join(import.meta.dirname, '..');
const DEV = join(ROOT, 'bench/fixtures/governance/sentiment-dev.jsonl');
const OUT = join(ROOT, 'shared/governance/sentiment/model.json');
const OPTIONS = { epochs: 300, l2: 0.003, rate: 1, minCount: 2 };

const raw = readFileSync(DEV, 'utf8');
const items = raw
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as { text: string; label: ModelLabel });
const trained = trainModel(
  items.map((i) => ({ features: wordFeatures(explainSentiment(i.text)), label: i.label })),
  OPTIONS,
);
const model: SentimentModel = {
  trained: {
    items: items.length,
    sha256: createHash('sha256').update(raw).digest('hex'),
    ...OPTIONS,
  },
  ...trained,
};
const json = `${JSON.stringify(model, null, 0)}\n`;

if (process.argv.includes('--check')) {
  const committed = readFileSync(OUT, 'utf8');
  if (committed !== json) {
    console.error('model.json differs from a retrain on the development set: rebuild it');
    process.exit(1);
  }
  console.log(`model.json reproduced: ${Object.keys(model.weights).length} features, ${items.length} items`);
} else {
  writeFileSync(OUT, json);
  console.log(`wrote ${OUT}: ${Object.keys(model.weights).length} features, ${json.length} bytes`);
}
