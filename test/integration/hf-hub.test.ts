import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FolderHubCache, hubEndpointFromEnv } from '../../server/hf/folder-cache';
import {
  downloadFile,
  downloadModel,
  HubHttpError,
  hubCacheFileSource,
  HubIntegrityError,
  hubFileKey,
  type ModelProgress,
} from '../../shared/hf/hub';
import { readHfModel } from '../../shared/hf/files';
import { inspectModel } from '../../shared/hf/inspect';
import { encodeSafetensors, type NamedTensors } from '../../shared/policy/safetensors';

// A stand-in Hub on loopback with the real URL layout: `/{owner}/{name}/resolve/{revision}/{file}`.
// As on huggingface.co, LFS files (the weights) answer the resolve URL with a 302 to a CDN path and
// carry the content's SHA-256 in X-Linked-Etag and the size in X-Linked-Size; small files are served
// directly with a git-blob SHA-1 ETag. Modes break the next answers in the ways the client must survive.
type Mode = 'normal' | 'drop-half' | 'corrupt' | 'stall' | 'ignore-range';

interface LoggedRequest {
  method: string;
  path: string;
  range: string | null;
  authorization: string | null;
}

const repoFiles = new Map<string, Uint8Array>(); // "owner/name/file" → bytes (revision main only)
const lfsPaths = new Set<string>();
const requests: LoggedRequest[] = [];
let mode: Mode = 'normal';
let server: http.Server;
let cdnServer: http.Server; // a second origin, as the Hub's CDN is
let endpoint: string;
let cdnEndpoint: string;
let cacheRoot: string;
const stalled = new Set<http.ServerResponse>();

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const gitBlobSha1 = (bytes: Uint8Array) =>
  createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');

function randomTensor(shape: number[], seed: number): Float32Array {
  const data = new Float32Array(shape.reduce((n, d) => n * d, 1));
  let state = seed;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    data[i] = state / 2147483648 - 0.5;
  }
  return data;
}

function tensors(entries: Array<[string, number[]]>): NamedTensors {
  return Object.fromEntries(
    entries.map(([name, shape], i) => [
      name,
      { dtype: 'F32' as const, shape, data: randomTensor(shape, i + 7) },
    ]),
  );
}

// A GPT-2-shaped tiny model: V=32, C=16, one layer, block 8. 32·16 + 8·16 + 16·48 + 48 + 16·16 + 16 + 4·16 = 1808.
const SINGLE_TENSORS: Array<[string, number[]]> = [
  ['wte.weight', [32, 16]],
  ['wpe.weight', [8, 16]],
  ['h.0.attn.c_attn.weight', [16, 48]],
  ['h.0.attn.c_attn.bias', [48]],
  ['h.0.attn.c_proj.weight', [16, 16]],
  ['h.0.attn.c_proj.bias', [16]],
  ['ln_f.weight', [16]],
  ['ln_f.bias', [16]],
  ['h.0.ln_1.weight', [16]],
  ['h.0.ln_1.bias', [16]],
];
const SINGLE_PARAMS = 32 * 16 + 8 * 16 + 16 * 48 + 48 + 16 * 16 + 16 + 4 * 16;

function addFile(repo: string, file: string, bytes: Uint8Array, lfs: boolean): void {
  repoFiles.set(`${repo}/${file}`, bytes);
  if (lfs) lfsPaths.add(`${repo}/${file}`);
}

function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

