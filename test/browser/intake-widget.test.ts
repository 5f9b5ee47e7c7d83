// The feedback widget and the plain form from a real Chromium (issue 20): a page on a listed origin
// (a second loopback server, another origin than the API) loads /widget.js, posts through it (CORS
// preflight, intake key, idempotency key) and through a no-JavaScript form (303 back to the site); a
// page on an unlisted origin cannot post with the same key. The store keeps only redacted text.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { DirectoryBlobStorage } from '../../server/checkpoints/directory';
import { FeedbackIntake } from '../../server/intake/intake';
import { listen, type RunningServer } from '../../server/listen';
import { openSqliteStore, type SqliteLightningStore } from '../../server/store/sqlite';
import { FEEDBACK_ITEM_KIND, FeedbackItemInput } from '../../shared/review/contract';
import { launchChromium } from '../helpers/browser';
import { VISITOR_EMAIL, VISITOR_PHONE } from '../helpers/data-scan';

const KEY = 'site-key-0123456789abcdef';

/** A tiny website: `/` holds the widget and a plain form, `/thanks` is where the form returns. */
function startSite(apiUrl: () => string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    res.writeHead(200, { 'content-type': 'text/html' });
    if (path === '/thanks') return res.end('<!doctype html><title>thanks</title><h1>Thanks!</h1>');
    const own = `http://${req.headers.host}`;
    res.end(`<!doctype html><title>shop</title>
<div id="feedback"></div>
<script src="${apiUrl()}/widget.js" data-intake-key="${KEY}" data-target="#feedback"></script>
<form id="plain" method="post" action="${apiUrl()}/v1/feedback">
  <input type="hidden" name="intake_key" value="${KEY}">
  <input type="hidden" name="redirect" value="${own}/thanks">
  <textarea name="text"></textarea><button id="plain-send">Send</button>
</form>`);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://localhost:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

describe('the feedback widget in Chromium', () => {
  let dir: string;
  let store: SqliteLightningStore;
  let api: RunningServer;
  let shop: { server: Server; url: string };
  let evil: { server: Server; url: string };
  let browser: Browser;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-widget-'));
    store = openSqliteStore(join(dir, 'store.sqlite'));
    let apiUrl = '';
    shop = await startSite(() => apiUrl);
    evil = await startSite(() => apiUrl);
    const intake = await FeedbackIntake.open({
      store,
      checkpoints: new DirectoryBlobStorage(join(dir, 'blobs')),
      keys: [{ name: 'shop', key: KEY, origins: [shop.url] }],
    });
    api = await listen(createApp({ store, intake, token: 'server-token-0123456789' }));
    apiUrl = api.url;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    for (const site of [shop, evil]) await new Promise((resolve) => site?.server.close(resolve));
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const items = async () =>
    (await store.queryRollouts({})).items
      .filter((r) => (r.input as { kind?: string } | null)?.kind === FEEDBACK_ITEM_KIND)
      .map((r) => FeedbackItemInput.parse(r.input));

  it('posts through the widget from a listed origin; only the redacted text is stored', async () => {
    const page = await browser.newPage();
    await page.goto(shop.url);
    await page.fill(
      '.edgelight-feedback textarea',
      `The basket empties itself. I am ${VISITOR_EMAIL}, ${VISITOR_PHONE}.`,
    );
    await page.selectOption('.edgelight-feedback select', 'website-bug');
    await page.click('.edgelight-feedback button');
    await page.waitForFunction(() =>
      document.querySelector('.edgelight-feedback-status')?.textContent?.startsWith('Thank you'),
    );
    const stored = await items();
    expect(stored).toHaveLength(1);
    expect(stored[0].text).toContain('basket empties itself');
    expect(stored[0].text).not.toContain(VISITOR_EMAIL);
    expect(stored[0].category).toBe('website-bug');
    expect(stored[0].metadata.page).toBe(`${shop.url}/`);
    await page.close();
  });

  it('posts a plain form without JavaScript and lands on the site again (303)', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(shop.url);
    await page.fill('#plain textarea', 'The size chart is missing for shoes.');
    await Promise.all([page.waitForURL(/\/thanks\?edgelight_item=ro-/), page.click('#plain-send')]);
    expect(await page.textContent('h1')).toBe('Thanks!');
    expect((await items()).map((i) => i.metadata.source)).toContain('form');
    await context.close();
  });

  it('a page on an unlisted origin cannot post with the key', async () => {
    const before = (await items()).length;
    const page = await browser.newPage();
    await page.goto(evil.url);
    await page.fill('.edgelight-feedback textarea', 'Borrowed key.');
    await page.click('.edgelight-feedback button');
    await page.waitForFunction(() =>
      document.querySelector('.edgelight-feedback-status')?.textContent?.startsWith('Not sent'),
    );
    // The plain form is refused too (the browser sends its Origin with a form post).
    const response = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/v1/feedback') && r.request().method() === 'POST'),
      page.fill('#plain textarea', 'Borrowed key, no JavaScript.').then(() => page.click('#plain-send')),
    ]);
    expect(response[0].status()).toBe(403);
    expect((await items()).length).toBe(before);
    await page.close();
  });
});
