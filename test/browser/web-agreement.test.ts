import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGovernancePipeline } from '../../shared/governance/index';
import { DECISION_SPAN, decisionAttributes, ReviewDecision } from '../../shared/review/contract';
import { HttpLightningStore } from '../../shared/store/http';
import type { AttemptedRollout } from '../../shared/store/types';
import { type AppServer, ensureWebBuilt, repoRoot, startAppServer } from '../e2e/app-server';
import { launchChromium } from '../helpers/browser';
import { seedFeedbackItem } from '../helpers/feedback-items';
import { syncNow } from '../helpers/lab-sync';

// The Inbox's "Agreement with reviewers" panel in the built app, real Chromium, against a real
// `edgelight serve`. Feedback items are written to the server's store as the intake and the drafting
// runner leave them (the real feedback agent and reward, scripted replies), other reviewers' decisions
// as decision spans beside them; the lab pulls both by its own sync and the panel reads them from the
// lab's store. A decision made in the lab then moves the figures.

const TOKEN = 'agreement-browser-token';
// Heuristic reward, highest first: LONG, then THANKS, then SORRY.
const LONG =
  'We are sorry the export fails after the update. Thank you for reporting it; we have logged the problem ' +
  'and our team is investigating. This is a research prototype, so some parts are still experimental, ' +
  'and we will reply here once we know more about the cause.';
const THANKS = 'Thank you for telling us about the export. We will fix the error this week.';
const SORRY = 'Sorry about that. It might perhaps possibly be fixed at some point.';

describe('web: agreement with reviewers (Inbox)', () => {
  let server: AppServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  const shot = async (name: string) => {
    mkdirSync(join(repoRoot, 'test-artifacts'), { recursive: true });
    await page.screenshot({
      path: join(repoRoot, 'test-artifacts', `agreement-${name}.png`),
      fullPage: true,
    });
  };

  beforeAll(async () => {
    await ensureWebBuilt();
    server = await startAppServer(['--token', TOKEN]);
    const remote = new HttpLightningStore({ baseUrl: server.url, token: TOKEN });
    const governance = createGovernancePipeline();
    const seeded: AttemptedRollout[] = [];
    for (let k = 0; k < 6; k++)
      seeded.push(
        await seedFeedbackItem(remote, governance, {
          id: `fb-${k}`,
          text: `The export button fails with error ${k} since the update. Mail me at kim@example.org.`,
          submittedAt: 1_800_000_000 + k * 60,
          replies: [THANKS, LONG, SORRY],
          category: 'website-bug',
        }),
      );
    const decisions: Array<[number, Partial<ReviewDecision>]> = [
      [0, { action: 'approve', draftIndex: 1, reply: LONG }],
      [1, { action: 'approve', draftIndex: 2, reply: SORRY }],
      [2, { action: 'approve', draftIndex: 0, reply: THANKS }],
      [3, { action: 'edit', draftIndex: 0, reply: `${THANKS} I will write again.`, diff: '- a\n+ b' }],
      [4, { action: 'reject', reason: 'none of them answers' }],
    ];
    for (const [k, d] of decisions) {
      const decision = ReviewDecision.parse({
        id: crypto.randomUUID(),
        reviewer: 'Sam Second',
        decidedAt: 1_800_001_000,
        findings: [],
        ...d,
      });
      await remote.addSpan({
        rollout_id: seeded[k].rollout_id,
        attempt_id: seeded[k].attempt.attempt_id,
        trace_id: 'sam-lab',
        span_id: `sam-${k}`,
        name: DECISION_SPAN,
        attributes: decisionAttributes(decision),
      });
    }
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.url}/#/sync`);
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Token (optional)').fill(TOKEN);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    await syncNow(page);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const headline = () => page.getByTestId('agreement-headline').textContent();

  it('shows the headline, per-term bars and the largest disagreements once opened', async () => {
    await page.getByRole('link', { name: 'Inbox', exact: true }).click();
    await page
      .getByTestId('inbox-count')
      .filter({ hasText: /items$/ })
      .waitFor();
    const panel = page.getByTestId('agreement-panel');
    expect(await panel.getAttribute('open')).toBeNull(); // collapsed until asked
    await panel.locator('summary').click();
    await page.getByTestId('agreement-headline').waitFor({ timeout: 60_000 });
    // LONG agrees; SORRY and THANKS (approved, and the edit's draft) do not: 1 of 4, chance 1 of 3.
    expect(await headline()).toMatch(
      /^heuristic reward picks the reviewer's reply first on 25 % of 4 decided items \(chance 33 %\); pairwise 0\.\d\d; best term \w+ [\d.]+, worst \w+ [\d.]+$/,
    );
    const terms = page.getByTestId('agreement-term');
    expect(await terms.count()).toBe(7); // primary and the six reported terms
    expect(await terms.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-term')))).toEqual([
      'primary',
      'length',
      'tone',
      'integrity',
      'overselling',
      'acknowledgement',
      'quality',
    ]);
    expect(await page.getByTestId('agreement-counts').textContent()).toMatch(
      /^5 decided of 6 items \(approve 3, edit 1, write 0, reject 1, spam 0\)/,
    );
    // Up to three examples, the largest reward gap first; the feedback is the redacted text.
    const examples = page.getByTestId('agreement-example');
    expect(await examples.count()).toBe(3);
    expect(await examples.evaluateAll((li) => li.map((e) => e.getAttribute('data-item-id')))).toEqual([
      'fb-1',
      'fb-2',
      'fb-3',
    ]);
    expect(await examples.nth(0).getByTestId('agreement-example-chosen').textContent()).toBe(SORRY);
    expect(await examples.nth(0).getByTestId('agreement-example-top').textContent()).toBe(LONG);
    const panelText = (await panel.textContent()) ?? '';
    expect(panelText).toContain('<EMAIL_1>');
    expect(panelText).not.toContain('kim@example.org');
    await shot('1-open');
  });

  it("moves with the lab's own decision", async () => {
    await page.getByLabel('Reviewer name').fill('Ada Reviewer');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.getByRole('button', { name: 'Change name' }).waitFor();
    // The one open item: approve the draft listed first (the reward's best), so the reward agrees.
    await page.getByRole('listbox', { name: 'Feedback items' }).focus();
    await page.keyboard.press('a');
    await page.getByTestId('inbox-composer').waitFor();
    await page.keyboard.press('Enter');
    await page.getByTestId('inbox-message').filter({ hasText: 'saved' }).waitFor();
    await expect
      .poll(headline, { timeout: 30_000 })
      .toMatch(
        /^heuristic reward picks the reviewer's reply first on 40 % of 5 decided items \(chance 33 %\)/,
      );
    expect(errors).toEqual([]);
    await shot('2-after-decision');
  });
});