function serveBytes(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  bytes: Uint8Array,
  headers: Record<string, string>,
) {
  let body = bytes;
  let status = 200;
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (range && mode !== 'ignore-range') {
    const start = Number(range[1]);
    const end = range[2] ? Math.min(Number(range[2]), bytes.byteLength - 1) : bytes.byteLength - 1;
    if (start >= bytes.byteLength) {
      res.writeHead(416, { 'Content-Range': `bytes */${bytes.byteLength}` }).end();
      return;
    }
    body = bytes.subarray(start, end + 1);
    status = 206;
    headers['Content-Range'] = `bytes ${start}-${end}/${bytes.byteLength}`;
  }
  res.writeHead(status, { ...headers, 'Content-Length': String(body.byteLength), 'Accept-Ranges': 'bytes' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const half = body.subarray(0, Math.floor(body.byteLength / 2));
  if (mode === 'drop-half') {
    res.write(half, () => res.socket?.destroy());
  } else if (mode === 'stall') {
    res.write(half);
    stalled.add(res); // held open until the client cancels
    res.on('close', () => stalled.delete(res));
  } else if (mode === 'corrupt') {
    const copy = body.slice();
    copy[Math.floor(copy.byteLength / 2)] ^= 0xff;
    res.end(copy);
  } else {
    res.end(body);
  }
}

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://hub.test');
  requests.push({
    method: req.method ?? '',
    path: url.pathname,
    range: req.headers.range ?? null,
    authorization: req.headers.authorization ?? null,
  });
  const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
  if (cdn) {
    const match = [...repoFiles.values()].find((bytes) => sha256Hex(bytes) === cdn[1]);
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    serveBytes(req, res, match, { ETag: `"${cdn[1]}"`, 'Content-Type': 'application/octet-stream' });
    return;
  }
  if (url.pathname.startsWith('/old-owner/tiny/')) {
    // A renamed repo: the Hub answers its old name with a relative redirect to the new one.
    res.writeHead(307, { Location: url.pathname.replace('/old-owner/tiny/', '/owner/tiny/') }).end();
    return;
  }
  const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (resolve?.[2] !== 'main') {
    res.writeHead(404).end();
    return;
  }
  const path = `${resolve[1]}/${decodeURIComponent(resolve[3])}`;
  const bytes = repoFiles.get(path);
  if (!bytes) {
    res.writeHead(404).end();
    return;
  }
  if (lfsPaths.has(path)) {
    const sha = sha256Hex(bytes);
    res
      .writeHead(302, {
        Location: `${cdnEndpoint}/cdn/${sha}`,
        'X-Linked-Etag': `"${sha}"`,
        'X-Linked-Size': String(bytes.byteLength),
      })
      .end();
    return;
  }
  serveBytes(req, res, bytes, { ETag: `"${gitBlobSha1(bytes)}"` });
}

beforeAll(async () => {
  // owner/tiny: one model.safetensors; owner/sharded: an index and two shards.
  addFile(
    'owner/tiny',
    'config.json',
    jsonBytes({ architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }),
    false,
  );
  addFile('owner/tiny', 'model.safetensors', encodeSafetensors(tensors(SINGLE_TENSORS)), true);
  addFile('owner/tiny', 'tokenizer.json', jsonBytes({ model: { type: 'BPE', vocab: { a: 0 } } }), false);
  addFile('owner/tiny', 'tokenizer_config.json', jsonBytes({ tokenizer_class: 'GPT2Tokenizer' }), false);
  const shardA = tensors([
    ['model.embed_tokens.weight', [32, 16]],
    ['model.layers.0.self_attn.q_proj.weight', [16, 16]],
  ]);
  const shardB = tensors([
    ['model.layers.0.mlp.down_proj.weight', [16, 40]],
    ['model.norm.weight', [16]],
  ]);
  addFile(
    'owner/sharded',
    'config.json',
    jsonBytes({ architectures: ['LlamaForCausalLM'], model_type: 'llama' }),
    false,
  );
  addFile('owner/sharded', 'model-00001-of-00002.safetensors', encodeSafetensors(shardA), true);
  addFile('owner/sharded', 'model-00002-of-00002.safetensors', encodeSafetensors(shardB), true);
  const weightMap: Record<string, string> = {};
  for (const name of Object.keys(shardA)) weightMap[name] = 'model-00001-of-00002.safetensors';
  for (const name of Object.keys(shardB)) weightMap[name] = 'model-00002-of-00002.safetensors';
  addFile(
    'owner/sharded',
    'model.safetensors.index.json',
    jsonBytes({ metadata: { total_size: 0 }, weight_map: weightMap }),
    false,
  );

  server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cdnServer = http.createServer(handle);
  await new Promise<void>((resolve) => cdnServer.listen(0, '127.0.0.1', resolve));
  cdnEndpoint = `http://127.0.0.1:${(cdnServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of stalled) res.destroy();
  for (const running of [server, cdnServer]) {
    running.closeAllConnections();
    await new Promise<void>((resolve) => running.close(() => resolve()));
  }
});

beforeEach(async () => {
  mode = 'normal';
  requests.length = 0;
  if (cacheRoot) await rm(cacheRoot, { recursive: true, force: true });
  cacheRoot = await mkdtemp(join(tmpdir(), 'edgelight-hub-'));
});

afterAll(async () => {
  await rm(cacheRoot, { recursive: true, force: true });
});

const weights = () => repoFiles.get('owner/tiny/model.safetensors') as Uint8Array;
const weightsKey = () => hubFileKey('owner/tiny', 'model.safetensors', { endpoint });

describe('downloadFile against a loopback Hub', () => {
  it('follows the LFS redirect, reports progress up to the total and checks the SHA-256', async () => {
    const cache = new FolderHubCache(cacheRoot);
    const seen: Array<{ bytes: number; total: number | null }> = [];
    const result = await downloadFile('owner/tiny', 'model.safetensors', {
      endpoint,
      cache,
      token: 'hf_test',
      onProgress: ({ bytes, total }) => seen.push({ bytes, total }),
    });
    expect(result.verifiedSha256).toBe(sha256Hex(weights()));
    expect(seen.at(-1)).toEqual({ bytes: weights().byteLength, total: weights().byteLength });
    expect(await readFile(cache.pathOf(weightsKey()))).toEqual(Buffer.from(weights()));
    expect(requests.map((r) => r.path)).toEqual([
      '/owner/tiny/resolve/main/model.safetensors',
      `/cdn/${sha256Hex(weights())}`,
    ]);
    expect(requests[0].authorization).toBe('Bearer hf_test');
    expect(requests[1].authorization).toBeNull(); // the token stays with the Hub, not its CDN
  });

  it('resumes a dropped download with a Range request and ends byte-identical', async () => {
    const cache = new FolderHubCache(cacheRoot);
    mode = 'drop-half';
    await expect(downloadFile('owner/tiny', 'model.safetensors', { endpoint, cache })).rejects.toThrow();
    const kept = await cache.partialLength(weightsKey());
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(weights().byteLength);
    expect(await cache.completeSize(weightsKey())).toBeNull();

    mode = 'normal';
    requests.length = 0;
    const result = await downloadFile('owner/tiny', 'model.safetensors', { endpoint, cache });
    expect(requests.every((r) => r.range === `bytes=${kept}-`)).toBe(true);
    expect(result.verifiedSha256).toBe(sha256Hex(weights()));
    expect(await readFile(cache.pathOf(weightsKey()))).toEqual(Buffer.from(weights()));
  });

  it('starts over when the server answers a Range request with the whole file (200)', async () => {
    const cache = new FolderHubCache(cacheRoot);
    await cache.appendPartial(weightsKey(), weights().subarray(0, 100));
    mode = 'ignore-range';
    const result = await downloadFile('owner/tiny', 'model.safetensors', { endpoint, cache });
    expect(requests[0].range).toBe('bytes=100-');
    expect(result.size).toBe(weights().byteLength);
    expect(await readFile(cache.pathOf(weightsKey()))).toEqual(Buffer.from(weights()));
  });

  it('refuses a corrupt file and caches nothing of it', async () => {
    const cache = new FolderHubCache(cacheRoot);
    mode = 'corrupt';
    await expect(downloadFile('owner/tiny', 'model.safetensors', { endpoint, cache })).rejects.toBeInstanceOf(
      HubIntegrityError,
    );
    expect(await cache.completeSize(weightsKey())).toBeNull();
    expect(await cache.partialLength(weightsKey())).toBe(0);
  });

  it('cancels with an AbortError, keeps the partial, and a later call resumes it', async () => {
    const cache = new FolderHubCache(cacheRoot);
    mode = 'stall';
    const controller = new AbortController();
    const attempt = downloadFile('owner/tiny', 'model.safetensors', {
      endpoint,
      cache,
      signal: controller.signal,
      onProgress: ({ bytes }) => {
        if (bytes > 0) controller.abort();
      },
    });
    await expect(attempt).rejects.toMatchObject({ name: 'AbortError' });
    const kept = await cache.partialLength(weightsKey());
    expect(kept).toBeGreaterThan(0);

    mode = 'normal';
    requests.length = 0;
    await downloadFile('owner/tiny', 'model.safetensors', { endpoint, cache });
    expect(requests[0].range).toBe(`bytes=${kept}-`);
    expect(await readFile(cache.pathOf(weightsKey()))).toEqual(Buffer.from(weights()));
  });

  it("follows a renamed repo's relative redirect and still finds the SHA-256 on the next hop", async () => {
    const cache = new FolderHubCache(cacheRoot);
    const result = await downloadFile('old-owner/tiny', 'model.safetensors', { endpoint, cache });
    expect(result.verifiedSha256).toBe(sha256Hex(weights()));
    expect(requests.map((r) => r.path)).toEqual([
      '/old-owner/tiny/resolve/main/model.safetensors',
      '/owner/tiny/resolve/main/model.safetensors',
      `/cdn/${sha256Hex(weights())}`,
    ]);
  });

  it('says which file is missing (404)', async () => {
    const cache = new FolderHubCache(cacheRoot);
    await expect(downloadFile('owner/tiny', 'nope.bin', { endpoint, cache })).rejects.toBeInstanceOf(
      HubHttpError,
    );
  });
});

describe('downloadModel', () => {
  it('fetches config, weights and tokenizer files with overall progress; a cached repo makes no request', async () => {
    const progress: ModelProgress[] = [];
    const first = await downloadModel('owner/tiny', undefined, {
      endpoint,
      cache: new FolderHubCache(cacheRoot),
      onProgress: (p) => progress.push(p),
    });
    expect(first.files.map((f) => f.key.file).sort()).toEqual(
      ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].sort(),
    );
    expect(first.missing.sort()).toEqual([
      'chat_template.jinja',
      'generation_config.json',
      'merges.txt',
      'special_tokens_map.json',
      'vocab.json',
    ]);
    const total = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].reduce(
      (n, file) => n + (repoFiles.get(`owner/tiny/${file}`) as Uint8Array).byteLength,
      0,
    );
    expect(progress.at(-1)).toMatchObject({ overallBytes: total, overallTotal: total });

    // A fresh cache object on the same folder: every file, and the list of what the repo lacks, is
    // there, so not one request is made.
    requests.length = 0;
    const again = await downloadModel('owner/tiny', undefined, {
      endpoint,
      cache: new FolderHubCache(cacheRoot),
    });
    expect(requests).toEqual([]);
    expect(again.files.every((f) => f.fromCache)).toBe(true);
    expect(again.missing.sort()).toEqual(first.missing);

    // And readHfModel reads it from the cache, still without a request.
    const model = await readHfModel(
      hubCacheFileSource(new FolderHubCache(cacheRoot), 'owner/tiny', { endpoint }),
    );
    expect(requests).toEqual([]);
    expect(model.tensors['wte.weight'].shape).toEqual([32, 16]);
    expect(model.tensors['wte.weight'].data).toEqual(randomTensor([32, 16], 7));
    expect(model.tokenizerConfig).toEqual({ tokenizer_class: 'GPT2Tokenizer' });
  });

  it('downloads every shard that the index names', async () => {
    const cache = new FolderHubCache(cacheRoot);
    const result = await downloadModel('owner/sharded', undefined, { endpoint, cache });
    for (const shard of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) {
      const key = hubFileKey('owner/sharded', shard, { endpoint });
      expect(await readFile(cache.pathOf(key))).toEqual(
        Buffer.from(repoFiles.get(`owner/sharded/${shard}`) as Uint8Array),
      );
    }
    expect(result.files.filter((f) => f.verifiedSha256 !== null)).toHaveLength(2);
  });
});

describe('inspectModel', () => {
  it('counts parameters from config.json and the safetensors headers alone (range requests)', async () => {
    const cost = await inspectModel('owner/tiny', { endpoint, cache: new FolderHubCache(cacheRoot) });
    expect(cost.parameterCount).toBe(SINGLE_PARAMS);
    expect(cost.dtypes).toEqual({ F32: SINGLE_PARAMS });
    expect(cost.architecture).toBe('GPT2LMHeadModel');
    expect(cost.downloadBytes).toBe(weights().byteLength);
    expect(cost.float32Bytes).toBe(SINGLE_PARAMS * 4);
    const weightRequests = requests.filter((r) => r.path.startsWith('/cdn/'));
    expect(weightRequests.map((r) => r.range)).toEqual(['bytes=0-7', expect.stringMatching(/^bytes=8-\d+$/)]);
  });

  it('reads the header from the start of the body when the server ignores Range', async () => {
    mode = 'ignore-range';
    const cost = await inspectModel('owner/tiny', { endpoint });
    expect(cost.parameterCount).toBe(SINGLE_PARAMS);
    expect(cost.downloadBytes).toBe(weights().byteLength);
  });

  it('adds up the shards of a sharded checkpoint', async () => {
    const cost = await inspectModel('owner/sharded', { endpoint });
    expect(cost.parameterCount).toBe(32 * 16 + 16 * 16 + 16 * 40 + 16);
    expect(cost.files.map((f) => f.file)).toEqual([
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
    expect(cost.architecture).toBe('LlamaForCausalLM');
  });
});

describe('hubEndpointFromEnv', () => {
  it('reads HF_ENDPOINT, defaulting to huggingface.co', () => {
    expect(hubEndpointFromEnv({})).toBe('https://huggingface.co');
    expect(hubEndpointFromEnv({ HF_ENDPOINT: 'https://hf-mirror.example/' })).toBe(
      'https://hf-mirror.example',
    );
    expect(() => hubEndpointFromEnv({ HF_ENDPOINT: 'not a url' })).toThrow(/HF_ENDPOINT/);
  });
});
