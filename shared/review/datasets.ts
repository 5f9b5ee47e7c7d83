import { z } from 'zod';
import { extractReplySamples, type ReplySample } from '../agent/samples';
import {
  PreferencePairFields,
  withDistinctReplies,
  PreferenceLabel as TrainerLabel,
} from '../data/preference';
import type { LightningStore } from '../store/store';
import type { Span } from '../store/types';
import {
  type FeedbackItemInput,
  isFeedbackItem,
  OUTCOME_ATTR,
  OUTCOME_SPAN,
  REVIEW_ACTIONS,
  type ReviewAction,
  type ReviewDecision,
  readDecision,
} from './contract';

// Reviewer decisions as training data, in the JSON Lines shapes TRL's trainers read:
//   pairs.jsonl   {"prompt", "chosen", "rejected"}        DPOTrainer (and a Bradley–Terry reward model)
//   labels.jsonl  {"prompt", "completion", "label"}       KTOTrainer (unpaired: good / bad)
//   sft.jsonl     {"prompt", "completion"}                SFTTrainer (prompt–completion)
// Every line also names `item_id` (the intake's id) and `decision_id` (and pairs their `action`), so a
// line can be traced back to the decision it came from; TRL ignores columns it does not use.
//
// `prompt` is the exact text the drafting policy saw (the reply span's `edgelight.prompt`: the REDACTED
// feedback in the one prompt format, ending in "\nReply:"), and a completion is the reply text alone;
// prompt + completion is the sequence the policy scores. Only the decision that counts is used: the
// winner named by the item's latest outcome span (the server's ruling), or, before the server ruled, the
// item's first decision in store order. Decisions that lost are other reviewers' opinions of an item
// someone else already answered; they are left out rather than mixed in.

// The trainers' schemas (shared/data/preference.ts) with the provenance fields added: every exported
// line is a valid training row, and there is one definition of what a pair, a label or an example is.
export const PreferencePair = withDistinctReplies(
  PreferencePairFields.extend({
    item_id: z.string(),
    decision_id: z.string(),
    action: z.enum(['approve', 'edit', 'write']),
  }),
);
export type PreferencePair = z.infer<typeof PreferencePair>;

export const LabeledCompletion = TrainerLabel.extend({
  /** true: the reply the reviewer sent; false: a draft passed over, or a draft of a rejected item. */
  label: z.boolean(),
  item_id: z.string(),
  decision_id: z.string(),
});
export type LabeledCompletion = z.infer<typeof LabeledCompletion>;

export const ReviewSftExample = TrainerLabel.pick({ prompt: true, completion: true }).extend({
  item_id: z.string(),
  decision_id: z.string(),
});
export type ReviewSftExample = z.infer<typeof ReviewSftExample>;

/** The file names `edgelight data reviews --out DIR` writes (and training reads). */
export const REVIEW_DATASET_FILES = {
  pairs: 'pairs.jsonl',
  labels: 'labels.jsonl',
  sft: 'sft.jsonl',
} as const;

/** One feedback item as read from a store: its input and every span of its rollout. */
export type ReviewItemSpans = {
  rolloutId: string;
  input: FeedbackItemInput;
  spans: readonly Span[];
};

export type ReviewDatasetCounts = {
  /** Feedback items read. */
  items: number;
  /** Items with a decision that counts. */
  decided: number;
  /** Decisions that count, by action. */
  decisions: Record<ReviewAction, number>;
  /** Decisions left out because another decision on the item counts. */
  superseded: number;
  /** Decided items whose drafts (and so the prompt) are missing, or whose counting decision is not here. */
  unusable: number;
  pairs: number;
  labels: number;
  sft: number;
  /** Drafts left out because they were stored redacted (their text holds placeholders, not the reply). */
  skippedRedacted: number;
  /** Drafts left out because they are blank (a policy that stopped at once): no text to learn from. */
  skippedEmpty: number;
};

export type ReviewDatasets = {
  pairs: PreferencePair[];
  labels: LabeledCompletion[];
  sft: ReviewSftExample[];
  counts: ReviewDatasetCounts;
};

type StoredDecision = { decision: ReviewDecision; attemptId: string };

/** The item's decision that counts, and how many others were passed over; null when there is none. */
export function countingDecision(spans: readonly Span[]): {
  counts: StoredDecision | null;
  others: number;
  missing: boolean;
} {
  const ordered = [...spans].sort((a, b) => a.sequence_id - b.sequence_id);
  const decisions: StoredDecision[] = [];
  const seen = new Set<string>();
  for (const span of ordered) {
    const decision = readDecision(span);
    // The same decision in a second span (a re-push) is one decision.
    if (!decision || seen.has(decision.id)) continue;
    seen.add(decision.id);
    decisions.push({ decision, attemptId: span.attempt_id });
  }
  if (decisions.length === 0) return { counts: null, others: 0, missing: false };
  // The server's latest ruling is its word; a lab that has not heard from it yet takes the first.
  const outcome = ordered.filter((s) => s.name === OUTCOME_SPAN).at(-1);
  const winnerId = outcome?.attributes[OUTCOME_ATTR.winner];
  if (typeof winnerId === 'string') {
    const winner = decisions.find((d) => d.decision.id === winnerId) ?? null;
    return { counts: winner, others: winner ? decisions.length - 1 : decisions.length, missing: !winner };
  }
  return { counts: decisions[0], others: decisions.length - 1, missing: false };
}

