// Downloads from a Hugging Face Hub: files of a model repository at a revision, by the Hub's URL
// layout `{endpoint}/{repo}/resolve/{revision}/{file}` (the layout huggingface_hub's `hf_hub_url`
// builds). Resumable (a kept partial continues with `Range: bytes=N-`), verified while streaming, and
// cancellable. Shared code: the endpoint comes from the caller (under Node, server/hf/folder-cache.ts
// reads HF_ENDPOINT), never from the environment here.
import { sha256 } from '@noble/hashes/sha2.js';
import { z } from 'zod';
import type { FileSource } from './files';
import { concatBytes, type HubCache, type HubFileKey, MemoryHubCache } from './hub-cache';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';

export interface HubOptions {
  /** Hub base URL (default https://huggingface.co); a mirror or a local test server. */
  endpoint?: string;
  /** Branch, tag or commit (default `main`). */
  revision?: string;
  /** A Hub access token for gated or private repos, sent as `Authorization: Bearer`. */
  token?: string;
  /** The `fetch` to use (default the global one). */
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

// A repo id is `name` or `owner/name`, of letters, digits, `-`, `_`, `.` (the Hub's rule).
const repoIdSchema = z
  .string()
  .regex(/^(?:[\w.-]+\/)?[\w.-]+$/, 'a Hub repo id is "owner/name" of letters, digits, "-", "_" and "."')
  .refine(
    (id) => !id.split('/').some((part) => part === '.' || part === '..'),
    'a repo id cannot use "." or ".."',
  );
const filePathSchema = z
  .string()
  .min(1)
  .refine(
    (path) =>
      !path.startsWith('/') && !path.split('/').some((part) => part === '' || part === '.' || part === '..'),
    'a repo file path is relative, without empty, "." or ".." segments',
  );

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success)
    throw new Error(`${what}: ${result.error.issues.map((issue) => issue.message).join('; ')}`);
  return result.data;
}

