import {
  DatasetItem,
  DEFAULT_GENERATE_OPTIONS,
  generateFeedback,
  parseJsonl,
  toJsonl,
} from '../../shared/data/index';
import type { LabDatabase } from './lab-db';
import {
  type DatasetFilter,
  type DatasetRow,
  type DatasetSummary,
  GenerateRequest,
  type LineError,
} from './protocol';

// The dataset as the lab keeps it: DatasetItems (shared/data) in the lab database, indexed by
// split, category and sentiment so the page can filter and page through them.

/** Where the SFT corpus settings live: the bad-habit share is applied when SFT data is built. */
export const SFT_SETTINGS_KEY = 'dataset.sft';
export type SftSettings = { seed: number; badHabitShare: number };

function toRecord(item: DatasetItem, order: number) {
  return {
    id: item.id,
    split: item.metadata.split,
    category: item.category,
    sentiment: item.metadata.sentiment,
    order,
    example: item,
  };
}

function toRow(example: unknown): DatasetRow {
  const item = example as DatasetItem;
  const tags = [...item.metadata.pii.map((p) => `PII ${p}`)];
  if (item.metadata.valuesQuestion) tags.push('values question');
  return {
    id: item.id,
    split: item.metadata.split,
    category: item.category,
    sentiment: item.metadata.sentiment,
    text: item.text,
    tags,
  };
}

async function nextOrder(db: LabDatabase): Promise<number> {
  const last = await db.examples.orderBy('order').last();
  return last ? last.order + 1 : 0;
}

async function putItems(db: LabDatabase, items: DatasetItem[]): Promise<void> {
  const start = await nextOrder(db);
  await db.examples.bulkPut(items.map((item, i) => toRecord(item, start + i)));
}

/** Replaces the dataset with a freshly generated one. */
export async function generateDataset(db: LabDatabase, request: unknown): Promise<{ added: number }> {
  const { seed, size, badHabitShare } = GenerateRequest.parse(request);
  const items = generateFeedback({ seed, count: size });
  await db.transaction('rw', db.examples, db.settings, async () => {
    await db.examples.clear();
    await putItems(db, items);
    await db.setSetting(SFT_SETTINGS_KEY, { seed, badHabitShare } satisfies SftSettings);
  });
  return { added: items.length };
}

/**
 * The default dataset: `edgelight data generate`'s defaults (seed 7, 2,400 items, SFT bad-habit share
 * 0.2), the data the starter policy was trained on (shared/train/starter-policy.ts). The Train page
 * offers it when the lab has no train split.
 */
export const DEFAULT_DATASET = {
  seed: DEFAULT_GENERATE_OPTIONS.seed,
  size: DEFAULT_GENERATE_OPTIONS.count,
  // DEFAULT_BAD_SHARE (shared/data/sft.ts), written out: importing it would pull the SFT corpus's NLP
  // modules into the worker's first load (starter-policy.test.ts checks the two agree).
  badHabitShare: 0.2,
} as const satisfies GenerateRequest;

export function generateDefaultDataset(db: LabDatabase): Promise<{ added: number }> {
  return generateDataset(db, DEFAULT_DATASET);
}

/** Adds (or replaces by id) the valid lines; every invalid line is reported with its number. */
export async function importDataset(
  db: LabDatabase,
  text: unknown,
): Promise<{ added: number; errors: LineError[] }> {
  if (typeof text !== 'string') throw new Error('the import must be text (JSON Lines)');
  const { records, issues } = parseJsonl(text, DatasetItem);
  await putItems(db, records);
  return { added: records.length, errors: issues.map((i) => ({ line: i.line, error: i.message })) };
}

function filtered(db: LabDatabase, filter: DatasetFilter) {
  return db.examples
    .orderBy('order')
    .filter(
      (r) =>
        (!filter.split || r.split === filter.split) &&
        (!filter.category || r.category === filter.category) &&
        (!filter.sentiment || r.sentiment === filter.sentiment),
    );
}

export async function queryDataset(
  db: LabDatabase,
  filter: DatasetFilter,
  offset: number,
  limit: number,
): Promise<{ total: number; rows: DatasetRow[] }> {
  const none = !filter.split && !filter.category && !filter.sentiment;
  const total = none ? await db.examples.count() : await filtered(db, filter).count();
  const records = await filtered(db, filter).offset(offset).limit(limit).toArray();
  return { total, rows: records.map((r) => toRow(r.example)) };
}

export async function exportDataset(db: LabDatabase, filter: DatasetFilter): Promise<string> {
  const records = await filtered(db, filter).toArray();
  return toJsonl(
    records.map((r) => r.example as DatasetItem),
    DatasetItem,
  );
}

export async function datasetSummary(db: LabDatabase): Promise<DatasetSummary> {
  const [splits, categories, sentiments] = await Promise.all([
    db.examples.orderBy('split').uniqueKeys(),
    db.examples.orderBy('category').uniqueKeys(),
    db.examples.orderBy('sentiment').uniqueKeys(),
  ]);
  const bySplit: Record<string, number> = {};
  for (const split of splits) bySplit[String(split)] = await db.examples.where('split').equals(split).count();
  return {
    total: await db.examples.count(),
    bySplit,
    splits: splits.map(String),
    categories: categories.map(String),
    sentiments: sentiments.map(String),
  };
}

/** The items of one split, in dataset order (what training and evaluation read). */
export async function datasetItems(db: LabDatabase, split?: string): Promise<DatasetItem[]> {
  const records = split
    ? await db.examples.where('split').equals(split).sortBy('order')
    : await db.examples.orderBy('order').toArray();
  return records.map((r) => r.example as DatasetItem);
}
