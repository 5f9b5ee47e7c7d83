import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserHarness, openHarness } from '../helpers/browser';

describe('browser harness (Debian Chromium)', () => {
  let h: BrowserHarness;
  beforeAll(async () => {
    h = await openHarness();
  });
  afterAll(async () => h?.close());

  it('exposes a WebGPU adapter (SwiftShader without a GPU) and IndexedDB', async () => {
    const info = await h.page.evaluate(async () => {
      const gpu = (
        navigator as unknown as {
          gpu?: { requestAdapter(): Promise<{ info?: { vendor: string; architecture: string } } | null> };
        }
      ).gpu;
      const adapter = gpu ? await gpu.requestAdapter() : null;
      return {
        hasGpu: !!adapter,
        vendor: adapter?.info?.vendor ?? '',
        arch: adapter?.info?.architecture ?? '',
        idb: typeof indexedDB,
      };
    });
    expect(info.hasGpu).toBe(true);
    expect(info.idb).toBe('object');
  });

  it('imports TypeScript sources from the repository through the dev server', async () => {
    const version = await h.page.evaluate(async () => {
      const m = (await window.importModule('/server/version.ts')) as { VERSION: string };
      return m.VERSION;
    });
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
  });
  it('pre-bundles the CommonJS packages shared/ imports (Dexie)', async () => {
    const ok = await h.page.evaluate(async () => {
      const dexie = (await window.importModule('/node_modules/dexie/dist/dexie.mjs')) as { default: unknown };
      const governance = (await window.importModule('/shared/governance/index.ts')) as {
        createGovernancePipeline: () => { govern: (t: string) => { pii: unknown[] } };
      };
      return {
        dexie: typeof dexie.default,
        pii: governance.createGovernancePipeline().govern('Mail me at ann@example.org').pii.length,
      };
    });
    expect(ok).toEqual({ dexie: 'function', pii: 1 });
  });
});