/** `{endpoint}/{repo}/resolve/{revision}/{file}`, each segment of revision and file percent-encoded. */
export function hubFileUrl(
  repo: string,
  file: string,
  options: Pick<HubOptions, 'endpoint' | 'revision'> = {},
): string {
  parseOrThrow(repoIdSchema, repo, `Hub repo id ${JSON.stringify(repo)}`);
  parseOrThrow(filePathSchema, file, `Hub file path ${JSON.stringify(file)}`);
  const endpoint = (options.endpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
  if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) {
    throw new Error(`Hub endpoint ${JSON.stringify(endpoint)} is not an http(s) URL`);
  }
  const revision = encodeURIComponent(options.revision ?? DEFAULT_REVISION);
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${repo}/resolve/${revision}/${path}`;
}

export function hubFileKey(
  repo: string,
  file: string,
  options: Pick<HubOptions, 'endpoint' | 'revision'> = {},
): HubFileKey {
  return {
    endpoint: (options.endpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, ''),
    repo,
    revision: options.revision ?? DEFAULT_REVISION,
    file,
  };
}

/** A file's bytes did not match what the Hub says they are; nothing of it was cached. */
export class HubIntegrityError extends Error {
  override name = 'HubIntegrityError';
}

/** The Hub answered with an HTTP error (404: no such repo, revision or file; 401/403: gated or private). */
export class HubHttpError extends Error {
  override name = 'HubHttpError';
  constructor(
    readonly status: number,
    readonly url: string,
  ) {
    super(
      `Hub answered ${status} for ${url}${status === 401 || status === 403 ? ' (gated or private repo: pass a token)' : ''}`,
    );
  }
}

export interface FileProgress {
  file: string;
  /** Bytes of this file on hand (a resumed partial counts from its length). */
  bytes: number;
  /** The file's size, once the Hub said it (null before the answer, or when it does not say). */
  total: number | null;
}

export interface DownloadFileOptions extends HubOptions {
  cache?: HubCache;
  onProgress?: (progress: FileProgress) => void;
}

export interface DownloadedFile {
  key: HubFileKey;
  size: number;
  /** True when the file was already cached complete and no request was made. */
  fromCache: boolean;
  /** The SHA-256 the bytes were checked against, or null where only the size could be checked. */
  verifiedSha256: string | null;
}

/** What the Hub tells about a file before its bytes: the LFS SHA-256 (if any) and the size. */
interface FileIdentity {
  etag: string | null;
  size: number | null;
}

function abortError(signal: AbortSignal | undefined): Error {
  const reason = signal?.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return new DOMException('Hub download cancelled (the partial is kept for resume)', 'AbortError');
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** `"abc"` or `W/"abc"` → `abc`. */
function bareEtag(value: string | null): string | null {
  if (!value) return null;
  return value.replace(/^W\//, '').replace(/^"|"$/g, '');
}

function headerNumber(headers: Headers, name: string): number | null {
  const value = headers.get(name);
  return value !== null && /^\d+$/.test(value) ? Number(value) : null;
}

/**
 * One request to the resolve URL, following redirects by hand. The Hub answers LFS files (weights)
 * with a redirect to its CDN and puts the content's SHA-256 in `X-Linked-Etag` and the size in
 * `X-Linked-Size` on that redirect (huggingface_hub reads them there too: `file_download.py`,
 * `get_hf_file_metadata`); a renamed repo first answers with a relative redirect to its new resolve URL.
 * Where redirects are visible (Node's fetch with `redirect: 'manual'`) each hop's headers are read
 * and `Location` followed; a browser hides them (`opaqueredirect`), so there the request is made
 * again with `redirect: 'follow'` and only the final answer's headers are seen: its ETag is used when
 * it is a SHA-256, else only the size is checked.
 */
async function resolveRequest(
  url: string,
  init: { method: 'GET' | 'HEAD'; range?: number; rangeEnd?: number },
  options: HubOptions,
): Promise<{ response: Response; identity: FileIdentity }> {
  const doFetch = options.fetch ?? fetch;
  const hubOrigin = new URL(url).origin;
  const baseHeaders: Record<string, string> = {};
  if (init.range || init.rangeEnd !== undefined)
    baseHeaders.Range = `bytes=${init.range ?? 0}-${init.rangeEnd ?? ''}`;
  const headersFor = (target: string): Record<string, string> =>
    // The token goes to the Hub only, not to the CDN host it redirects to (fetch drops it too on
    // cross-origin redirects).
    options.token && new URL(target).origin === hubOrigin
      ? { ...baseHeaders, Authorization: `Bearer ${options.token}` }
      : baseHeaders;
  let linked: FileIdentity = { etag: null, size: null };
  let target = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const response = await doFetch(target, {
      method: init.method,
      headers: headersFor(target),
      redirect: 'manual',
      signal: options.signal,
    });
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      linked = {
        etag: linked.etag ?? bareEtag(response.headers.get('x-linked-etag')),
        size: linked.size ?? headerNumber(response.headers, 'x-linked-size'),
      };
      await response.body?.cancel();
      target = new URL(location, target).href;
      continue;
    }
    let final = response;
    if (response.type === 'opaqueredirect') {
      final = await doFetch(target, {
        method: init.method,
        headers: headersFor(target),
        redirect: 'follow',
        signal: options.signal,
      });
    }
    const etag =
      linked.etag ?? bareEtag(final.headers.get('x-linked-etag')) ?? bareEtag(final.headers.get('etag'));
    const size = linked.size ?? headerNumber(final.headers, 'x-linked-size');
    return { response: final, identity: { etag, size } };
  }
  throw new Error(`${url}: more than ${MAX_REDIRECTS} redirects`);
}
const MAX_REDIRECTS = 10;

/** The first byte of a 206 answer (`Content-Range: bytes a-b/size`), or null when it does not say. */
function rangeStart(response: Response): number | null {
  const match = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
  return match ? Number(match[1]) : null;
}

/** The file's size from a 200 (Content-Length) or 206 (`Content-Range: bytes a-b/size`) answer. */
function sizeFromResponse(response: Response, resumeFrom: number): number | null {
  if (response.status === 206) {
    const match = /\/(\d+)\s*$/.exec(response.headers.get('content-range') ?? '');
    if (match) return Number(match[1]);
    const length = headerNumber(response.headers, 'content-length');
    return length === null ? null : resumeFrom + length;
  }
  return headerNumber(response.headers, 'content-length');
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const FLUSH_BYTES = 4 * 1024 * 1024;

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * Downloads one file into the cache (a cached complete file makes no request), continuing a kept
 * partial with a range request. Integrity: for LFS files the Hub's ETag is the SHA-256 of the content,
 * so the bytes are hashed as they stream (the partial's bytes first) and compared at the end; a
 * mismatch throws HubIntegrityError, and the partial is dropped so the next try starts clean. Small
 * git-stored files (config.json, tokenizer files) carry the git blob SHA-1 or a CDN tag instead of a
 * 64-hex SHA-256; for those only the size is checked against Content-Length / Content-Range.
 * Cancelling through `signal` throws an AbortError and keeps the partial for a later resume.
 */
export async function downloadFile(
  repo: string,
  file: string,
  options: DownloadFileOptions = {},
): Promise<DownloadedFile> {
  const cache = options.cache ?? new MemoryHubCache();
  const key = hubFileKey(repo, file, options);
  const url = hubFileUrl(repo, file, options);
  const cachedSize = await cache.completeSize(key);
  if (cachedSize !== null) {
    options.onProgress?.({ file, bytes: cachedSize, total: cachedSize });
    return { key, size: cachedSize, fromCache: true, verifiedSha256: null };
  }
  throwIfAborted(options.signal);

  let resumeFrom = await cache.partialLength(key);
  let response: Response;
  let identity: FileIdentity;
  try {
    ({ response, identity } = await resolveRequest(url, { method: 'GET', range: resumeFrom }, options));
  } catch (error) {
    throw isAbort(error) ? abortError(options.signal) : error;
  }
  if (response.status === 416 && resumeFrom > 0) {
    // The partial is as long as (or longer than) the file: nothing left to fetch that way. Start over.
    await response.body?.cancel();
    await cache.discardPartial(key);
    return downloadFile(repo, file, options);
  }
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel();
    throw new HubHttpError(response.status, url);
  }
  if (response.status === 206 && rangeStart(response) !== resumeFrom) {
    // A range that does not continue the partial cannot be appended to it: start over.
    await response.body?.cancel();
    await cache.discardPartial(key);
    if (resumeFrom === 0) throw new Error(`${url}: a 206 answer to a request without a usable range`);
    return downloadFile(repo, file, options);
  }
  if (response.status === 200 && resumeFrom > 0) {
    // The server ignored the range (or the file changed): it sends the whole file, so start over.
    await cache.discardPartial(key);
    resumeFrom = 0;
  }
  const total = sizeFromResponse(response, resumeFrom) ?? identity.size;
  const expectedSha256 = identity.etag && SHA256_HEX.test(identity.etag) ? identity.etag : null;
  const hash = sha256.create();
  if (expectedSha256 && resumeFrom > 0) hash.update(await cache.readPartial(key));

  let bytes = resumeFrom;
  options.onProgress?.({ file, bytes, total });
  if (!response.body) throw new Error(`Hub answer for ${url} has no body`);
  const reader = response.body.getReader();
  // fetch hands over chunks of tens of kilobytes; writing each one opens the partial file again (an
  // OPFS writable, an fs append), so chunks are gathered up to FLUSH_BYTES per write.
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const chunk = pending.length === 1 ? pending[0] : concatBytes(pending);
    pending = [];
    pendingBytes = 0;
    await cache.appendPartial(key, chunk);
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (expectedSha256) hash.update(value);
      pending.push(value);
      pendingBytes += value.byteLength;
      if (pendingBytes >= FLUSH_BYTES) await flush();
      bytes += value.byteLength;
      options.onProgress?.({ file, bytes, total });
      throwIfAborted(options.signal);
    }
    await flush();
  } catch (error) {
    await reader.cancel().catch(() => {});
    // What arrived before the cancel or the dropped connection stays as the partial.
    await flush();
    throw isAbort(error) || options.signal?.aborted ? abortError(options.signal) : error;
  }

  if (total !== null && bytes !== total) {
    // A connection closed early without an error (or a wrong length): keep the partial if it is
    // shorter (a resume can finish it), drop it if it is longer (it cannot be right).
    if (bytes > total) await cache.discardPartial(key);
    throw new HubIntegrityError(`${repo}/${file}: got ${bytes} bytes, the Hub says ${total}`);
  }
  let verifiedSha256: string | null = null;
  if (expectedSha256) {
    const actual = toHex(hash.digest());
    if (actual !== expectedSha256) {
      await cache.discardPartial(key);
      throw new HubIntegrityError(
        `${repo}/${file}: SHA-256 ${actual} does not match the Hub's ${expectedSha256}; not cached`,
      );
    }
    verifiedSha256 = actual;
  }
  await cache.complete(key);
  return { key, size: bytes, fromCache: false, verifiedSha256 };
}

