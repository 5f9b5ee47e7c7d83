import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature, WebhookBody } from '../../server/review/webhook';
import { launchChromium } from '../helpers/browser';
import { syncNow } from '../helpers/lab-sync';
import { filesContaining, VISITOR_EMAIL, VISITOR_PHONE, VISITOR_SECRETS } from '../helpers/data-scan';
import { type AppServer, ensureWebBuilt, repoRoot, startAppServer } from './app-server';

// Issue 20's journey against a real `edgelight serve` and the built app in Chromium: a visitor on
// another site posts feedback holding an e-mail address and a phone number through the embeddable
// widget → the server governs it (only the redacted text is stored) and the served starter policy drafts
// replies → the reviewer's lab syncs, the Inbox shows the item redacted with its drafts → the reviewer
// edits one and approves it from the keyboard → the next sync takes the decision to the server, whose
// outbox delivers it to a webhook receiver that checks the HMAC signature → the reply is in the JSON
// Lines export → after a reload the decision and its delivery log are still there. The data folder never
// holds the visitor's e-mail address or phone number.

const TOKEN = 'review-e2e-token';
const INTAKE_KEY = 'pk_site_review_e2e_0123';
const SECRET = 'review-e2e-webhook-secret-0123456789';
const FEEDBACK = `The export button on the reports page fails every time I click it. Write to ${VISITOR_EMAIL} or call ${VISITOR_PHONE}.`;
const REPLY =
  'Thank you for reporting the broken export button. We are looking into it and will write again when it works.';

type Delivery = { body: string; signature: string | undefined; delivery: string | undefined };

