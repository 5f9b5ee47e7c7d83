import { mkdirSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGovernancePipeline } from '../../shared/governance/index';
import {
  DECISION_ATTR,
  DECISION_SPAN,
  DELIVERY_SPAN,
  decisionAttributes,
  OUTCOME_SPAN,
  ReviewDecision,
  readDecision,
} from '../../shared/review/contract';
import { HttpLightningStore } from '../../shared/store/http';
import type { AttemptedRollout, Span } from '../../shared/store/types';
import { type AppServer, ensureWebBuilt, repoRoot, startAppServer } from '../e2e/app-server';
import { seedFeedbackItem } from '../helpers/feedback-items';
import { launchChromium } from '../helpers/browser';
import { syncNow } from '../helpers/lab-sync';

// The Inbox page of the built app in real Chromium, against a real `edgelight serve`. Feedback items are
// written to the server's store as the intake and the drafting runner leave them (the real feedback agent,
// scripted replies) and reach the lab by its own sync, as they would in use; every decision is made from
// the keyboard, kept in the lab's IndexedDB, and read back from the server after the next sync. The
// server's outcome and delivery spans are written to its store the same way and pulled by the lab.

const TOKEN = 'inbox-browser-token';
const EMAIL = 'dana.ortiz@example.org';
const GOOD = 'Thank you for telling us about this. We have fixed it and checked the page again.';
const STUTTER = 'Thank you for telling us about this. We are are looking into it now.';
const WARM = 'Thanks for the kind words about the docs. We are glad they help your team.';

