import { InMemoryLightningStore } from '../../../shared/store/memory';
import { describeStoreConformance } from '../../helpers/store-conformance';

describeStoreConformance('in-memory', async (clock) => {
  const store = new InMemoryLightningStore({ clock });
  return { store, cleanup: () => store.close() };
});
