// `edgelight train --base`: a pretrained model as a run's starting policy. A loopback server with the Hub's
// URL layout serves a tiny Llama (written by the project's own HF writer) whose tokenizer is a chat
// model's: ChatML special tokens, eos <|endoftext|> (as base SmolLM2's), the template in a separate
// chat_template.jinja. SFT starts from it by repo id (downloaded into the cache), GRPO with a LoRA adapter
// from the cached folder by path; the checkpoints keep the model's tokenizer_config.json and template, and
// the run trains on prompts rendered by the template with replies closed by <|im_end|>.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hfModelFiles } from '../../shared/hf/peft';
import { readNamedTensors } from '../../shared/policy/checkpoint-policy';
import { createPolicy, ModelConfigSchema } from '../../shared/policy/model';
import { encodeSftPair } from '../../shared/policy/sequence';
import { PolicyTokenizer } from '../../shared/policy/tokenizer';
import { trainByteLevelBpe } from '../../shared/policy/tokenizer-train';
import { selectBackend } from '../../shared/train/backend';
import { runCli } from '../helpers/cli';
import { type LoopbackHub, startLoopbackHub } from '../helpers/loopback-hub';

const CHATML =
  "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
const REPO = 'local/chat-llama';
const files = new Map<string, Uint8Array>(); // "owner/name/file" → bytes
let hub: LoopbackHub;
let endpoint: string;
let dir: string;
let tokenizerJson: ReturnType<typeof trainByteLevelBpe>;
const tokenizerConfig = { eos_token: '<|endoftext|>', clean_up_tokenization_spaces: false };

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
  dir = await mkdtemp(join(tmpdir(), 'edgelight-train-base-'));
  // Byte-level BPE covers any text; a few sentences give it some merges.
  const texts = [
    'Thank you for your feedback about the login page. We are looking into it.',
    'Category: bug\nSentiment: negative\nFeedback: the export button fails every time.\nReply:',
    'We are sorry the app crashed. Our team has fixed the problem in the latest version.',
  ];
  tokenizerJson = trainByteLevelBpe(texts, {
    vocabSize: 400,
    specialTokens: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'],
  });
  const tokenizer = PolicyTokenizer.fromFiles(tokenizerJson, tokenizerConfig, { chatTemplate: CHATML });
  const config = ModelConfigSchema.parse({
    vocabSize: tokenizer.vocabSize,
    blockSize: 128,
    nLayer: 1,
    nHead: 2,
    nKvHead: 1,
    nEmbd: 16,
    mlp: 'swiglu',
    mlpHidden: 32,
  });
  const policy = createPolicy(config, { seed: 1 });
  const model = hfModelFiles(config, await readNamedTensors(policy.weights), { family: 'llama' });
  policy.dispose();
  const text = (s: string) => new TextEncoder().encode(s);
  files.set(`${REPO}/config.json`, model.files['config.json']);
  files.set(`${REPO}/model.safetensors`, model.files['model.safetensors']);
  files.set(`${REPO}/tokenizer.json`, text(JSON.stringify(tokenizerJson)));
  files.set(`${REPO}/tokenizer_config.json`, text(JSON.stringify(tokenizerConfig)));
  files.set(`${REPO}/chat_template.jinja`, text(CHATML));
  hub = await startLoopbackHub(files);
  endpoint = hub.endpoint;
});

