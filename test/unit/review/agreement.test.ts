// The heuristic reward's agreement with reviewers (shared/review/agreement.ts). The arithmetic is checked
// on hand-made decided items (exact figures); the reading on a store whose items are written as the
// intake and the real feedback agent leave them (scripted replies, real governance and reward spans) and
// whose decisions and outcomes are spans written through the review contract, as the lab and the
// server's resolver write them.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { extractReplySamples } from '../../../shared/agent/samples';
import { createGovernancePipeline } from '../../../shared/governance';
import {
  type AgreementDraft,
  agreementSummary,
  type DecidedItem,
  decisionAgreement,
  readAgreement,
} from '../../../shared/review/agreement';
import {
  DECISION_SPAN,
  decisionAttributes,
  OUTCOME_ATTR,
  OUTCOME_SPAN,
  ReviewDecision,
} from '../../../shared/review/contract';
import { InMemoryLightningStore } from '../../../shared/store/memory';
import type { AttemptedRollout } from '../../../shared/store/types';
import { seedFeedbackItem } from '../../helpers/feedback-items';

const TERMS = { length: 0.5, tone: 0.5, integrity: 0.5, overselling: 1, acknowledgement: 0.5, quality: 1 };
const draft = (index: number, primary: number, terms: Partial<typeof TERMS> = {}): AgreementDraft => ({
  index,
  text: `draft ${index}`,
  redacted: false,
  reward: { primary, ...TERMS, ...terms },
});

let n = 0;
function decided(
  d: Partial<ReviewDecision> & Pick<ReviewDecision, 'action'>,
  drafts: AgreementDraft[],
): DecidedItem {
  n++;
  return {
    itemId: `fb-${n}`,
    feedback: `feedback ${n}`,
    decision: ReviewDecision.parse({ id: randomUUID(), reviewer: 'ana', decidedAt: 1, findings: [], ...d }),
    drafts,
  };
}
const approve = (draftIndex: number, drafts: AgreementDraft[]) =>
  decided({ action: 'approve', draftIndex, reply: `draft ${draftIndex}` }, drafts);

