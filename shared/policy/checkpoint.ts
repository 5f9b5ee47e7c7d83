// A policy checkpoint as files a Python tool can open, and as content-addressed blobs.
//
//   config.json            the model config (the model validates it)
//   model.safetensors      the weights, one F32 tensor per named parameter
//   tokenizer.json         the HF tokenizer (+ tokenizer_config.json: the special tokens' roles, a chat template)
//   optimizer.safetensors  optional: AdamW moments + step, for an exact resume
//   trainer_state.json     optional: step, algorithm, seed, RNG state, data cursor
//   manifest.json          {format, files: {name: {sha256, size}}}
//
// Every file is a blob named by the SHA-256 of its bytes; the checkpoint id is the SHA-256 of the
// manifest, so equal checkpoints get equal ids wherever they are written (Node, browser, server).
import { z } from 'zod';
import type { BlobStore } from '../store/store';
import { decodeSafetensors, encodeSafetensors, type NamedTensors } from './safetensors';
import { tokenizerConfigFor } from './tokenizer-format';

export const CHECKPOINT_FORMAT = 'edgelight-checkpoint/1';
export const CHECKPOINT_ID = /^[0-9a-f]{64}$/;

export const FILES = {
  config: 'config.json',
  weights: 'model.safetensors',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  optimizer: 'optimizer.safetensors',
  trainer: 'trainer_state.json',
  manifest: 'manifest.json',
} as const;

export interface Checkpoint {
  config: Record<string, unknown>;
  weights: NamedTensors;
  /** `tokenizer.json` text. */
  tokenizer: string;
  /**
   * `tokenizer_config.json`: the special tokens' roles and any chat template. Absent: edgelight's own
   * (tokenizerConfigFor), which is what a tokenizer trained here has.
   */
  tokenizerConfig?: Record<string, unknown>;
  optimizer?: { tensors: NamedTensors; metadata: Record<string, string> };
  /**
   * `trainer_state.json`: where a run stopped. Its schema belongs to the trainer (shared/train/trainer-state.ts);
   * here it is any JSON object, so checkpoints load whatever trainer wrote them.
   */
  trainer?: Record<string, unknown>;
}

const manifestSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  files: z.record(
    z.string(),
    z.object({ sha256: z.string().regex(CHECKPOINT_ID), size: z.number().int().nonnegative() }),
  ),
});
type Manifest = z.infer<typeof manifestSchema>;

/** Raised for a checkpoint that is incomplete, corrupted or of another format; the message says which. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

const encodeJson = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value, sortedKeys, 2)}\n`);

// Canonical JSON: object keys in sorted order, so the same content always hashes the same.
function sortedKeys(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value)) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  }
  return value;
}

export type CheckpointFiles = Record<string, Uint8Array>;

/** The context length edgelight's tokenizer_config.json records (model_max_length). */
const maxPositionsOf = (config: Record<string, unknown>) =>
  Number(config.blockSize ?? config.block_size ?? 4096);

const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The checkpoint's files, including manifest.json, and its id. */
export async function checkpointToFiles(
  checkpoint: Checkpoint,
): Promise<{ id: string; files: CheckpointFiles }> {
  const files: CheckpointFiles = {
    [FILES.config]: encodeJson(checkpoint.config),
    [FILES.weights]: encodeSafetensors(checkpoint.weights, { format: 'pt' }),
    [FILES.tokenizer]: new TextEncoder().encode(checkpoint.tokenizer),
    [FILES.tokenizerConfig]: encodeJson(
      checkpoint.tokenizerConfig ?? tokenizerConfigFor(maxPositionsOf(checkpoint.config)),
    ),
  };
  if (checkpoint.optimizer)
    files[FILES.optimizer] = encodeSafetensors(checkpoint.optimizer.tensors, checkpoint.optimizer.metadata);
  if (checkpoint.trainer) files[FILES.trainer] = encodeJson(checkpoint.trainer);

  const manifest: Manifest = { format: CHECKPOINT_FORMAT, files: {} };
  for (const [name, bytes] of Object.entries(files))
    manifest.files[name] = { sha256: await sha256Hex(bytes), size: bytes.length };
  const manifestBytes = encodeJson(manifest);
  files[FILES.manifest] = manifestBytes;
  return { id: await sha256Hex(manifestBytes), files };
}

