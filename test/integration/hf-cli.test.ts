// `edgelight hf inspect|download` against a loopback server with the Hub's URL layout, serving a tiny Llama
// model written by the project's own Hugging Face writer (hfConfigFromModelConfig + hfWeightsFromPolicy):
// inspect counts its parameters from the headers alone and says the architecture runs; download fetches it
// into the cache folder it prints, asks nothing the second time, and a missing repo is a one-line error.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hfModelFiles } from '../../shared/hf/peft';
import { readNamedTensors } from '../../shared/policy/checkpoint-policy';
import { countParameters, createPolicy, ModelConfigSchema } from '../../shared/policy/model';
import { selectBackend } from '../../shared/train/backend';
import { runCli } from '../helpers/cli';
import { type LoopbackHub, startLoopbackHub } from '../helpers/loopback-hub';

const files = new Map<string, Uint8Array>(); // "owner/name/file" → bytes
let hub: LoopbackHub;
let endpoint: string;
let dir: string;
const config = ModelConfigSchema.parse({
  vocabSize: 64,
  blockSize: 32,
  nLayer: 2,
  nHead: 4,
  nKvHead: 2,
  nEmbd: 16,
  mlp: 'swiglu',
  mlpHidden: 24,
  tiedHead: false,
});

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
  dir = await mkdtemp(join(tmpdir(), 'edgelight-hf-cli-'));
  const policy = createPolicy(config, { seed: 1 });
  const model = hfModelFiles(config, await readNamedTensors(policy.weights), { family: 'llama' });
  policy.dispose();
  const text = (s: string) => new TextEncoder().encode(s);
  files.set('local/tiny-llama/config.json', model.files['config.json']);
  files.set('local/tiny-llama/model.safetensors', model.files['model.safetensors']);
  files.set('local/tiny-llama/tokenizer_config.json', text('{"eos_token": "</s>"}'));
  hub = await startLoopbackHub(files);
  endpoint = hub.endpoint;
});

afterAll(async () => {
  await hub?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('edgelight hf', () => {
  it('inspect: parameters from the headers alone, and the architecture runs', async () => {
    const out = await runCli(
      'hf',
      'inspect',
      'local/tiny-llama',
      '--endpoint',
      endpoint,
      '--cache',
      join(dir, 'c1'),
    );
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const cost = JSON.parse(out.stdout);
    expect(cost.parameterCount).toBe(countParameters(config).total);
    expect(cost.float32Bytes).toBe(4 * countParameters(config).total);
    expect(cost.supported).toEqual({ ok: true });
    // Headers only: every request for the weights is a range, never the whole file.
    const weightGets = hub.requests.filter((r) => /^GET \S+\/model\.safetensors( |$)/.test(r));
    expect(weightGets.length).toBeGreaterThan(0);
    expect(weightGets.every((r) => r.includes('bytes='))).toBe(true);
  });

  it('download: into the cache folder it prints, and nothing is asked the second time', async () => {
    const cache = join(dir, 'c2');
    const first = await runCli(
      'hf',
      'download',
      'local/tiny-llama',
      '--endpoint',
      endpoint,
      '--cache',
      cache,
    );
    expect(first.code).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result.files).toEqual(
      expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer_config.json']),
    );
    expect(result.missing).toContain('tokenizer.json');
    expect((await readdir(result.folder)).sort()).toEqual(
      expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer_config.json']),
    );
    const before = hub.requests.length;
    const second = await runCli(
      'hf',
      'download',
      'local/tiny-llama',
      '--endpoint',
      endpoint,
      '--cache',
      cache,
    );
    expect(second.code).toBe(0);
    expect(hub.requests.length).toBe(before);
  });

  it('a repo the Hub does not have, and a bad request, are one-line errors', async () => {
    const missing = await runCli(
      'hf',
      'inspect',
      'local/nothing',
      '--endpoint',
      endpoint,
      '--cache',
      join(dir, 'c3'),
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/local\/nothing/);
    const bad = await runCli('hf', 'fetch', 'local/tiny-llama');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/inspect or download/);
  });
});