describe('web: Inbox page', () => {
  let server: AppServer;
  let remote: HttpLightningStore;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const items: Record<string, AttemptedRollout> = {};
  let receiver: HttpServer;
  /** The item ids the webhook received, in order. */
  const received: string[] = [];
  const samDecision = crypto.randomUUID();

  const spansOf = async (rolloutId: string, name: string): Promise<Span[]> =>
    (await remote.querySpans({ rollout_id: rolloutId, limit: -1 })).items.filter((s) => s.name === name);

  async function openInbox(filter: 'open' | 'decided' | 'all' = 'open'): Promise<void> {
    await page.getByRole('link', { name: 'Inbox', exact: true }).click();
    await page
      .getByTestId('inbox-count')
      .filter({ hasText: /items$/ })
      .waitFor();
    await page.getByTestId('inbox-filter').selectOption(filter);
  }

  /** Waits for the page to say a decision was saved; an error on the page fails with its text. */
  async function expectSaved(): Promise<void> {
    await page
      .locator('[data-testid="inbox-error"], [data-testid="inbox-message"]:has-text("saved")')
      .first()
      .waitFor();
    if (await page.getByTestId('inbox-error').count())
      throw new Error(String(await page.getByTestId('inbox-error').textContent()));
  }

  /** Screenshots of the page for people (test-artifacts/, not checked). */
  const shot = async (name: string) => {
    mkdirSync(join(repoRoot, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(repoRoot, 'test-artifacts', `inbox-${name}.png`), fullPage: true });
  };

  const listTexts = () => page.getByTestId('inbox-item-text').allTextContents();
  const selectedText = () => page.getByTestId('inbox-detail-text').textContent();

  beforeAll(async () => {
    await ensureWebBuilt();
    // The webhook: a loopback receiver that answers the edited item's first delivery with 503 (the
    // server retries it after about a second) and everything else with 200.
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        const itemId = (JSON.parse(body) as { item_id?: string }).item_id ?? '';
        const seen = received.filter((id) => id === itemId).length;
        received.push(itemId);
        response.writeHead(itemId === 'fb-edit' && seen === 0 ? 503 : 200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    server = await startAppServer([
      '--token',
      TOKEN,
      '--webhook-url',
      `http://127.0.0.1:${port}/hook`,
      '--webhook-secret',
      'inbox-webhook-secret-0123456789',
    ]);
    remote = new HttpLightningStore({ baseUrl: server.url, token: TOKEN });
    const governance = createGovernancePipeline();
    const base = 1_800_000_000;
    const seeds = [
      ['spam', `Buy cheap watches now, write to ${EMAIL} for the offer.`, [WARM, STUTTER]],
      ['reject', 'The search box returns nothing when I look for audit trails.', [STUTTER, GOOD]],
      ['override', 'The new tutorial is great, thank you all for writing it.', [WARM, GOOD]],
      ['edit', 'The glossary page has a broken link to the audit section.', [STUTTER, GOOD]],
      ['approve', `The export button fails every time. Reach me at ${EMAIL} please.`, [STUTTER, GOOD]],
    ] as const;
    for (const [i, [key, text, replies]] of seeds.entries()) {
      items[key] = await seedFeedbackItem(remote, governance, {
        id: `fb-${key}`,
        text,
        submittedAt: base + i * 60,
        replies: [...replies],
        category: key === 'override' ? 'positive' : 'website-bug',
      });
    }
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.url}/#/sync`);
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Token (optional)').fill(TOKEN);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    await syncNow(page);
    // Another reviewer decides the newest item first: their decision reaches the server before this
    // lab's next sync (the lab does not see it until then).
    const approve = items.approve;
    const sam = ReviewDecision.parse({
      id: samDecision,
      action: 'reject',
      reviewer: 'Sam Second',
      decidedAt: Date.now() / 1000,
      reason: 'a duplicate of an earlier report',
    });
    await remote.addSpan({
      rollout_id: approve.rollout_id,
      attempt_id: approve.attempt.attempt_id,
      trace_id: 'sam-lab',
      span_id: 'sam-decision',
      name: DECISION_SPAN,
      attributes: decisionAttributes(sam),
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('lists the synced items newest first with redacted text, verdict and redacted PII types', async () => {
    await openInbox();
    // The reviewer's name is asked once and kept in the lab's settings.
    await page.getByLabel('Reviewer name').fill('Ada Reviewer');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.getByRole('button', { name: 'Change name' }).waitFor();
    await expect.poll(() => page.getByTestId('inbox-item').count(), { timeout: 30_000 }).toBe(5);
    const texts = await listTexts();
    expect(texts[0]).toMatch(/^The export button fails every time\. Reach me at <EMAIL_1> please\./);
    expect(texts.map((t) => t.slice(0, 12))).toEqual([
      'The export b',
      'The glossary',
      'The new tuto',
      'The search b',
      'Buy cheap wa',
    ]);
    expect(texts.join(' ')).not.toContain(EMAIL);
    expect(await page.getByTestId('inbox-pii').textContent()).toBe('EMAIL');
    expect(await page.getByTestId('inbox-item-pii').allTextContents()).toEqual([
      'redacted EMAIL',
      'redacted EMAIL',
    ]);
    expect(await page.getByTestId('inbox-category').textContent()).toBe('website-bug');
    expect(await page.getByTestId('inbox-sentiment').textContent()).toMatch(/^\w+ \(-?\d\.\d\d\)$/);
    // Drafts best first: the stuttering reply fails a sendability check, halving its reward.
    const drafts = page.getByTestId('inbox-draft');
    expect(await drafts.count()).toBe(2);
    expect(await drafts.nth(0).getByTestId('inbox-draft-text').textContent()).toBe(GOOD);
    expect(await drafts.nth(1).getByTestId('failed-checks').textContent()).toContain('stutter');
    expect(await drafts.nth(0).getByTestId('reward-bars').count()).toBe(1);
    await shot('1-open');
    // j / k move through the list.
    await page.getByRole('listbox', { name: 'Feedback items' }).focus();
    await page.keyboard.press('j');
    await expect.poll(selectedText, { timeout: 10_000 }).toMatch(/^The glossary/);
    await page.keyboard.press('k');
    await expect.poll(selectedText, { timeout: 10_000 }).toMatch(/^The export/);
  });

  it('approves the best draft from the keyboard', async () => {
    await page.keyboard.press('a');
    await page.getByTestId('inbox-composer').and(page.locator('[data-action="approve"]')).waitFor();
    await page.keyboard.press('Enter');
    await expectSaved();
    await expect.poll(() => page.getByTestId('inbox-item').count(), { timeout: 30_000 }).toBe(4);
    expect(await page.getByTestId('inbox-message').textContent()).toMatch(/saved/);
    expect(await selectedText()).toMatch(/^The glossary/);
  });

  it('edits the second draft, typing never triggers a key, and approves it with Ctrl+Enter', async () => {
    await page.keyboard.press('2');
    expect(await page.getByTestId('inbox-draft').nth(1).getAttribute('data-picked')).toBe('true');
    await page.keyboard.press('e');
    const reply = page.getByLabel('Reply', { exact: true });
    await reply.waitFor();
    expect(await reply.inputValue()).toBe(STUTTER);
    await reply.fill('Thank you for telling us about this. We are looking into it now.');
    await reply.press('End');
    // Letters that are keys outside the box (a, e, r, s, w, j, k) must only type here.
    await page.keyboard.type('\nBest wishes, the docs team (we answer all reports).');
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => page.getByTestId('inbox-item').count(), { timeout: 30_000 }).toBe(3);
  });

  it('refuses an edited reply with an email address until the override is ticked with a reason', async () => {
    expect(await selectedText()).toMatch(/^The new tutorial/);
    await page.keyboard.press('e');
    const reply = page.getByLabel('Reply', { exact: true });
    await reply.fill(`${WARM} Write to ${EMAIL} for a signed copy.`);
    // The findings show once typing pauses, before anything is confirmed.
    await page.getByTestId('inbox-findings').waitFor();
    expect(await page.getByTestId('inbox-findings').textContent()).toContain('pii:EMAIL');
    await page.keyboard.press('Control+Enter');
    await page.getByTestId('inbox-error').waitFor();
    expect(await page.getByTestId('inbox-error').textContent()).toMatch(
      /^Not sent: governance found pii:EMAIL/,
    );
    expect(await page.getByTestId('inbox-item').count()).toBe(3);
    await page.getByLabel('Send anyway (override, logged with the decision)').check();
    await page.keyboard.press('Control+Enter');
    expect(await page.getByTestId('inbox-error').textContent()).toMatch(/needs a reason/);
    await shot('2-override');
    await page.getByLabel('Override reason').fill('the visitor asked to be written to at this address');
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => page.getByTestId('inbox-item').count(), { timeout: 30_000 }).toBe(2);
  });

  it('rejects all drafts only with a reason, and marks spam', async () => {
    expect(await selectedText()).toMatch(/^The search box/);
    // Esc leaves a reply being written without deciding anything.
    await page.keyboard.press('w');
    await page.getByLabel('Reply', { exact: true }).waitFor();
    await page.keyboard.type('a reply I will not send');
    await page.keyboard.press('Escape');
    await page.getByTestId('inbox-composer').waitFor({ state: 'detached' });
    expect(await page.getByTestId('inbox-item').count()).toBe(2);
    await page.keyboard.press('r');
    const reason = page.getByLabel('Reason', { exact: true });
    await reason.waitFor();
    await page.keyboard.press('Enter');
    expect(await page.getByTestId('inbox-error').textContent()).toBe('A rejection needs a reason.');
    await reason.fill('neither draft answers the question');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('inbox-item').count(), { timeout: 30_000 }).toBe(1);
    await page.keyboard.press('s');
    await page.getByTestId('inbox-composer').and(page.locator('[data-action="spam"]')).waitFor();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('inbox-item').count(), { timeout: 30_000 }).toBe(0);
    expect(await page.getByTestId('inbox-count').textContent()).toBe('0 items');
  });

  it('keeps the decisions after a reload, waiting for the server', async () => {
    await page.reload();
    await openInbox('decided');
    await expect.poll(() => page.getByTestId('inbox-item').count(), { timeout: 30_000 }).toBe(5);
    const states = await page
      .getByTestId('inbox-item')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
    expect(states).toEqual(['waiting', 'waiting', 'waiting', 'waiting', 'waiting']);
    await page.getByTestId('inbox-waiting').waitFor();
  });

  it('sends each decision as one span with its attributes on the next sync', async () => {
    await syncNow(page);
    const decisionOf = async (key: string): Promise<ReviewDecision> => {
      const spans = (await spansOf(items[key].rollout_id, DECISION_SPAN)).filter(
        (span) => span.attributes[DECISION_ATTR.reviewer] === 'Ada Reviewer',
      );
      expect(spans, key).toHaveLength(1);
      expect(spans[0].attempt_id).toBe(items[key].attempt.attempt_id);
      const d = readDecision(spans[0]);
      if (!d) throw new Error(`${key}: not a well-formed decision span`);
      expect(d.reviewer).toBe('Ada Reviewer');
      expect(d.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Math.abs(d.decidedAt - Date.now() / 1000)).toBeLessThan(600);
      return d;
    };
    expect(await decisionOf('approve')).toMatchObject({
      action: 'approve',
      draftIndex: 1,
      reply: GOOD,
      findings: [],
      policyId: 'scripted-policy',
    });
    const edit = await decisionOf('edit');
    expect(edit).toMatchObject({ action: 'edit', draftIndex: 0 });
    expect(edit.reply).toBe(
      'Thank you for telling us about this. We are looking into it now.\nBest wishes, the docs team (we answer all reports).',
    );
    expect(edit.diff).toBe(
      `- ${STUTTER}\n+ Thank you for telling us about this. We are looking into it now.\n+ Best wishes, the docs team (we answer all reports).`,
    );
    const override = await decisionOf('override');
    expect(override).toMatchObject({
      action: 'edit',
      findings: ['pii:EMAIL'],
      override: 'the visitor asked to be written to at this address',
    });
    expect(override.reply).toContain(EMAIL);
    expect(await decisionOf('reject')).toMatchObject({
      action: 'reject',
      reason: 'neither draft answers the question',
    });
    const spam = await decisionOf('spam');
    expect(spam.action).toBe('spam');
    expect(spam.reply).toBeUndefined();
    // Sam's decision on the approved item came first: the server keeps both.
    expect(
      (await spansOf(items.approve.rollout_id, DECISION_SPAN)).map((d) => readDecision(d)?.reviewer).sort(),
    ).toEqual(['Ada Reviewer', 'Sam Second']);
  });

  it("shows the server's outcome (another reviewer first) and the delivery log, pulled by sync", async () => {
    const states = () =>
      page.getByTestId('inbox-item').evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
    // The server rules and delivers in the background (a 503, then a retry about a second later): sync
    // until this lab has the outcome of both items and the edited item's second delivery.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const outcomes = await spansOf(items.edit.rollout_id, OUTCOME_SPAN);
      const deliveries = await spansOf(items.edit.rollout_id, DELIVERY_SPAN);
      const lost = await spansOf(items.approve.rollout_id, OUTCOME_SPAN);
      if (outcomes.length > 0 && lost.length > 0 && deliveries.length >= 2) break;
      if (Date.now() > deadline)
        throw new Error(`the server did not rule and deliver: ${received.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // sync-last shows seconds: a second pass within the same second would look like no pass.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await syncNow(page);
    await openInbox('decided');
    await expect.poll(async () => (await states()).slice(0, 2), { timeout: 30_000 }).toEqual(['lost', 'won']);
    // The newest decided item (the approved one) is selected: Sam's decision came first.
    expect(await page.getByTestId('inbox-lost').textContent()).toBe(
      'Sam Second decided first; your decision was not sent.',
    );
    expect(await page.getByTestId('inbox-decision').count()).toBe(2);
    await page.getByRole('listbox', { name: 'Feedback items' }).focus();
    await page.keyboard.press('j');
    await page.getByTestId('inbox-won').waitFor({ timeout: 10_000 });
    const log = page.getByTestId('inbox-delivery');
    expect(await log.count()).toBe(2);
    const first = await log.nth(0).locator('td').allTextContents();
    expect(first.slice(0, 3)).toEqual(['1', 'retrying', '503']);
    expect(first[4]).not.toBe('—');
    const second = await log.nth(1).locator('td').allTextContents();
    expect(second.slice(0, 3)).toEqual(['2', 'delivered', '200']);
    expect(await page.getByTestId('inbox-decision-diff').textContent()).toContain('+ Best wishes');
    await shot('3-delivered');
    expect(received.filter((id) => id === 'fb-approve')).toEqual([]);
    expect(errors).toEqual([]);
  });
});
