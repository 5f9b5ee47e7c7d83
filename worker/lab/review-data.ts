import { PreferenceLabel, PreferencePair } from '../../shared/data/preference';
import { readReviewDatasets } from '../../shared/review/datasets';
import type { LightningStore } from '../../shared/store/store';
import type { ReviewDataSummary, ReviewRun } from './protocol';

// Training data from the reviews this lab holds: the Inbox's decisions (made here or pulled by sync) in
// the lab's own store, turned into the trainer's shapes by the one reader every shell uses
// (shared/review/datasets.ts). DPO trains on the pairs, KTO on the labelled replies, and SFT may train on
// the replies reviewers sent (approved, edited, written) instead of the generated corpus.

export type ReviewTrainingData = {
  pairs: PreferencePair[];
  labels: PreferenceLabel[];
  /** As the SFT corpus holds examples: the review's `completion` is the `reply`. */
  sft: Array<{ prompt: string; reply: string }>;
  summary: ReviewDataSummary;
};

/** Reads every decided feedback item of `store` (one pass over its rollouts). */
export async function readReviewTrainingData(store: LightningStore): Promise<ReviewTrainingData> {
  const data = await readReviewDatasets(store);
  const { counts } = data;
  return {
    // Through the trainer's own schemas: provenance fields (item_id, decision_id, action) are dropped.
    pairs: data.pairs.map((p) => PreferencePair.parse(p)),
    labels: data.labels.map((l) => PreferenceLabel.parse(l)),
    sft: data.sft.map((e) => ({ prompt: e.prompt, reply: e.completion })),
    summary: withReasons({
      items: counts.items,
      decided: counts.decided,
      pairs: counts.pairs,
      labels: counts.labels,
      sft: counts.sft,
    }),
  };
}

/** The counts alone, for the Train page to show before a run starts. */
export async function reviewDataSummary(store: LightningStore): Promise<ReviewDataSummary> {
  return (await readReviewTrainingData(store)).summary;
}

/** The counts with, per kind of run, why these reviews cannot train it (the page shows it as is). */
function withReasons(counts: Omit<ReviewDataSummary, 'missing'>): ReviewDataSummary {
  return {
    ...counts,
    missing: {
      dpo: missingReviewData('dpo', counts),
      kto: missingReviewData('kto', counts),
      sft: missingReviewData('sft', counts),
    },
  };
}

/** Why `what` cannot be trained from these reviews, or null when it can. */
function missingReviewData(what: ReviewRun, summary: Omit<ReviewDataSummary, 'missing'>): string | null {
  const have = { dpo: summary.pairs, kto: summary.labels, sft: summary.sft }[what];
  if (have > 0) return null;
  const needs = {
    dpo: 'DPO needs preference pairs: an approved, edited or written reply beside a draft it was chosen over',
    kto: 'KTO needs labelled replies: drafts of decided items (approved ones desirable, passed-over or rejected ones not)',
    sft: 'SFT from reviews needs replies reviewers sent (approved, edited or written)',
  }[what];
  const seen =
    summary.decided === 0
      ? `none of the ${summary.items} feedback items in this lab is decided yet`
      : `the ${summary.decided} decided items give none`;
  return `${needs}; ${seen}. Decide items in the Inbox (sync pulls them from the server) first.`;
}
