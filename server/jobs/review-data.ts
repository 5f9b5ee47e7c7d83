// A job's training data from the reviews in the server's store: the reviewers' decisions, turned into the
// trainer's shapes by the one reader every shell uses (shared/review/datasets.ts), written into the run
// folder as JSON Lines and trained on as `edgelight train --data FILE` would. The file stays beside the
// checkpoints, so a run folder says exactly what the job learnt from (each line names its item and
// decision). Runs in the job's thread: reading every rollout of a large store never blocks the server.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REVIEW_DATASET_FILES, readReviewDatasets } from '../../shared/review/datasets';
import type { LightningStore } from '../../shared/store/store';
import { TrainSetupError } from '../../shared/train/session';
import { OWNER_ONLY_DIR, OWNER_ONLY_FILE } from '../write-file-atomic';

/** The runs reviews can train: DPO on pairs, KTO on labelled replies, SFT on the replies reviewers sent. */
export type ReviewRun = 'dpo' | 'kto' | 'sft';

const jsonl = (rows: readonly object[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join('');

/**
 * Writes `OUT/reviews/<pairs|labels|sft>.jsonl` for `run` and returns its path and a line for the log.
 * Reviews that give the run nothing are a TrainSetupError that says what the store holds.
 */
export async function writeReviewData(
  store: LightningStore,
  out: string,
  run: ReviewRun,
): Promise<{ path: string; summary: string }> {
  const data = await readReviewDatasets(store);
  const { counts } = data;
  // Each file as `edgelight data reviews` writes it (TRL's shapes): the trainer's readers take them as is.
  const rows = run === 'dpo' ? data.pairs : run === 'kto' ? data.labels : data.sft;
  const seen = `${counts.items} feedback items, ${counts.decided} decided → ${counts.pairs} pairs, ${counts.labels} labels, ${counts.sft} replies`;
  if (rows.length === 0) {
    const needs = {
      dpo: 'dpo needs preference pairs (a reply a reviewer approved, edited or wrote beside a draft passed over)',
      kto: 'kto needs labelled replies (drafts of decided items)',
      sft: 'sft from reviews needs replies reviewers sent (approved, edited or written)',
    }[run];
    throw new TrainSetupError(`${needs}, and the server's reviews give none: ${seen}`);
  }
  const dir = join(out, 'reviews');
  // Approved replies and redacted feedback: owner-only, as the store they came from.
  await mkdir(dir, { recursive: true, mode: OWNER_ONLY_DIR });
  const path = join(dir, REVIEW_DATASET_FILES[run === 'dpo' ? 'pairs' : run === 'kto' ? 'labels' : 'sft']);
  await writeFile(path, jsonl(rows), { mode: OWNER_ONLY_FILE });
  const skipped =
    counts.skippedRedacted + counts.skippedEmpty > 0
      ? `; ${counts.skippedRedacted} redacted and ${counts.skippedEmpty} blank drafts skipped`
      : '';
  return { path, summary: `data from reviews: ${seen}${skipped}` };
}
