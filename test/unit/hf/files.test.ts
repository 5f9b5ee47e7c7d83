// readHfModel over real folders on disk (server/hf/folder-source.ts) and over File objects
// (fileSourceFromFiles): single-file and sharded weights, F16/BF16 widening, and the errors that name
// the missing or malformed file.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type HfTensors,
  hfWeightsFromPolicy,
  modelConfigFromHf,
  policyWeightsFromHf,
} from '../../../shared/hf/architecture';
import {
  type FileSource,
  fileSourceFromFiles,
  HfFilesError,
  type ReadProgress,
  readHfModel,
} from '../../../shared/hf/files';
import { weightShapes } from '../../../shared/policy/model';
import { bf16BitsFromFloat, encodeSafetensors, type NamedTensors } from '../../../shared/policy/safetensors';
import { folderSource } from '../../../server/hf/folder-source';

const config = { model_type: 'gpt2', vocab_size: 8 };
const tokenizerJson = { version: '1.0', model: { type: 'BPE' } };
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

const folders: string[] = [];
afterEach(async () => {
  await Promise.all(folders.splice(0).map((f) => rm(f, { recursive: true, force: true })));
});

async function folderWith(files: Record<string, Uint8Array>): Promise<FileSource> {
  const folder = await mkdtemp(path.join(tmpdir(), 'hf-files-'));
  folders.push(folder);
  for (const [name, bytes] of Object.entries(files)) await writeFile(path.join(folder, name), bytes);
  return folderSource(folder);
}

const f32 = (...values: number[]) => ({
  dtype: 'F32' as const,
  shape: [values.length],
  data: new Float32Array(values),
});

