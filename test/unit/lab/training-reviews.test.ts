// The lab worker's TrainingController on reviews, in Node: the real controller, LabDatabase, Dexie store
// (through the outbox recorder, as worker/lab.worker.ts wires it) and governance on fake-indexeddb; decided
// items written into that store as the Inbox and sync leave them; a cut-down tiny model on the cpu
// backend (see training-controller.test.ts for why cpu). The Chromium twin, with the Train page and the
// starter policy, is test/browser/web-train-reviews.test.ts.
import Dexie from 'dexie';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import { createGovernancePipeline } from '../../../shared/governance/index';
import type { GovernancePipeline } from '../../../shared/governance/types';
import { blobStorageOf, loadCheckpoint } from '../../../shared/policy/checkpoint';
import { DexieLightningStore } from '../../../shared/store/dexie';
import { DexieOutbox } from '../../../shared/sync/outbox';
import { OutboxRecordingStore } from '../../../shared/sync/recording-store';
import { readTrainerState } from '../../../shared/train/trainer-state';
import { generateDataset } from '../../../worker/lab/dataset';
import { LabDatabase } from '../../../worker/lab/lab-db';
import { ProtectedBlobs } from '../../../worker/lab/protected-blobs';
import type { TrainRequest, TrainSnapshot } from '../../../worker/lab/protocol';
import { reviewDataSummary } from '../../../worker/lab/review-data';
import { TrainingController } from '../../../worker/lab/training';
import { SEEDED_REVIEWS, seedReviews } from '../../helpers/review-decisions';

const TEST_MS = 240_000;

let pipeline: Promise<GovernancePipeline> | undefined;
const governance = () => {
  pipeline ??= Promise.resolve(createGovernancePipeline());
  return pipeline;
};

/** A cut-down tiny model on cpu, metrics every step (training-controller.test.ts's request). */
function request(overrides: Partial<TrainRequest>): TrainRequest {
  return {
    algo: 'sft',
    preset: 'tiny',
    nLayer: 1,
    nHead: 2,
    nEmbd: 32,
    blockSize: 64,
    vocabSize: 300,
    backend: 'cpu',
    seed: 3,
    steps: 2,
    batch: 2,
    maxNewTokens: 16,
    logEvery: 1,
    ...overrides,
  };
}

/** One page load of the lab worker over a browser profile's IndexedDB. */
class Lab {
  readonly db: LabDatabase;
  readonly local: DexieLightningStore;
  readonly outbox: DexieOutbox;
  readonly store: OutboxRecordingStore;
  readonly blobs: ProtectedBlobs;
  readonly controller: TrainingController;
  onStep: ((step: number) => void) | null = null;

  constructor(indexedDB: IDBFactory) {
    Dexie.dependencies.indexedDB = indexedDB;
    Dexie.dependencies.IDBKeyRange = IDBKeyRange;
    this.db = new LabDatabase();
    this.local = new DexieLightningStore({ indexedDB, IDBKeyRange, name: 'edgelight-store' });
    this.outbox = new DexieOutbox('edgelight-sync', { indexedDB, IDBKeyRange });
    this.store = new OutboxRecordingStore(this.local, this.outbox);
    this.blobs = new ProtectedBlobs(blobStorageOf(this.local));
    this.controller = new TrainingController({
      db: this.db,
      store: this.store,
      blobs: this.blobs,
      governance,
      emit: (event) => {
        if (event.type === 'train-step') this.onStep?.(event.point.step);
      },
    });
  }

