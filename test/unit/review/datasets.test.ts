// Reviewer decisions → preference pairs, labels and SFT examples. Items are written as the intake and
// the real feedback agent leave them (scripted replies, real governance and reward), decisions as the
// lab writes them (one decision span on the item's attempt), outcome spans as the server's resolver does.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPLY_ATTR } from '../../../shared/agent/feedback-agent';
import { createGovernancePipeline } from '../../../shared/governance';
import {
  DECISION_SPAN,
  decisionAttributes,
  OUTCOME_ATTR,
  OUTCOME_SPAN,
  type ReviewDecision,
} from '../../../shared/review/contract';
import { readReviewItems, type ReviewDatasets, reviewDatasets } from '../../../shared/review/datasets';
import { InMemoryLightningStore } from '../../../shared/store/memory';
import type { AttemptedRollout } from '../../../shared/store/types';
import { seedFeedbackItem } from '../../helpers/feedback-items';

const governance = createGovernancePipeline();
const DRAFTS = [
  'Thank you for telling us about the checkout. We will fix the crash this week.',
  'Sorry about that. It might perhaps possibly be fixed at some point.',
  'Thanks for the report; our team is looking at the checkout crash now.',
];
const LEAKY = 'Thanks! Write to jane.doe@example.com and she will help you.';

let counter = 0;
async function item(store: InMemoryLightningStore, replies = DRAFTS): Promise<AttemptedRollout> {
  counter++;
  return seedFeedbackItem(store, governance, {
    id: `fb-${counter}`,
    text: 'The checkout page crashes when I press pay.',
    submittedAt: 1_764_680_000 + counter,
    replies,
    category: 'website-bug',
  });
}

