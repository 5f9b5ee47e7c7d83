import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGovernancePipeline } from '../../shared/governance/index';
import { HttpLightningStore } from '../../shared/store/http';
import { type AppServer, ensureWebBuilt, startAppServer } from '../e2e/app-server';
import { launchChromium } from '../helpers/browser';
import { syncNow } from '../helpers/lab-sync';
import { SEEDED_REVIEWS, seedReviews } from '../helpers/review-decisions';

// Training from reviews on the Train page of the built app, in real Chromium against a real
// `edgelight serve`: decided feedback items (the intake's shape, the real feedback agent's drafts, one
// decision each as the Inbox writes it) reach the lab's store by its own sync; the page counts what they
// give, refuses to start while there is nothing, and trains DPO, KTO and SFT from them, starting from
// the starter policy, on the wasm backend.

const TOKEN = 'train-reviews-token';

describe('web: training from reviews', () => {
  let server: AppServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    server = await startAppServer(['--token', TOKEN]);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.url}/#/sync`);
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Token (optional)').fill(TOKEN);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const status = () => page.getByTestId('train-status').getAttribute('data-status');
  const step = async () => Number(await page.getByTestId('train-step').textContent());
  /** The run's state as `status@step`, with the page's error when it shows one (a failed poll says why). */
  const state = async () => {
    const alert = page.getByRole('alert');
    const shown = (await alert.count()) ? ` (${await alert.textContent()})` : '';
    return `${await status()}@${await step()}${shown}`;
  };
  const lastCheckpoint = async () => {
    const shown = page.getByTestId('last-checkpoint');
    return (await shown.count()) ? await shown.textContent() : null;
  };
  /**
   * Starts the run and waits for its end. Two runs in a row can both end at step 1, so the end is this
   * run's only once a new checkpoint shows (a poll of the status alone could see the previous run's).
   */
  async function startAndFinish(steps: number, timeout: number): Promise<void> {
    const before = await lastCheckpoint();
    await start().click();
    await expect.poll(lastCheckpoint, { timeout }).not.toBe(before);
    await expect.poll(state, { timeout }).toBe(`finished@${steps}`);
  }
  const algorithm = () => page.getByRole('combobox', { name: 'Algorithm' });
  const start = () => page.getByRole('button', { name: 'Start' });

  /** Sets the run's size: wasm, `steps` steps of 2 examples, short replies, a checkpoint every step. */
  async function small(steps: number): Promise<void> {
    await page.getByRole('combobox', { name: 'Backend' }).selectOption('wasm');
    await page.getByRole('spinbutton', { name: 'Steps', exact: true }).fill(String(steps));
    await page.getByRole('spinbutton', { name: 'Feedback per step' }).fill('2');
    await page.getByRole('spinbutton', { name: 'Reply tokens (max)' }).fill('48');
    await page.getByRole('spinbutton', { name: 'Checkpoint every' }).fill('1');
  }

  it('with no decisions in the lab, DPO and KTO say why Start is off', async () => {
    await page.getByRole('link', { name: 'Train', exact: true }).click();
    await algorithm().selectOption('dpo');
    await expect
      .poll(() => page.getByTestId('review-counts').textContent())
      .toMatch(/From reviews: 0 pairs, 0 labels, 0 replies/);
    expect(await page.getByTestId('start-blocked').textContent()).toMatch(
      /DPO needs preference pairs.*none of the 0 feedback items in this lab is decided yet/,
    );
    expect(await start().isDisabled()).toBe(true);
    await algorithm().selectOption('kto');
    expect(await page.getByTestId('start-blocked').textContent()).toMatch(/KTO needs labelled replies/);
    expect(await start().isDisabled()).toBe(true);
    // SFT on the dataset is the page's usual run (it asks for a dataset instead); from reviews it is off too.
    await algorithm().selectOption('sft');
    await page.getByRole('combobox', { name: 'Data' }).selectOption('reviews');
    expect(await page.getByTestId('start-blocked').textContent()).toMatch(/SFT from reviews needs replies/);
    expect(await start().isDisabled()).toBe(true);
  });

  it('counts what the synced decisions give, and trains DPO from the starter policy to a checkpoint', async () => {
    const remote = new HttpLightningStore({ baseUrl: server.url, token: TOKEN });
    await seedReviews(remote, createGovernancePipeline());
    await syncNow(page);
    await page.getByRole('link', { name: 'Train', exact: true }).click();
    await algorithm().selectOption('dpo');
    const { pairs, labels, sft, decided, items } = SEEDED_REVIEWS;
    await expect
      .poll(() => page.getByTestId('review-counts').textContent())
      .toContain(
        `From reviews: ${pairs} pairs, ${labels} labels, ${sft} replies (${decided} of ${items} feedback items in this lab decided`,
      );
    expect(await page.getByTestId('start-blocked').count()).toBe(0);
    // DPO and KTO start from the starter policy by default (they refine a trained policy).
    expect(await page.getByRole('combobox', { name: 'Start from' }).inputValue()).toBe('starter');
    expect(await page.getByTestId('train-hint').textContent()).toMatch(/^DPO from the starter policy/);
    await small(2);
    await startAndFinish(2, 180_000);
    expect(await page.getByTestId('last-checkpoint').textContent()).toContain('at step 2');
    expect(await page.getByTestId('train-status').textContent()).toContain(
      `from reviews: ${pairs} pairs, ${labels} labels, ${sft} replies`,
    );
    expect(await page.getByTestId('chart-loss').getAttribute('data-points')).toBe('2');
    expect(await page.getByTestId('chart-pairs ranked right (DPO)').getAttribute('data-points')).toBe('2');
    expect(errors).toEqual([]);
  });

  it('trains a KTO step and an SFT step on the replies reviewers sent, each to a checkpoint', async () => {
    await algorithm().selectOption('kto');
    // KTO's own weights in the form; DPO's label smoothing only with DPO.
    expect(await page.getByRole('spinbutton', { name: 'Weight of sent replies (λ_D)' }).count()).toBe(1);
    expect(await page.getByRole('spinbutton', { name: 'Label smoothing (ε)' }).count()).toBe(0);
    await small(1);
    await startAndFinish(1, 180_000);
    expect(await page.getByTestId('last-checkpoint').textContent()).toContain('at step 1');

    await algorithm().selectOption('sft');
    await page.getByRole('combobox', { name: 'Data' }).selectOption('reviews');
    expect(await page.getByRole('combobox', { name: 'Start from' }).inputValue()).toBe('starter');
    await small(1);
    await startAndFinish(1, 180_000);

    // The lab's checkpoint records: one per DPO step, then KTO's and SFT's, all of the tiny model.
    const saved = await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open('edgelight-lab');
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      type Row = { algorithm: string; step: number; preset: string; createdAt: number; source?: string };
      const rows = await new Promise<Row[]>((resolve, reject) => {
        const request = db.transaction('checkpoints').objectStore('checkpoints').getAll();
        request.onsuccess = () => resolve(request.result as Row[]);
        request.onerror = () => reject(request.error);
      });
      return rows
        .filter((r) => r.source === 'trained')
        .sort((a, b) => a.createdAt - b.createdAt)
        .map((r) => `${r.algorithm}@${r.step}:${r.preset}`);
    });
    expect(saved).toEqual(['dpo@1:tiny', 'dpo@2:tiny', 'kto@1:tiny', 'sft@1:tiny']);
    expect(errors).toEqual([]);
  });

  it('runs GRPO with a reward model fitted from the reviews as a term, and shows the agreement panel', async () => {
    await algorithm().selectOption('grpo');
    // GRPO drafts for the dataset's feedback: the lab needs one first.
    await page.getByRole('button', { name: 'Generate the default dataset' }).click();
    await page.getByTestId('no-train-split').waitFor({ state: 'detached', timeout: 120_000 });
    await page.getByTestId('reward-model-reviews').check();
    expect(await page.getByRole('spinbutton', { name: 'Reward model weight' }).inputValue()).toBe('1');
    expect(await page.getByTestId('review-counts').textContent()).toContain(`${SEEDED_REVIEWS.pairs} pairs`);
    await small(1);
    await page.getByRole('spinbutton', { name: 'Reward model weight' }).fill('0.5');
    expect(await page.getByTestId('start-blocked').count()).toBe(0);
    await start().click();
    // The SFT run before this one also ended at step 1: wait for this run's phase first.
    await expect
      .poll(() => page.getByTestId('train-status').textContent(), { timeout: 120_000 })
      .toContain('GRPO');
    await expect.poll(state, { timeout: 240_000 }).toBe('finished@1');
    expect(await page.getByTestId('train-status').textContent()).toMatch(
      /reward model from reviews: weight 0\.5, learned from \d+ pairs/,
    );
    // The heuristic reward's agreement with the lab's reviewers, as on the Inbox.
    await page.getByText('Agreement with reviewers').click();
    await expect.poll(() => page.getByTestId('agreement-headline').textContent()).toMatch(/decided items/);
    expect(errors).toEqual([]);
  });
});
