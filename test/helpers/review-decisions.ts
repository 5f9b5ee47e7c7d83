// Decided feedback items, as reviewers leave them in a store: items written as the intake and the real
// feedback agent leave them (test/helpers/feedback-items.ts, scripted drafts), each with one decision
// span on its attempt, as the lab's Inbox and the server's decision route write it.
import { randomUUID } from 'node:crypto';
import type { GovernancePipeline } from '../../shared/governance/types';
import { DECISION_SPAN, decisionAttributes, ReviewDecision } from '../../shared/review/contract';
import { lineDiff } from '../../shared/review/line-diff';
import type { LightningStore } from '../../shared/store/store';
import type { AttemptedRollout } from '../../shared/store/types';
import { seedFeedbackItem } from './feedback-items';

/** Writes one decision span on the item's attempt; returns the decision. */
export async function decideItem(
  store: LightningStore,
  rollout: AttemptedRollout,
  d: Partial<ReviewDecision> & Pick<ReviewDecision, 'action'>,
): Promise<ReviewDecision> {
  // Parsed as readers parse it: a decision the readers would drop fails here, not as a missing count.
  const decision = ReviewDecision.parse({
    id: randomUUID(),
    reviewer: 'Rae Reviewer',
    decidedAt: Date.now() / 1000,
    findings: [],
    ...d,
  });
  await store.addSpan({
    rollout_id: rollout.rollout_id,
    attempt_id: rollout.attempt.attempt_id,
    trace_id: randomUUID().replaceAll('-', ''),
    span_id: randomUUID().replaceAll('-', '').slice(0, 16),
    name: DECISION_SPAN,
    attributes: decisionAttributes(decision),
  });
  return decision;
}

const CLEAR = 'Thank you for telling us about this. We have fixed it and checked the page again.';
const VAGUE = 'Sorry about that. It might perhaps possibly be looked at some day.';
const STUTTER = 'Thank you for the report. We are are looking into it now.';
const EDITED = 'Thank you for the report. We have fixed the link and checked the page.';

/** The pairs, labels and SFT replies `seedReviews` yields (shared/review/datasets.ts's rules). */
export const SEEDED_REVIEWS = {
  items: 4,
  decided: 4,
  // approve: the chosen draft over the 2 others; edit: the edit over all 3 drafts; reject: none; spam: none.
  pairs: 5,
  // approve: 1 + 2; edit: 1 + 3; reject: its 3 drafts.
  labels: 10,
  // approve and edit send a reply.
  sft: 2,
} as const;

/**
 * Four decided items (approve, edit, reject, spam), each with three scripted drafts; `base` keeps ids
 * apart when one store gets them twice.
 */
export async function seedReviews(
  store: LightningStore,
  governance: GovernancePipeline,
  base = 'rv',
): Promise<Record<'approve' | 'edit' | 'reject' | 'spam', AttemptedRollout>> {
  const at = 1_800_000_000;
  const seed = (key: string, text: string, i: number) =>
    seedFeedbackItem(store, governance, {
      id: `${base}-${key}`,
      text,
      submittedAt: at + i * 60,
      replies: [CLEAR, VAGUE, STUTTER],
      category: 'website-bug',
    });
  const items = {
    approve: await seed('approve', 'The export button fails every time I press it.', 0),
    edit: await seed('edit', 'The glossary page has a broken link to the audit section.', 1),
    reject: await seed('reject', 'The search box returns nothing when I look for audit trails.', 2),
    spam: await seed('spam', 'Buy cheap watches now, best prices on the web.', 3),
  };
  await decideItem(store, items.approve, { action: 'approve', draftIndex: 0, reply: CLEAR });
  await decideItem(store, items.edit, {
    action: 'edit',
    draftIndex: 2,
    reply: EDITED,
    diff: lineDiff(STUTTER, EDITED),
  });
  await decideItem(store, items.reject, { action: 'reject', reason: 'none of these answer the question' });
  await decideItem(store, items.spam, { action: 'spam' });
  return items;
}
