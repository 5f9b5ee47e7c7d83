// Proves the governance pipeline runs inside a real Web Worker in Chromium, reached through
// comlink, exactly as the app loads it (the shared harness pre-bundles comlink and Dexie).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserHarness, openHarness } from '../helpers/browser';

describe('governance worker (Chromium, comlink)', () => {
  let harness: BrowserHarness;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    harness = await openHarness();
    ({ page, errors } = harness);
  });

  afterAll(async () => harness?.close());

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
