import * as tf from '../../../shared/policy/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  checkpointToFiles,
  loadCheckpoint,
  MemoryBlobStorage,
  removeCheckpoint,
  saveCheckpoint,
} from '../../../shared/policy/checkpoint';
import { checkpointFromPolicy, policyFromCheckpoint } from '../../../shared/policy/checkpoint-policy';
import { createPolicy } from '../../../shared/policy/model';
import { PolicyTokenizer } from '../../../shared/policy/tokenizer';
import { trainByteLevelBpe } from '../../../shared/policy/tokenizer-train';
import { selectBackend } from '../../../shared/train/backend';

const tokenizer = PolicyTokenizer.fromJson(
  trainByteLevelBpe(['thank you for the report'], { vocabSize: 270 }),
);
const config = {
  vocabSize: tokenizer.vocabSize,
  blockSize: 16,
  nLayer: 1,
  nHead: 2,
  nEmbd: 8,
  padId: tokenizer.padId,
};

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
});

describe('policy checkpoints', () => {
  it('restores a policy with identical weights and logits, and leaks no tensors', async () => {
    const policy = createPolicy(config, { seed: 11 });
    // The first forward builds the RoPE tables, which stay cached (rope.ts): build them before counting.
    tf.tidy(() => policy.forward(tf.tensor2d([[1]], [1, 1], 'int32')));
    const before = tf.memory().numTensors;
    const checkpoint = await checkpointFromPolicy(policy, tokenizer);
    const restored = policyFromCheckpoint(checkpoint);
    expect(tf.memory().numTensors - before).toBe(Object.keys(policy.weights).length);
    for (const [name, w] of Object.entries(policy.weights))
      expect(Array.from(await restored.policy.weights[name].data()), name).toEqual(
        Array.from(await w.data()),
      );
    const ids = tf.tensor2d([[1, 5, 7, 9]], [1, 4], 'int32');
    const [a, b] = [policy.forward(ids), restored.policy.forward(ids)];
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    tf.dispose([ids, a, b]);
    expect(restored.tokenizer.encode('thank you')).toEqual(tokenizer.encode('thank you'));
    restored.policy.dispose();
    expect(tf.memory().numTensors).toBe(before);
    policy.dispose();
  });

  it('refuses a checkpoint whose weights do not fit its config', async () => {
    const policy = createPolicy(config, { seed: 1 });
    const checkpoint = await checkpointFromPolicy(policy, tokenizer);
    policy.dispose();
    const { 'ln_f.g': _, ...missing } = checkpoint.weights;
    expect(() => policyFromCheckpoint({ ...checkpoint, weights: missing })).toThrow(/lacks weight ln_f\.g/);
    const wrong = {
      ...checkpoint.weights,
      wte: { ...checkpoint.weights.wte, shape: [1, 1], data: new Float32Array(1) },
    };
    expect(() => policyFromCheckpoint({ ...checkpoint, weights: wrong })).toThrow(CheckpointError);
    expect(() => policyFromCheckpoint({ ...checkpoint, config: { ...checkpoint.config, nHead: 3 } })).toThrow(
      /not a policy config/,
    );
    expect(() =>
      policyFromCheckpoint({ ...checkpoint, config: { ...checkpoint.config, vocabSize: 100 } }),
    ).toThrow(/tokenizer has \d+ tokens but the model only 100/);
  });

  it('loads a copy head saved before its continuation term, with that term at 0 (how it ran)', async () => {
    const policy = createPolicy({ ...config, copy: true }, { seed: 4 });
    const checkpoint = await checkpointFromPolicy(policy, tokenizer);
    policy.dispose();
    const { 'copy.match': match, ...before } = checkpoint.weights;
    expect(match.shape).toEqual([2]);
    const restored = policyFromCheckpoint({ ...checkpoint, weights: before });
    expect(Array.from(await restored.policy.weights['copy.match'].data())).toEqual([0, 0]);
    restored.policy.dispose();
  });

  it('removes an old version but keeps the blobs the newer one shares', async () => {
    const storage = new MemoryBlobStorage();
    const a = createPolicy(config, { seed: 1 });
    const b = createPolicy(config, { seed: 2 });
    const ckA = await checkpointFromPolicy(a, tokenizer);
    const ckB = await checkpointFromPolicy(b, tokenizer);
    const idA = await saveCheckpoint(storage, ckA);
    const idB = await saveCheckpoint(storage, ckB);
    // weights differ; config, tokenizer and tokenizer_config are shared blobs
    expect(storage.size).toBe(2 * 2 + 3);
    await removeCheckpoint(storage, idA, [idB]);
    expect(storage.size).toBe(2 + 3);
    await expect(loadCheckpoint(storage, idA)).rejects.toThrow(/no checkpoint/);
    expect((await checkpointToFiles(await loadCheckpoint(storage, idB))).id).toBe(idB);
    a.dispose();
    b.dispose();
  });
});