async function decide(
  store: InMemoryLightningStore,
  rollout: AttemptedRollout,
  d: Partial<ReviewDecision> & Pick<ReviewDecision, 'action'>,
): Promise<ReviewDecision> {
  const decision: ReviewDecision = {
    id: randomUUID(),
    reviewer: 'ana',
    decidedAt: 1_764_690_000,
    findings: [],
    ...d,
  };
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

async function datasetsOf(store: InMemoryLightningStore): Promise<ReviewDatasets> {
  return reviewDatasets(await readReviewItems(store));
}

describe('review datasets', () => {
  let prompt: string;
  beforeAll(async () => {
    const store = new InMemoryLightningStore();
    const rollout = await item(store);
    const spans = (await store.querySpans({ rollout_id: rollout.rollout_id })).items;
    prompt = String(spans.find((s) => s.attributes[REPLY_ATTR.prompt])?.attributes[REPLY_ATTR.prompt]);
    expect(prompt).toMatch(/^Category: website-bug\n.*Feedback: The checkout page crashes.*\nReply:$/s);
  }, 60_000);

  it('approve: the approved draft against each other draft; labels and one SFT example', async () => {
    const store = new InMemoryLightningStore();
    const rollout = await item(store);
    const d = await decide(store, rollout, { action: 'approve', draftIndex: 0, reply: DRAFTS[0] });
    const data = await datasetsOf(store);
    const ids = { item_id: (rollout.input as { id: string }).id, decision_id: d.id };
    expect(data.pairs).toEqual([
      { prompt, chosen: DRAFTS[0], rejected: DRAFTS[1], ...ids, action: 'approve' },
      { prompt, chosen: DRAFTS[0], rejected: DRAFTS[2], ...ids, action: 'approve' },
    ]);
    expect(data.labels).toEqual([
      { prompt, completion: DRAFTS[0], label: true, ...ids },
      { prompt, completion: DRAFTS[1], label: false, ...ids },
      { prompt, completion: DRAFTS[2], label: false, ...ids },
    ]);
    expect(data.sft).toEqual([{ prompt, completion: DRAFTS[0], ...ids }]);
    expect(data.counts).toMatchObject({ items: 1, decided: 1, pairs: 2, labels: 3, sft: 1, superseded: 0 });
    expect(data.counts.decisions).toMatchObject({ approve: 1, edit: 0, write: 0, reject: 0, spam: 0 });
  }, 60_000);

  it('edit and write: the reviewer reply against every draft, the edited one included', async () => {
    const store = new InMemoryLightningStore();
    const edited = await item(store);
    const editText = 'Thank you for telling us about the checkout. We will fix the crash by Friday.';
    await decide(store, edited, { action: 'edit', draftIndex: 0, reply: editText, diff: '- a\n+ b' });
    const written = await item(store);
    const writeText = 'Thanks for the report. I have sent the crash to our engineers.';
    await decide(store, written, { action: 'write', reply: writeText });
    const data = await datasetsOf(store);
    expect(data.pairs.filter((p) => p.action === 'edit').map((p) => [p.chosen, p.rejected])).toEqual(
      DRAFTS.map((d) => [editText, d]),
    );
    expect(data.pairs.filter((p) => p.action === 'write').map((p) => [p.chosen, p.rejected])).toEqual(
      DRAFTS.map((d) => [writeText, d]),
    );
    expect(data.sft.map((e) => e.completion)).toEqual([editText, writeText]);
    expect(data.labels.filter((l) => l.label).map((l) => l.completion)).toEqual([editText, writeText]);
    expect(data.labels.filter((l) => !l.label)).toHaveLength(6);
    expect(data.counts.decisions).toMatchObject({ edit: 1, write: 1 });
  }, 60_000);

  it('reject labels every draft false; spam gives nothing', async () => {
    const store = new InMemoryLightningStore();
    const rejected = await item(store);
    const r = await decide(store, rejected, { action: 'reject', reason: 'none of these say what we do' });
    await decide(store, await item(store), { action: 'spam' });
    const data = await datasetsOf(store);
    expect(data.pairs).toEqual([]);
    expect(data.sft).toEqual([]);
    expect(data.labels).toEqual(
      DRAFTS.map((completion) => ({
        prompt,
        completion,
        label: false,
        item_id: (rejected.input as { id: string }).id,
        decision_id: r.id,
      })),
    );
    expect(data.counts).toMatchObject({ items: 2, decided: 2, decisions: { reject: 1, spam: 1 } });
  }, 60_000);

  it("uses only the decision that counts: the server's ruling, else the first", async () => {
    const store = new InMemoryLightningStore();
    // Ruled: the second decision won (it reached the server first), so the first is ignored.
    const ruled = await item(store);
    await decide(store, ruled, { action: 'approve', draftIndex: 1, reply: DRAFTS[1] });
    const winner = await decide(store, ruled, { action: 'approve', draftIndex: 2, reply: DRAFTS[2] });
    await rule(store, ruled, winner);
    // Not ruled yet: the first decision in store order counts.
    const unruled = await item(store);
    const first = await decide(store, unruled, { action: 'reject', reason: 'off topic' });
    await decide(store, unruled, { action: 'write', reply: 'Thanks, we are on it.' });
    const data = await datasetsOf(store);
    expect(new Set(data.labels.map((l) => l.decision_id))).toEqual(new Set([winner.id, first.id]));
    expect(data.sft).toEqual([expect.objectContaining({ completion: DRAFTS[2], decision_id: winner.id })]);
    expect(data.pairs.map((p) => p.rejected)).toEqual([DRAFTS[0], DRAFTS[1]]);
    expect(data.counts).toMatchObject({ decided: 2, superseded: 2, decisions: { approve: 1, reject: 1 } });
  }, 60_000);

  it('skips drafts stored redacted (their text holds placeholders) and blank drafts', async () => {
    const store = new InMemoryLightningStore();
    const rollout = await item(store, [DRAFTS[0], LEAKY, ' ']);
    const spans = (await store.querySpans({ rollout_id: rollout.rollout_id })).items;
    const leaked = spans.find((s) => s.attributes[REPLY_ATTR.index] === 1 && s.attributes[REPLY_ATTR.text]);
    expect(leaked?.attributes[REPLY_ATTR.redacted]).toBe(true);
    await decide(store, rollout, { action: 'write', reply: 'Thanks, we will fix the checkout by Friday.' });
    const data = await datasetsOf(store);
    expect(data.pairs.map((p) => p.rejected)).toEqual([DRAFTS[0]]);
    expect(data.labels.map((l) => l.completion)).not.toContain(leaked?.attributes[REPLY_ATTR.text] as string);
    expect(JSON.stringify(data)).not.toContain('jane.doe');
    expect(data.counts).toMatchObject({ skippedRedacted: 1, skippedEmpty: 1, pairs: 1, labels: 2 });
  }, 60_000);

  it('leaves undecided items and malformed decision spans out', async () => {
    const store = new InMemoryLightningStore();
    const rollout = await item(store);
    await store.addSpan({
      rollout_id: rollout.rollout_id,
      attempt_id: rollout.attempt.attempt_id,
      trace_id: 'a'.repeat(32),
      span_id: 'bad0bad0bad0bad0',
      name: DECISION_SPAN,
      attributes: { 'edgelight.review.action': 'approve' },
    });
    await item(store);
    const data = await datasetsOf(store);
    expect(data.counts).toMatchObject({ items: 2, decided: 0, pairs: 0, labels: 0, sft: 0 });
  }, 60_000);
});
