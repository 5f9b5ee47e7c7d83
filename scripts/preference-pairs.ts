// DPO/KTO mechanics data (docs/training.md, "Preference learning"): pairs from the generator, each item's
// reference reply (chosen) against the same item's flawed reply (rejected), for the train and test splits.
// Usage: node bin/tsx.mjs scripts/preference-pairs.ts OUT_DIR  → OUT_DIR/{train,test}-pairs.jsonl
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_GENERATE_OPTIONS, generateFeedback } from '../shared/data/generator';
import { buildSftCorpus } from '../shared/data/sft';
import { createGovernancePipeline } from '../shared/governance';

const out = process.argv[2];
if (!out) throw new Error('usage: scripts/preference-pairs.ts OUT_DIR');
mkdirSync(out, { recursive: true });
const governance = await createGovernancePipeline();
const items = generateFeedback(DEFAULT_GENERATE_OPTIONS);
for (const split of ['train', 'test'] as const) {
  const part = items.filter((i) => i.metadata.split === split);
  const good = buildSftCorpus(part, { governance, badShare: 0 });
  const bad = buildSftCorpus(part, { governance, badShare: 1 });
  const rows = good
    .map((g, i) => ({ prompt: g.prompt, chosen: g.reply, rejected: bad[i].reply, flaws: bad[i].flaws }))
    .filter((p) => p.chosen !== p.rejected);
  writeFileSync(join(out, `${split}-pairs.jsonl`), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  console.log(`${split}: ${rows.length} pairs`);
}