/** The chosen reply of a decision that sends one, from the drafts it was made on. */
function chosenReply(
  decision: ReviewDecision,
  drafts: readonly ReplySample[],
): { text: string; draftIndex: number | null } | null {
  if (decision.action === 'approve') {
    const draft = drafts.find((d) => d.index === decision.draftIndex);
    // The draft as the policy wrote it (the decision keeps it trimmed); a redacted one is unusable.
    if (draft)
      return draft.redacted || draft.text.trim() === ''
        ? null
        : { text: draft.text, draftIndex: draft.index };
    return decision.reply ? { text: decision.reply, draftIndex: decision.draftIndex ?? null } : null;
  }
  return decision.reply ? { text: decision.reply, draftIndex: null } : null;
}

/**
 * Pairs, labels and SFT examples from items already read (pure: no store). Per decision that counts:
 * - approve: chosen = the approved draft; rejected = each other draft;
 * - edit: chosen = the edited reply; rejected = every draft, the edited one included;
 * - write: chosen = the written reply; rejected = every draft;
 * - reject: no pairs, every draft labelled false; spam: nothing (it says nothing about replies).
 * Drafts stored redacted (placeholders, not the reply) and blank drafts are skipped everywhere; a draft
 * identical to the chosen reply is no evidence against it and is skipped too.
 */
export function reviewDatasets(items: readonly ReviewItemSpans[]): ReviewDatasets {
  const decisions = Object.fromEntries(REVIEW_ACTIONS.map((a) => [a, 0])) as Record<ReviewAction, number>;
  const out: ReviewDatasets = {
    pairs: [],
    labels: [],
    sft: [],
    counts: {
      items: items.length,
      decided: 0,
      decisions,
      superseded: 0,
      unusable: 0,
      pairs: 0,
      labels: 0,
      sft: 0,
      skippedRedacted: 0,
      skippedEmpty: 0,
    },
  };
  const { counts } = out;
  for (const item of items) {
    const ruling = countingDecision(item.spans);
    counts.superseded += ruling.others;
    if (ruling.missing) counts.unusable++;
    if (!ruling.counts) continue;
    const { decision, attemptId } = ruling.counts;
    counts.decided++;
    decisions[decision.action]++;
    if (decision.action === 'spam') continue;

    // The drafts the reviewer saw: those of the attempt the decision was made on.
    const drafts = extractReplySamples(item.spans.filter((s) => s.attempt_id === attemptId));
    const prompt = drafts.find((d) => d.prompt !== '')?.prompt;
    if (!prompt) {
      counts.unusable++;
      continue;
    }
    const ids = { item_id: item.input.id, decision_id: decision.id };
    const unredacted = drafts.filter((d) => !d.redacted);
    const usable = unredacted.filter((d) => d.text.trim() !== '');
    counts.skippedRedacted += drafts.length - unredacted.length;
    counts.skippedEmpty += unredacted.length - usable.length;

    if (decision.action === 'reject') {
      for (const d of usable) out.labels.push({ prompt, completion: d.text, label: false, ...ids });
      continue;
    }
    const chosen = chosenReply(decision, drafts);
    if (!chosen) {
      counts.unusable++;
      continue;
    }
    out.sft.push({ prompt, completion: chosen.text, ...ids });
    out.labels.push({ prompt, completion: chosen.text, label: true, ...ids });
    for (const d of usable) {
      if (d.index === chosen.draftIndex || d.text.trim() === chosen.text.trim()) continue;
      out.pairs.push({ prompt, chosen: chosen.text, rejected: d.text, ...ids, action: decision.action });
      out.labels.push({ prompt, completion: d.text, label: false, ...ids });
    }
  }
  counts.pairs = out.pairs.length;
  counts.labels = out.labels.length;
  counts.sft = out.sft.length;
  return out;
}

const SCAN_PAGE = 500;

/**
 * Every feedback item of a store with all its spans, oldest rollout first. The store has no index on
 * the input's kind, so every rollout is read a page at a time (works on any LightningStore: the
 * server's SQLite store, an HttpLightningStore, a lab's).
 */
export async function readReviewItems(store: LightningStore): Promise<ReviewItemSpans[]> {
  const items: ReviewItemSpans[] = [];
  for (let offset = 0; ; offset += SCAN_PAGE) {
    const page = await store.queryRollouts({ sort_by: 'start_time', limit: SCAN_PAGE, offset });
    for (const rollout of page.items) {
      if (!isFeedbackItem(rollout.input)) continue;
      const spans = (await store.querySpans({ rollout_id: rollout.rollout_id, limit: -1 })).items;
      items.push({ rolloutId: rollout.rollout_id, input: rollout.input as FeedbackItemInput, spans });
    }
    if (page.items.length < SCAN_PAGE) break;
  }
  return items;
}

/** The datasets of every decided feedback item in a store. */
export async function readReviewDatasets(store: LightningStore): Promise<ReviewDatasets> {
  return reviewDatasets(await readReviewItems(store));
}
