// The lab worker's Inbox (worker/lab/inbox.ts) in Node: the real LabDatabase, Dexie store and outbox on
// fake-indexeddb, real governance, and feedback items drafted by the real feedback agent (scripted
// replies). The Chromium twin (test/browser/web-inbox.test.ts) drives the page over the same module.
import Dexie from 'dexie';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { beforeEach, describe, expect, it } from 'vitest';
import { createGovernancePipeline } from '../../../shared/governance/index';
import {
  DECISION_ATTR,
  DECISION_SPAN,
  DELIVERY_ATTR,
  DELIVERY_SPAN,
  OUTCOME_ATTR,
  OUTCOME_SPAN,
  readDecision,
} from '../../../shared/review/contract';
import { DexieLightningStore } from '../../../shared/store/dexie';
import type { LightningStore } from '../../../shared/store/store';
import { DexieOutbox } from '../../../shared/sync/outbox';
import { OutboxRecordingStore } from '../../../shared/sync/recording-store';
import { decide, type InboxDeps, inboxItem, listInbox, setReviewer } from '../../../worker/lab/inbox';
import { LabDatabase } from '../../../worker/lab/lab-db';
import { applyLineDiff, lineDiff } from '../../../shared/review/line-diff';
import { seedFeedbackItem } from '../../helpers/feedback-items';

const pipeline = createGovernancePipeline();
const governance = async () => pipeline;

const GOOD = 'Thank you for telling us about the broken link. We have fixed it on the glossary page.';
const STUTTER = 'Thank you for telling us about the broken link. We are are fixing it now.';
const PLAIN = 'Thanks for the kind words about the new docs. We are glad they help your team.';

let deps: InboxDeps;
let outbox: DexieOutbox;

async function spansNamed(store: LightningStore, rolloutId: string, name: string) {
  return (await store.querySpans({ rollout_id: rolloutId, limit: -1 })).items.filter((s) => s.name === name);
}

beforeEach(async () => {
  const indexedDB = new IDBFactory();
  Dexie.dependencies.indexedDB = indexedDB;
  Dexie.dependencies.IDBKeyRange = IDBKeyRange;
  const db = new LabDatabase();
  const local = new DexieLightningStore({ indexedDB, IDBKeyRange, name: 'edgelight-store' });
  outbox = new DexieOutbox('edgelight-sync', { indexedDB, IDBKeyRange });
  deps = { local, store: new OutboxRecordingStore(local, outbox), db, governance };
  await setReviewer(db, 'Ada');
});

async function seedTwo() {
  const older = await seedFeedbackItem(deps.local, pipeline, {
    id: 'fb-older',
    text: 'The glossary page has a broken link. Write to me at dana.ortiz@example.org please.',
    submittedAt: 1_800_000_000,
    replies: [STUTTER, GOOD],
    category: 'website-bug',
  });
  const newer = await seedFeedbackItem(deps.local, pipeline, {
    id: 'fb-newer',
    text: 'I love the new documentation, it is so clear!',
    submittedAt: 1_800_000_100,
    replies: [PLAIN],
    category: 'positive',
  });
  return { older, newer };
}

describe('line diff', () => {
  it('marks removed and added lines and gives both sides back', () => {
    const diff = lineDiff('a\nb\nc', 'a\nB\nc\nd');
    expect(diff).toBe('  a\n- b\n+ B\n  c\n+ d');
    expect(applyLineDiff(diff)).toEqual({ before: 'a\nb\nc', after: 'a\nB\nc\nd' });
    expect(lineDiff('same', 'same')).toBe('');
  });
});