describe('readHfModel', () => {
  it('reads a single model.safetensors with its JSON files, widening BF16 and F16 to float32', async () => {
    const weights: NamedTensors = {
      'wte.weight': { dtype: 'BF16', shape: [2, 2], data: new Float32Array([1, -2, 0.5, 3.140625]) },
      'ln_f.weight': { dtype: 'F16', shape: [2], data: new Float32Array([0.25, -0]) },
      'ln_f.bias': f32(7, 8),
    };
    const files = {
      'config.json': json(config),
      'tokenizer.json': json(tokenizerJson),
      'generation_config.json': json({ eos_token_id: 2 }),
      'model.safetensors': encodeSafetensors(weights),
    };
    const progress: ReadProgress[] = [];
    const model = await readHfModel(await folderWith(files), { onProgress: (p) => progress.push(p) });
    expect(model.config).toEqual(config);
    expect(model.tokenizerJson).toEqual(tokenizerJson);
    expect(model.tokenizerConfig).toBeNull();
    expect(model.generationConfig).toEqual({ eos_token_id: 2 });
    const total = Object.values(files).reduce((n, b) => n + b.length, 0);
    expect(model.bytes).toBe(total);
    expect(progress.map((p) => p.file).sort()).toEqual(Object.keys(files).sort());
    expect(progress.at(-1)).toEqual({ file: 'model.safetensors', bytesRead: total, bytesTotal: total });
    expect(model.tensors['wte.weight']).toEqual({
      shape: [2, 2],
      data: new Float32Array([1, -2, 0.5, 3.140625]),
      dtype: 'BF16',
    });
    expect(model.tensors['ln_f.weight'].dtype).toBe('F16');
    expect(Object.is(model.tensors['ln_f.weight'].data[1], -0)).toBe(true);
    // What architecture.ts's policyWeightsFromHf takes.
    const asHf: HfTensors = model.tensors;
    expect(Object.keys(asHf).sort()).toEqual(['ln_f.bias', 'ln_f.weight', 'wte.weight']);
  });

  it('reads sharded weights, each tensor from exactly the shard the index names', async () => {
    const shard1 = encodeSafetensors({ a: f32(1, 2), shared: f32(-1) });
    const shard2 = encodeSafetensors({
      b: { dtype: 'F16', shape: [1], data: new Float32Array([4]) },
      shared: f32(9),
    });
    const index = {
      metadata: { total_size: 16 },
      weight_map: {
        a: 'model-00001-of-00002.safetensors',
        b: 'model-00002-of-00002.safetensors',
        shared: 'model-00002-of-00002.safetensors',
      },
    };
    const source = await folderWith({
      'config.json': json(config),
      'tokenizer.json': json(tokenizerJson),
      'tokenizer_config.json': json({ eos_token: '<|endoftext|>' }),
      'model.safetensors.index.json': json(index),
      'model-00001-of-00002.safetensors': shard1,
      'model-00002-of-00002.safetensors': shard2,
    });
    const model = await readHfModel(source);
    expect(Object.keys(model.tensors).sort()).toEqual(['a', 'b', 'shared']);
    expect(Array.from(model.tensors.a.data)).toEqual([1, 2]);
    expect(Array.from(model.tensors.b.data)).toEqual([4]);
    expect(Array.from(model.tensors.shared.data)).toEqual([9]); // the indexed shard's copy, not shard 1's
    expect(model.tokenizerConfig).toEqual({ eos_token: '<|endoftext|>' });
    expect(model.chatTemplate).toBeNull();
  });

  it('reads a separate chat_template.jinja as text', async () => {
    const template = "{% for m in messages %}{{ m['content'] }}{% endfor %}\n";
    const source = await folderWith({
      'config.json': json(config),
      'tokenizer.json': json(tokenizerJson),
      'chat_template.jinja': new TextEncoder().encode(template),
      'model.safetensors': encodeSafetensors({ a: f32(1) }),
    });
    expect((await readHfModel(source)).chatTemplate).toBe(template);
  });

  it('feeds a sharded BF16 Llama folder into architecture.ts, values exactly the BF16-rounded ones', async () => {
    const llama = {
      model_type: 'llama',
      vocab_size: 12,
      hidden_size: 8,
      intermediate_size: 12,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      max_position_embeddings: 16,
      hidden_act: 'silu',
      tie_word_embeddings: false,
    };
    const modelConfig = modelConfigFromHf(llama);
    const policy: HfTensors = {};
    let seed = 1;
    for (const [name, shape] of weightShapes(modelConfig)) {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => {
        seed = (seed * 16807) % 2147483647;
        return seed / 2147483647 - 0.5;
      });
      policy[name] = { shape, data };
    }
    const hf = hfWeightsFromPolicy(policy, llama);
    // Two shards by layer, as transformers splits them; written as BF16 like Hub checkpoints.
    const shards: Record<string, NamedTensors> = {
      'model-00001-of-00002.safetensors': {},
      'model-00002-of-00002.safetensors': {},
    };
    const weightMap: Record<string, string> = {};
    for (const [name, t] of Object.entries(hf)) {
      const shard =
        name.includes('layers.1.') || name === 'lm_head.weight'
          ? 'model-00002-of-00002.safetensors'
          : 'model-00001-of-00002.safetensors';
      shards[shard][name] = { dtype: 'BF16', shape: t.shape, data: t.data };
      weightMap[name] = shard;
    }
    const source = await folderWith({
      'config.json': json(llama),
      'tokenizer.json': json(tokenizerJson),
      'model.safetensors.index.json': json({ metadata: {}, weight_map: weightMap }),
      ...Object.fromEntries(Object.entries(shards).map(([file, t]) => [file, encodeSafetensors(t)])),
    });
    const model = await readHfModel(source);
    const back = policyWeightsFromHf(model.tensors, modelConfigFromHf(model.config));
    const toBf16 = (v: number) => {
      const bits = new Uint32Array([bf16BitsFromFloat(v) << 16]);
      return new Float32Array(bits.buffer)[0];
    };
    expect(Object.keys(back).sort()).toEqual(Object.keys(policy).sort());
    for (const [name, t] of Object.entries(policy)) {
      expect(back[name].shape, name).toEqual(t.shape);
      expect(Array.from(back[name].data), name).toEqual(Array.from(t.data, toBf16));
    }
  });

  it('names the missing or malformed file', async () => {
    const base = { 'config.json': json(config), 'tokenizer.json': json(tokenizerJson) };
    const shard = encodeSafetensors({ a: f32(1) });
    const cases: [Record<string, Uint8Array>, RegExp][] = [
      [{ 'tokenizer.json': json(tokenizerJson), 'model.safetensors': shard }, /config\.json is missing from/],
      [{ 'config.json': json(config), 'model.safetensors': shard }, /tokenizer\.json is missing/],
      [base, /neither model\.safetensors nor model\.safetensors\.index\.json/],
      [{ ...base, 'pytorch_model.bin': new Uint8Array(4) }, /pytorch_model\.bin is not read/],
      [
        { ...base, 'config.json': new TextEncoder().encode('{oops'), 'model.safetensors': shard },
        /config\.json in .* is not UTF-8 JSON/,
      ],
      [
        { ...base, 'model.safetensors': new Uint8Array(3) },
        /model\.safetensors in .*shorter than the 8-byte/,
      ],
      [
        {
          ...base,
          'model.safetensors.index.json': json({ weight_map: { a: 's1.safetensors', b: 's2.safetensors' } }),
          's1.safetensors': shard,
        },
        /shard s2\.safetensors named by model\.safetensors\.index\.json is missing/,
      ],
      [
        {
          ...base,
          'model.safetensors.index.json': json({ weight_map: { a: 's1.safetensors', z: 's1.safetensors' } }),
          's1.safetensors': shard,
        },
        /tensor z: model\.safetensors\.index\.json puts it in s1\.safetensors, which does not hold it/,
      ],
      [{ ...base, 'model.safetensors.index.json': json({ weight_map: {} }) }, /weight_map lists no tensors/],
      [
        { ...base, 'model.safetensors.index.json': json({ weight_map: { a: '../x.safetensors' } }) },
        /weight_map\.a: a shard must be/,
      ],
      [{ ...base, 'model.safetensors.index.json': json({ tensors: [] }) }, /weight_map/],
    ];
    for (const [files, message] of cases) {
      const attempt = readHfModel(await folderWith(files));
      await expect(attempt).rejects.toThrow(HfFilesError);
      await expect(readHfModel(await folderWith(files))).rejects.toThrow(message);
    }
  });

  it('stops when the signal is aborted', async () => {
    const source = await folderWith({
      'config.json': json(config),
      'tokenizer.json': json(tokenizerJson),
      'model.safetensors': encodeSafetensors({ a: f32(1) }),
    });
    const controller = new AbortController();
    const read = readHfModel(source, {
      signal: controller.signal,
      onProgress: () => controller.abort(new Error('cancelled by the test')),
    });
    await expect(read).rejects.toThrow('cancelled by the test');
  });
});

