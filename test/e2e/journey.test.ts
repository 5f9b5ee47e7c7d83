import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser';
import { type AppServer, ensureWebBuilt, repoRoot, startAppServer } from './app-server';

// The user journey of issue 6, against the built app served by a real `edgelight serve`: feedback
// is redacted, a dataset is generated, the tiny policy trains on WebGPU (SwiftShader here) in the
// lab worker, its rollouts show in the trace explorer, sync pushes spans and the checkpoint to the
// server, and after a reload everything is still there. Screenshots go to test-artifacts/.

const TOKEN = 'e2e-token-not-secret';
const artifacts = join(repoRoot, 'test-artifacts');

declare global {
  interface Window {
    __longTasks: Array<{ start: number; duration: number }>;
  }
}

describe('e2e: the lab journey', () => {
  let server: AppServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const dialogs: string[] = [];
  const trainWindow = { start: 0, end: 0 };
  let figures: Record<string, unknown> = {};
  const navigation = { away: 0, back: 0 };

  const shot = (name: string) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  const go = async (route: string) => {
    await page.getByRole('link', { name: route, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: route }).waitFor();
  };
  const api = async (path: string) => {
    const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return response;
  };

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    await ensureWebBuilt();
    server = await startAppServer(['--token', TOKEN]);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    // Long tasks on the main thread, from the very first script (buffered).
    await page.addInitScript(() => {
      window.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries())
          window.__longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    });
    await page.goto(`${server.url}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('redacts an email address and a phone number in feedback', async () => {
    await page
      .getByLabel('Text', { exact: true })
      .fill(
        'The docs search is broken on Safari <img src=x onerror=alert(1)>. Write to kim.lee@example.com or +44 20 7946 0958.',
      );
    await page.getByRole('button', { name: 'Check' }).click();
    const redacted = page.getByTestId('redacted');
    await redacted.waitFor();
    const text = await redacted.textContent();
    expect(text).toContain('<EMAIL_1>');
    expect(text).toContain('<PHONE_1>');
    expect(text).not.toContain('kim.lee@example.com');
    expect(await page.locator('main img').count()).toBe(0);
    await shot('1-feedback');
  });

  it('generates a dataset kept in IndexedDB', async () => {
    await go('Dataset');
    await page.getByLabel('Size').fill('40');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByText('Generated 40 examples.').waitFor();
    await expect.poll(() => page.getByTestId('dataset-count').textContent()).toBe('40 matching');
    await shot('2-dataset');
  });

  it('trains the tiny preset with GRPO on WebGPU; it keeps training while another page is open', async () => {
    await go('Train');
    await page.getByRole('combobox', { name: 'Algorithm' }).selectOption('grpo');
    // The app serves its starter policy and offers it as the default start of an RL run; this journey
    // measures GRPO from random weights on WebGPU, so it picks the other start.
    const start = page.getByRole('combobox', { name: 'Start from' });
    expect(await start.inputValue()).toBe('starter');
    await start.selectOption('auto');
    await page.getByRole('combobox', { name: 'Backend' }).selectOption('webgpu');
    await page.getByRole('spinbutton', { name: 'Steps', exact: true }).fill('2');
    await page.getByRole('spinbutton', { name: 'Group size' }).fill('2');
    await page.getByRole('spinbutton', { name: 'Feedback per step' }).fill('2');
    await page.getByRole('spinbutton', { name: 'Reply tokens (max)' }).fill('16');
    await page.getByRole('spinbutton', { name: 'SFT warm-up steps' }).fill('0');
    await page.getByRole('spinbutton', { name: 'Checkpoint every' }).fill('1');
    trainWindow.start = await page.evaluate(() => performance.now());
    await page.getByRole('button', { name: 'Start' }).click();

    const status = page.getByTestId('train-status');
    await expect
      .poll(() => status.getAttribute('data-status'), { timeout: 60_000 })
      .toMatch(/compiling|running/);
    await expect(page.getByTestId('backend-badge').textContent()).resolves.toContain('webgpu');
    // Leave the page while the worker trains; the nav shows the run, and it is still going on return.
    navigation.away = await page.evaluate(() => performance.now());
    await go('Traces');
    await page.getByTestId('nav-training').waitFor();
    navigation.back = await page.evaluate(() => performance.now());
    await go('Train');
    // ~90 s on an idle 2-core machine; the limit is generous because CI machines are shared and noisy
    // (a loaded run took over 170 s), and this measures nothing about speed.
    await expect
      .poll(() => status.getAttribute('data-status'), { timeout: 300_000, interval: 1000 })
      .toBe('finished');
    trainWindow.end = await page.evaluate(() => performance.now());
    // Measured, not asserted (wall-clock figures vary with the machine): see e2e-figures.json.
    const tasks = await page.evaluate(() => window.__longTasks);
    const during = tasks.filter((t) => t.start >= trainWindow.start && t.start <= trainWindow.end);
    figures = {
      longTasksDuringTraining: during.length,
      longestDuringTrainingMs: Math.round(Math.max(0, ...during.map((t) => t.duration))),
      trainingWallSeconds: Math.round((trainWindow.end - trainWindow.start) / 100) / 10,
      // Each long task: seconds after Start was clicked, and its length in ms.
      longTasks: during.map((t) => [
        Math.round((t.start - trainWindow.start) / 100) / 10,
        Math.round(t.duration),
      ]),
      navigatedAwayAtSeconds: Math.round((navigation.away - trainWindow.start) / 100) / 10,
      navigatedBackAtSeconds: Math.round((navigation.back - trainWindow.start) / 100) / 10,
    };
    expect(await page.getByTestId('train-step').textContent()).toBe('2');
    expect(await page.getByTestId('chart-reward (mean ± std)').getAttribute('data-points')).toBe('2');
    await page.getByTestId('last-checkpoint').waitFor();
    await page.getByTestId('samples').waitFor();
    // Sendability: a chart point per step, and each sampled reply's failed checks (or none).
    expect(await page.getByTestId('chart-sendable rate').getAttribute('data-points')).toBe('2');
    for (const cell of await page.getByTestId('sample-checks').allTextContents())
      expect(cell).toMatch(/^(none \(sendable\)|[a-z-]+(, [a-z-]+)*)$/);
    await shot('3-train');
  }, 420_000);

  it('shows the training rollouts with reward spans in the trace explorer', async () => {
    await go('Traces');
    await page.getByRole('combobox', { name: 'Mode' }).selectOption('train');
    await expect.poll(() => page.getByTestId('traces-count').textContent()).not.toBe('0 matching');
    const list = page.getByRole('listbox', { name: 'Rollouts' });
    await list.focus();
    await page.keyboard.press('ArrowDown');
    await list.locator('[aria-selected="true"]').waitFor();
    await page.keyboard.press('Enter');
    await page.getByTestId('trace-detail').waitFor();
    expect(await page.locator('.waterfall li.span-reward').count()).toBeGreaterThan(0);
    await page.locator('.waterfall li.span-reward summary').first().click();
    await page.locator('.waterfall [data-testid="reward-bars"]').first().waitFor();
    await shot('4-traces');
  });

  it('lists checkpoints with their metrics, compares two, and round-trips a bundle', async () => {
    await go('Checkpoints');
    await expect.poll(() => page.getByTestId('checkpoint-row').count()).toBe(2);
    await page.getByRole('spinbutton', { name: 'Prompts' }).fill('2');
    await page.getByRole('spinbutton', { name: 'Reply tokens' }).fill('8');
    await page.getByRole('button', { name: 'Compare on the same prompts' }).click();
    await page.getByTestId('comparison').or(page.getByRole('alert')).waitFor({ timeout: 90_000 });
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.locator('[data-testid="comparison"] > tbody > tr').count()).toBe(2);
    // Each side's sendable rate, and each reply marked sendable or not.
    expect(await page.getByTestId('comparison-sendable').textContent()).toMatch(
      /Sendable: A \d+ % · B \d+ %/,
    );
    expect(await page.locator('[data-testid="comparison"] [data-testid="sendable"]').count()).toBe(4);
    // The RL checkpoints were saved with their step's sendable rate (the top failing checks beside it).
    for (const cell of await page.getByTestId('checkpoint-failing').allTextContents())
      expect(cell).not.toBe('—');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export' }).first().click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^edgelight-tiny-grpo-step\d+-[0-9a-f]{10}\.tar$/);
    const bundle = join(artifacts, download.suggestedFilename());
    await download.saveAs(bundle);
    await page.getByLabel('Import a bundle (.tar)').setInputFiles(bundle);
    await page.getByText(/^Imported checkpoint [0-9a-f]{10}/).waitFor();
    // Content-addressed: the same checkpoint keeps one row, still marked as trained.
    expect(await page.getByTestId('checkpoint-row').count()).toBe(2);
    expect(await page.getByTestId('checkpoint-row').first().textContent()).toContain('trained');
    await shot('5-checkpoints');
  });

  it('syncs spans and the checkpoint to the server, whose API returns them', async () => {
    await go('Sync');
    await page.getByLabel('Server URL').fill(server.url);
    await page.getByLabel('Token (optional)').fill(TOKEN);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    await page.getByRole('button', { name: 'Sync now' }).click();
    await expect
      .poll(() => page.getByTestId('sync-last').textContent(), { timeout: 60_000 })
      .not.toBe('never');
    expect(await page.getByTestId('sync-pending').textContent()).toBe('0');
    await shot('6-sync');

    const rollouts = (await (await api('/v1/agl/rollouts?limit=-1')).json()) as {
      items: Array<{
        rollout_id: string;
        mode: string | null;
        status: string;
        input: { kind?: string } | null;
      }>;
    };
    // The feedback rollouts of the training steps (not the run's own rollout, which holds its metrics).
    const trained = rollouts.items.filter(
      (r) => r.mode === 'train' && r.status === 'succeeded' && r.input?.kind !== 'edgelight.training-run',
    );
    expect(trained.length).toBeGreaterThan(0);
    const spans = (await (await api(`/v1/agl/spans?rollout_id=${trained[0].rollout_id}`)).json()) as {
      items: Array<{ name: string }>;
    };
    expect(spans.items.some((s) => s.name === 'agentlightning.reward')).toBe(true);

    const resources = (await (await api('/v1/agl/resources?limit=-1')).json()) as {
      items: Array<{ resources: Record<string, { resource_type: string; checkpoint_id?: string }> }>;
    };
    const saved = resources.items
      .map((r) => r.resources.policy)
      .filter((p) => p?.resource_type === 'policy' && p.checkpoint_id)
      .map((p) => p!.checkpoint_id!);
    // The checkpoint the lab kept (its Checkpoints list). The RL loop also published one resource per
    // step whose checkpoint it pruned after the next step, so not every listed resource has a blob.
    await go('Checkpoints');
    await expect.poll(() => page.getByTestId('checkpoint-row').count()).toBeGreaterThan(0);
    const kept = await page
      .getByTestId('checkpoint-row')
      .filter({ hasText: 'trained' })
      .first()
      .locator('td[title]')
      .getAttribute('title');
    expect(kept).toMatch(/^[0-9a-f]{64}$/);
    expect(saved).toContain(kept);
    const blob = await api(`/v1/blobs/${kept}`);
    expect(blob.status).toBe(200);
    const manifest = JSON.parse(await blob.text()) as { files: Record<string, { sha256: string }> };
    const weights = await api(`/v1/blobs/${manifest.files['model.safetensors'].sha256}`);
    expect(weights.status).toBe(200);
    expect((await weights.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });

  it('pulls the synced traces and checkpoint into a second, empty browser profile', async () => {
    const other = await browser.newContext();
    try {
      const second = await other.newPage();
      await second.goto(`${server.url}/#/sync`);
      await second.getByLabel('Server URL').fill(server.url);
      await second.getByLabel('Token (optional)').fill(TOKEN);
      await second.getByRole('button', { name: 'Save' }).click();
      await second.getByText('Saved.').waitFor();
      await second.getByRole('button', { name: 'Sync now' }).click();
      await expect
        .poll(() => second.getByTestId('sync-last').textContent(), { timeout: 60_000 })
        .not.toBe('never');
      expect(Number(await second.getByTestId('sync-cursor').textContent())).toBeGreaterThan(0);
      await second.getByRole('link', { name: 'Checkpoints', exact: true }).click();
      // The second profile's worker starts cold here (a few seconds on a loaded machine): wait for it.
      await expect
        .poll(() => second.getByTestId('checkpoint-row').count(), { timeout: 30_000 })
        .toBeGreaterThan(0);
      expect(await second.getByTestId('checkpoint-row').first().textContent()).toContain('pulled');
      await second.getByRole('link', { name: 'Traces', exact: true }).click();
      await expect
        .poll(() => second.getByTestId('traces-count').textContent(), { timeout: 30_000 })
        .not.toBe('0 matching');
      await second.screenshot({ path: join(artifacts, '7-second-profile-traces.png'), fullPage: true });
    } finally {
      await other.close();
    }
  });

  it('still has the dataset, the run, its traces and checkpoints after a reload', async () => {
    await page.reload();
    await go('Dataset');
    await expect.poll(() => page.getByTestId('dataset-count').textContent()).toBe('40 matching');
    await go('Train');
    await expect.poll(() => page.getByTestId('train-status').getAttribute('data-status')).toBe('finished');
    expect(await page.getByTestId('chart-reward (mean ± std)').getAttribute('data-points')).toBe('2');
    await go('Traces');
    await expect.poll(() => page.getByTestId('traces-count').textContent()).not.toBe('0 matching');
    await go('Checkpoints');
    await expect.poll(() => page.getByTestId('checkpoint-row').count()).toBeGreaterThan(0);
    await go('Sync');
    await expect.poll(() => page.getByLabel('Server URL').inputValue()).toBe(server.url);
  });

  it('raised no page errors or dialogs (and records the long-task figures)', async () => {
    writeFileSync(join(artifacts, 'e2e-figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
    console.log('e2e figures', figures);
    expect(pageErrors).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});
