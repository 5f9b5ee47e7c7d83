// Node-side checkpoint storage: plain folders (what `edgelight train --out` writes and `--init` reads,
// openable by Python tools) and a content-addressed blob folder laid out like server/blobs/blob-store.ts
// (`root/ab/abcd…`), so checkpoints written by the CLI are served by the blob routes as they are.
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BlobStorage,
  type Checkpoint,
  CheckpointError,
  type CheckpointFiles,
  checkpointFromFiles,
  checkpointToFiles,
} from '../../shared/policy/checkpoint';
import { checkpointFromHfModel } from '../../shared/hf/import';
import { hashFile, quarantineDirOf, quarantineFile } from '../blobs/blob-store';
import { folderSource } from '../hf/folder-source';
import { writeFileAtomic } from '../write-file-atomic';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export class DirectoryBlobStorage implements BlobStorage {
  constructor(readonly root: string) {}

  private pathOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256 id: ${sha256}`);
    return join(this.root, sha256.slice(0, 2), sha256);
  }

  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(sha256);
    // Same name, same bytes: an existing blob needs no second write, once its bytes are checked. One
    // that fails its hash (a flipped byte, a truncation) is quarantined as the server does, and replaced.
    const existing = await hashFile(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (existing === sha256) return;
    if (existing !== undefined) await quarantineFile(path, quarantineDirOf(this.root));
    await writeFileAtomic(path, bytes);
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }

  async get(sha256: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.pathOf(sha256)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}

/** Exports a checkpoint as a folder of files; returns its id. */
export async function writeCheckpointDirectory(dir: string, checkpoint: Checkpoint): Promise<string> {
  const { id, files } = await checkpointToFiles(checkpoint);
  for (const [name, bytes] of Object.entries(files)) await writeFileAtomic(join(dir, name), bytes);
  return id;
}

/**
 * Imports a checkpoint folder: ours, one with just config.json, model.safetensors and tokenizer.json,
 * or a Hugging Face model folder (config.json with a `model_type`: GPT-2, Llama, Qwen2, sharded or not),
 * converted by shared/hf/import.ts and given the id its canonical files would have.
 */
export async function readCheckpointDirectory(dir: string): Promise<{ id: string; checkpoint: Checkpoint }> {
  if (await isHfModelFolder(dir)) {
    let checkpoint: Checkpoint;
    try {
      checkpoint = await checkpointFromHfModel(await folderSource(dir));
    } catch (error) {
      throw new CheckpointError((error as Error).message);
    }
    return { id: (await checkpointToFiles(checkpoint)).id, checkpoint };
  }
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      code === 'ENOENT' ? `no checkpoint folder at ${dir}` : `cannot read checkpoint folder ${dir}: ${code}`,
    );
  }
  const files: CheckpointFiles = {};
  for (const name of names) {
    if (!/\.(json|safetensors)$/.test(name)) continue;
    files[name] = new Uint8Array(await readFile(join(dir, name)));
  }
  return checkpointFromFiles(files);
}

/** A model folder in Hugging Face's layout rather than ours: no manifest, and config.json names a model_type. */
async function isHfModelFolder(dir: string): Promise<boolean> {
  if (await stat(join(dir, 'manifest.json')).catch(() => null)) return false;
  const text = await readFile(join(dir, 'config.json'), 'utf8').catch(() => null);
  if (text === null) return false;
  try {
    const config = JSON.parse(text) as { model_type?: unknown } | null;
    return typeof config?.model_type === 'string';
  } catch {
    return false; // checkpointFromFiles says what is wrong with it
  }
}

/** The pointer file in a run folder naming its newest checkpoint sub-folder. */
const LATEST = 'latest';

/** Writes `runDir/step-000123/` and points `runDir/latest` at it; returns the folder and the id. */
export async function writeRunCheckpoint(
  runDir: string,
  step: number,
  checkpoint: Checkpoint,
): Promise<{ dir: string; id: string }> {
  const name = `step-${String(step).padStart(6, '0')}`;
  const dir = join(runDir, name);
  const id = await writeCheckpointDirectory(dir, checkpoint);
  await writeFileAtomic(join(runDir, LATEST), new TextEncoder().encode(`${name}\n`));
  return { dir, id };
}

/**
 * Resolves what a user passed as a checkpoint: a checkpoint folder itself, or a run folder whose
 * `latest` file names one.
 */
export async function resolveCheckpointDirectory(path: string): Promise<string> {
  const hasConfig = await stat(join(path, 'config.json')).then(
    () => true,
    () => false,
  );
  if (hasConfig) return path;
  const latest = await readFile(join(path, LATEST), 'utf8').catch(() => null);
  if (latest?.trim()) return join(path, latest.trim());
  throw new CheckpointError(
    `${path} is neither a checkpoint folder (no config.json) nor a run folder (no 'latest')`,
  );
}