describe('lab inbox', () => {
  it('lists open items newest first with redacted text, verdict and PII types', async () => {
    const { older, newer } = await seedTwo();
    const rows = await listInbox(deps, 'open');
    expect(rows.map((r) => r.rolloutId)).toEqual([newer.rollout_id, older.rollout_id]);
    const bug = rows[1];
    expect(bug.text).not.toContain('dana.ortiz@example.org');
    expect(bug.text).toMatch(/<EMAIL_1>/);
    expect(bug).toMatchObject({ pii: ['EMAIL'], category: 'website-bug', drafts: 2, state: 'open' });
    expect(await listInbox(deps, 'decided')).toEqual([]);
  });

  it('gives the drafts best reward first with their terms, failed checks and policy', async () => {
    const { older } = await seedTwo();
    const item = await inboxItem(deps, older.rollout_id);
    expect(item?.draftList.map((d) => d.text)).toEqual([GOOD, STUTTER]);
    expect(item?.draftList[0].reward).toBeGreaterThan(item?.draftList[1].reward ?? 1);
    expect(item?.draftList[1].failedChecks).toEqual(['stutter']);
    expect(item?.draftList[1].terms.quality).toBe(0.5);
    expect(item?.policyId).toBe('scripted-policy');
  });

  it('approve writes one decision span through the outbox; the item is then waiting for the server', async () => {
    const { older } = await seedTwo();
    const before = await outbox.size();
    const result = await decide(deps, { rolloutId: older.rollout_id, action: 'approve', draftIndex: 1 });
    expect(result.status).toBe('decided');
    const spans = await spansNamed(deps.local, older.rollout_id, DECISION_SPAN);
    expect(spans).toHaveLength(1);
    expect(spans[0].attempt_id).toBe(older.attempt.attempt_id);
    const d = readDecision(spans[0]);
    expect(d).toMatchObject({ action: 'approve', reviewer: 'Ada', draftIndex: 1, reply: GOOD, findings: [] });
    expect(d?.policyId).toBe('scripted-policy');
    expect(await outbox.size()).toBeGreaterThan(before);
    expect((await listInbox(deps, 'open')).map((r) => r.itemId)).toEqual(['fb-newer']);
    expect((await listInbox(deps, 'decided'))[0]).toMatchObject({ itemId: 'fb-older', state: 'waiting' });
    await expect(decide(deps, { rolloutId: older.rollout_id, action: 'spam' })).rejects.toThrow(/decided/);
  });

  it('an edit is stored as a line diff; a reply with an email is refused until an override reason', async () => {
    const { older, newer } = await seedTwo();
    const edited = `${GOOD}\nBest wishes from the docs team.`;
    expect(
      await decide(deps, { rolloutId: older.rollout_id, action: 'edit', draftIndex: 1, reply: edited }),
    ).toEqual(expect.objectContaining({ status: 'decided' }));
    const [span] = await spansNamed(deps.local, older.rollout_id, DECISION_SPAN);
    expect(span.attributes[DECISION_ATTR.diff]).toBe(`  ${GOOD}\n+ Best wishes from the docs team.`);

    const leaky = `${PLAIN} Write to sam.lee@example.com for more.`;
    const refused = await decide(deps, { rolloutId: newer.rollout_id, action: 'write', reply: leaky });
    expect(refused).toEqual({ status: 'refused', findings: ['pii:EMAIL'] });
    expect(await spansNamed(deps.local, newer.rollout_id, DECISION_SPAN)).toHaveLength(0);
    await decide(deps, {
      rolloutId: newer.rollout_id,
      action: 'write',
      reply: leaky,
      override: 'the visitor asked for this contact',
    });
    const [written] = await spansNamed(deps.local, newer.rollout_id, DECISION_SPAN);
    expect(readDecision(written)).toMatchObject({
      action: 'write',
      findings: ['pii:EMAIL'],
      override: 'the visitor asked for this contact',
    });
  });

  it('reject needs a reason; spam does not', async () => {
    const { older, newer } = await seedTwo();
    await expect(decide(deps, { rolloutId: older.rollout_id, action: 'reject' })).rejects.toThrow(
      'invalid decision: reject needs a reason',
    );
    // A malformed request is refused in words, never with a raw validation dump.
    await expect(
      decide(deps, { rolloutId: older.rollout_id, action: 'write', reply: 'x'.repeat(20_001) }),
    ).rejects.toThrow(/^invalid decision request: reply: /);
    await decide(deps, { rolloutId: older.rollout_id, action: 'reject', reason: 'none of them answers' });
    await decide(deps, { rolloutId: newer.rollout_id, action: 'spam' });
    const decided = await listInbox(deps, 'all');
    expect(decided.map((r) => r.state)).toEqual(['waiting', 'waiting']);
  });

  it("shows the server's outcome (another reviewer first) and the delivery log", async () => {
    const { older } = await seedTwo();
    await decide(deps, { rolloutId: older.rollout_id, action: 'approve', draftIndex: 1 });
    const winner = crypto.randomUUID();
    // As a pull brings them: written to the local store, not through the outbox.
    const base = { rollout_id: older.rollout_id, attempt_id: older.attempt.attempt_id, trace_id: 'server' };
    await deps.local.addSpans([
      {
        ...base,
        span_id: 'outcome-1',
        name: OUTCOME_SPAN,
        attributes: { [OUTCOME_ATTR.winner]: winner, [OUTCOME_ATTR.winnerReviewer]: 'Sam' },
      },
      {
        ...base,
        span_id: 'delivery-1',
        name: DELIVERY_SPAN,
        attributes: {
          [DELIVERY_ATTR.decision]: winner,
          [DELIVERY_ATTR.attempt]: 1,
          [DELIVERY_ATTR.status]: 'retrying',
          [DELIVERY_ATTR.httpStatus]: 503,
          [DELIVERY_ATTR.nextAttemptAt]: 1_800_000_300,
        },
      },
    ]);
    const item = await inboxItem(deps, older.rollout_id);
    expect(item?.state).toBe('lost');
    expect(item?.outcome).toMatchObject({ winner, winnerReviewer: 'Sam' });
    expect(item?.deliveries).toEqual([
      expect.objectContaining({
        attempt: 1,
        status: 'retrying',
        httpStatus: 503,
        nextAttemptAt: 1_800_000_300,
      }),
    ]);
  });
});
