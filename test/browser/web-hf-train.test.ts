import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../shared/policy/safetensors';
import { type AppServer, ensureWebBuilt, startAppServer } from '../e2e/app-server';
import { launchChromium } from '../helpers/browser';
import { tinyLlamaFiles } from '../helpers/loopback-hub';

// A model folder picked on the Train page becomes the base of a LoRA run in the lab (SFT, wasm, two
// steps, rank 2); the run's checkpoint then exports on the Checkpoints page as a PEFT adapter for Llama.

describe('web: a LoRA run on an imported Hugging Face model', () => {
  let server: AppServer;
  let browser: Browser;
  let page: Page;
  let folder: string;
  const errors: string[] = [];

  beforeAll(async () => {
    const model = await tinyLlamaFiles();
    folder = mkdtempSync(join(tmpdir(), 'edgelight-web-hf-train-'));
    mkdirSync(join(folder, 'tiny-llama'));
    for (const [name, bytes] of Object.entries(model.files))
      writeFileSync(join(folder, 'tiny-llama', name), bytes);
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
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('trains a LoRA adapter from a picked folder and exports it as a PEFT adapter', async () => {
    await page.getByRole('link', { name: 'Train', exact: true }).click();
    await page.getByRole('combobox', { name: 'Base model' }).selectOption('folder');
    await page
      .getByTestId('folder-import')
      .locator('input[type=file]')
      .setInputFiles(join(folder, 'tiny-llama'));
    await page.getByTestId('base-model-chosen').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('base-model-chosen').textContent()).toContain('tiny-llama');

    await page.getByRole('combobox', { name: 'Algorithm' }).selectOption('sft');
    await page.getByRole('combobox', { name: 'Backend' }).selectOption('wasm');
    await page.getByRole('spinbutton', { name: 'Steps', exact: true }).fill('2');
    await page.getByRole('spinbutton', { name: 'Feedback per step' }).fill('1');
    await page.getByRole('spinbutton', { name: 'LoRA rank' }).fill('2');
    await page.getByRole('button', { name: 'Start' }).click();
    const status = () => page.getByTestId('train-status').getAttribute('data-status');
    await expect
      .poll(async () => `${await status()} ${(await page.getByRole('alert').allTextContents()).join(' ')}`, {
        timeout: 180_000,
      })
      .toMatch(/^(finished|failed)/);
    expect(await page.getByRole('alert').allTextContents()).toEqual([]);
    expect(await status()).toBe('finished');

    await page.getByRole('link', { name: 'Checkpoints', exact: true }).click();
    const newest = page.getByTestId('checkpoint-row').first();
    await expect.poll(() => newest.textContent()).toContain('sft');
    await newest.getByRole('button', { name: 'Hugging Face…' }).click();
    const panel = page.getByTestId('hf-export');
    const downloads: Download[] = [];
    page.on('download', (d) => downloads.push(d));
    await panel.getByRole('button', { name: 'PEFT adapter' }).click({ timeout: 60_000 });
    await panel.getByTestId('hf-export-saved').waitFor({ timeout: 60_000 });
    await expect.poll(() => downloads.length).toBe(2);
    const byName = new Map(downloads.map((d) => [d.suggestedFilename(), d]));
    expect([...byName.keys()].sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const read = async (name: string) => readFileSync((await byName.get(name)?.path()) as string);
    const config = JSON.parse((await read('adapter_config.json')).toString());
    expect(config).toMatchObject({ peft_type: 'LORA', r: 2, target_modules: ['q_proj', 'v_proj'] });
    const tensors = decodeSafetensors(new Uint8Array(await read('adapter_model.safetensors'))).tensors;
    expect(tensors['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'].shape).toEqual([2, 16]);

    downloads.length = 0;
    await panel.getByRole('button', { name: 'Merged model' }).click();
    await expect.poll(() => downloads.length, { timeout: 60_000 }).toBe(4);
    expect(downloads.map((d) => d.suggestedFilename()).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect(errors).toEqual([]);
  });
});