afterAll(async () => {
  await hub?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI with the Hub endpoint and cache set as a user would, through the environment. */
async function withHub<T>(run: () => Promise<T>): Promise<T> {
  const saved = { endpoint: process.env.HF_ENDPOINT, cache: process.env.EDGELIGHT_HUB_CACHE };
  process.env.HF_ENDPOINT = endpoint;
  process.env.EDGELIGHT_HUB_CACHE = join(dir, 'hub');
  try {
    return await run();
  } finally {
    for (const [key, value] of [
      ['HF_ENDPOINT', saved.endpoint],
      ['EDGELIGHT_HUB_CACHE', saved.cache],
    ] as const)
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
  }
}

describe('a chat model’s tokenizer as the policy’s', () => {
  it('renders prompts with the template and ends replies with the token that closes the turn', () => {
    const tokenizer = PolicyTokenizer.fromFiles(tokenizerJson, tokenizerConfig, { chatTemplate: CHATML });
    const imEnd = tokenizer.tokenId('<|im_end|>');
    expect(tokenizer.eosId).toBe(imEnd); // not the config's <|endoftext|>
    expect(tokenizer.bosId).toBeNull();
    expect(tokenizer.padId).toBe(tokenizer.tokenId('<|endoftext|>'));
    const { promptIds, completionIds } = encodeSftPair(
      tokenizer,
      'Category: bug\nReply:',
      'Thanks.',
      128,
      16,
    );
    expect(tokenizer.decode(promptIds)).toBe(
      '<|im_start|>user\nCategory: bug\nReply:<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(completionIds.at(-1)).toBe(imEnd);
    expect(tokenizer.decode(completionIds)).toBe('Thanks.<|im_end|>');
  });
});

describe('edgelight train --base', () => {
  it('SFT from a Hub repo id: downloaded, trained, its tokenizer files kept', async () => {
    const out = join(dir, 'sft');
    const result = await withHub(() =>
      runCli('train', '--algo', 'sft', '--base', REPO, '--steps', '2', '--batch', '2', '--out', out),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/base: local\/chat-llama@main from http:\/\/127\.0\.0\.1/);
    expect(result.stderr).toMatch(/init: .*chat-llama.* weights only/);
    const step = join(out, 'step-000002');
    const kept = JSON.parse(await readFile(join(step, 'tokenizer_config.json'), 'utf8'));
    expect(kept).toEqual({ ...tokenizerConfig, chat_template: CHATML });
    expect(await readFile(join(step, 'tokenizer.json'), 'utf8')).toBe(JSON.stringify(tokenizerJson));
    const config = JSON.parse(await readFile(join(step, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ mlp: 'swiglu', nKvHead: 1, blockSize: 128, padId: 0 });
  });

  it('GRPO with a LoRA adapter from the cached model folder, by path', async () => {
    const folder = join(dir, 'hub', ...(await cachedFolderSegments()));
    const out = join(dir, 'grpo');
    const result = await runCli(
      'train',
      '--algo',
      'grpo',
      '--base',
      folder,
      '--lora-rank',
      '2',
      '--steps',
      '1',
      '--batch',
      '1',
      '--group',
      '2',
      '--max-new-tokens',
      '8',
      '--out',
      out,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/LoRA: rank 2/);
    const config = JSON.parse(await readFile(join(out, 'step-000001', 'config.json'), 'utf8'));
    expect(config.lora).toMatchObject({ rank: 2, family: 'llama', targets: ['q_proj', 'v_proj'] });
  });

  it('refuses what it cannot start from, in one line', async () => {
    const missing = await withHub(() =>
      runCli('train', '--algo', 'sft', '--base', 'local/none', '--steps', '1'),
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--base local\/none: .*404/);
    const both = await runCli('train', '--algo', 'sft', '--base', 'a/b', '--init', 'x', '--steps', '1');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--base or --init, not both/);
    const notRepo = await runCli('train', '--algo', 'sft', '--base', '/no/such/folder', '--steps', '1');
    expect(notRepo.code).toBe(2);
    expect(notRepo.stderr).toMatch(/no such folder, and not a Hub repo id/);
  });
});

/** The cache folder's path segments for REPO's files (shared/hf/hub-cache.ts lays them out). */
async function cachedFolderSegments(): Promise<string[]> {
  const { hubKeySegments } = await import('../../shared/hf/hub-cache');
  const { hubFileKey } = await import('../../shared/hf/hub');
  return hubKeySegments(hubFileKey(REPO, 'config.json', { endpoint, revision: 'main' })).slice(0, -1);
}
