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

  it('keeps the KL reference of a GRPO run across a stop and a reload', async () => {
    // The SFT run above left a tiny checkpoint, so GRPO starts from it (no warm-up) and takes it as
    // the frozen reference of its KL guards. A resumed phase must keep that reference, not adopt
    // the resumed weights (KL would then restart from 0 and the guards would drift with training).
    await page.getByRole('combobox', { name: 'Algorithm' }).selectOption('grpo');
    // Where the app ships a starter policy, RL starts from it by default; this run is about the lab's own.
    const startFrom = page.getByRole('combobox', { name: 'Start from' });
    if (await startFrom.count()) await startFrom.selectOption('auto');
    await page.getByRole('combobox', { name: 'Backend' }).selectOption('wasm');
    await page.getByRole('spinbutton', { name: 'Steps', exact: true }).fill('30');
    await page.getByRole('spinbutton', { name: 'Group size' }).fill('2');
    await page.getByRole('spinbutton', { name: 'Reply tokens (max)' }).fill('24');
    // One update per batch keeps this 30-step run short; the e2e journey trains with the default μ 3.
    await page.getByRole('spinbutton', { name: 'Updates per batch (μ)' }).fill('1');
    await page.getByRole('spinbutton', { name: 'Checkpoint every' }).fill('10');
    await page.getByRole('button', { name: 'Start' }).click();
    // Stop early in the new run (the page shows the finished SFT run until this one starts).
    await expect
      .poll(async () => `${await status()}@${await step()}`, { timeout: 120_000, interval: 50 })
      .toMatch(/^running@([1-9]|1\d)$/);
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(status, { timeout: 120_000 }).toBe('stopped');
    expect(await step()).toBeLessThan(30);

    await page.reload();
    await expect.poll(status).toBe('stopped');
    await page.getByRole('button', { name: 'Resume from checkpoint' }).click();
    await expect.poll(status, { timeout: 180_000 }).toBe('finished');
    expect(await step()).toBe(30);

    const saved = await savedCheckpoints(page);
    const sftIds = saved.filter((c) => c.algorithm === 'sft').map((c) => c.id);
    const grpo = saved.filter((c) => c.algorithm === 'grpo');
    // At least one checkpoint before the stop and one written after the resume.
    expect(grpo.length).toBeGreaterThanOrEqual(2);
    expect(sftIds).toContain(grpo[0].referenceId);
    for (const c of grpo) expect(c.referenceId, `step ${c.step}`).toBe(grpo[0].referenceId);
    // The form's μ reached the trainer (recorded with the RL settings in the trainer state).
    for (const c of grpo) expect(c.mu, `step ${c.step}`).toBe(1);
    expect(errors).toEqual([]);
  });

  it('trains a new model with a copy head when the box is ticked, and labels its checkpoints so', async () => {
    await page.getByRole('combobox', { name: 'Algorithm' }).selectOption('sft');
    await page.getByRole('combobox', { name: 'Backend' }).selectOption('wasm');
    await page.getByRole('checkbox', { name: /Copy head/ }).check();
    await page.getByRole('spinbutton', { name: 'Steps', exact: true }).fill('2');
    await page.getByRole('spinbutton', { name: 'Feedback per step' }).fill('1');
    await page.getByRole('button', { name: 'Start' }).click();
    await expect
      .poll(async () => `${await status()}@${await step()}`, { timeout: 120_000 })
      .toBe('finished@2');
    const copies = (await savedCheckpoints(page)).filter((c) => c.preset === 'tiny-copy');
    expect(copies.length).toBeGreaterThanOrEqual(1);
    for (const c of copies) expect(c.copy, `step ${c.step}`).toBe(true);
    expect(errors).toEqual([]);
  });
});

/** Every checkpoint the lab saved, oldest first, with its trainer state and model config from the blobs. */
async function savedCheckpoints(page: Page) {
  return page.evaluate(async () => {
    const open = (name: string) =>
      new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    const read = <T>(db: IDBDatabase, table: string, key?: string) =>
      new Promise<T>((resolve, reject) => {
        const store = db.transaction(table).objectStore(table);
        const request = key === undefined ? store.getAll() : store.get(key);
        request.onsuccess = () => resolve(request.result as T);
        request.onerror = () => reject(request.error);
      });
    const lab = await open('edgelight-lab');
    const blobs = await open('edgelight-store');
    const json = async (sha: string) => {
      const row = await read<{ bytes: Uint8Array }>(blobs, 'blobs', sha);
      return JSON.parse(new TextDecoder().decode(row.bytes));
    };
    type Row = { id: string; step: number; algorithm: string; preset: string; createdAt: number };
    const rows = await read<Row[]>(lab, 'checkpoints');
    const out: Array<Row & { referenceId: unknown; mu: unknown; copy: unknown }> = [];
    for (const row of rows.sort((a, b) => a.createdAt - b.createdAt)) {
      const manifest = await json(row.id);
      // A weights-only checkpoint (the starter policy) has no trainer state.
      const stateFile = manifest.files['trainer_state.json'];
      const state = stateFile ? await json(stateFile.sha256) : {};
      const config = await json(manifest.files['config.json'].sha256);
      out.push({
        ...row,
        referenceId: state.reference?.checkpointId,
        mu: state.config?.mu,
        copy: config.copy,
      });
    }
    return out;
  });
}
