// Reading a Hugging Face model folder (config.json, tokenizer files, safetensors weights) from wherever
// its files live: a folder on disk (server/hf/folder-source.ts), files the user picked or dropped in the
// browser (fileSourceFromFiles below), or the Hub (shared/hf/hub.ts). Pure data code, no tfjs.
//
// API
//   FileSource                         has(name) / size(name) / read(name) over one folder's files; names
//                                      are relative to the folder, '/'-separated ("model.safetensors")
//   readHfModel(source, options)       config.json, tokenizer.json, tokenizer_config.json and
//                                      generation_config.json (parsed), chat_template.jinja (text), and
//                                      every weight as Float32Array
//   fileSourceFromFiles(files)         a FileSource over browser File objects
//   HfFilesError                       a missing or malformed file; the message names it
//
// Facts from Hugging Face transformers (utils/hub.py, modeling_utils.py): weights are either one
// `model.safetensors` or shards listed by `model.safetensors.index.json`, whose `weight_map` maps each
// tensor name to the shard file that holds it (`metadata.total_size` is the bytes of all tensors).
// Weights only in `pytorch_model.bin` (pickle) are not read: safetensors needs no code execution.
import { z } from 'zod';
import { decodeSafetensors, type NamedTensor } from '../policy/safetensors';

/** One folder's files. `has` and `size` may answer synchronously or not; callers always await. */
export interface FileSource {
  /** Where the files come from (a path, a repo id), used in error messages. */
  readonly label: string;
  has(name: string): boolean | Promise<boolean>;
  /** Bytes in the file; rejects when it is missing. */
  size(name: string): number | Promise<number>;
  /** The whole file; rejects when it is missing or the signal aborts. */
  read(name: string, options?: { signal?: AbortSignal }): Promise<Uint8Array>;
}

/** A missing or malformed file in a model folder; the message names the file and the folder. */
export class HfFilesError extends Error {
  override name = 'HfFilesError';
}

/** A weight as read: `dtype` is how the file stored it, `data` its values widened to float32. */
export type HfFileTensor = { shape: number[]; data: Float32Array; dtype: string };

export type HfModelFiles = {
  /** config.json, parsed but not validated (shared/hf/architecture.ts validates what it uses). */
  config: unknown;
  tensors: Record<string, HfFileTensor>;
  /** tokenizer.json, parsed (shared/policy/tokenizer.ts opens it). */
  tokenizerJson: unknown;
  /** tokenizer_config.json (special tokens, chat template), or null when the folder has none. */
  tokenizerConfig: unknown | null;
  /** generation_config.json, or null when the folder has none. */
  generationConfig: unknown | null;
  /**
   * chat_template.jinja's text, or null: newer repositories keep the chat template in this file rather
   * than in tokenizer_config.json (pass it to PolicyTokenizer.fromFiles as options.chatTemplate).
   */
  chatTemplate: string | null;
  /** Bytes read, all files together. */
  bytes: number;
};

export type ReadProgress = {
  /** The file just read. */
  file: string;
  /** Bytes read so far, this file included, and the bytes of every file to read. */
  bytesRead: number;
  bytesTotal: number;
};

export type ReadHfModelOptions = {
  /** Called after each file is read. */
  onProgress?: (progress: ReadProgress) => void;
  signal?: AbortSignal;
};

export const SINGLE_WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';
export const CHAT_TEMPLATE_FILE = 'chat_template.jinja';

export const SafetensorsIndexSchema = z.object({
  metadata: z.record(z.string(), z.unknown()).optional(),
  weight_map: z
    .record(
      z.string(),
      z
        .string()
        .regex(/^[^/\\]+\.safetensors$/, 'a shard must be a .safetensors file name in the same folder'),
    )
    .refine((map) => Object.keys(map).length > 0, 'weight_map lists no tensors'),
});
export type SafetensorsIndex = z.infer<typeof SafetensorsIndexSchema>;

function parseJson(source: FileSource, name: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new HfFilesError(`${name} in ${source.label} is not UTF-8 JSON: ${(error as Error).message}`);
  }
}

/** Parses and validates a model.safetensors.index.json. */
export function parseSafetensorsIndex(json: unknown, where = WEIGHTS_INDEX_FILE): SafetensorsIndex {
  const parsed = SafetensorsIndexSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new HfFilesError(`${where} is not a safetensors index: ${issues.join('; ')}`);
  }
  return parsed.data;
}

function toFloat32(tensor: NamedTensor): Float32Array {
  // Integer tensors (buffers such as position ids) are kept as floats: exact below 2^24, and the
  // architecture mapping reads only float weights anyway.
  return tensor.data instanceof Float32Array ? tensor.data : Float32Array.from(tensor.data);
}

/**
 * Reads a model folder: config.json and tokenizer.json (required), tokenizer_config.json and
 * generation_config.json (optional) and the weights, from model.safetensors or, failing that, from the
 * shards model.safetensors.index.json names (each tensor from exactly the shard its index entry names).
 */
