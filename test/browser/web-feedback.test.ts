import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUALITY_CHECK_DESCRIPTIONS, QUALITY_CHECKS } from '../../shared/agent/quality/checks';
import { type AppServer, ensureWebBuilt, startAppServer } from '../e2e/app-server';
import { launchChromium } from '../helpers/browser';

// The Feedback page of the built app, served by `edgelight serve`, in real Chromium: the verdict
// comes from the lab worker, and feedback text is only ever rendered as text.

describe('web: Feedback page', () => {
  let server: AppServer;
  let browser: Browser;
  let page: Page;
  const dialogs: string[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    server = await startAppServer();
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.url}/#/feedback`);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function check(text: string): Promise<void> {
    await page.getByLabel('Text', { exact: true }).fill(text);
    await page.getByRole('button', { name: 'Check' }).click();
    await page.getByTestId('verdict').waitFor();
    await page
      .getByTestId('highlighted')
      .filter({ hasText: text.slice(0, 20) })
      .waitFor();
  }

  it('redacts an email address and a phone number and highlights both', async () => {
    const email = 'dana.ortiz@example.org';
    const phone = '+1 415 555 0132';
    await check(`The export failed again. Reach me at ${email} or on ${phone} please.`);
    const redacted = await page.getByTestId('redacted').textContent();
    expect(redacted).not.toContain(email);
    expect(redacted).not.toContain(phone);
    expect(redacted).toMatch(/<EMAIL_1>/);
    expect(redacted).toMatch(/<PHONE_1>/);
    const marked = await page.locator('[data-testid="highlighted"] mark.mark-pii').allTextContents();
    expect(marked.join(' ')).toContain(email);
    expect(marked.join(' ')).toContain(phone);
  });

  it('shows national ids, passport numbers and birth dates with their labels and colour group', async () => {
    const nino = 'AB 12 34 56 C';
    const fiscal = 'RSSMRA85T10A562S';
    const passport = '12AB34567';
    const born = '12 March 1985';
    await check(
      `Your form kept my NI number ${nino}, codice fiscale ${fiscal} and passport no. ${passport}; I was born on ${born}.`,
    );
    const redacted = await page.getByTestId('redacted').textContent();
    for (const value of [nino, fiscal, passport, born]) expect(redacted).not.toContain(value);
    for (const placeholder of ['<UK_NINO_1>', '<IT_FISCAL_CODE_1>', '<PASSPORT_1>', '<DATE_OF_BIRTH_1>'])
      expect(redacted).toContain(placeholder);
    const ids = page.locator('[data-testid="highlighted"] mark.pii-government-id');
    expect((await ids.allTextContents()).join(' ')).toContain(fiscal);
    expect(await ids.first().getAttribute('data-pii-types')).toBe('UK_NINO');
    const birth = page.locator('[data-testid="highlighted"] mark.pii-identity');
    expect(await birth.getAttribute('data-pii-types')).toBe('DATE_OF_BIRTH');
    expect(await birth.getAttribute('title')).toMatch(/^date of birth \(DATE_OF_BIRTH\) /);
    // The findings table names each type in words and by its code; each group has its own colour.
    const row = page.locator('tr[data-pii-type="IT_FISCAL_CODE"]');
    expect(await row.textContent()).toContain('codice fiscale (Italy)');
    const background = (selector: string) =>
      page
        .locator(selector)
        .first()
        .evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(await background('mark.pii-government-id')).not.toBe(await background('mark.pii-identity'));
  });

  it('renders markup in feedback as text: no element is created and no script runs', async () => {
    const attack = 'Nice app <img src=x onerror=alert(1)> <b>bold</b>';
    await check(attack);
    expect(await page.getByTestId('highlighted').textContent()).toBe(attack);
    expect(await page.getByTestId('redacted').textContent()).toContain('<img src=x onerror=alert(1)>');
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.locator('main b').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('offers a skip link first and marks the current page in the navigation', async () => {
    await page.reload();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    const current = page.locator('nav a[aria-current="page"]');
    expect(await current.textContent()).toBe('Feedback');
  });

  it('drafts replies, each marked sendable or not, with its failed checks, findings and a quality term', async () => {
    // The baseline policy (no checkpoint yet) samples the dataset's SFT corpus: generate one first.
    await page.getByRole('link', { name: 'Dataset', exact: true }).click();
    await page.getByLabel('Size').fill('40');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByText('Generated 40 examples.').waitFor();
    await page.getByRole('link', { name: 'Feedback', exact: true }).click();
    // Praise: the corpus's replies to complaints apologise, which fails `tone-contradiction` here (a third
    // of them on this dataset), so a few drafts of four show a reply that is not sendable.
    await check('I love the new dashboard, it is wonderful and fast. Great work, thank you!');
    const policyLine = page.getByTestId('draft-policy');
    let previous = '';
    for (let attempt = 0; attempt < 6; attempt++) {
      await page.getByRole('button', { name: 'Draft replies' }).click();
      await expect
        .poll(async () => ((await policyLine.count()) ? await policyLine.textContent() : ''), {
          timeout: 60_000,
        })
        .not.toBe(previous);
      previous = (await policyLine.textContent()) ?? '';
      if ((await page.locator('[data-testid="sendable"][data-sendable="false"]').count()) > 0) break;
    }
    expect(await page.locator('[data-testid="sendable"][data-sendable="false"]').count()).toBeGreaterThan(0);

    const replies = page.getByTestId('draft-reply');
    expect(await replies.count()).toBe(4);
    for (const reply of await replies.all()) {
      const badge = reply.getByTestId('sendable');
      expect(await badge.count()).toBe(1);
      const sendable = (await badge.getAttribute('data-sendable')) === 'true';
      expect(await badge.textContent()).toBe(sendable ? 'sendable' : 'not sendable');
      const checks = reply.locator('[data-testid="failed-checks"] li');
      const failed = await checks.count();
      expect(failed === 0).toBe(sendable);
      for (const item of await checks.all()) {
        const name = (await item.getAttribute('data-check')) as (typeof QUALITY_CHECKS)[number];
        expect(QUALITY_CHECKS).toContain(name);
        expect(await item.getAttribute('title')).toBe(QUALITY_CHECK_DESCRIPTIONS[name]);
        expect(await item.textContent()).toMatch(new RegExp(`^${name}(: .+)?$`));
      }
      // The bars show the quality factor (0.5 per failed check), and no fluency term any more.
      const terms = await reply.locator('[data-testid="reward-bars"] th').allTextContents();
      expect(terms).toContain('quality');
      expect(terms).not.toContain('fluency');
      const quality = await reply
        .locator('[data-testid="reward-bars"] tr', { has: page.locator('th', { hasText: 'quality' }) })
        .locator('td.num')
        .textContent();
      expect(Number(quality)).toBeCloseTo(0.5 ** failed, 3);
    }
    expect(errors).toEqual([]);
  });
});