describe('file sources', () => {
  it('folderSource refuses names outside the folder and paths that are not folders', async () => {
    const source = await folderWith({ 'config.json': json(config) });
    expect(await source.has('config.json')).toBe(true);
    expect(await source.has('nope.json')).toBe(false);
    expect(await source.size('config.json')).toBe(json(config).length);
    await expect(source.has('../config.json')).rejects.toThrow(/not a file name inside/);
    await expect(source.read('nope.json')).rejects.toThrow(/nope\.json is missing from/);
    await expect(folderSource(path.join(tmpdir(), 'no-such-folder-hf-files'))).rejects.toThrow(
      /is not a folder/,
    );
  });

  it('fileSourceFromFiles reads File objects by their name in the picked folder', async () => {
    const picked = (relative: string, bytes: Uint8Array) => {
      const file = new File([new Uint8Array(bytes)], path.basename(relative));
      Object.defineProperty(file, 'webkitRelativePath', { value: relative });
      return file;
    };
    const files = [
      picked('my-model/config.json', json(config)),
      picked('my-model/tokenizer.json', json(tokenizerJson)),
      new File([new Uint8Array(encodeSafetensors({ a: f32(5, 6) }))], 'model.safetensors'), // dropped, not picked
      picked('my-model/onnx/config.json', json({ other: true })),
    ];
    const source = fileSourceFromFiles(files);
    expect(source.has('onnx/config.json')).toBe(true);
    const model = await readHfModel(source);
    expect(model.config).toEqual(config);
    expect(Array.from(model.tensors.a.data)).toEqual([5, 6]);
    expect(() => fileSourceFromFiles([files[0], picked('other/config.json', json({}))])).toThrow(
      /config\.json was given twice/,
    );
  });
});
