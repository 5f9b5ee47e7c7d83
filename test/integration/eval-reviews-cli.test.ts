// `edgelight eval --reviews`: a server's real SQLite store holding feedback items (written as the intake
// and the feedback agent leave them: scripted replies, real governance and reward spans) and decision
// spans (as the lab writes them), read from the data folder and over HTTP; the agreement JSON on stdout
// is the one shared/review/agreement.ts reads from the same store, and stderr says it in one line.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { dataLayout } from '../../server/commands/data-dir';
import { listen, type RunningServer } from '../../server/listen';
import { openSqliteStore, type SqliteLightningStore } from '../../server/store/sqlite';
import { createGovernancePipeline } from '../../shared/governance';
import { type AgreementReport, readAgreement } from '../../shared/review/agreement';
import { DECISION_SPAN, decisionAttributes, ReviewDecision } from '../../shared/review/contract';
import type { AttemptedRollout } from '../../shared/store/types';
import { runCli } from '../helpers/cli';
import { seedFeedbackItem } from '../helpers/feedback-items';

const governance = createGovernancePipeline();
const TOKEN = 'eval-reviews-token';
// Heuristic reward, highest first: LONG, then THANKS, then SORRY.
const LONG =
  'We are sorry the login fails after the update. Thank you for reporting it; we have logged the problem ' +
  'and our team is investigating. This is a research prototype, so some parts are still experimental, ' +
  'and we will reply here once we know more about the cause.';
const THANKS = 'Thank you for telling us about the login. We will fix the error this week.';
const SORRY = 'Sorry about that. It might perhaps possibly be fixed at some point.';

async function decide(store: SqliteLightningStore, rollout: AttemptedRollout, d: Partial<ReviewDecision>) {
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
    trace_id: 'c'.repeat(32),
    span_id: randomUUID().replaceAll('-', '').slice(0, 16),
    name: DECISION_SPAN,
    attributes: decisionAttributes(decision),
  });
}

describe('edgelight eval --reviews', () => {
  let dir: string;
  let data: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-eval-reviews-'));
    data = join(dir, 'data');
    const store = openSqliteStore(dataLayout(data).store);
    const seeded: AttemptedRollout[] = [];
    for (let k = 0; k < 6; k++)
      seeded.push(
        await seedFeedbackItem(store, governance, {
          id: `fb-${k}`,
          text: `I cannot log in since the update, error ${k} every time. Write to sam.lee@example.org.`,
          submittedAt: 1_764_680_000 + k,
          replies: [THANKS, LONG, SORRY],
          category: 'website-bug',
        }),
      );
    await decide(store, seeded[0], { action: 'approve', draftIndex: 1, reply: LONG });
    await decide(store, seeded[1], { action: 'approve', draftIndex: 1, reply: LONG });
    await decide(store, seeded[2], { action: 'approve', draftIndex: 2, reply: SORRY });
    await decide(store, seeded[3], {
      action: 'edit',
      draftIndex: 0,
      reply: `${THANKS} I will write again by Friday.`,
      diff: '- x\n+ y',
    });
    await decide(store, seeded[4], { action: 'reject', reason: 'none of them answers' });
    // seeded[5] stays undecided.
    await store.close();
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  let fromFolder: AgreementReport;

  it('prints the agreement JSON of a data folder and a one-line summary', async () => {
    const { code, stdout, stderr } = await runCli('eval', '--reviews', '--data', data, '--examples', '2');
    expect(code).toBe(0);
    fromFolder = JSON.parse(stdout);
    expect(fromFolder).toMatchObject({
      items: 6,
      decided: 5,
      decisions: { approve: 3, edit: 1, write: 0, reject: 1, spam: 0 },
      compared: 4,
      chance: 0.333,
      top1: { primary: 0.5 }, // LONG twice (agrees), SORRY and THANKS (disagree)
      rejected: { count: 1 },
      edited: { count: 1, scored: 1 },
    });
    // Pairs: LONG 2 × 2 won; SORRY 2 lost; THANKS won over SORRY, lost to LONG.
    expect(fromFolder.pairwise).toMatchObject({ count: 8, primary: 0.625 });
    // Largest gap first: SORRY (chosen) against LONG (the reward's pick), then THANKS against LONG.
    expect(fromFolder.examples.map((e) => [e.itemId, e.chosen.text, e.top.text])).toEqual([
      ['fb-2', SORRY, LONG],
      ['fb-3', THANKS, LONG],
    ]);
    expect(fromFolder.examples[1].action).toBe('edit');
    for (const e of fromFolder.examples) expect(e.feedback).not.toContain('sam.lee@example.org');
    expect(stderr).toMatch(
      /^heuristic reward picks the reviewer's reply first on 50 % of 4 decided items \(chance 33 %\); pairwise 0\.63; best term \w+ [\d.]+, worst \w+ [\d.]+$/,
    );
  }, 60_000);

  it('is what shared/review/agreement.ts reads from the store; the same over HTTP', async () => {
    const served = openSqliteStore(dataLayout(data).store);
    const server: RunningServer = await listen(createApp({ store: served, token: TOKEN }));
    try {
      expect(await readAgreement(served, { governance, examples: 2 })).toEqual(fromFolder);
      const { code, stdout } = await runCli(
        'eval',
        '--reviews',
        '--server',
        server.url,
        '--token',
        TOKEN,
        '--examples',
        '2',
      );
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual(fromFolder);
    } finally {
      await server.close();
      await served.close();
    }
  }, 60_000);

  it('says what is wrong with the flags', async () => {
    const missing = await runCli('eval', '--reviews', '--data', join(dir, 'nowhere'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no store .*does not exist/);
    const both = await runCli('eval', '--reviews', '--data', data, '--server', 'http://127.0.0.1:1');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give --data or --server, not both');
    const examples = await runCli('eval', '--reviews', '--data', data, '--examples=-1');
    expect(examples.code).toBe(2);
    expect(examples.stderr).toContain("--examples must be an integer ≥ 0, got '-1'");
    const mixed = await runCli('eval', '--reviews', '--checkpoint', dir);
    expect(mixed.code).toBe(2);
  }, 60_000);
});