export async function readHfModel(
  source: FileSource,
  options: ReadHfModelOptions = {},
): Promise<HfModelFiles> {
  const { onProgress, signal } = options;
  signal?.throwIfAborted();
  const missing = async (name: string) => !(await source.has(name));
  for (const required of ['config.json', 'tokenizer.json'])
    if (await missing(required)) throw new HfFilesError(`${required} is missing from ${source.label}`);

  // Which files to read, so progress can report a total before the big ones start.
  const jsonFiles = ['config.json', 'tokenizer.json'];
  for (const optional of ['tokenizer_config.json', 'generation_config.json'])
    if (!(await missing(optional))) jsonFiles.push(optional);
  let weightFiles: string[];
  if (!(await missing(SINGLE_WEIGHTS_FILE))) {
    weightFiles = [SINGLE_WEIGHTS_FILE];
  } else if (!(await missing(WEIGHTS_INDEX_FILE))) {
    jsonFiles.push(WEIGHTS_INDEX_FILE);
    weightFiles = []; // known once the index is read
  } else {
    const pickle = (await source.has('pytorch_model.bin'))
      ? ' (pytorch_model.bin is not read: convert it)'
      : '';
    throw new HfFilesError(
      `neither ${SINGLE_WEIGHTS_FILE} nor ${WEIGHTS_INDEX_FILE} is in ${source.label}${pickle}`,
    );
  }

  let bytesRead = 0;
  let bytesTotal = 0;
  for (const name of jsonFiles) bytesTotal += await source.size(name);
  for (const name of weightFiles) bytesTotal += await source.size(name);
  const readFile = async (name: string): Promise<Uint8Array> => {
    signal?.throwIfAborted();
    const bytes = await source.read(name, { signal });
    bytesRead += bytes.length;
    onProgress?.({ file: name, bytesRead, bytesTotal: Math.max(bytesTotal, bytesRead) });
    return bytes;
  };

  let chatTemplate: string | null = null;
  if (!(await missing(CHAT_TEMPLATE_FILE))) {
    bytesTotal += await source.size(CHAT_TEMPLATE_FILE);
    try {
      chatTemplate = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(CHAT_TEMPLATE_FILE));
    } catch (error) {
      if (error instanceof TypeError)
        throw new HfFilesError(`${CHAT_TEMPLATE_FILE} in ${source.label} is not UTF-8 text`);
      throw error;
    }
  }

  const json: Record<string, unknown> = {};
  for (const name of jsonFiles) json[name] = parseJson(source, name, await readFile(name));

  // Shards named by the index: every one must exist before anything large is read.
  let tensorsByShard: Map<string, string[]> | null = null;
  if (WEIGHTS_INDEX_FILE in json) {
    const index = parseSafetensorsIndex(json[WEIGHTS_INDEX_FILE], `${WEIGHTS_INDEX_FILE} in ${source.label}`);
    tensorsByShard = new Map();
    for (const [tensor, shard] of Object.entries(index.weight_map)) {
      const list = tensorsByShard.get(shard) ?? [];
      list.push(tensor);
      tensorsByShard.set(shard, list);
    }
    weightFiles = [...tensorsByShard.keys()].sort();
    for (const shard of weightFiles) {
      if (await missing(shard))
        throw new HfFilesError(
          `shard ${shard} named by ${WEIGHTS_INDEX_FILE} is missing from ${source.label}`,
        );
      bytesTotal += await source.size(shard);
    }
  }

  const tensors: Record<string, HfFileTensor> = {};
  for (const file of weightFiles) {
    let decoded: ReturnType<typeof decodeSafetensors>;
    try {
      decoded = decodeSafetensors(await readFile(file));
    } catch (error) {
      if (error instanceof HfFilesError || (error as Error).name === 'AbortError') throw error;
      throw new HfFilesError(`${file} in ${source.label}: ${(error as Error).message}`);
    }
    // Without an index the file holds the whole model; with one, take from this shard exactly the
    // tensors the index assigns to it (a tensor also present elsewhere is not the indexed copy).
    const wanted = tensorsByShard?.get(file) ?? Object.keys(decoded.tensors);
    for (const name of wanted) {
      const tensor = decoded.tensors[name];
      if (!tensor)
        throw new HfFilesError(
          `tensor ${name}: ${WEIGHTS_INDEX_FILE} puts it in ${file}, which does not hold it (${source.label})`,
        );
      tensors[name] = { shape: tensor.shape, data: toFloat32(tensor), dtype: tensor.dtype };
    }
  }

  return {
    config: json['config.json'],
    tensors,
    tokenizerJson: json['tokenizer.json'],
    tokenizerConfig: json['tokenizer_config.json'] ?? null,
    generationConfig: json['generation_config.json'] ?? null,
    chatTemplate,
    bytes: bytesRead,
  };
}

/** The file's name relative to the chosen folder: a folder picker's webkitRelativePath starts with it. */
function nameInFolder(file: File): string {
  const relative = (file as File & { webkitRelativePath?: string }).webkitRelativePath;
  if (!relative) return file.name;
  const slash = relative.indexOf('/');
  return slash < 0 ? relative : relative.slice(slash + 1);
}

/**
 * A FileSource over browser File objects: from `<input type="file" webkitdirectory>` (names relative to
 * the picked folder) or a drop of the folder's files (their plain names). A name given twice is an error,
 * since which copy to use would be a guess.
 */
export function fileSourceFromFiles(files: Iterable<File>, label = 'the chosen files'): FileSource {
  const byName = new Map<string, File>();
  for (const file of files) {
    const name = nameInFolder(file);
    if (byName.has(name)) throw new HfFilesError(`${name} was given twice in ${label}`);
    byName.set(name, file);
  }
  const get = (name: string): File => {
    const file = byName.get(name);
    if (!file) throw new HfFilesError(`${name} is missing from ${label}`);
    return file;
  };
  return {
    label,
    has: (name) => byName.has(name),
    size: (name) => get(name).size,
    read: async (name, options) => {
      options?.signal?.throwIfAborted();
      return new Uint8Array(await get(name).arrayBuffer());
    },
  };
}
