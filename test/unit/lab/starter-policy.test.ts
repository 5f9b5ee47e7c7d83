// The lab worker's import of the starter policy (worker/lab/starter.ts) on fake-indexeddb, as
// training-controller.test.ts wires the lab: the files come from a fake of the app's origin. A small
// weights-only checkpoint stands in for web/public/starter-policy/.
import Dexie from 'dexie';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_BAD_SHARE } from '../../../shared/data/sft';
import { createGovernancePipeline } from '../../../shared/governance/index';
import {
  blobStorageOf,
  checkpointFromFiles,
  checkpointToFiles,
  loadCheckpoint,
} from '../../../shared/policy/checkpoint';
import { checkpointFromPolicy, policyFromCheckpoint } from '../../../shared/policy/checkpoint-policy';
import { createPolicy } from '../../../shared/policy/model';
import { PolicyTokenizer } from '../../../shared/policy/tokenizer';
import { trainByteLevelBpe } from '../../../shared/policy/tokenizer-train';
import { DexieLightningStore } from '../../../shared/store/dexie';
import { selectBackend } from '../../../shared/train/backend';
import { STARTER_POLICY } from '../../../shared/train/starter-policy';
import { DEFAULT_DATASET, datasetSummary, generateDefaultDataset } from '../../../worker/lab/dataset';
import { LabDatabase } from '../../../worker/lab/lab-db';
import { ProtectedBlobs } from '../../../worker/lab/protected-blobs';
import {
  fetchFromApp,
  importStarterPolicy,
  type StarterFetch,
  starterPolicyStatus,
} from '../../../worker/lab/starter';
import { TrainingController } from '../../../worker/lab/training';

let files: Record<string, Uint8Array>;
let id: string;

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
  const tokenizer = PolicyTokenizer.fromJson(
    trainByteLevelBpe(['thank you for the report', 'we fixed the page'], { vocabSize: 280 }),
  );
  const policy = createPolicy(
    { vocabSize: tokenizer.vocabSize, blockSize: 64, nLayer: 1, nHead: 2, nEmbd: 16, padId: tokenizer.padId },
    { seed: 5 },
  );
  const checkpoint = await checkpointFromPolicy(policy, tokenizer);
  policy.dispose();
  ({ id, files } = await checkpointToFiles(checkpoint));
});