describe('decisionAgreement (pure)', () => {
  it('top-1 with shared ties, pairwise with half ties, chance over the competing drafts', () => {
    const report = decisionAgreement([
      // The reward's first pick: agrees on top-1 and on both pairs.
      approve(0, [draft(0, 0.9, { tone: 1 }), draft(1, 0.5), draft(2, 0.4)]),
      // Tied at the top with one other: half the credit; pairs: a tie (0.5) and a win (1).
      approve(1, [draft(0, 0.7), draft(1, 0.7), draft(2, 0.2)]),
      // The reward's last pick: no credit, both pairs lost.
      approve(2, [draft(0, 0.8, { length: 1 }), draft(1, 0.6), draft(2, 0.3, { tone: 1 })]),
    ]);
    expect(report).toMatchObject({ items: 3, decided: 3, compared: 3, unscored: 0, chance: 0.333 });
    expect(report.top1.primary).toBe(0.5); // (1 + 0.5 + 0) / 3
    expect(report.pairwise.count).toBe(6);
    expect(report.pairwise.primary).toBe(0.583); // (1 + 1 + 0.5 + 1 + 0 + 0) / 6
    // tone: item 1 top alone (1), item 2 three-way tie (1/3), item 3 top alone (1).
    expect(report.top1.terms.tone).toBe(0.778);
    // overselling ties everywhere: a third of the credit on top-1, half on every pair.
    expect(report.top1.terms.overselling).toBe(0.333);
    expect(report.pairwise.terms.overselling).toBe(0.5);
    expect(report.examples).toHaveLength(1);
    expect(report.examples[0]).toMatchObject({
      itemId: report.examples[0].itemId,
      action: 'approve',
      chosen: { index: 2, text: 'draft 2', reward: { primary: 0.3 } },
      top: { index: 0, text: 'draft 0', reward: { primary: 0.8 } },
      terms: { length: 'top', tone: 'chosen', overselling: 'tie', quality: 'tie' },
    });
  });

  it('an edit counts for the draft it started from; examples keep the largest gaps, up to N', () => {
    const edit = decided({ action: 'edit', draftIndex: 1, reply: 'an edited reply', diff: '- a\n+ b' }, [
      draft(0, 0.9),
      draft(1, 0.1),
    ]);
    const small = approve(1, [draft(0, 0.6), draft(1, 0.5)]);
    const medium = approve(0, [draft(0, 0.2), draft(1, 0.6)]);
    const report = decisionAgreement([small, edit, medium], { examples: 2 });
    expect(report.decisions).toMatchObject({ approve: 2, edit: 1 });
    expect(report.edited).toEqual({ count: 1, scored: 0, aboveDraft: null });
    expect(report.examples.map((e) => [e.itemId, e.action])).toEqual([
      [edit.itemId, 'edit'],
      [medium.itemId, 'approve'],
    ]);
    expect(decisionAgreement([small], { examples: 0 }).examples).toEqual([]);
  });

  it('redacted and blank drafts do not compete; a missing reward makes the item unscored', () => {
    const redacted = { ...draft(1, 0.95), redacted: true };
    const blank = { ...draft(2, 0.99), text: '  ' };
    const report = decisionAgreement([
      approve(0, [draft(0, 0.5), redacted, blank]),
      approve(0, [draft(0, 0.5), { ...draft(1, 0), reward: null }]),
      approve(3, [draft(0, 0.5)]), // the approved draft is not among the drafts
    ]);
    expect(report).toMatchObject({ compared: 1, unscored: 2, chance: 1 });
    expect(report.top1.primary).toBe(1);
    expect(report.pairwise).toMatchObject({ count: 0, primary: null });
  });

  it('rejected, written and spam items are counted apart; written replies and edits scored when a scorer is given', () => {
    const items = [
      approve(0, [draft(0, 0.8), draft(1, 0.4)]),
      approve(0, [draft(0, 0.6), draft(1, 0.2)]),
      decided({ action: 'reject', reason: 'all wrong' }, [draft(0, 0.7), draft(1, 0.3)]),
      decided({ action: 'write', reply: 'a reply of my own' }, [draft(0, 0.5), draft(1, 0.9)]),
      decided({ action: 'edit', draftIndex: 0, reply: 'better', diff: '- a\n+ b' }, [draft(0, 0.5)]),
      decided({ action: 'spam' }, [draft(0, 0.5)]),
    ];
    const plain = decisionAgreement(items);
    expect(plain.decisions).toEqual({ approve: 2, edit: 1, write: 1, reject: 1, spam: 1 });
    expect(plain.rejected).toEqual({
      count: 1,
      bestPrimaryMean: 0.7,
      chosenPrimaryMean: 0.633, // 0.8, 0.6 and the edited draft's 0.5
      chosenOverRejected: 0.333,
    });
    expect(plain.written).toEqual({ count: 1, scored: 0, pairwise: null });

    const scored = decisionAgreement(items, {
      scoreReply: (reply) => ({ ...TERMS, primary: reply === 'better' ? 0.9 : 0.7 }),
    });
    expect(scored.written).toMatchObject({ count: 1, scored: 1, pairwise: { count: 2, primary: 0.5 } });
    expect(scored.edited).toEqual({ count: 1, scored: 1, aboveDraft: 1 });
  });

  it('says it in one line', () => {
    const report = decisionAgreement([
      approve(0, [draft(0, 0.9, { tone: 1, length: 0 }), draft(1, 0.5, { length: 1 })]),
      approve(1, [draft(0, 0.9, { length: 1 }), draft(1, 0.5, { tone: 1, length: 0 })]),
    ]);
    expect(agreementSummary(report)).toBe(
      "heuristic reward picks the reviewer's reply first on 50 % of 2 decided items (chance 50 %); " +
        'pairwise 0.50; best term tone 1.00, worst length 0.00',
    );
    expect(agreementSummary(decisionAgreement([]))).toBe(
      'no decided items where a reviewer chose a draft yet (0 decided of 0 items)',
    );
  });
});

// Drafts whose heuristic rewards are known apart (real reward): LONG ≫ THANKS = THANKS_TOO > SORRY.
const LONG =
  'We are sorry the checkout page crashes when you press pay. Thank you for reporting it; we have logged the ' +
  'problem and our team is investigating. This is a research prototype, so some parts are still ' +
  'experimental, and we will reply here once we know more about the cause.';
const THANKS = 'Thank you for telling us about the checkout. We will fix the crash this week.';
const THANKS_TOO = 'Thanks for the report; our team is looking at the checkout crash now.';
const SORRY = 'Sorry about that. It might perhaps possibly be fixed at some point.';
const EMAIL = 'dana.ortiz@example.org';

