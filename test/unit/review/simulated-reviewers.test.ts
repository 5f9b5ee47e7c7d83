// The bench's simulated reviewers (bench/reviewers/, measurement only): their hidden preferences, their
// decisions on drafts, the decision spans they write (read back by the product's dataset reader), the
// win rate, and that nothing outside bench/ and test/ imports them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  briefReviewer,
  nextStepReviewer,
  plainSpokenReviewer,
  REVIEWERS,
} from '../../../bench/reviewers/reviewers';
import { reviewDrafts, simulateReviews, winRate } from '../../../bench/reviewers/simulate';
import { createGovernancePipeline } from '../../../shared/governance';
import { readDecision, ReviewDecision } from '../../../shared/review/contract';
import { readReviewDatasets } from '../../../shared/review/datasets';
import { InMemoryLightningStore } from '../../../shared/store/memory';
import { seedFeedbackItem } from '../../helpers/feedback-items';

const NEXT_STEP = 'Thanks for telling us. We will fix the checkout crash and send you an update by Friday.';
const VAGUE = 'Thanks for telling us about the checkout. We appreciate your patience with the site.';
const HEDGY = 'It might perhaps be the checkout. We could possibly look at it, maybe.';
const LONG = `${'Thank you for writing to us about the checkout page and the crash you saw. '.repeat(8)}`;

