// Proves the governance pipeline runs inside a real Web Worker in Chromium, reached through
// comlink, exactly as the app loads it. wink-nlp and its model are CommonJS, so the dev server
// pre-bundles them (the app's own dev server discovers them; this one is told).
import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

describe('governance worker (Chromium, comlink)', () => {
  let server: ViteDevServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    server = await createServer({
      configFile: false,
      root: repoRoot,
      logLevel: 'error',
      worker: { format: 'es' },
      server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
      optimizeDeps: { noDiscovery: true, include: ['wink-nlp', 'wink-eng-lite-web-model', 'comlink'] },
    });
    await server.listen();
    const address = server.httpServer?.address();
    if (!address || typeof address === 'string') throw new Error('no dev server address');
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${address.port}/test/browser/blank.html`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('governs feedback and a response in a module worker', async () => {
    const result = await page.evaluate(async () => {
      const comlink = (await window.importModule('/node_modules/comlink/dist/esm/comlink.mjs')) as {
        wrap: <T>(w: Worker) => T;
      };
      const worker = new Worker('/worker/governance.worker.ts', { type: 'module' });
      type Api = {
        govern(text: string, kind?: string): Promise<Record<string, unknown>>;
        governMany(inputs: unknown[]): Promise<Array<Record<string, unknown>>>;
      };
      const api = comlink.wrap<Api>(worker);
      const feedback = await api.govern(
        'Hi, this is Sarah Johnson, mail sarah.j@example.com. I am not happy: it keeps crashing. Decide our mission for us.',
      );
      const response = await api.govern(
        'Our tool guarantees zero downtime and is production-ready.',
        'response',
      );
      const many = await api.governMany([
        { id: 'x', text: 'We cannot guarantee a date.', kind: 'response' },
        { id: 3 },
      ]);
      worker.terminate();
      return { feedback, response, many };
    });
    expect(errors).toEqual([]);
    const feedback = result.feedback as {
      decision: string;
      pii: { type: string }[];
      redacted: string;
      sentiment: { label: string };
      boundaries: { boundary: string }[];
    };
    expect(feedback.pii.map((p) => p.type)).toEqual(['PERSON', 'EMAIL']);
    expect(feedback.redacted).toContain('<EMAIL_1>');
    expect(feedback.redacted).not.toContain('sarah.j@example.com');
    expect(feedback.sentiment.label).toBe('negative');
    expect(feedback.boundaries.map((b) => b.boundary)).toEqual(['PURPOSE']);
    expect(feedback.decision).toBe('review');
    const response = result.response as { decision: string; violations: { rule: string }[] };
    expect(response.decision).toBe('block');
    expect(response.violations.map((v) => v.rule)).toEqual(['inst_017', 'inst_018']);
    expect(result.many[0]).toMatchObject({ id: 'x', decision: 'allow', violations: [] });
    expect(result.many[1]).toMatchObject({ index: 1 });
  });
});
