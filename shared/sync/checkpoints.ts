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

/**
 * Uploads a checkpoint the server lacks. Returns false when neither side has it (a resource that
 * names a checkpoint this tab never held); the row is still pushed, as Agent Lightning would.
 */
export async function uploadCheckpoint(
  local: BlobStorage,
  remote: SyncRemote,
  checkpointId: string,
): Promise<boolean> {
  if (await remote.hasBlob(checkpointId)) return true;
  const manifest = await local.get(checkpointId);
  if (!manifest) return false;
  for (const sha of manifestFiles(manifest)) {
    if (await remote.hasBlob(sha)) continue;
    const bytes = await local.get(sha);
    if (!bytes) return false;
    await remote.putBlob(sha, bytes);
  }
  await remote.putBlob(checkpointId, manifest);
  return true;
}

/** Downloads a checkpoint this side lacks, files first; returns false when the server lacks it. */
export async function downloadCheckpoint(
  local: BlobStorage,
  remote: SyncRemote,
  checkpointId: string,
): Promise<boolean> {
  if (await local.get(checkpointId)) return true;
  const manifest = await remote.getBlob(checkpointId);
  if (!manifest) return false;
  for (const sha of manifestFiles(manifest)) {
    if (await local.get(sha)) continue;
    const bytes = await remote.getBlob(sha);
    if (!bytes) return false;
    await local.put(sha, bytes);
  }
  await local.put(checkpointId, manifest);
  return true;
}
