import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppServer, ensureWebBuilt, startAppServer } from '../e2e/app-server';
import { launchChromium } from '../helpers/browser';

// Run control on the Train page (SFT on the wasm backend, the quick one here): pause and resume in
// place, stop, then after a reload resume from the last checkpoint and finish the planned steps.

describe('web: training run control', () => {
  let server: AppServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    server = await startAppServer();
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.url}/#/dataset`);
    await page.getByLabel('Size').fill('30');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByText('Generated 30 examples.').waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const status = () => page.getByTestId('train-status').getAttribute('data-status');
  const step = async () => Number(await page.getByTestId('train-step').textContent());

  it('pauses, resumes, stops, and after a reload resumes from the last checkpoint to the end', async () => {
    await page.getByRole('link', { name: 'Train', exact: true }).click();
    await page.getByRole('combobox', { name: 'Algorithm' }).selectOption('sft');
    await page.getByRole('combobox', { name: 'Backend' }).selectOption('wasm');
    await page.getByRole('spinbutton', { name: 'Steps', exact: true }).fill('6');
    await page.getByRole('spinbutton', { name: 'Feedback per step' }).fill('1');
    await page.getByRole('spinbutton', { name: 'Checkpoint every' }).fill('2');
    await page.getByRole('button', { name: 'Start' }).click();

    await expect.poll(step, { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(status, { timeout: 60_000 }).toBe('paused');
    const pausedAt = await step();
    expect(await page.getByTestId('last-checkpoint').textContent()).toContain(`at step ${pausedAt}`);

    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(step, { timeout: 60_000 }).toBeGreaterThan(pausedAt);
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(status, { timeout: 60_000 }).toBe('stopped');
    const stoppedAt = await step();
    expect(stoppedAt).toBeLessThan(6);

    await page.reload();
    await expect.poll(status).toBe('stopped');
    expect(await step()).toBe(stoppedAt);
    await page.getByRole('button', { name: 'Resume from checkpoint' }).click();
    await expect.poll(status, { timeout: 90_000 }).toBe('finished');
    expect(await step()).toBe(6);
    // One chart point per step, across the stop and the reload: none lost, none repeated.
    expect(await page.getByTestId('chart-loss').getAttribute('data-points')).toBe('6');
    expect(errors).toEqual([]);
  });
});