describe('simulated reviewers', () => {
  it('score their hidden preferences', () => {
    expect(nextStepReviewer.score(NEXT_STEP, '')).toBe(1);
    expect(nextStepReviewer.score(VAGUE, '')).toBeLessThan(nextStepReviewer.threshold);
    expect(nextStepReviewer.score('We will be in touch soon, thank you.', '')).toBe(0.5);

    expect(briefReviewer.score(NEXT_STEP, '')).toBe(1);
    expect(LONG.split(/\s+/).length).toBeGreaterThan(100);
    expect(briefReviewer.score(LONG, '')).toBeLessThan(briefReviewer.threshold);
    expect(briefReviewer.score('Noted.', '')).toBeLessThan(0.5);

    expect(plainSpokenReviewer.score(NEXT_STEP, '')).toBe(1);
    expect(plainSpokenReviewer.score(HEDGY, '')).toBe(0);
    // One hedge costs a little; a pile of them in one sentence costs a lot.
    expect(plainSpokenReviewer.score('We may look at it this week. Thanks.', '')).toBeCloseTo(0.9);

    for (const r of REVIEWERS)
      for (const text of [NEXT_STEP, LONG, HEDGY]) {
        expect(r.score(text, '')).toBe(r.score(text, '')); // deterministic
        expect(r.score(text, '')).toBeGreaterThanOrEqual(0);
        expect(r.score(text, '')).toBeLessThanOrEqual(1);
      }
  });

  it('approve the best draft, edit when allowed, reject otherwise', () => {
    const drafts = [VAGUE, NEXT_STEP, HEDGY].map((text, index) => ({ index, text, redacted: false }));
    const approve = reviewDrafts(nextStepReviewer, { id: 'fb-1', feedback: 'x', drafts });
    expect(approve).toMatchObject({ action: 'approve', draftIndex: 1, reply: NEXT_STEP });
    expect(ReviewDecision.safeParse(approve).success).toBe(true);
    // The same reviewer on the same item makes the same decision (same id).
    expect(reviewDrafts(nextStepReviewer, { id: 'fb-1', feedback: 'x', drafts }).id).toBe(approve.id);

    const without = [VAGUE, HEDGY].map((text, index) => ({ index, text, redacted: false }));
    const reject = reviewDrafts(nextStepReviewer, { id: 'fb-2', feedback: 'x', drafts: without });
    expect(reject).toMatchObject({ action: 'reject', reason: nextStepReviewer.rejectReason });
    const edit = reviewDrafts(
      nextStepReviewer,
      { id: 'fb-2', feedback: 'x', drafts: without },
      { edits: true },
    );
    expect(edit.action).toBe('edit');
    expect(nextStepReviewer.score(edit.reply ?? '', '')).toBe(1);
    expect(edit.diff).toContain('+ ');

    const long = reviewDrafts(
      briefReviewer,
      {
        id: 'fb-3',
        feedback: 'x',
        drafts: [{ index: 0, text: LONG, redacted: false }],
      },
      { edits: true },
    );
    expect(long.action).toBe('edit');
    expect(briefReviewer.score(long.reply ?? '', '')).toBeGreaterThanOrEqual(briefReviewer.threshold);

    // A draft stored redacted is never approved, however it scores.
    const redacted = reviewDrafts(nextStepReviewer, {
      id: 'fb-4',
      feedback: 'x',
      drafts: [{ index: 0, text: NEXT_STEP, redacted: true }],
    });
    expect(redacted.action).toBe('reject');
  });

  it('winRate counts a win 1 and a tie half', () => {
    expect(winRate(nextStepReviewer, [NEXT_STEP, NEXT_STEP], [VAGUE, NEXT_STEP])).toBe(0.75);
    expect(winRate(plainSpokenReviewer, [HEDGY], [NEXT_STEP])).toBe(0);
    expect(() => winRate(briefReviewer, [NEXT_STEP], [])).toThrow(/aligned/);
  });

  it("write decision spans the product's dataset reader turns into pairs and labels", async () => {
    const store = new InMemoryLightningStore();
    const governance = createGovernancePipeline();
    await seedFeedbackItem(store, governance, {
      id: 'fb-a',
      text: 'The checkout crashes when I pay.',
      submittedAt: 1,
      replies: [VAGUE, NEXT_STEP, HEDGY],
    });
    await seedFeedbackItem(store, governance, {
      id: 'fb-b',
      text: 'The search is slow.',
      submittedAt: 2,
      replies: [VAGUE, HEDGY],
    });
    const { decisions, counts } = await simulateReviews(store, nextStepReviewer);
    expect(counts).toMatchObject({ approve: 1, reject: 1 });
    expect(decisions.find((d) => d.itemId === 'fb-a')?.drafts[1].reward?.primary).toBeTypeOf('number');
    const spans = (await store.querySpans({ rollout_id: decisions[0].rolloutId })).items;
    expect(spans.map((s) => readDecision(s)).filter(Boolean)).toHaveLength(1);

    const data = await readReviewDatasets(store);
    expect(data.pairs.map((p) => [p.chosen, p.rejected])).toEqual([
      [NEXT_STEP, VAGUE],
      [NEXT_STEP, HEDGY],
    ]);
    expect(data.labels.map((l) => l.label)).toEqual([true, false, false, false, false]);
    // Decided items are not decided again.
    expect((await simulateReviews(store, briefReviewer)).decisions).toEqual([]);
  }, 60_000);
});

describe('the product never reads the simulated reviewers', () => {
  const root = join(import.meta.dirname, '..', '..', '..');
  const skip = new Set(['node_modules', 'bench', 'test', 'dist', '.git', '.edgelight', 'coverage']);

  function* sources(dir: string): Generator<string> {
    for (const name of readdirSync(dir)) {
      if (skip.has(name) || name.startsWith('.')) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) yield* sources(path);
      else if (/\.(ts|tsx|js|mjs|cjs)$/.test(name)) yield path;
    }
  }

  it('has no import of bench/reviewers outside bench/ and test/', () => {
    const offenders: string[] = [];
    let scanned = 0;
    for (const path of sources(root)) {
      scanned++;
      if (/bench\/reviewers|reviewers\/(reviewers|simulate)/.test(readFileSync(path, 'utf8')))
        offenders.push(relative(root, path));
    }
    expect(scanned).toBeGreaterThan(100);
    expect(offenders).toEqual([]);
  });
});
