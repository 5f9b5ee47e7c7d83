import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  readCheckpointDirectory,
  DirectoryBlobStorage,
  writeCheckpointDirectory,
} from '../../../server/checkpoints/directory';
import {
  type Checkpoint,
  CheckpointError,
  checkpointFromFiles,
  checkpointToFiles,
  loadCheckpoint,
  MemoryBlobStorage,
  saveCheckpoint,
  sha256Hex,
} from '../../../shared/policy/checkpoint';
import { decodeSafetensors } from '../../../shared/policy/safetensors';
import { PolicyTokenizer } from '../../../shared/policy/tokenizer';
import { trainByteLevelBpe } from '../../../shared/policy/tokenizer-train';

const tokenizer = JSON.stringify(
  trainByteLevelBpe(['thank you for the report, we are looking into it'], { vocabSize: 280 }),
);

function makeCheckpoint(scale = 1): Checkpoint {
  return {
    config: { vocabSize: 280, blockSize: 64, nLayer: 1, nEmbd: 8 },
    weights: {
      'wte.weight': {
        dtype: 'F32',
        shape: [280, 8],
        data: new Float32Array(280 * 8).map((_, i) => scale * Math.cos(i)),
      },
      'ln_f.weight': { dtype: 'F32', shape: [8], data: new Float32Array(8).fill(1) },
    },
    tokenizer,
    optimizer: {
      tensors: {
        'wte.weight.m': { dtype: 'F32', shape: [280, 8], data: new Float32Array(280 * 8).fill(0.25) },
      },
      metadata: { step: '3', beta1: '0.9' },
    },
    trainer: { step: 3, algo: 'sft', seed: 42, rng: [1, 2, 3, 4], cursor: 12, options: { preset: 'tiny' } },
  };
}

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgelight-ckpt-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('checkpoints', () => {
  it('hashes stably: the id is the SHA-256 of the manifest and equal content gives equal ids', async () => {
    const a = await checkpointToFiles(makeCheckpoint());
    const b = await checkpointToFiles(makeCheckpoint());
    const c = await checkpointToFiles(makeCheckpoint(2));
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
    expect(a.id).toBe(b.id);
    expect(c.id).not.toBe(a.id);
    expect(a.id).toBe(await sha256Hex(a.files['manifest.json']));
    // The SHA-256 of 'abc' (FIPS 180-2 test vector) pins the digest function itself.
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    const manifest = JSON.parse(new TextDecoder().decode(a.files['manifest.json']));
    expect(Object.keys(manifest.files).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'optimizer.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'trainer_state.json',
    ]);
    expect(manifest.files['model.safetensors'].sha256).toBe(await sha256Hex(a.files['model.safetensors']));
  });

  it('round-trips through files, blob storage and a folder, weights bit for bit', async () => {
    const original = makeCheckpoint();
    const { id, files } = await checkpointToFiles(original);
    const fromFiles = await checkpointFromFiles(files);
    expect(fromFiles.id).toBe(id);
    expect(fromFiles.checkpoint).toEqual(original);

    const blobs = new MemoryBlobStorage();
    expect(await saveCheckpoint(blobs, original)).toBe(id);
    expect(await loadCheckpoint(blobs, id)).toEqual(original);

    const dir = await tempDir();
    expect(await writeCheckpointDirectory(dir, original)).toBe(id);
    const fromDir = await readCheckpointDirectory(dir);
    expect(fromDir.id).toBe(id);
    expect(fromDir.checkpoint).toEqual(original);
    // The folder opens as plain files: safetensors weights and a tokenizer.json transformers.js loads.
    const weights = decodeSafetensors(new Uint8Array(await readFile(join(dir, 'model.safetensors'))));
    expect(weights.metadata).toEqual({ format: 'pt' });
    const tok = PolicyTokenizer.fromText(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
    expect(tok.decode(tok.encode('thank you'))).toBe('thank you');
    const tokConfig = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8'));
    expect(tokConfig.eos_token).toBe('<|eos|>');

    const fsBlobs = new DirectoryBlobStorage(await tempDir());
    await saveCheckpoint(fsBlobs, original);
    await saveCheckpoint(fsBlobs, original);
    expect(await loadCheckpoint(fsBlobs, id)).toEqual(original);
    expect(await fsBlobs.get('0'.repeat(64))).toBeUndefined();
  });

  it('a directory blob that fails its hash is quarantined and written again on put (issue 19)', async () => {
    const root = join(await tempDir(), 'blobs');
    const fsBlobs = new DirectoryBlobStorage(root);
    const bytes = new TextEncoder().encode('checkpoint bytes');
    const id = await sha256Hex(bytes);
    await fsBlobs.put(id, bytes);
    const path = join(root, id.slice(0, 2), id);
    await writeFile(path, 'flipped');
    await fsBlobs.put(id, bytes);
    expect(await fsBlobs.get(id)).toEqual(bytes);
    const quarantined = await readdir(`${root}-quarantine`);
    expect(quarantined).toHaveLength(1);
    expect(await readFile(join(`${root}-quarantine`, quarantined[0]), 'utf8')).toBe('flipped');
  });

  it("keeps a pretrained model's tokenizer_config.json; edgelight's own roles stay implicit", async () => {
    const edgelight = await checkpointToFiles(makeCheckpoint());
    const read = await checkpointFromFiles(edgelight.files);
    expect(read.checkpoint.tokenizerConfig).toBeUndefined();
    const roles = JSON.parse(new TextDecoder().decode(edgelight.files['tokenizer_config.json']));
    expect(roles).toMatchObject({ eos_token: '<|eos|>', model_max_length: 64 });

    const chat = { eos_token: '<|eos|>', chat_template: '{{ messages[0].content }}' };
    const pretrained = await checkpointToFiles({ ...makeCheckpoint(), tokenizerConfig: chat });
    expect(pretrained.id).not.toBe(edgelight.id);
    const back = await checkpointFromFiles(pretrained.files);
    expect(back.id).toBe(pretrained.id);
    expect(back.checkpoint.tokenizerConfig).toEqual(chat);
    const opened = PolicyTokenizer.fromFiles(JSON.parse(tokenizer), back.checkpoint.tokenizerConfig);
    expect(opened.chatTemplate).toBe(chat.chat_template);
    expect(opened.configJson(64)).toEqual(chat);
  });

  it('gives a folder without a manifest the id of its canonical files', async () => {
    const { id, files } = await checkpointToFiles(makeCheckpoint());
    const { 'manifest.json': _, ...rest } = files;
    expect((await checkpointFromFiles(rest)).id).toBe(id);
  });

  it('rejects incomplete, corrupted or foreign checkpoints with a CheckpointError', async () => {
    const { id, files } = await checkpointToFiles(makeCheckpoint());
    const without = (name: string) => Object.fromEntries(Object.entries(files).filter(([n]) => n !== name));
    const flipped = { ...files, 'model.safetensors': files['model.safetensors'].slice() };
    flipped['model.safetensors'][100] ^= 1;
    const { 'manifest.json': _, ...noManifest } = files;
    const cases: [Record<string, Uint8Array>, RegExp][] = [
      [without('model.safetensors'), /missing model\.safetensors listed in its manifest/],
      [flipped, /model\.safetensors does not match its SHA-256/],
      [{ ...noManifest, 'config.json': new TextEncoder().encode('[') }, /config\.json is not valid JSON/],
      [{ ...noManifest, 'model.safetensors': new Uint8Array(4) }, /model\.safetensors: file is 4 bytes/],
      [
        // The trainer's schema is the session's (shared/train/trainer-state.ts); here it must be an object.
        { ...noManifest, 'trainer_state.json': new TextEncoder().encode('[1]') },
        /trainer_state\.json must hold a JSON object/,
      ],
      [
        { 'manifest.json': new TextEncoder().encode('{"format":"other"}') },
        /not an edgelight-checkpoint\/1 manifest/,
      ],
      [without('tokenizer.json'), /missing tokenizer\.json/],
    ];
    for (const [broken, message] of cases) {
      const attempt = checkpointFromFiles(broken);
      await expect(attempt).rejects.toThrow(CheckpointError);
      await expect(checkpointFromFiles(broken)).rejects.toThrow(message);
    }
    const blobs = new MemoryBlobStorage();
    await expect(loadCheckpoint(blobs, 'nope')).rejects.toThrow(/not a checkpoint id/);
    await expect(loadCheckpoint(blobs, id)).rejects.toThrow(/no checkpoint/);
    await blobs.put(id, new TextEncoder().encode('tampered'));
    await expect(loadCheckpoint(blobs, id)).rejects.toThrow(/corrupted/);

    await expect(readCheckpointDirectory('/nonexistent/edgelight')).rejects.toThrow(/no checkpoint folder/);
    const dir = await tempDir();
    await writeCheckpointDirectory(dir, makeCheckpoint());
    await writeFile(join(dir, 'config.json'), '{"edited":true}');
    await expect(readCheckpointDirectory(dir)).rejects.toThrow(/config\.json does not match/);
  });
});
