// The store conformance suite inside Debian's Chromium, on real IndexedDB: the page imports the
// same runner-free cases the Node tests use and reports one result per case.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeConformanceCases } from '../../shared/store/conformance/cases';
import type { CaseResult } from '../../shared/store/conformance/index';
import { type BrowserHarness, openHarness } from '../helpers/browser';

describe('DexieLightningStore in Chromium (real IndexedDB)', () => {
  let h: BrowserHarness;
  let results: Map<string, CaseResult>;

  beforeAll(async () => {
    h = await openHarness();
    const list = await h.page.evaluate(async () => {
      const conformance = (await window.importModule(
        '/shared/store/conformance/index.ts',
      )) as typeof import('../../shared/store/conformance/index');
      const { DexieLightningStore } = (await window.importModule(
        '/shared/store/dexie.ts',
      )) as typeof import('../../shared/store/dexie');
      let n = 0;
      return conformance.runConformance(async (clock) => {
        const store = new DexieLightningStore({ indexedDB, IDBKeyRange, clock, name: `conformance-${n++}` });
        return { store, cleanup: () => store.destroy() };
      });
    });
    results = new Map(list.map((r) => [r.name, r]));
  });
  afterAll(async () => h?.close());

  for (const c of storeConformanceCases) {
    it(c.name, () => {
      const result = results.get(c.name);
      expect(result, 'the page ran this case').toBeDefined();
      expect(result?.error).toBeUndefined();
      expect(result?.ok).toBe(true);
    });
  }

  it('stores checkpoint blobs in their own table and survives a reopen', async () => {
    const out = await h.page.evaluate(async () => {
      const { DexieLightningStore } = (await window.importModule(
        '/shared/store/dexie.ts',
      )) as typeof import('../../shared/store/dexie');
      const bytes = new Uint8Array(1 << 20).map((_, i) => (i * 7) % 256);
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
      const sha = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
      const first = new DexieLightningStore({ indexedDB, IDBKeyRange, name: 'blobs' });
      await first.putBlob(sha, bytes);
      const r = await first.enqueueRollout({ input: 'kept' });
      await first.close();
      const second = new DexieLightningStore({ indexedDB, IDBKeyRange, name: 'blobs' });
      const back = await second.getBlob(sha);
      const same = !!back && back.length === bytes.length && back.every((b, i) => b === bytes[i]);
      const rollout = await second.getRolloutById(r.rollout_id);
      const wrongHash = await second.putBlob('f'.repeat(64), bytes).then(
        () => 'accepted',
        (e: { code?: string }) => e.code,
      );
      await second.destroy();
      return { same, input: rollout?.input, wrongHash, verno: second.db.verno };
    });
    expect(out).toEqual({ same: true, input: 'kept', wrongHash: 'invalid', verno: 3 });
    expect(h.errors).toEqual([]);
  });
});
