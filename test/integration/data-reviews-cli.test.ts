// `edgelight data reviews`: a server's real SQLite store holding feedback items (written as the intake
// and the feedback agent leave them) and decision spans (as the lab writes them), read from the data
// folder and over HTTP from the real app on loopback; the three JSON Lines files parse back.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { dataLayout } from '../../server/commands/data-dir';
import { listen, type RunningServer } from '../../server/listen';
import { openSqliteStore, type SqliteLightningStore } from '../../server/store/sqlite';
import { parseJsonlStrict } from '../../shared/data/jsonl';
import { PreferencePair as TrainerPair, PreferenceLabel as TrainerLabel } from '../../shared/data/preference';
import { createGovernancePipeline } from '../../shared/governance';
import { DECISION_SPAN, decisionAttributes, type ReviewDecision } from '../../shared/review/contract';
import { LabeledCompletion, PreferencePair, ReviewSftExample } from '../../shared/review/datasets';
import type { AttemptedRollout } from '../../shared/store/types';
import { runCli } from '../helpers/cli';
import { seedFeedbackItem } from '../helpers/feedback-items';

const governance = createGovernancePipeline();
const TOKEN = 'reviews-cli-token';
const REPLIES = [
  'Thank you for the report. We will fix the login error this week.',
  'Sorry. It might possibly be something, perhaps.',
  'Thanks, the team is looking at the login error now.',
  'We hear you and we are sorry about the login trouble.',
];

async function decide(store: SqliteLightningStore, rollout: AttemptedRollout, d: Partial<ReviewDecision>) {
  const decision = { id: randomUUID(), reviewer: 'ana', decidedAt: 1_764_690_000, findings: [], ...d };
  await store.addSpan({
    rollout_id: rollout.rollout_id,
    attempt_id: rollout.attempt.attempt_id,
    trace_id: 'b'.repeat(32),
    span_id: randomUUID().replaceAll('-', '').slice(0, 16),
    name: DECISION_SPAN,
    attributes: decisionAttributes(decision as ReviewDecision),
  });
}

describe('edgelight data reviews', () => {
  let dir: string;
  let store: SqliteLightningStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-reviews-'));
    store = openSqliteStore(dataLayout(join(dir, 'data')).store);
    const seeded: AttemptedRollout[] = [];
    for (let k = 0; k < 5; k++)
      seeded.push(
        await seedFeedbackItem(store, governance, {
          id: `fb-${k}`,
          text: `I cannot log in since the update, error ${k} every time.`,
          submittedAt: 1_764_680_000 + k,
          replies: REPLIES,
          category: 'website-bug',
        }),
      );
    await decide(store, seeded[0], { action: 'approve', draftIndex: 0, reply: REPLIES[0] });
    await decide(store, seeded[1], {
      action: 'edit',
      draftIndex: 2,
      reply: 'Thanks, the team is fixing the login error; I will write again by Friday.',
      diff: '- x\n+ y',
    });
    await decide(store, seeded[2], { action: 'write', reply: 'Thanks for telling us. We have fixed it.' });
    await decide(store, seeded[3], { action: 'reject', reason: 'none of them answers' });
    // seeded[4] stays undecided.
    await store.close();
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function readOut(out: string) {
    return {
      pairs: parseJsonlStrict(readFileSync(join(out, 'pairs.jsonl'), 'utf8'), PreferencePair),
      labels: parseJsonlStrict(readFileSync(join(out, 'labels.jsonl'), 'utf8'), LabeledCompletion),
      sft: parseJsonlStrict(readFileSync(join(out, 'sft.jsonl'), 'utf8'), ReviewSftExample),
    };
  }

  it('writes pairs, labels and SFT examples from a data folder and prints the counts', async () => {
    const out = join(dir, 'out-folder');
    const { code, stdout, stderr } = await runCli(
      'data',
      'reviews',
      '--out',
      out,
      '--data',
      join(dir, 'data'),
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const counts = JSON.parse(stdout);
    // approve: 3 pairs, edit: 4, write: 4; labels: 4 + 5 + 5 + 4 (reject); sft: 3.
    expect(counts).toMatchObject({
      items: 5,
      decided: 4,
      decisions: { approve: 1, edit: 1, write: 1, reject: 1, spam: 0 },
      pairs: 11,
      labels: 18,
      sft: 3,
      skippedRedacted: 0,
    });
    const files = readOut(out);
    expect(files.pairs).toHaveLength(11);
    expect(files.labels).toHaveLength(18);
    expect(files.sft.map((e) => e.item_id)).toEqual(['fb-0', 'fb-1', 'fb-2']);
    for (const pair of files.pairs) expect(pair.prompt).toMatch(/\nReply:$/);
    expect(files.labels.filter((l) => l.item_id === 'fb-3').every((l) => !l.label)).toBe(true);
    // The trainer's readers (train --algo dpo|kto --data FILE) take the files as they are.
    expect(parseJsonlStrict(readFileSync(join(out, 'pairs.jsonl'), 'utf8'), TrainerPair)).toHaveLength(11);
    expect(parseJsonlStrict(readFileSync(join(out, 'labels.jsonl'), 'utf8'), TrainerLabel)).toHaveLength(18);
  }, 60_000);

  it('reads the same over HTTP from a running server', async () => {
    const served = openSqliteStore(dataLayout(join(dir, 'data')).store);
    const server: RunningServer = await listen(createApp({ store: served, token: TOKEN }));
    try {
      const out = join(dir, 'out-http');
      const { code, stdout } = await runCli(
        'data',
        'reviews',
        '--out',
        out,
        '--server',
        server.url,
        '--token',
        TOKEN,
      );
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ items: 5, decided: 4, pairs: 11, labels: 18, sft: 3 });
      expect(readOut(out)).toEqual(readOut(join(dir, 'out-folder')));
    } finally {
      await server.close();
      await served.close();
    }
  }, 60_000);

  it('refuses a missing store, both sources, and no --out', async () => {
    const missing = await runCli('data', 'reviews', '--out', join(dir, 'x'), '--data', join(dir, 'nothing'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no store/);
    const both = await runCli(
      'data',
      'reviews',
      '--out',
      'x',
      '--data',
      dir,
      '--server',
      'http://127.0.0.1:1',
    );
    expect(both.code).toBe(2);
    expect((await runCli('data', 'reviews')).stderr).toMatch(/--out DIR is required/);
  });
});
