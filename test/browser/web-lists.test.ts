import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppServer, ensureWebBuilt, startAppServer } from '../e2e/app-server';
import { launchChromium } from '../helpers/browser';

// The app's lists in real Chromium: a JSON Lines import reports each bad line by number, and the
// trace explorer stays a window of rows over 100k rollouts while filters still see all of them.

describe('web: dataset import and the 100k-row trace list', () => {
  let server: AppServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await ensureWebBuilt();
    server = await startAppServer();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(`${server.url}/#/dataset`);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('imports the valid lines of a JSON Lines file and lists every rejected line with its number', async () => {
    await page.getByRole('button', { name: 'Generate' }).waitFor();
    const good = {
      id: 'own-1',
      text: 'The glossary page has a broken link to the audit trails section.',
      category: 'website-bug',
      locale: 'en',
      metadata: {
        family: 'own',
        split: 'val',
        sentiment: 'negative',
        pii: [],
        valuesQuestion: false,
        slots: {},
      },
    };
    const lines = [JSON.stringify(good), '{not json', JSON.stringify({ id: 'own-2', text: '' }), ''];
    const file = join(mkdtempSync(join(tmpdir(), 'edgelight-web-')), 'feedback.jsonl');
    writeFileSync(file, lines.join('\n'));
    await page.getByLabel('Import').setInputFiles(file);
    await page.getByText('Imported 1 examples from feedback.jsonl; 2 lines rejected.').waitFor();
    const rejected = await page.locator('[data-testid="line-errors"] tbody tr').allTextContents();
    expect(rejected).toHaveLength(2);
    expect(rejected[0]).toMatch(/^2not JSON/);
    expect(rejected[1]).toMatch(/^3/);
    await page.getByRole('combobox', { name: 'Split' }).selectOption('val');
    await expect.poll(() => page.getByTestId('dataset-count').textContent()).toBe('1 matching');

    // Export writes the current filter as JSON Lines that import again unchanged.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export (current filter)' }).click(),
    ]);
    const exported = readFileSync(await download.path(), 'utf8')
      .trimEnd()
      .split('\n');
    expect(exported).toHaveLength(1);
    expect(JSON.parse(exported[0])).toEqual(good);
  });

  it('renders only a window of a 100,000-row trace list and filters over all of it', async () => {
    await page.getByRole('link', { name: 'Traces', exact: true }).click();
    await page.getByTestId('traces-count').waitFor();
    // Fill the explorer's index (the lab database the worker opened) with 100k rollouts.
    await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open('edgelight-lab');
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const tx = db.transaction('traces', 'readwrite');
      const table = tx.objectStore('traces');
      for (let i = 0; i < 100_000; i++) {
        table.put({
          rollout_id: `ro-bulk-${String(i).padStart(6, '0')}`,
          status: i % 10 === 0 ? 'failed' : 'succeeded',
          mode: i % 2 === 0 ? 'train' : 'val',
          reward: i % 10 === 0 ? Number.NEGATIVE_INFINITY : (i % 100) / 100,
          start_time: 1_700_000_000 + i,
          end_time: 1_700_000_001 + i,
          attempts: 1,
          preview: `synthetic rollout ${i}`,
        });
      }
      await new Promise<void>((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      });
      db.close();
    });
    await page.reload();
    const count = page.getByTestId('traces-count');
    await expect.poll(() => count.textContent(), { timeout: 30_000 }).toBe('100000 matching');
    const list = page.getByRole('listbox', { name: 'Rollouts' });
    expect(await list.getByRole('option').count()).toBeLessThan(60);

    await list.focus();
    await page.keyboard.press('End');
    await list.getByText('synthetic rollout 0', { exact: true }).waitFor();
    expect(await list.getByRole('option').count()).toBeLessThan(60);

    await page.getByRole('combobox', { name: 'Status' }).selectOption('failed');
    await expect.poll(() => count.textContent(), { timeout: 30_000 }).toBe('10000 matching');
    await page.getByRole('spinbutton', { name: 'Reward ≥' }).fill('0.5');
    await page.getByRole('spinbutton', { name: 'Reward ≥' }).blur();
    await expect.poll(() => count.textContent(), { timeout: 30_000 }).toBe('0 matching');
  });
});