describe('e2e: feedback from a site to a delivered reply', () => {
  let server: AppServer;
  let site: HttpServer;
  let receiver: HttpServer;
  let browser: Browser;
  let page: Page;
  const deliveries: Delivery[] = [];
  const pageErrors: string[] = [];
  let itemId = '';

  const api = (path: string) =>
    fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const listen = (http: HttpServer) =>
    new Promise<string>((resolve) =>
      http.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(http.address() as AddressInfo).port}`)),
    );
  const shot = (name: string) =>
    page.screenshot({ path: join(repoRoot, 'test-artifacts', `review-${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(join(repoRoot, 'test-artifacts'), { recursive: true });
    await ensureWebBuilt();
    // The team's webhook: keeps every delivery's raw body and headers.
    receiver = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => {
        body += chunk;
      });
      request.on('end', () => {
        deliveries.push({
          body,
          signature: request.headers['x-edgelight-signature'] as string | undefined,
          delivery: request.headers['x-edgelight-delivery'] as string | undefined,
        });
        response.writeHead(200).end();
      });
    });
    const receiverUrl = await listen(receiver);
    // The visitor's site: another origin, whose page loads the widget from the edgelight server.
    let edgelightUrl = '';
    site = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(`<!doctype html><html lang="en"><head><title>Reports</title></head><body>
        <h1>Reports</h1><div id="feedback"></div>
        <script src="${edgelightUrl}/widget.js" data-intake-key="${INTAKE_KEY}" data-target="#feedback"></script>
        </body></html>`);
    });
    const siteOrigin = await listen(site);
    server = await startAppServer([
      '--token',
      TOKEN,
      '--intake-key',
      `site=${INTAKE_KEY}`,
      '--intake-origin',
      `site=${siteOrigin}`,
      '--webhook-url',
      `${receiverUrl}/hook`,
      '--webhook-secret',
      SECRET,
      '--draft-max-tokens',
      '48',
    ]);
    edgelightUrl = server.url;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`${siteOrigin}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await new Promise((resolve) => site?.close(resolve));
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('takes the visitor feedback through the widget on another site, and drafts replies', async () => {
    await page.getByLabel('Your feedback').fill(FEEDBACK);
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('Thank you: your feedback was received.').waitFor({ timeout: 30_000 });

    // Drafting runs in the background with the served (starter) policy: wait for its four drafts.
    type Item = { item_id: string; feedback: string; verdict: { pii: string[] }; drafts: unknown[] };
    let item: Item | undefined;
    await expect
      .poll(
        async () => {
          const { items } = (await (await api('/v1/items?status=open')).json()) as { items: Item[] };
          item = items[0];
          return item?.drafts.length ?? 0;
        },
        { timeout: 120_000, interval: 1000 },
      )
      .toBe(4);
    itemId = item!.item_id;
    expect(item!.feedback).not.toContain(VISITOR_EMAIL);
    expect(item!.feedback).toContain('<EMAIL_1>');
    expect(item!.verdict.pii).toEqual(expect.arrayContaining(['EMAIL', 'PHONE']));
    const status = (await (await fetch(`${server.url}/v1/feedback/${itemId}/status`)).json()) as {
      status: string;
    };
    expect(status.status).toBe('awaiting review');
  });

  it('shows the item redacted with its drafts in the reviewer Inbox, after a sync', async () => {
    await page.goto(`${server.url}/#/sync`);
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Token (optional)').fill(TOKEN);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    await syncNow(page);
    await page.getByRole('link', { name: 'Inbox', exact: true }).click();
    await page.getByLabel('Reviewer name').fill('Rui Reviewer');
    await page.getByRole('button', { name: 'Save name' }).click();
    const item = page.locator(`[data-testid="inbox-item"][data-item-id="${itemId}"]`);
    await item.waitFor({ timeout: 30_000 });
    await item.click();
    const text = await page.getByTestId('inbox-detail-text').textContent();
    expect(text).toContain('<EMAIL_1>');
    expect(text).toContain('<PHONE_1>');
    expect(text).not.toContain(VISITOR_EMAIL);
    expect(await page.getByTestId('inbox-pii').textContent()).toMatch(/EMAIL.*PHONE|PHONE.*EMAIL/);
    await expect.poll(() => page.getByTestId('inbox-draft').count()).toBe(4);
    await shot('1-inbox');
  });

  it('edits the best draft and approves it from the keyboard; the server delivers it signed', async () => {
    await page.getByRole('listbox', { name: 'Feedback items' }).focus();
    await page.keyboard.press('1');
    await page.keyboard.press('e');
    const reply = page.getByLabel('Reply', { exact: true });
    await reply.waitFor();
    await reply.fill(REPLY);
    await page.keyboard.press('Control+Enter');
    await page
      .locator(`[data-testid="inbox-item"][data-item-id="${itemId}"]`)
      .waitFor({ state: 'detached', timeout: 30_000 });
    await syncNow(page);

    await expect.poll(() => deliveries.length, { timeout: 60_000, interval: 500 }).toBeGreaterThan(0);
    const [delivery] = deliveries;
    expect(verifySignature({ body: delivery.body, header: delivery.signature, secret: SECRET }).ok).toBe(
      true,
    );
    expect(
      verifySignature({ body: `${delivery.body} `, header: delivery.signature, secret: SECRET }).ok,
    ).toBe(false);
    const body = WebhookBody.parse(JSON.parse(delivery.body));
    expect(body).toMatchObject({ item_id: itemId, action: 'edit', reply: REPLY, reviewer: 'Rui Reviewer' });
    expect(body.feedback).not.toContain(VISITOR_EMAIL);
  });

  it('has the reply in the JSON Lines export and the item replied to', async () => {
    await expect
      .poll(async () => {
        const lines = (await (await api('/v1/replies/export')).text()).trim().split('\n').filter(Boolean);
        return lines.map((l) => JSON.parse(l) as { item_id: string; reply: string; delivery_status: string });
      })
      .toEqual([expect.objectContaining({ item_id: itemId, reply: REPLY, delivery_status: 'delivered' })]);
    const status = (await (await fetch(`${server.url}/v1/feedback/${itemId}/status`)).json()) as {
      status: string;
    };
    expect(status.status).toBe('replied');
  });

  it('still has the decision and its delivery log after a reload and a sync', async () => {
    await page.reload();
    await syncNow(page);
    await page.getByRole('link', { name: 'Inbox', exact: true }).click();
    await page.getByTestId('inbox-filter').selectOption('decided');
    const item = page.locator(`[data-testid="inbox-item"][data-item-id="${itemId}"]`);
    await item.waitFor({ timeout: 30_000 });
    await item.click();
    await page.getByTestId('inbox-won').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('inbox-decision-reply').textContent()).toContain(REPLY);
    expect(await page.getByTestId('inbox-decision-diff').count()).toBe(1);
    await expect
      .poll(() => page.locator('[data-testid="inbox-delivery"][data-status="delivered"]').count())
      .toBe(1);
    await shot('2-delivered');
  });

  it('never wrote the visitor e-mail address or phone number to the data folder', () => {
    expect(filesContaining(server.dataDir, VISITOR_SECRETS)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
