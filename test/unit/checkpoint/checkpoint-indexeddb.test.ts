// Checkpoints in a browser store's IndexedDB blob table (Dexie over fake-indexeddb here; the same
// table in Chromium is covered by the store's browser tests).
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import {
  blobStorageOf,
  type Checkpoint,
  loadCheckpoint,
  saveCheckpoint,
} from '../../../shared/policy/checkpoint';
import { DexieLightningStore } from '../../../shared/store/dexie';

const checkpoint: Checkpoint = {
  config: { vocabSize: 4, blockSize: 8 },
  weights: { wte: { dtype: 'F32', shape: [4, 2], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]) } },
  tokenizer: '{"version":"1.0"}',
};

describe('checkpoints in IndexedDB', () => {
  it('saves to and loads from the store blob table, and survives reopening the database', async () => {
    const indexedDB = new IDBFactory();
    const first = new DexieLightningStore({ indexedDB, IDBKeyRange, name: 'ckpt' });
    const id = await saveCheckpoint(blobStorageOf(first), checkpoint);
    expect(await first.hasBlob(id)).toBe(true);
    await first.close();
    const second = new DexieLightningStore({ indexedDB, IDBKeyRange, name: 'ckpt' });
    expect(await loadCheckpoint(blobStorageOf(second), id)).toEqual(checkpoint);
    await second.destroy();
  });
});
