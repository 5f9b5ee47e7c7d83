// The serving side's policy cache (a blob folder on disk, LRU of 2, one shared load per id, a queue per
// policy) and the batcher that samples requests waiting for one policy together.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryBlobStorage } from '../../server/checkpoints/directory';
import { GenerationBatcher, type GenerationRequest } from '../../server/serving/generation-batch';
import { PolicyCache, UnknownCheckpointError } from '../../server/serving/policy-cache';
import { importStarter } from '../../server/serving/served';
import { loadCheckpoint, saveCheckpoint } from '../../shared/policy/checkpoint';
import { checkpointFromPolicy, policyFromCheckpoint } from '../../shared/policy/checkpoint-policy';
import { createPolicy } from '../../shared/policy/model';

describe('serving: policy cache and generation batches', () => {
  let dir: string;
  let blobs: DirectoryBlobStorage;
  const ids: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-serving-'));
    blobs = new DirectoryBlobStorage(join(dir, 'blobs'));
    const starter = await importStarter(blobs);
    const { tokenizer, policy } = policyFromCheckpoint(await loadCheckpoint(blobs, starter));
    policy.dispose();
    for (const seed of [1, 2, 3]) {
      const micro = createPolicy(
        { vocabSize: 2000, blockSize: 64, nLayer: 1, nHead: 1, nEmbd: 16, padId: tokenizer.padId },
        { seed },
      );
      ids.push(await saveCheckpoint(blobs, await checkpointFromPolicy(micro, tokenizer)));
      micro.dispose();
    }
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads an id once for concurrent callers, keeps two, frees the least recently used', async () => {
    const cache = new PolicyCache({ blobs, backend: 'wasm' });
    const [a1, a2] = await Promise.all([cache.get(ids[0]), cache.get(ids[0])]);
    expect(a1).toBe(a2);
    const b = await cache.get(ids[1]);
    await cache.get(ids[0]); // a is now the most recently used
    await cache.get(ids[2]); // evicts b
    expect(cache.ids()).toEqual([ids[0], ids[2]]);
    await b.exclusive(async () => undefined).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(Object.values(b.policy.weights)[0].isDisposed).toBe(true);
    // use() looks an evicted id up again: it loads anew.
    const again = await cache.use(ids[1], async (loaded) => loaded);
    expect(again).not.toBe(b);
    expect(Object.values(again.policy.weights)[0].isDisposed).toBe(false);
    await cache.close();
  });

  it('answers an id the blob folder lacks with UnknownCheckpointError', async () => {
    const cache = new PolicyCache({ blobs });
    await expect(cache.get('a'.repeat(64))).rejects.toBeInstanceOf(UnknownCheckpointError);
    await expect(cache.get('not-an-id')).rejects.toBeInstanceOf(UnknownCheckpointError);
    expect(await cache.has('a'.repeat(64))).toBe(false);
    expect(await cache.has(ids[0])).toBe(true);
    expect(cache.ids()).toEqual([]);
  });

  it('samples requests that waited together in one generate call, each as it would alone', async () => {
    const cache = new PolicyCache({ blobs });
    const batcher = new GenerationBatcher(cache);
    const { tokenizer } = await cache.get(ids[0]);
    const request = (text: string, seen: number[]): GenerationRequest => ({
      promptIds: [tokenizer.bosId as number, ...tokenizer.encode(text)],
      seed: 7,
      n: 2,
      maxNewTokens: 6,
      temperature: 0,
      topP: 1,
      onStep: ({ firstRow }) => {
        seen.push(firstRow);
      },
    });
    const texts = ['The form spins.', 'Thanks for the docs!', 'Search is broken for pricing.'];
    const alone = [];
    for (const text of texts) alone.push(await batcher.generate(ids[0], request(text, [])));
    const seen = texts.map(() => [] as number[]);
    const together = await Promise.all(
      texts.map((text, i) => batcher.generate(ids[0], request(text, seen[i]))),
    );
    // Requests that waited share a call: each keeps its place (rows firstRow, firstRow + 1) throughout.
    expect(seen.every((steps) => steps.length > 0 && new Set(steps).size === 1)).toBe(true);
    expect(seen.some((steps) => steps[0] > 0)).toBe(true);
    expect(together.map((rows) => rows.map((r) => r.tokens))).toEqual(
      alone.map((rows) => rows.map((r) => r.tokens)),
    );
    expect(together.every((rows) => rows.map((r) => r.sample).join() === '0,1')).toBe(true);
    await cache.close();
  });
});
