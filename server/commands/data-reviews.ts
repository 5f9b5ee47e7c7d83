// `edgelight data reviews --out DIR`: reviewer decisions as training data (shared/review/datasets.ts),
// read from a server's data folder or over HTTP from a running server, written as the JSON Lines files
// `train --algo dpo|kto|sft` reads.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toJsonl } from '../../shared/data/jsonl';
import {
  LabeledCompletion,
  PreferencePair,
  REVIEW_DATASET_FILES,
  ReviewSftExample,
  readReviewDatasets,
} from '../../shared/review/datasets';
import { HttpLightningStore } from '../../shared/store/http';
import type { LightningStore } from '../../shared/store/store';
import { createNodeFetch } from '../node-fetch';
import { CliUsageError, parseCommandArgs } from './args';
import { DEFAULT_DATA_DIR, dataLayout } from './data-dir';

export const REVIEWS_HELP = `usage: edgelight data reviews --out DIR [--data SERVER_DATA_DIR | --server URL [--token T]]

Turns reviewers' decisions on feedback items into training data (TRL's JSON Lines shapes):
  DIR/${REVIEW_DATASET_FILES.pairs}    {"prompt","chosen","rejected"}: the sent reply against each draft passed over (DPO)
  DIR/${REVIEW_DATASET_FILES.labels}   {"prompt","completion","label"}: sent reply true, passed-over drafts and
                 the drafts of rejected items false (KTO); spam items are left out
  DIR/${REVIEW_DATASET_FILES.sft}       {"prompt","completion"}: approved, edited and written replies (SFT)
Each line also has "item_id" and "decision_id" (pairs: "action") to trace it; trainers ignore them.
Only the decision that counts is used (the server's ruling, else the item's first decision); drafts
stored redacted (they leaked personal data) are skipped. Prints the counts as JSON.
  --out      folder to write (created if needed)
  --data     an 'edgelight serve' data folder to read (default ./${DEFAULT_DATA_DIR}); for a server that is
             running, prefer --server
  --server   a running edgelight server, e.g. http://127.0.0.1:8787
  --token    its bearer token (or EDGELIGHT_TOKEN)`;

export async function openStore(values: {
  data?: string;
  server?: string;
  token?: string;
}): Promise<LightningStore> {
  if (values.data !== undefined && values.server !== undefined)
    throw new CliUsageError('give --data or --server, not both');
  if (values.server !== undefined) {
    if (!/^https?:\/\/[^\s/]+/.test(values.server))
      throw new CliUsageError(`--server must be an http(s) URL, got '${values.server}'`);
    return new HttpLightningStore({
      baseUrl: values.server,
      token: values.token ?? process.env.EDGELIGHT_TOKEN,
      fetch: createNodeFetch(),
      retryDelaysMs: [200, 500],
    });
  }
  const dataDir = values.data ?? DEFAULT_DATA_DIR;
  const path = dataLayout(dataDir).store;
  // Opening a missing file would create an empty store: say so instead.
  if (!existsSync(path)) throw new CliUsageError(`--data ${dataDir}: no store (${path} does not exist)`);
  // Loaded only on this path: better-sqlite3 is a native module the HTTP path never needs.
  const { openSqliteStore } = await import('../store/sqlite');
  try {
    return openSqliteStore(path);
  } catch (error) {
    throw new CliUsageError(`--data ${dataDir}: ${(error as Error).message}`);
  }
}

export async function runReviews(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    out: { type: 'string' },
    data: { type: 'string' },
    server: { type: 'string' },
    token: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(REVIEWS_HELP);
    return 0;
  }
  if (!values.out) throw new CliUsageError('--out DIR is required');
  const store = await openStore(values);
  let datasets: Awaited<ReturnType<typeof readReviewDatasets>>;
  try {
    datasets = await readReviewDatasets(store);
  } catch (error) {
    if (error instanceof CliUsageError) throw error;
    throw new CliUsageError(`cannot read the reviews: ${(error as Error).message}`);
  } finally {
    await store.close();
  }
  try {
    await mkdir(values.out, { recursive: true });
    await writeFile(join(values.out, REVIEW_DATASET_FILES.pairs), toJsonl(datasets.pairs, PreferencePair));
    await writeFile(
      join(values.out, REVIEW_DATASET_FILES.labels),
      toJsonl(datasets.labels, LabeledCompletion),
    );
    await writeFile(join(values.out, REVIEW_DATASET_FILES.sft), toJsonl(datasets.sft, ReviewSftExample));
  } catch (error) {
    throw new CliUsageError(
      `cannot write to '${values.out}': ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  console.log(JSON.stringify({ out: values.out, ...datasets.counts }, null, 2));
  return 0;
}
