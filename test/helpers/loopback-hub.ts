// A loopback Hugging Face Hub for the CLI and browser tests: `{endpoint}/{repo}/resolve/main/{file}` (the
// Hub's URL layout), with HEAD, byte ranges, an ETag that is the SHA-256 of LFS-like files, and CORS (the
// lab's page is on another port). A file can be held part-way (`holdAfter`): the first plain GET of it
// sends that many bytes and then waits, so a test sees a download in progress and cancels it; later
// requests are whole. Also a tiny Llama written by the project's own Hugging Face writer (hfModelFiles).
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hfModelFiles } from '../../shared/hf/peft';
import { readNamedTensors } from '../../shared/policy/checkpoint-policy';
import {
  countParameters,
  createPolicy,
  type ModelConfig,
  ModelConfigSchema,
} from '../../shared/policy/model';
import { PolicyTokenizer } from '../../shared/policy/tokenizer';
import { trainByteLevelBpe } from '../../shared/policy/tokenizer-train';
import { selectBackend } from '../../shared/train/backend';

export type LoopbackHub = {
  endpoint: string;
  /** "METHOD /path range" per request, in order. */
  requests: string[];
  close: () => Promise<void>;
};

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, OPTIONS',
  'access-control-allow-headers': 'range, authorization',
  'access-control-expose-headers': 'content-range, content-length, etag, x-linked-etag, x-linked-size',
};

export async function startLoopbackHub(
  files: Map<string, Uint8Array>,
  options: { holdAfter?: { path: string; bytes: number } } = {},
): Promise<LoopbackHub> {
  const requests: string[] = [];
  let held = false;
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.range ?? ''}`.trim());
    if (req.method === 'OPTIONS') {
      res.writeHead(204, CORS).end();
      return;
    }
    const match = /^\/(.+)\/resolve\/main\/(.+)$/.exec(req.url ?? '');
    const path = match ? `${match[1]}/${match[2]}` : '';
    const body = files.get(path);
    if (!body) {
      res.writeHead(404, CORS).end('not found');
      return;
    }
    const etag = `"${createHash('sha256').update(body).digest('hex')}"`;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), body.byteLength - 1) : body.byteLength - 1;
      res.writeHead(206, {
        ...CORS,
        etag,
        'content-length': end - start + 1,
        'content-range': `bytes ${start}-${end}/${body.byteLength}`,
      });
      res.end(req.method === 'HEAD' ? undefined : body.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { ...CORS, etag, 'content-length': body.byteLength });
    const hold = options.holdAfter;
    if (req.method === 'GET' && hold && hold.path === path && !held) {
      held = true;
      res.write(body.subarray(0, hold.bytes)); // the rest never comes: the client cancels
      open.add(res);
      res.on('close', () => open.delete(res));
      return;
    }
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// Long enough for the lab's feedback prompts when a run trains it.
const BLOCK_SIZE = 256;

/**
 * A tiny Llama (GQA, untied head) as a Hugging Face folder: config.json, model.safetensors (F32),
 * tokenizer.json (a byte-level BPE trained here) and tokenizer_config.json. `parameters` is the count
 * the policy gives it.
 */
export async function tinyLlamaFiles(): Promise<{
  files: Record<string, Uint8Array>;
  config: ModelConfig;
  parameters: number;
}> {
  await selectBackend({ prefer: 'cpu' });
  const tokenizer = PolicyTokenizer.fromJson(
    trainByteLevelBpe(['a tiny model served by a loopback hub', 'the lab imports it'], { vocabSize: 300 }),
    BLOCK_SIZE,
  );
  const config = ModelConfigSchema.parse({
    vocabSize: tokenizer.vocabSize,
    blockSize: BLOCK_SIZE,
    nLayer: 2,
    nHead: 4,
    nKvHead: 2,
    nEmbd: 16,
    mlp: 'swiglu',
    mlpHidden: 24,
    tiedHead: false,
  });
  const policy = createPolicy(config, { seed: 1 });
  const named = await readNamedTensors(policy.weights);
  policy.dispose();
  const { files } = hfModelFiles(config, named, { family: 'llama' });
  const text = (s: string) => new TextEncoder().encode(s);
  return {
    files: {
      ...files,
      'tokenizer.json': text(tokenizer.toText()),
      'tokenizer_config.json': text(JSON.stringify(tokenizer.configJson(BLOCK_SIZE))),
    },
    config,
    parameters: countParameters(config).total,
  };
}
