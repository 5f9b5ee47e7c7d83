// The reviews bench's heuristic agreement reads the product's measure (shared/review/agreement.ts): on a
// store a simulated reviewer decided, its top-1 and decision-pair figures are the ones `readAgreement`
// reads back from the decision spans, and its reviewer-score pairs stay its own.
import { describe, expect, it } from 'vitest';
import { heuristicAgreement } from '../../../bench/reviews';
import { nextStepReviewer } from '../../../bench/reviewers/reviewers';
import { simulateReviews } from '../../../bench/reviewers/simulate';
import { createGovernancePipeline } from '../../../shared/governance';
import { readAgreement } from '../../../shared/review/agreement';
import { InMemoryLightningStore } from '../../../shared/store/memory';
import { seedFeedbackItem } from '../../helpers/feedback-items';

const NEXT_STEP = 'Thanks for telling us. We will fix the checkout crash and send you an update by Friday.';
const VAGUE = 'Thanks for telling us about the checkout. We appreciate your patience with the site.';
const SORRY = 'Sorry about that. It might perhaps possibly be fixed at some point.';

describe('bench: heuristicAgreement', () => {
  it('reports what readAgreement reads from the decision spans', async () => {
    const governance = createGovernancePipeline();
    const store = new InMemoryLightningStore();
    const drafts = [
      [VAGUE, NEXT_STEP, SORRY],
      [NEXT_STEP, VAGUE],
      [SORRY, VAGUE], // nothing clears the bar: rejected
    ];
    for (const [k, replies] of drafts.entries())
      await seedFeedbackItem(store, governance, {
        id: `fb-bench-${k}`,
        text: 'The checkout page crashes when I press pay.',
        submittedAt: 1_764_680_000 + k,
        replies,
        category: 'website-bug',
      });
    const { decisions, counts } = await simulateReviews(store, nextStepReviewer);
    expect(counts).toMatchObject({ approve: 2, reject: 1 });

    const bench = heuristicAgreement(decisions, nextStepReviewer);
    const product = await readAgreement(store);
    expect(bench).toMatchObject({
      items: 2,
      chance: product.chance,
      primary: product.top1.primary,
      terms: product.top1.terms,
      decisionPairs: {
        count: 3,
        primary: product.pairwise.primary,
        terms: product.pairwise.terms,
      },
    });
    expect(bench.pairs.count).toBeGreaterThan(0);
  }, 120_000);
});