function parseJsonFile(files: CheckpointFiles, name: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(files[name]));
  } catch (error) {
    throw new CheckpointError(`${name} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads a checkpoint from its files. With a manifest, every listed file must be present and match its
 * hash; without one (a folder made by another tool) the three required files are enough.
 */
export async function checkpointFromFiles(
  files: CheckpointFiles,
): Promise<{ id: string; checkpoint: Checkpoint }> {
  if (files[FILES.manifest]) {
    const manifest = manifestSchema.safeParse(parseJsonFile(files, FILES.manifest));
    if (!manifest.success) throw new CheckpointError(`manifest.json is not an ${CHECKPOINT_FORMAT} manifest`);
    for (const [name, { sha256 }] of Object.entries(manifest.data.files)) {
      if (!files[name]) throw new CheckpointError(`checkpoint is missing ${name} listed in its manifest`);
      if ((await sha256Hex(files[name])) !== sha256)
        throw new CheckpointError(`${name} does not match its SHA-256 in the manifest (corrupted or edited)`);
    }
  }
  for (const required of [FILES.config, FILES.weights, FILES.tokenizer])
    if (!files[required]) throw new CheckpointError(`checkpoint is missing ${required}`);

  const config = parseJsonFile(files, FILES.config);
  if (!config || typeof config !== 'object' || Array.isArray(config))
    throw new CheckpointError('config.json must hold a JSON object');
  const decode = (name: string) => {
    try {
      return decodeSafetensors(files[name]);
    } catch (error) {
      throw new CheckpointError(`${name}: ${(error as Error).message}`);
    }
  };
  const checkpoint: Checkpoint = {
    config: config as Record<string, unknown>,
    weights: decode(FILES.weights).tensors,
    tokenizer: new TextDecoder().decode(files[FILES.tokenizer]),
  };
  if (files[FILES.tokenizerConfig]) {
    const tokenizerConfig = parseJsonFile(files, FILES.tokenizerConfig);
    if (!tokenizerConfig || typeof tokenizerConfig !== 'object' || Array.isArray(tokenizerConfig))
      throw new CheckpointError('tokenizer_config.json must hold a JSON object');
    // edgelight's own roles stay implicit (absent), as a checkpoint written here has them.
    const own = encodeJson(tokenizerConfigFor(maxPositionsOf(checkpoint.config)));
    if (!equalBytes(encodeJson(tokenizerConfig), own))
      checkpoint.tokenizerConfig = tokenizerConfig as Record<string, unknown>;
  }
  if (files[FILES.optimizer]) checkpoint.optimizer = decode(FILES.optimizer);
  if (files[FILES.trainer]) {
    const trainer = parseJsonFile(files, FILES.trainer);
    if (!trainer || typeof trainer !== 'object' || Array.isArray(trainer))
      throw new CheckpointError('trainer_state.json must hold a JSON object');
    checkpoint.trainer = trainer as Record<string, unknown>;
  }
  // A folder without a manifest (written by another tool) gets the id its canonical files would have.
  const id = files[FILES.manifest]
    ? await sha256Hex(files[FILES.manifest])
    : (await checkpointToFiles(checkpoint)).id;
  return { id, checkpoint };
}

/** Content-addressed bytes: IndexedDB's blob table in a browser, a folder of files on a server. */
export interface BlobStorage {
  put(sha256: string, bytes: Uint8Array): Promise<void>;
  get(sha256: string): Promise<Uint8Array | undefined>;
  /** Optional: storage that can forget (a trainer publishing a version per step prunes old ones). */
  delete?(sha256: string): Promise<void>;
}

/** Blobs in a Map: tests, and a tab that keeps checkpoints only for the session. */
export class MemoryBlobStorage implements BlobStorage {
  private readonly blobs = new Map<string, Uint8Array>();
  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    this.blobs.set(sha256, bytes.slice());
  }
  async get(sha256: string): Promise<Uint8Array | undefined> {
    return this.blobs.get(sha256)?.slice();
  }
  async delete(sha256: string): Promise<void> {
    this.blobs.delete(sha256);
  }
  get size(): number {
    return this.blobs.size;
  }
}

/** The blob table of a browser store (IndexedDB) as checkpoint storage. */
export function blobStorageOf(store: BlobStore): BlobStorage {
  return {
    put: (sha256, bytes) => store.putBlob(sha256, bytes),
    get: async (sha256) => (await store.getBlob(sha256)) ?? undefined,
    delete: (sha256) => store.deleteBlob(sha256),
  };
}

/** Stores every file and the manifest as blobs; returns the checkpoint id (the manifest's hash). */
export async function saveCheckpoint(storage: BlobStorage, checkpoint: Checkpoint): Promise<string> {
  const { id, files } = await checkpointToFiles(checkpoint);
  const manifest = manifestSchema.parse(JSON.parse(new TextDecoder().decode(files[FILES.manifest])));
  for (const [name, { sha256 }] of Object.entries(manifest.files)) await storage.put(sha256, files[name]);
  await storage.put(id, files[FILES.manifest]);
  return id;
}

/** Loads a checkpoint by id, verifying every blob against its hash. */
export async function loadCheckpoint(storage: BlobStorage, id: string): Promise<Checkpoint> {
  if (!CHECKPOINT_ID.test(id)) throw new CheckpointError(`not a checkpoint id (64 hex digits): '${id}'`);
  const manifestBytes = await storage.get(id);
  if (!manifestBytes) throw new CheckpointError(`no checkpoint ${id} in this storage`);
  if ((await sha256Hex(manifestBytes)) !== id) throw new CheckpointError(`manifest of ${id} is corrupted`);
  const files: CheckpointFiles = { [FILES.manifest]: manifestBytes };
  const manifest = manifestSchema.safeParse(parseJsonFile(files, FILES.manifest));
  if (!manifest.success) throw new CheckpointError(`blob ${id} is not a checkpoint manifest`);
  for (const [name, { sha256 }] of Object.entries(manifest.data.files)) {
    const bytes = await storage.get(sha256);
    if (!bytes) throw new CheckpointError(`checkpoint ${id} lacks blob ${sha256} (${name})`);
    files[name] = bytes;
  }
  return (await checkpointFromFiles(files)).checkpoint;
}

async function manifestBlobs(storage: BlobStorage, id: string): Promise<Set<string>> {
  const bytes = await storage.get(id);
  if (!bytes) return new Set();
  const manifest = manifestSchema.safeParse(parseJsonFile({ m: bytes }, 'm'));
  if (!manifest.success) return new Set();
  return new Set([id, ...Object.values(manifest.data.files).map((f) => f.sha256)]);
}

/**
 * Deletes checkpoint `id` from storage, keeping every blob the `keep` checkpoints still use (blobs are
 * shared by content: the tokenizer and config rarely change between versions). No-op without delete.
 */
export async function removeCheckpoint(
  storage: BlobStorage,
  id: string,
  keep: readonly string[],
): Promise<void> {
  if (!storage.delete) return;
  const kept = new Set<string>();
  for (const k of keep) for (const blob of await manifestBlobs(storage, k)) kept.add(blob);
  for (const blob of await manifestBlobs(storage, id)) if (!kept.has(blob)) await storage.delete(blob);
}

/**
 * The optimizer's own update count as saved beside its moments (μ updates per RL batch; what Adam's bias
 * correction and the schedule read). Checkpoints without it fall back to the trainer's step.
 */
export function optimizerStepOf(checkpoint: Checkpoint, trainerStep: number): number {
  const saved = Number(checkpoint.optimizer?.metadata.step);
  return Number.isInteger(saved) && saved >= 0 ? saved : trainerStep;
}