  /** Waits for a run that has ended (finished, stopped or failed) and returns it. */
  async ended(): Promise<TrainSnapshot> {
    const deadline = Date.now() + TEST_MS;
    for (;;) {
      const s = await this.controller.snapshot();
      if (['finished', 'stopped', 'failed'].includes(s.status)) return s;
      if (Date.now() > deadline) throw new Error(`the run is still ${s.status}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    this.db.close();
    await this.outbox.close();
    await this.local.close();
  }
}

const opened: Lab[] = [];
afterEach(async () => {
  for (const lab of opened.splice(0)) {
    await lab.controller.stop().catch(() => {});
    await lab.ended().catch(() => undefined);
    await lab.close();
  }
}, TEST_MS);

function openLab(indexedDB = new IDBFactory()): Lab {
  const lab = new Lab(indexedDB);
  opened.push(lab);
  return lab;
}

describe('TrainingController on reviews (lab worker)', { timeout: TEST_MS }, () => {
  it('refuses runs the reviews cannot feed, and DPO / KTO with nothing to start from, with the reason', async () => {
    const lab = openLab();
    expect(await reviewDataSummary(lab.store)).toMatchObject({ items: 0, decided: 0, pairs: 0 });
    await lab.controller.start(request({ algo: 'kto', init: undefined }));
    expect(await lab.ended()).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('kto refines a trained policy, and this lab has no tiny checkpoint'),
    });
    await lab.controller.start(request({ algo: 'sft', data: 'reviews' }));
    expect(await lab.ended()).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^SFT from reviews needs replies .*none of the 0 feedback items/),
    });
    // The data choice means nothing to GRPO: refused before a run starts.
    await expect(lab.controller.start(request({ algo: 'grpo', data: 'reviews' }))).rejects.toThrow(
      /reviews are data for dpo, kto and sft/,
    );
  });

  it('DPO from the lab’s newest checkpoint on its reviews; stopped, reloaded and resumed with the same reference', async () => {
    const profile = new IDBFactory();
    let lab = openLab(profile);
    await generateDataset(lab.db, { seed: 11, size: 40, badHabitShare: 0.2 });
    await seedReviews(lab.store, await governance());
    const summary = await reviewDataSummary(lab.store);
    expect(summary).toMatchObject({ ...SEEDED_REVIEWS, missing: { dpo: null, kto: null, sft: null } });

    // The SFT checkpoint DPO starts from (no init: the newest checkpoint of the model).
    await lab.controller.start(request({ algo: 'sft', steps: 2 }));
    expect(await lab.ended()).toMatchObject({ status: 'finished', step: 2 });
    const sftId = (await lab.controller.snapshot()).lastCheckpoint?.id;

    lab.onStep = (step) => {
      if (step === 2) void lab.controller.stop();
    };
    await lab.controller.start(request({ algo: 'dpo', steps: 4, saveEvery: 1 }));
    const stopped = await lab.ended();
    expect(stopped).toMatchObject({ status: 'stopped', step: 2, resumable: true });
    expect(stopped.message).toContain(`from reviews: ${SEEDED_REVIEWS.pairs} pairs`);
    expect(stopped.metrics.map((m) => m.preference?.accuracy)).toHaveLength(2);
    for (const m of stopped.metrics) {
      expect(m.phase).toBe('dpo');
      expect(Number.isFinite(m.loss)).toBe(true);
      expect(Number.isFinite(m.preference?.chosen)).toBe(true);
    }

    // A reload: the run resumes from its last checkpoint, reading the reviews again.
    opened.splice(opened.indexOf(lab), 1);
    await lab.close();
    lab = openLab(profile);
    await lab.controller.resume();
    expect(await lab.ended()).toMatchObject({ status: 'finished', step: 4 });
    const records = (await lab.db.checkpoints.toArray()).filter((c) => c.algorithm === 'dpo');
    expect(records.map((c) => c.step).sort()).toEqual([1, 2, 3, 4]);
    for (const record of records) {
      const state = readTrainerState((await loadCheckpoint(lab.blobs, record.id)).trainer);
      expect(state.reference, `step ${record.step}`).toEqual({ checkpointId: sftId });
      expect(record.metrics['rewards/chosen']).toEqual(expect.any(Number));
    }
  });
});