/**
 * The file's size without its bytes: a HEAD on the resolve URL (X-Linked-Size for LFS files,
 * Content-Length otherwise). Null when the file does not exist (404).
 */
export async function hubFileSize(
  repo: string,
  file: string,
  options: HubOptions = {},
): Promise<number | null> {
  const url = hubFileUrl(repo, file, options);
  const { response, identity } = await resolveRequest(url, { method: 'HEAD' }, options);
  await response.body?.cancel();
  if (response.status === 404) return null;
  if (!response.ok) throw new HubHttpError(response.status, url);
  return identity.size ?? headerNumber(response.headers, 'content-length');
}

/**
 * Bytes [start, end] (inclusive, as HTTP ranges are) of a repo file, with one range request. A server
 * that ignores Range answers 200 with the whole file: then only the wanted bytes are read and the rest
 * of the body is cancelled. Not cached and not hash-checked (a slice cannot be).
 */
export async function fetchHubRange(
  repo: string,
  file: string,
  start: number,
  end: number,
  options: HubOptions = {},
): Promise<Uint8Array> {
  const url = hubFileUrl(repo, file, options);
  const { response } = await resolveRequest(url, { method: 'GET', range: start, rangeEnd: end }, options);
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel();
    throw new HubHttpError(response.status, url);
  }
  if (!response.body) throw new Error(`Hub answer for ${url} has no body`);
  const skip = response.status === 200 ? start : 0;
  const want = end - start + 1;
  const out = new Uint8Array(want);
  let seen = 0; // bytes of the body read so far
  let filled = 0;
  const reader = response.body.getReader();
  try {
    while (filled < want) {
      const { done, value } = await reader.read();
      if (done) break;
      const from = Math.max(0, skip - seen);
      const usable = value.subarray(from, from + (want - filled));
      out.set(usable, filled);
      filled += usable.byteLength;
      seen += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  if (filled < want) throw new Error(`${repo}/${file}: asked for bytes ${start}-${end}, got ${filled}`);
  return out;
}

export interface ModelProgress extends FileProgress {
  /** Bytes of all the model's files on hand. */
  overallBytes: number;
  /** All the files' sizes together (files the Hub did not size count as 0 until they answer). */
  overallTotal: number;
}

export interface DownloadModelOptions extends HubOptions {
  cache?: HubCache;
  onProgress?: (progress: ModelProgress) => void;
}

/** The index that sharded checkpoints carry (`model.safetensors.index.json`): tensor name → shard file. */
const safetensorsIndexSchema = z.object({
  metadata: z.object({ total_size: z.number().optional() }).passthrough().optional(),
  weight_map: z.record(z.string(), z.string()),
});

// Tokenizer files a causal LM repo may carry; the ones it lacks are skipped (404). GPT-2 and Llama
// repos on the Hub ship `tokenizer.json`; older GPT-2-style repos have only `vocab.json` + `merges.txt`.
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.json',
  'merges.txt',
];
// Optional files a causal LM repo may carry besides the tokenizer (sampling defaults, and the chat template
// newer repos keep apart from tokenizer_config.json; readHfModel reads both).
export const EXTRA_MODEL_FILES = ['generation_config.json', 'chat_template.jinja'];
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_SAFETENSORS_FILE = 'model.safetensors';