/** One lab over a fresh browser profile; `serve` is what the app's origin answers. */
function lab(serve: StarterFetch = async (name) => files[name]?.slice() ?? null) {
  const indexedDB = new IDBFactory();
  Dexie.dependencies.indexedDB = indexedDB;
  Dexie.dependencies.IDBKeyRange = IDBKeyRange;
  const db = new LabDatabase();
  const local = new DexieLightningStore({ indexedDB, IDBKeyRange, name: 'edgelight-store' });
  const blobs = new ProtectedBlobs(blobStorageOf(local));
  const fetched: string[] = [];
  const fetchFile: StarterFetch = (name) => {
    fetched.push(name);
    return serve(name);
  };
  return { db, local, blobs, fetchFile, fetched };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the starter policy in the lab', () => {
  it('is imported once as a lab checkpoint, verified, loadable and named, with a policy resource', async () => {
    const l = lab();
    expect(await starterPolicyStatus(l.db, l.fetchFile)).toMatchObject({
      available: true,
      id,
      imported: false,
    });
    const record = await importStarterPolicy(l.db, l.blobs, l.local, l.fetchFile);
    expect(record).toMatchObject({
      id,
      name: STARTER_POLICY.name,
      source: 'starter',
      preset: 'tiny',
      algorithm: 'sft',
      step: STARTER_POLICY.step,
    });
    expect(new Set(l.fetched)).toEqual(new Set(STARTER_POLICY.files));
    const checkpoint = await loadCheckpoint(l.blobs, id);
    expect(checkpoint.optimizer).toBeUndefined();
    expect(checkpoint.trainer).toBeUndefined();
    policyFromCheckpoint(checkpoint).policy.dispose();
    const resources = await l.local.queryResources({});
    expect(resources.items.map((r) => r.resources.policy)).toContainEqual(
      expect.objectContaining({ checkpoint_id: id }),
    );

    // Idempotent: a second import keeps the one record (and its time) and fetches only the manifest.
    l.fetched.length = 0;
    expect(await importStarterPolicy(l.db, l.blobs, l.local, l.fetchFile)).toEqual(record);
    expect(l.fetched).toEqual(['manifest.json']);
    expect(await l.db.checkpoints.count()).toBe(1);
    expect((await l.local.queryResources({})).items).toHaveLength(1);
    expect(await starterPolicyStatus(l.db, l.fetchFile)).toMatchObject({ available: true, imported: true });

    // Offline later: the app's files are gone, the imported starter is still offered.
    const offline = { ...l, fetchFile: async () => null };
    expect(await starterPolicyStatus(l.db, offline.fetchFile)).toMatchObject({
      available: false,
      id,
      imported: true,
    });
    expect((await importStarterPolicy(l.db, l.blobs, l.local, offline.fetchFile)).id).toBe(id);
  });

  it('rejects a tampered file, naming it, and keeps nothing', async () => {
    const tampered = files['model.safetensors'].slice();
    tampered[tampered.length - 1] ^= 1;
    const l = lab(async (name) => (name === 'model.safetensors' ? tampered : (files[name] ?? null)));
    await expect(importStarterPolicy(l.db, l.blobs, l.local, l.fetchFile)).rejects.toThrow(
      /starter policy is damaged: model\.safetensors does not match its SHA-256/,
    );
    expect(await l.db.checkpoints.count()).toBe(0);
    expect(await l.blobs.get(id)).toBeUndefined();
  });

  it('refuses a manifest that lists optimizer or trainer state, and reports an app without one', async () => {
    const { files: full } = await checkpointToFiles({
      ...(await checkpointFromFiles(files)).checkpoint,
      trainer: { phase: 'sft', step: 1 },
    });
    const l = lab(async (name) => full[name] ?? null);
    await expect(importStarterPolicy(l.db, l.blobs, l.local, l.fetchFile)).rejects.toThrow(
      /weights only .* lists trainer_state\.json/,
    );
    const none = lab(async () => null);
    const status = await starterPolicyStatus(none.db, none.fetchFile);
    expect(status).toMatchObject({ available: false, id: null, imported: false });
    expect(status.reason).toContain('serves no starter policy');
    await expect(importStarterPolicy(none.db, none.blobs, none.local, none.fetchFile)).rejects.toThrow(
      /serves no starter policy/,
    );
  });

  it("reads the app's origin, where an unknown path answers index.html", async () => {
    const fetch = vi.fn(async (url: URL) =>
      String(url).endsWith('/starter-policy/manifest.json')
        ? new Response(files['manifest.json'] as Uint8Array<ArrayBuffer>, {
            headers: { 'content-type': 'application/json' },
          })
        : new Response('<!doctype html>', { headers: { 'content-type': 'text/html; charset=utf-8' } }),
    );
    vi.stubGlobal('fetch', fetch);
    const fetchFile = fetchFromApp('http://app.test/starter-policy/');
    expect(await fetchFile('manifest.json')).toEqual(files['manifest.json']);
    expect(await fetchFile('model.safetensors')).toBeNull();
    expect(String(fetch.mock.calls[1][0])).toBe('http://app.test/starter-policy/model.safetensors');
  });

  it('the default dataset is the one the starter was trained on, and GRPO starts from the starter', async () => {
    const l = lab();
    expect(DEFAULT_DATASET).toEqual({ seed: 7, size: 2400, badHabitShare: DEFAULT_BAD_SHARE });
    expect(await generateDefaultDataset(l.db)).toEqual({ added: 2400 });
    expect((await datasetSummary(l.db)).bySplit.train).toBeGreaterThan(0);
    await importStarterPolicy(l.db, l.blobs, l.local, l.fetchFile);
    const governance = createGovernancePipeline();
    const controller = new TrainingController({
      db: l.db,
      store: l.local,
      blobs: l.blobs,
      governance: async () => governance,
      emit: () => undefined,
    });
    await controller.start({
      algo: 'grpo',
      init: id,
      backend: 'cpu',
      steps: 1,
      batch: 1,
      group: 2,
      maxNewTokens: 4,
      mu: 1,
      saveEvery: 100,
      logEvery: 1,
    });
    let snapshot = await controller.snapshot();
    for (let i = 0; i < 600 && !['finished', 'failed'].includes(snapshot.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      snapshot = await controller.snapshot();
    }
    expect(snapshot.error).toBe('');
    expect(snapshot.status).toBe('finished');
    expect(snapshot.metrics.map((m) => m.phase)).toEqual(['grpo']); // no SFT warm-up: it started from the starter
  }, 90_000);
});
