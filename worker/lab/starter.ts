import {
  CHECKPOINT_ID,
  CheckpointError,
  type CheckpointFiles,
  checkpointFromFiles,
  FILES,
  sha256Hex,
} from '../../shared/policy/checkpoint';
import type { LightningStore } from '../../shared/store/store';
import { STARTER_POLICY } from '../../shared/train/starter-policy';
import type { CheckpointRecord, LabDatabase } from './lab-db';
import type { ProtectedBlobs } from './protected-blobs';

// The starter policy the app ships (shared/train/starter-policy.ts; made by scripts/starter-policy.ts):
// its five files are fetched from the app's own origin, every file is verified against the manifest's
// SHA-256 (the checkpoint reader's own check), and the checkpoint is kept as a normal lab checkpoint, so
// RL can start from it (`init`) and sync uploads it. Content-addressed: importing twice keeps one.

/** Fetches one of the starter's files; null when the app does not serve it. */
export type StarterFetch = (name: string) => Promise<Uint8Array | null>;

/** What the Train page needs to know: whether the app ships a starter policy and whether it is in the lab. */
export type StarterPolicyStatus = {
  /** The app serves a starter policy (its manifest could be read). */
  available: boolean;
  /** Its checkpoint id (the manifest's SHA-256), when available. */
  id: string | null;
  /** It is in this lab's checkpoint list already. */
  imported: boolean;
  /** Why it is not available, for a person. */
  reason: string;
  name: string;
  model: string;
  step: number;
};

/**
 * The app's own fetch of the starter files (`<base>starter-policy/NAME`). A missing file is null: the
 * server and vite answer unknown paths with the SPA's index.html, so an HTML answer counts as missing.
 */
export function fetchFromApp(base: string | URL): StarterFetch {
  return async (name) => {
    const response = await fetch(new URL(name, base));
    if (!response.ok || (response.headers.get('content-type') ?? '').includes('text/html')) return null;
    return new Uint8Array(await response.arrayBuffer());
  };
}

type ListedFiles = Record<string, { sha256: string; size: number }>;

/** The manifest's file list, refusing anything but a weights-only checkpoint of the expected files. */
function listedFiles(manifest: Uint8Array): ListedFiles {
  let files: unknown;
  try {
    files = (JSON.parse(new TextDecoder().decode(manifest)) as { files?: unknown }).files;
  } catch {
    throw new CheckpointError('the starter policy manifest.json is not JSON');
  }
  if (!files || typeof files !== 'object')
    throw new CheckpointError('the starter policy manifest lists no files');
  const expected = new Set<string>(STARTER_POLICY.files.filter((f) => f !== FILES.manifest));
  const names = Object.keys(files);
  const unexpected = names.filter((n) => !expected.has(n));
  if (unexpected.length > 0)
    throw new CheckpointError(
      `the starter policy must be weights only (${[...expected].join(', ')}); its manifest lists ${unexpected.join(', ')}`,
    );
  return files as ListedFiles;
}

async function readManifest(fetchFile: StarterFetch): Promise<{ id: string; bytes: Uint8Array } | null> {
  const bytes = await fetchFile(FILES.manifest).catch(() => null);
  if (!bytes) return null;
  return { id: await sha256Hex(bytes), bytes };
}

export async function starterPolicyStatus(
  db: LabDatabase,
  fetchFile: StarterFetch,
): Promise<StarterPolicyStatus> {
  const about = { name: STARTER_POLICY.name, model: STARTER_POLICY.model, step: STARTER_POLICY.step };
  const manifest = await readManifest(fetchFile);
  let reason = manifest
    ? ''
    : `this app serves no starter policy (no ${STARTER_POLICY.path}${FILES.manifest})`;
  if (manifest) {
    try {
      listedFiles(manifest.bytes);
    } catch (error) {
      reason = (error as Error).message;
    }
  }
  if (!manifest || reason) {
    // One imported earlier is still usable offline.
    const kept = await db.checkpoints.filter((c) => c.source === 'starter').first();
    return { ...about, available: false, id: kept?.id ?? null, imported: !!kept, reason };
  }
  return {
    ...about,
    available: true,
    id: manifest.id,
    imported: !!(await db.checkpoints.get(manifest.id)),
    reason: '',
  };
}

/**
 * Fetches the starter policy, verifies every file against its manifest and stores it as a lab checkpoint
 * named STARTER_POLICY.name. Returns its record; one already listed (the same id) is kept as it is.
 */
export async function importStarterPolicy(
  db: LabDatabase,
  blobs: ProtectedBlobs,
  store: LightningStore,
  fetchFile: StarterFetch,
): Promise<CheckpointRecord> {
  const manifest = await readManifest(fetchFile);
  if (!manifest) {
    const kept = await db.checkpoints.filter((c) => c.source === 'starter').first();
    if (kept) return kept;
    throw new Error(`this app serves no starter policy (no ${STARTER_POLICY.path}${FILES.manifest})`);
  }
  const { id } = manifest;
  const existing = await db.checkpoints.get(id);
  if (existing && (await blobs.get(id))) {
    await blobs.protect(id);
    return existing;
  }
  const files: CheckpointFiles = { [FILES.manifest]: manifest.bytes };
  for (const name of Object.keys(listedFiles(manifest.bytes))) {
    const bytes = await fetchFile(name);
    if (!bytes) throw new Error(`the starter policy's ${name} could not be fetched`);
    files[name] = bytes;
  }
  // The reader verifies every listed file against its SHA-256 and that the checkpoint decodes.
  let checkpointId: string;
  try {
    checkpointId = (await checkpointFromFiles(files)).id;
  } catch (error) {
    throw new Error(`the starter policy is damaged: ${(error as Error).message}`);
  }
  if (checkpointId !== id || !CHECKPOINT_ID.test(id))
    throw new Error('the starter policy manifest changed while loading');
  // Stored as shipped (each file under its hash, the manifest under the id), so the lab's id is the app's.
  for (const [name, { sha256 }] of Object.entries(listedFiles(manifest.bytes)))
    await blobs.put(sha256, files[name]);
  await blobs.put(id, manifest.bytes);
  await blobs.protect(id);
  if (existing) return existing;
  const record: CheckpointRecord = {
    id,
    createdAt: Date.now(),
    step: STARTER_POLICY.step,
    runId: null,
    preset: STARTER_POLICY.model,
    algorithm: 'sft',
    metrics: {},
    source: 'starter',
    name: STARTER_POLICY.name,
  };
  await db.checkpoints.put(record);
  // A resource names it, so sync uploads its blobs like any checkpoint of the lab.
  await store.addResources({
    policy: { resource_type: 'policy', checkpoint_id: id, metadata: { starter: true } },
  });
  return record;
}
