// Which policy the server SERVES: the one that drafts replies to intake feedback and answers
// /v1/chat/completions with `model: "served"`. It is a resources update in the store whose `policy`
// resource is marked `metadata.edgelight_served = true`; the newest such update is the served one, so
// every promotion is a row in the store (who, when, why, the gate's figures) and syncs like any other.
// A server that has never promoted anything serves the starter policy the app ships.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BlobStorage,
  type CheckpointFiles,
  checkpointFromFiles,
  saveCheckpoint,
} from '../../shared/policy/checkpoint';
import type { LightningStore } from '../../shared/store/store';
import type { ResourcesUpdate } from '../../shared/store/types';
import { STARTER_POLICY } from '../../shared/train/starter-policy';

/** The metadata key that marks a `policy` resource as the served one. */
export const SERVED_MARK = 'edgelight_served';

export interface ServedPolicy {
  checkpointId: string;
  /** The resources update that names it: rollouts drafted by the served policy point here. */
  resourcesId: string;
  /** Epoch seconds. */
  since: number;
  /** What the promotion recorded (source, reason, gate figures, override). */
  metadata: Record<string, unknown>;
}

function servedOf(update: ResourcesUpdate): ServedPolicy | null {
  const policy = update.resources.policy;
  if (policy?.resource_type !== 'policy' || policy.metadata?.[SERVED_MARK] !== true) return null;
  return {
    checkpointId: policy.checkpoint_id,
    resourcesId: update.resources_id,
    since: update.update_time,
    metadata: { ...(policy.metadata ?? {}) },
  };
}

/** Every promotion, newest first, read a page of resources updates at a time. */
async function* promotions(store: LightningStore): AsyncGenerator<ServedPolicy> {
  const limit = 100;
  for (let offset = 0; ; offset += limit) {
    const page = await store.queryResources({ sort_by: 'update_time', sort_order: 'desc', limit, offset });
    for (const update of page.items) {
      const served = servedOf(update);
      if (served) yield served;
    }
    if (page.items.length < limit) return;
  }
}

/** The served policy now, or null before anything was promoted (see ensureServed). */
export async function readServed(store: LightningStore): Promise<ServedPolicy | null> {
  for await (const served of promotions(store)) return served;
  return null;
}

/** Every promotion, newest first (the Checkpoints page and GET /v1/served show the history). */
export async function servedHistory(store: LightningStore, limit = 50): Promise<ServedPolicy[]> {
  const out: ServedPolicy[] = [];
  for await (const served of promotions(store)) {
    out.push(served);
    if (out.length >= limit) break;
  }
  return out;
}

/**
 * Makes `checkpointId` the served policy (a new resources update). The caller checked that the
 * checkpoint's blobs are present and, for a promotion, ran the gate; `metadata` records both.
 */
export async function writeServed(
  store: LightningStore,
  checkpointId: string,
  metadata: Record<string, unknown>,
): Promise<ServedPolicy> {
  const update = await store.addResources({
    policy: {
      resource_type: 'policy',
      checkpoint_id: checkpointId,
      metadata: { ...metadata, [SERVED_MARK]: true },
    },
  });
  const served = servedOf(update);
  if (!served) throw new Error('the served resources update did not read back');
  return served;
}

/** The starter policy's folder in this package (web/public/starter-policy/, tracked in git). */
export const STARTER_DIR = fileURLToPath(new URL('../../web/public/starter-policy/', import.meta.url));

/** Copies the shipped starter policy into the blob folder (content-addressed: twice keeps one); returns its id. */
export async function importStarter(blobs: BlobStorage, dir = STARTER_DIR): Promise<string> {
  const files: CheckpointFiles = {};
  for (const name of STARTER_POLICY.files) files[name] = new Uint8Array(await readFile(join(dir, name)));
  const { checkpoint } = await checkpointFromFiles(files);
  return saveCheckpoint(blobs, checkpoint);
}

/** The served policy, promoting the starter first on a server that has never served anything. */
export async function ensureServed(store: LightningStore, blobs: BlobStorage): Promise<ServedPolicy> {
  const served = await readServed(store);
  if (served) return served;
  const id = await importStarter(blobs);
  return writeServed(store, id, { source: 'starter', reason: 'no policy was promoted yet' });
}
