import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
