import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STARTER_DIR } from '../../server/serving/served';
import { type CheckpointFiles, checkpointFromFiles, saveCheckpoint } from '../../shared/policy/checkpoint';
import { checkpointFromPolicy, policyFromCheckpoint } from '../../shared/policy/checkpoint-policy';
import { createPolicy } from '../../shared/policy/model';
import { HttpBlobStorage } from '../../shared/sync/remote';
import { STARTER_POLICY } from '../../shared/train/starter-policy';
import { type AppServer, ensureWebBuilt, startAppServer } from '../e2e/app-server';
import { launchChromium } from '../helpers/browser';

// "Promote to served" in real Chromium against a real `edgelight serve`: the server serves the starter
// and holds a random policy (published as a resource, not served); the lab pulls both by sync, and
// promoting the random one from the Checkpoints page is refused with both policies' figures, then
// promoted with an override and a reason.

describe('web: Promote to served on the Checkpoints page', () => {
  let server: AppServer;
  let browser: Browser;
  let page: Page;
  let starterId = '';
  let randomId = '';

  beforeAll(async () => {
    await ensureWebBuilt();
    server = await startAppServer(['--gate-items', '4']);
    // The server imports the starter and serves it on first ask.
    starterId = (await (await fetch(`${server.url}/v1/served`)).json()).served.checkpointId;
    const files: CheckpointFiles = {};
    for (const name of STARTER_POLICY.files)
      files[name] = new Uint8Array(await readFile(join(STARTER_DIR, name)));
    const starter = policyFromCheckpoint((await checkpointFromFiles(files)).checkpoint);
    const random = createPolicy(starter.policy.config, { seed: 777 });
    randomId = await saveCheckpoint(
      new HttpBlobStorage({ baseUrl: server.url }),
      await checkpointFromPolicy(random, starter.tokenizer),
    );
    random.dispose();
    starter.policy.dispose();
    // A resources row naming it, so a sync pulls it into the lab (promotion is what makes one served).
    const published = await fetch(`${server.url}/v1/agl/resources`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ policy: { resource_type: 'policy', checkpoint_id: randomId } }),
    });
    expect(published.ok).toBe(true);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('shows the refusal with both sets of figures, then promotes with an override and a reason', async () => {
    await page.goto(`${server.url}/#/sync`);
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.goto(`${server.url}/#/checkpoints`);
    const starterRow = page.getByTestId('checkpoint-row').filter({ hasText: starterId.slice(0, 10) });
    const randomRow = page.getByTestId('checkpoint-row').filter({ hasText: randomId.slice(0, 10) });
    await expect.poll(() => randomRow.count(), { timeout: 60_000 }).toBe(1);
    await expect.poll(() => starterRow.getByTestId('served-badge').count(), { timeout: 30_000 }).toBe(1);

    await randomRow.getByRole('button', { name: 'Promote to served' }).click();
    const panel = page.getByTestId('promote-panel');
    await panel.getByRole('button', { name: 'Promote', exact: true }).click();
    const outcome = panel.getByTestId('promote-outcome');
    await expect.poll(() => outcome.textContent(), { timeout: 120_000 }).toMatch(/^refused/);
    expect(await outcome.textContent()).toContain('mean reward fell');
    const figures = await panel.getByTestId('promote-figures').locator('tbody tr').allTextContents();
    expect(figures).toHaveLength(2);
    expect(figures[0]).toContain(randomId.slice(0, 10));
    expect(figures[1]).toContain(starterId.slice(0, 10));
    await page.screenshot({ path: 'test-artifacts/promote-refused.png', fullPage: true });

    await panel.getByLabel('Override a refusal').check();
    await panel.getByLabel('Reason (recorded with the figures)').fill('testing the override');
    await panel.getByRole('button', { name: 'Promote', exact: true }).click();
    await expect.poll(() => outcome.textContent(), { timeout: 120_000 }).toMatch(/^promoted/);
    await expect.poll(() => randomRow.getByTestId('served-badge').count(), { timeout: 30_000 }).toBe(1);

    const served = (await (await fetch(`${server.url}/v1/served`)).json()).served;
    expect(served.checkpointId).toBe(randomId);
    expect(served.metadata.override.reason).toBe('testing the override');
    expect(served.metadata.override.by).toMatch(/^browser-/);
    await page.screenshot({ path: 'test-artifacts/promote-panel.png', fullPage: true });
  }, 300_000);
});
