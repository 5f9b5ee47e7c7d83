// What a Hub model costs before it is downloaded: from `config.json` and the safetensors header(s)
// alone. A safetensors file starts with an 8-byte little-endian header length N and N bytes of JSON
// `{name: {dtype, shape, data_offsets}}` (https://github.com/huggingface/safetensors, "Format"), so two
// range requests per weight file (bytes 0-7, then 8..8+N-1) tell every tensor's dtype and shape and
// the file's exact size, without its data.
import { z } from 'zod';
import { type HubCache, type HubFileKey, MemoryHubCache } from './hub-cache';
import {
  DEFAULT_REVISION,
  downloadFile,
  fetchHubRange,
  type HubOptions,
  hubFileKey,
  hubWeightFiles,
  readJsonFromCache,
} from './hub';

// Bytes per element of the safetensors dtypes (the format's `Dtype` enum).
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  U16: 2,
  I16: 2,
  F16: 2,
  BF16: 2,
  U32: 4,
  I32: 4,
  F32: 4,
  U64: 8,
  I64: 8,
  F64: 8,
};
// The reference reader's cap on the header; also keeps a hostile length from asking for gigabytes.
const MAX_HEADER_BYTES = 100_000_000;

const headerEntrySchema = z.object({
  dtype: z.string().refine((dtype) => dtype in DTYPE_BYTES, 'unknown safetensors dtype'),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});
type HeaderEntry = z.infer<typeof headerEntrySchema>;

const configSchema = z
  .object({
    architectures: z.array(z.string()).optional(),
    model_type: z.string().optional(),
    torch_dtype: z.string().optional(),
  })
  .passthrough();

export interface WeightFileCost {
  file: string;
  tensorCount: number;
  parameterCount: number;
  /** The whole file: 8 + header + data. */
  bytes: number;
}

export interface ModelCost {
  repo: string;
  revision: string;
  architecture: string | null;
  modelType: string | null;
  /** Elements of all stored tensors (a tied head is stored once, so counted once). */
  parameterCount: number;
  /** Parameters per stored dtype, e.g. `{ BF16: 494032768 }`. */
  dtypes: Record<string, number>;
  files: WeightFileCost[];
  /** Bytes of the weight files to download (config and tokenizer files are a few MB at most on top). */
  downloadBytes: number;
  /** Memory for the weights once converted to float32, as the policy holds them (4 bytes a parameter). */
  float32Bytes: number;
}

export class SafetensorsHeaderError extends Error {
  override name = 'SafetensorsHeaderError';
}

/** Parses a safetensors header's JSON text into its tensor entries (the `__metadata__` entry skipped). */
export function parseSafetensorsHeader(json: string, where: string): Record<string, HeaderEntry> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new SafetensorsHeaderError(`${where}: the safetensors header is not JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SafetensorsHeaderError(`${where}: the safetensors header is not a JSON object`);
  }
  const entries: Record<string, HeaderEntry> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (name === '__metadata__') continue;
    const parsed = headerEntrySchema.safeParse(value);
    if (!parsed.success) {
      throw new SafetensorsHeaderError(
        `${where}: tensor ${JSON.stringify(name)}: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`,
      );
    }
    const elements = parsed.data.shape.reduce((n, d) => n * d, 1);
    const [begin, end] = parsed.data.data_offsets;
    if (end - begin !== elements * DTYPE_BYTES[parsed.data.dtype]) {
      throw new SafetensorsHeaderError(
        `${where}: tensor ${JSON.stringify(name)}: data_offsets do not match its shape and dtype`,
      );
    }
    entries[name] = parsed.data;
  }
  return entries;
}

/** The header length N from a safetensors file's first 8 bytes (u64 little-endian). */
export function safetensorsHeaderLength(first8: Uint8Array, where: string): number {
  if (first8.byteLength < 8) throw new SafetensorsHeaderError(`${where}: shorter than 8 bytes`);
  const length = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsHeaderError(
      `${where}: header length ${length} is over the ${MAX_HEADER_BYTES}-byte limit`,
    );
  }
  return Number(length);
}

/** Bytes [start, end] of a repo file: from the cache when it is complete there, else one range request. */
async function readRange(
  cache: HubCache,
  key: HubFileKey,
  start: number,
  end: number,
  options: HubOptions,
): Promise<Uint8Array> {
  if ((await cache.completeSize(key)) !== null) return cache.readComplete(key, start, end + 1);
  return fetchHubRange(key.repo, key.file, start, end, options);
}

export async function weightFileCost(
  repo: string,
  file: string,
  cache: HubCache,
  options: HubOptions,
  dtypes: Record<string, number>,
): Promise<WeightFileCost> {
  const key = hubFileKey(repo, file, options);
  const where = `${repo}/${file}`;
  const headerLength = safetensorsHeaderLength(await readRange(cache, key, 0, 7, options), where);
  const headerBytes =
    headerLength === 0 ? new Uint8Array(0) : await readRange(cache, key, 8, 8 + headerLength - 1, options);
  const entries = parseSafetensorsHeader(new TextDecoder().decode(headerBytes), where);
  let parameterCount = 0;
  let dataEnd = 0;
  for (const entry of Object.values(entries)) {
    const elements = entry.shape.reduce((n, d) => n * d, 1);
    parameterCount += elements;
    dtypes[entry.dtype] = (dtypes[entry.dtype] ?? 0) + elements;
    dataEnd = Math.max(dataEnd, entry.data_offsets[1]);
  }
  return {
    file,
    tensorCount: Object.keys(entries).length,
    parameterCount,
    bytes: 8 + headerLength + dataEnd,
  };
}

/**
 * What downloading `repo` would cost: parameter count, stored dtypes, bytes to download and memory as
 * float32, from `config.json`, the shard index (if any) and each weight file's header. `cache` (if
 * given) keeps config.json and the index, so a following `downloadModel` does not fetch them again.
 */
export async function inspectModel(
  repo: string,
  options: HubOptions & { cache?: HubCache } = {},
): Promise<ModelCost> {
  const { cache = new MemoryHubCache(), ...hub } = options;
  await downloadFile(repo, 'config.json', { ...hub, cache });
  const configResult = configSchema.safeParse(
    await readJsonFromCache(cache, hubFileKey(repo, 'config.json', hub)),
  );
  if (!configResult.success) throw new Error(`${repo}/config.json is not a model config object`);
  const config = configResult.data;
  const weightFiles = await hubWeightFiles(repo, cache, hub);
  const dtypes: Record<string, number> = {};
  const files: WeightFileCost[] = [];
  for (const file of weightFiles) files.push(await weightFileCost(repo, file, cache, hub, dtypes));
  const parameterCount = files.reduce((n, f) => n + f.parameterCount, 0);
  return {
    repo,
    revision: hub.revision ?? DEFAULT_REVISION,
    architecture: config.architectures?.[0] ?? null,
    modelType: config.model_type ?? null,
    parameterCount,
    dtypes,
    files,
    downloadBytes: files.reduce((n, f) => n + f.bytes, 0),
    float32Bytes: parameterCount * 4,
  };
}
