// A simulated reviewer at work (measurement only, see reviewers.ts): it decides drafted feedback items
// the way a person in the Inbox would, and its decisions are written as the same
// `edgelight.review.decision` spans the lab writes, so `shared/review/datasets.ts` turns them into
// pairs, labels and SFT examples exactly as it does real reviews. `winRate` judges two policies'
// replies to the same feedback with a reviewer's hidden preference.
import { createHash } from 'node:crypto';
import { REPLY_ATTR } from '../../shared/agent/feedback-agent';
import { extractReplySamples } from '../../shared/agent/samples';
import {
  DECISION_SPAN,
  decisionAttributes,
  REVIEW_ACTIONS,
  type ReviewAction,
  ReviewDecision,
  readDecision,
} from '../../shared/review/contract';
import { readReviewItems } from '../../shared/review/datasets';
import type { LightningStore } from '../../shared/store/store';
import type { SpanInput } from '../../shared/store/types';
import { lineDiff } from '../../shared/review/line-diff';
import type { SimulatedReviewer } from './reviewers';

export type Draft = { index: number; text: string; redacted: boolean };

export type SimulateOptions = {
  /** When no draft clears the threshold, send the reviewer's edit of the best one if that clears it. */
  edits?: boolean;
  /** The decision time written into the spans (epoch seconds); fixed so reruns write the same spans. */
  decidedAt?: number;
};

/** A UUID (v4 layout) derived from `parts`, so the same reviewer on the same item makes the same decision id. */
export function derivedUuid(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((Number.parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * The reviewer's decision on one item: approve the best-scoring draft (the first of equals) when it
 * clears the threshold; else, with `edits`, send its edit of the best draft when that clears it; else
 * reject with the reviewer's reason. Drafts stored redacted cannot be approved (as in the Inbox).
 */
export function reviewDrafts(
  reviewer: SimulatedReviewer,
  item: { id: string; feedback: string; drafts: readonly Draft[]; policyId?: string | null },
  options: SimulateOptions = {},
): ReviewDecision {
  const base = {
    id: derivedUuid('simulated', reviewer.name, item.id),
    reviewer: `simulated:${reviewer.name}`,
    decidedAt: options.decidedAt ?? 1_764_700_000,
    findings: [],
    ...(item.policyId ? { policyId: item.policyId } : {}),
  };
  let best: { draft: Draft; score: number } | null = null;
  for (const draft of item.drafts) {
    if (draft.redacted) continue;
    const score = reviewer.score(draft.text, item.feedback);
    if (!best || score > best.score) best = { draft, score };
  }
  if (best && best.score >= reviewer.threshold && best.draft.text.trim() !== '')
    return ReviewDecision.parse({
      ...base,
      action: 'approve',
      draftIndex: best.draft.index,
      reply: best.draft.text.trim(),
    });
  if (best && options.edits) {
    const edited = reviewer.edit(best.draft.text, item.feedback)?.trim();
    if (
      edited &&
      edited !== best.draft.text.trim() &&
      reviewer.score(edited, item.feedback) >= reviewer.threshold
    )
      return ReviewDecision.parse({
        ...base,
        action: 'edit',
        draftIndex: best.draft.index,
        reply: edited,
        diff: lineDiff(best.draft.text, edited),
      });
  }
  return ReviewDecision.parse({ ...base, action: 'reject', reason: reviewer.rejectReason });
}

export type SimulatedDecision = {
  rolloutId: string;
  itemId: string;
  decision: ReviewDecision;
  /** The drafts it was made on, with their heuristic reward terms (null when a reward span is missing). */
  drafts: Array<Draft & { reward: Record<string, number> | null }>;
};

/**
 * Decides every undecided feedback item of `store` as `reviewer` would and writes each decision as a
 * decision span on the item's drafting attempt, beside its drafts. Returns the decisions and counts.
 */
export async function simulateReviews(
  store: LightningStore,
  reviewer: SimulatedReviewer,
  options: SimulateOptions = {},
): Promise<{ decisions: SimulatedDecision[]; counts: Record<ReviewAction, number> }> {
  const counts = Object.fromEntries(REVIEW_ACTIONS.map((a) => [a, 0])) as Record<ReviewAction, number>;
  const decisions: SimulatedDecision[] = [];
  const spansToWrite: SpanInput[] = [];
  for (const item of await readReviewItems(store)) {
    if (item.spans.some((s) => readDecision(s))) continue;
    // The drafting attempt: the one whose reply (and reward) spans came last.
    const replies = item.spans.filter((s) => s.attributes[REPLY_ATTR.index] !== undefined);
    const last = replies.sort((a, b) => a.sequence_id - b.sequence_id).at(-1);
    if (!last) continue; // not drafted yet: nothing to decide on
    const samples = extractReplySamples(item.spans.filter((s) => s.attempt_id === last.attempt_id));
    const drafts = samples.map((s) => ({
      index: s.index,
      text: s.text,
      redacted: s.redacted,
      reward: s.reward,
    }));
    const decision = reviewDrafts(
      reviewer,
      { id: item.input.id, feedback: item.input.text, drafts, policyId: samples[0]?.policyId },
      options,
    );
    counts[decision.action]++;
    decisions.push({ rolloutId: item.rolloutId, itemId: item.input.id, decision, drafts });
    spansToWrite.push({
      rollout_id: item.rolloutId,
      attempt_id: last.attempt_id,
      trace_id: last.trace_id,
      span_id: createHash('sha256').update(`decision\u0000${decision.id}`).digest('hex').slice(0, 16),
      name: DECISION_SPAN,
      attributes: decisionAttributes(decision),
      start_time: decision.decidedAt,
      end_time: decision.decidedAt,
      status: { status_code: 'OK' },
    });
  }
  if (spansToWrite.length > 0) await store.addSpans(spansToWrite);
  return { decisions, counts };
}

/**
 * How often `reviewer` prefers reply A to reply B for the same feedback, over aligned lists: a win
 * counts 1, a tie half. `feedback[k]` is what both replies k answer (empty when not given).
 */
export function winRate(
  reviewer: SimulatedReviewer,
  repliesA: readonly string[],
  repliesB: readonly string[],
  feedback: readonly string[] = [],
): number {
  if (repliesA.length !== repliesB.length)
    throw new Error(`winRate needs aligned replies, got ${repliesA.length} and ${repliesB.length}`);
  if (repliesA.length === 0) return Number.NaN;
  let wins = 0;
  for (let k = 0; k < repliesA.length; k++) {
    const a = reviewer.score(repliesA[k], feedback[k] ?? '');
    const b = reviewer.score(repliesB[k], feedback[k] ?? '');
    wins += a > b ? 1 : a === b ? 0.5 : 0;
  }
  return wins / repliesA.length;
}