export function shardFilesFromIndex(indexJson: unknown, where: string): string[] {
  const index = parseOrThrow(safetensorsIndexSchema, indexJson, `${where} is not a safetensors index`);
  return [...new Set(Object.values(index.weight_map))].sort();
}

export async function readJsonFromCache(cache: HubCache, key: HubFileKey): Promise<unknown> {
  const text = new TextDecoder().decode(await cache.readComplete(key));
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${key.repo}/${key.file} is not JSON`);
  }
}

/**
 * The weight files of a repo: the shards its `model.safetensors.index.json` names, or
 * `model.safetensors` when there is no index (404). Uses (and fills) the cache, so a cached repo
 * asks nothing.
 */
export async function hubWeightFiles(repo: string, cache: HubCache, options: HubOptions): Promise<string[]> {
  const indexKey = hubFileKey(repo, SAFETENSORS_INDEX_FILE, options);
  try {
    await downloadFile(repo, SAFETENSORS_INDEX_FILE, { ...options, cache });
  } catch (error) {
    if (error instanceof HubHttpError && error.status === 404) return [SINGLE_SAFETENSORS_FILE];
    throw error;
  }
  return shardFilesFromIndex(await readJsonFromCache(cache, indexKey), `${repo}/${SAFETENSORS_INDEX_FILE}`);
}

export interface DownloadedModel {
  repo: string;
  /** The files now cached complete, in download order. */
  files: DownloadedFile[];
  /** Optional files the repo does not have (404). */
  missing: string[];
}

/**
 * Downloads what a causal LM needs: `config.json`, the weights (`model.safetensors`, or the index and
 * its shards) and the tokenizer files, into `cache`. `files` replaces the weight and tokenizer
 * discovery with an explicit list (config.json is always fetched). Overall progress: a HEAD per
 * uncached file first, so the total is known before the first byte; cached files make no request.
 */
export async function downloadModel(
  repo: string,
  files: string[] | undefined,
  options: DownloadModelOptions & { cache: HubCache },
): Promise<DownloadedModel> {
  const { cache, onProgress: _, ...hub } = options;
  if (!files) {
    // A repo downloaded before: its manifest lists what it has and lacks, so nothing is asked again.
    const manifest = await readManifest(cache, hubFileKey(repo, MODEL_MANIFEST_FILE, hub));
    if (manifest) return downloadModelFiles(repo, manifest.files, manifest.files, manifest.missing, options);
  }
  const required = ['config.json', ...(files ?? (await hubWeightFiles(repo, cache, hub)))];
  const optional = files ? [] : [...TOKENIZER_FILES, ...EXTRA_MODEL_FILES];
  const wanted = [...new Set([...(files ? [] : [SAFETENSORS_INDEX_FILE]), ...required, ...optional])];
  const result = await downloadModelFiles(repo, wanted, required, [], options);
  if (!files) {
    const manifest = { files: result.files.map((f) => f.key.file), missing: result.missing };
    const key = hubFileKey(repo, MODEL_MANIFEST_FILE, hub);
    await cache.discardPartial(key);
    await cache.appendPartial(key, new TextEncoder().encode(JSON.stringify(manifest)));
    await cache.complete(key);
  }
  return result;
}

/**
 * Kept in the cache beside a repo's files once `downloadModel` has discovered and fetched them: the
 * files it has and the optional ones it lacks (a 404 is not otherwise remembered). The leading dot and
 * the name keep it apart from files a model repo carries.
 */
export const MODEL_MANIFEST_FILE = '.edgelight-model-files.json';
const manifestSchema = z.object({ files: z.array(z.string()), missing: z.array(z.string()) });

async function readManifest(
  cache: HubCache,
  key: HubFileKey,
): Promise<z.infer<typeof manifestSchema> | null> {
  if ((await cache.completeSize(key)) === null) return null;
  const parsed = manifestSchema.safeParse(await readJsonFromCache(cache, key).catch(() => null));
  return parsed.success ? parsed.data : null;
}

async function downloadModelFiles(
  repo: string,
  wanted: string[],
  required: string[],
  knownMissing: string[],
  options: DownloadModelOptions & { cache: HubCache },
): Promise<DownloadedModel> {
  const { cache, onProgress, ...hub } = options;

  const sizes = new Map<string, number>();
  const missing: string[] = [...knownMissing];
  const toFetch: string[] = [];
  for (const file of wanted) {
    const cached = await cache.completeSize(hubFileKey(repo, file, hub));
    if (cached !== null) {
      sizes.set(file, cached);
      continue;
    }
    if (file === SAFETENSORS_INDEX_FILE) continue; // absent: hubWeightFiles found a 404
    throwIfAborted(hub.signal);
    const size = await hubFileSize(repo, file, hub);
    if (size === null) {
      if (required.includes(file)) throw new HubHttpError(404, hubFileUrl(repo, file, hub));
      missing.push(file);
      continue;
    }
    sizes.set(file, size);
    toFetch.push(file);
  }
  const overallTotal = [...sizes.values()].reduce((n, size) => n + size, 0);
  const onHand = new Map<string, number>();
  for (const [file, size] of sizes) if (!toFetch.includes(file)) onHand.set(file, size);

  const downloaded: DownloadedFile[] = [];
  for (const file of wanted) {
    if (!sizes.has(file)) continue;
    const result = await downloadFile(repo, file, {
      ...hub,
      cache,
      onProgress: (progress) => {
        onHand.set(file, progress.bytes);
        const overallBytes = [...onHand.values()].reduce((n, bytes) => n + bytes, 0);
        onProgress?.({ ...progress, overallBytes, overallTotal });
      },
    });
    downloaded.push(result);
  }
  return { repo, files: downloaded, missing };
}

/**
 * The repo's files in `cache` as a FileSource, for `readHfModel` (shared/hf/files.ts): after
 * `downloadModel`, `readHfModel(hubCacheFileSource(cache, repo, options))` reads the model with no
 * further request. Only complete, verified files are visible; partials are not.
 */
export function hubCacheFileSource(
  cache: HubCache,
  repo: string,
  options: Pick<HubOptions, 'endpoint' | 'revision'> = {},
): FileSource {
  const label = `${repo}@${options.revision ?? DEFAULT_REVISION} (Hub cache)`;
  const sizeOf = async (name: string): Promise<number> => {
    const size = await cache.completeSize(hubFileKey(repo, name, options));
    if (size === null) throw new Error(`${name} is not in the Hub cache for ${label}`);
    return size;
  };
  return {
    label,
    has: async (name) => (await cache.completeSize(hubFileKey(repo, name, options))) !== null,
    size: sizeOf,
    read: async (name, readOptions) => {
      readOptions?.signal?.throwIfAborted();
      await sizeOf(name);
      return cache.readComplete(hubFileKey(repo, name, options));
    },
  };
}
