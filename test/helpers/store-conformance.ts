// Wraps the store conformance cases (shared/store/conformance) in vitest, one `it` per case, so
// every LightningStore implementation runs the very same suite:
//
//   describeStoreConformance('memory', async (clock) => ({ store: new InMemoryLightningStore({ clock }), cleanup: async () => {} }));

import { describe, it } from 'vitest';
import { runCase, type StoreFactory, storeConformanceCases } from '../../shared/store/conformance/index';

export type { StoreFactory } from '../../shared/store/conformance/index';

export function describeStoreConformance(label: string, makeStore: StoreFactory): void {
  describe(`LightningStore conformance: ${label}`, () => {
    for (const c of storeConformanceCases) {
      it(c.name, () => runCase(c, makeStore));
    }
  });
}
