import type { BlobStorage } from '../policy/checkpoint';
import type { ResourcesUpdate } from '../store/types';
import type { SyncRemote } from './remote';

// A policy resource names a checkpoint: a manifest blob (its id) listing file blobs. Sync moves the
// blobs before the row that names them, files before the manifest, so whoever sees the row (or
// the manifest) can load the whole checkpoint.

const SHA256 = /^[0-9a-f]{64}$/;

/** Checkpoint ids a resources bundle refers to. */
export function checkpointIdsOf(update: Pick<ResourcesUpdate, 'resources'>): string[] {
  const ids: string[] = [];
  for (const resource of Object.values(update.resources)) {
    if (resource.resource_type === 'policy' && SHA256.test(resource.checkpoint_id))
      ids.push(resource.checkpoint_id);
  }
  return ids;
}

function manifestFiles(manifest: Uint8Array): string[] {
  const parsed = JSON.parse(new TextDecoder().decode(manifest)) as {
    files?: Record<string, { sha256?: string }>;
  };
  return Object.values(parsed.files ?? {})
    .map((f) => f.sha256)
    .filter((s): s is string => typeof s === 'string' && SHA256.test(s));
}

type BlobSource = { get(sha256: string): Promise<Uint8Array | undefined> };
type BlobSink = {
  has(sha256: string): Promise<boolean>;
  put(sha256: string, bytes: Uint8Array): Promise<void>;
};

/** Copies a checkpoint `to` lacks, files first, manifest last; false when `from` lacks a blob. */
async function copyCheckpoint(from: BlobSource, to: BlobSink, checkpointId: string): Promise<boolean> {
  if (await to.has(checkpointId)) return true;
  const manifest = await from.get(checkpointId);
  if (!manifest) return false;
  for (const sha of manifestFiles(manifest)) {
    if (await to.has(sha)) continue;
    const bytes = await from.get(sha);
    if (!bytes) return false;
    await to.put(sha, bytes);
  }
  await to.put(checkpointId, manifest);
  return true;
}

/**
 * Uploads a checkpoint the server lacks. Returns false when neither side has it (a resource that
 * names a checkpoint this tab never held); the row is still pushed, as Agent Lightning would.
 */
export function uploadCheckpoint(
  local: BlobStorage,
  remote: SyncRemote,
  checkpointId: string,
): Promise<boolean> {
  const server: BlobSink = {
    has: (sha) => remote.hasBlob(sha),
    put: (sha, bytes) => remote.putBlob(sha, bytes),
  };
  return copyCheckpoint(local, server, checkpointId);
}

/** Downloads a checkpoint this side lacks, files first; returns false when the server lacks it. */
export function downloadCheckpoint(
  local: BlobStorage,
  remote: SyncRemote,
  checkpointId: string,
): Promise<boolean> {
  // Local storage has no `has`: a blob is there when `get` finds it.
  const tab: BlobSink = {
    has: async (sha) => !!(await local.get(sha)),
    put: (sha, bytes) => local.put(sha, bytes),
  };
  return copyCheckpoint({ get: (sha) => remote.getBlob(sha) }, tab, checkpointId);
}