describe('readAgreement (a store)', () => {
  const governance = createGovernancePipeline();
  let counter = 0;
  const item = (store: InMemoryLightningStore, replies: string[]) =>
    seedFeedbackItem(store, governance, {
      id: `fb-store-${++counter}`,
      text: `The checkout page crashes when I press pay. Mail me at ${EMAIL}.`,
      submittedAt: 1_764_680_000 + counter,
      replies,
      category: 'website-bug',
    });
  async function decide(
    store: InMemoryLightningStore,
    rollout: AttemptedRollout,
    d: Partial<ReviewDecision> & Pick<ReviewDecision, 'action'>,
  ): Promise<ReviewDecision> {
    const decision = ReviewDecision.parse({
      id: randomUUID(),
      reviewer: 'ana',
      decidedAt: 1_764_690_000,
      findings: [],
      ...d,
    });
    await store.addSpan({
      rollout_id: rollout.rollout_id,
      attempt_id: rollout.attempt.attempt_id,
      trace_id: 'a'.repeat(32),
      span_id: randomUUID().replaceAll('-', '').slice(0, 16),
      name: DECISION_SPAN,
      attributes: decisionAttributes(decision),
    });
    return decision;
  }
  async function rule(store: InMemoryLightningStore, rollout: AttemptedRollout, winner: ReviewDecision) {
    await store.addSpan({
      rollout_id: rollout.rollout_id,
      attempt_id: rollout.attempt.attempt_id,
      trace_id: 'a'.repeat(32),
      span_id: randomUUID().replaceAll('-', '').slice(0, 16),
      name: OUTCOME_SPAN,
      attributes: {
        [OUTCOME_ATTR.winner]: winner.id,
        [OUTCOME_ATTR.winnerReviewer]: winner.reviewer,
        [OUTCOME_ATTR.superseded]: [],
      },
    });
  }

  it('reads the counting decisions and the drafts they were made on, with the real rewards', async () => {
    const store = new InMemoryLightningStore();
    const agrees = await item(store, [SORRY, LONG, THANKS]);
    await decide(store, agrees, { action: 'approve', draftIndex: 1, reply: LONG });
    const disagrees = await item(store, [LONG, THANKS, SORRY]);
    await decide(store, disagrees, { action: 'approve', draftIndex: 2, reply: SORRY });
    const tied = await item(store, [THANKS, THANKS_TOO, SORRY]);
    await decide(store, tied, { action: 'approve', draftIndex: 1, reply: THANKS_TOO });
    // Two reviewers: the server ruled for the second, an edit of the long draft.
    const ruled = await item(store, [SORRY, LONG]);
    await decide(store, ruled, { action: 'reject', reason: 'none of these' });
    const edit = await decide(store, ruled, {
      action: 'edit',
      draftIndex: 1,
      reply: `${LONG} Thanks again.`,
      diff: '- a\n+ b',
    });
    await rule(store, ruled, edit);
    const rejected = await item(store, [SORRY, THANKS]);
    await decide(store, rejected, { action: 'reject', reason: 'too vague' });
    const written = await item(store, [SORRY, THANKS]);
    await decide(store, written, { action: 'write', reply: LONG });
    await item(store, [THANKS]); // undecided

    const spans = (await store.querySpans({ rollout_id: tied.rollout_id, limit: -1 })).items;
    const [a, b] = extractReplySamples(spans);
    expect(a.reward?.primary).toBe(b.reward?.primary); // the tie the figures below rely on

    const report = await readAgreement(store);
    expect(report).toMatchObject({ items: 7, decided: 6, compared: 4, unscored: 0 });
    expect(report.decisions).toEqual({ approve: 3, edit: 1, write: 1, reject: 1, spam: 0 });
    expect(report.chance).toBe(0.375); // (1/3 + 1/3 + 1/3 + 1/2) / 4
    expect(report.top1.primary).toBe(0.625); // (1 + 0 + 0.5 + 1) / 4
    expect(report.pairwise).toMatchObject({ count: 7, primary: 0.643 }); // (2 + 0 + 1.5 + 1) / 7
    expect(report.written).toEqual({ count: 1, scored: 0, pairwise: null });
    expect(report.examples).toHaveLength(1);
    const [example] = report.examples;
    expect(example).toMatchObject({
      itemId: (disagrees.input as { id: string }).id,
      action: 'approve',
      chosen: { index: 2, text: SORRY },
      top: { index: 0, text: LONG },
      terms: { length: 'top', acknowledgement: 'top', overselling: 'tie' },
    });
    // The feedback as stored: redacted, never the visitor's address.
    expect(example.feedback).toContain('The checkout page crashes');
    expect(example.feedback).not.toContain(EMAIL);
    expect(example.chosen.reward.primary).toBeLessThan(example.top.reward.primary);

    // With governance, the written reply and the edit are scored by the same reward.
    const scored = await readAgreement(store, { governance, examples: 0 });
    expect(scored.written).toMatchObject({ count: 1, scored: 1, pairwise: { count: 2, primary: 1 } });
    expect(scored.edited).toMatchObject({ count: 1, scored: 1 });
    expect(scored.examples).toEqual([]);
    expect(scored.top1).toEqual(report.top1);
  }, 120_000);
});
