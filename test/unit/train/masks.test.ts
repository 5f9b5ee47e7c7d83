import * as tf from '../../../shared/policy/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicy } from '../../../shared/policy/model';
import { selectBackend } from '../../../shared/train/backend';
import { CHUNK_TOKENS, packBatch, passTokens, rowChunks, scatterPerToken } from '../../../shared/train/batch';
import { AdamW } from '../../../shared/train/optimizer';
import { completionLogprobs } from '../../../shared/train/policy-gradient';
import { sftLoss, sftStep } from '../../../shared/train/sft';

const config = { vocabSize: 30, blockSize: 40, nLayer: 2, nHead: 2, nEmbd: 32 };

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
});

describe('padding and loss masks', () => {
  it('packs prompt ⧺ completion right-padded, masking everything but completion targets', () => {
    const packed = packBatch(
      [
        { promptIds: [1, 2], completionIds: [3, 4] },
        { promptIds: [5], completionIds: [6] },
      ],
      40,
      0,
    );
    expect([packed.B, packed.T]).toEqual([2, 16]); // rounded up to a multiple of 16
    expect(Array.from(packed.inputs.slice(0, 4))).toEqual([1, 2, 3, 0]);
    expect(Array.from(packed.targets.slice(0, 4))).toEqual([2, 3, 4, 0]);
    expect(Array.from(packed.lossMask.slice(0, 4))).toEqual([0, 1, 1, 0]);
    expect(Array.from(packed.lossMask.slice(16, 18))).toEqual([1, 0]);
    expect(packed.completionStart).toEqual([1, 16]);
    expect(Array.from(scatterPerToken(packed, [[-1, -2], [-3]]).slice(0, 3))).toEqual([0, -1, -2]);
  });

  it('truncates over-long rows from the left of the prompt, keeping the completion', () => {
    const packed = packBatch([{ promptIds: [1, 2, 3, 4, 5, 6], completionIds: [7, 8, 9] }], 5, 0);
    expect(packed.T).toBe(5);
    expect(Array.from(packed.inputs)).toEqual([4, 5, 6, 7, 8]);
    expect(Array.from(packed.targets)).toEqual([5, 6, 7, 8, 9]);
    expect(Array.from(packed.lossMask)).toEqual([0, 0, 1, 1, 1]);
  });

  it('padding a sequence (batched with longer ones) does not change its loss or log-probs', async () => {
    for (const positions of ['rope', 'learned'] as const) {
      const policy = createPolicy({ ...config, positions }, { seed: 6 });
      const short = { promptIds: [1, 2], completionIds: [3, 4, 5] };
      const long = {
        promptIds: [9, 8, 7, 6, 5, 4, 3, 2, 1, 9, 8, 7, 6, 5, 4, 3, 2],
        completionIds: [11, 12, 13, 14, 15],
      };
      const alone = await completionLogprobs(policy, [short]);
      const batched = await completionLogprobs(policy, [long, short, long]);
      alone[0].forEach((lp, i) => {
        expect(Math.abs(lp - batched[1][i])).toBeLessThan(1e-5);
      });
      expect(
        Math.abs((await sftLoss(policy, [short])) - (await sftLoss(policy, [short, short]))),
      ).toBeLessThan(1e-5);
      policy.dispose();
    }
  });

  it('left padding with a key mask and shifted positions gives the unpadded logits', async () => {
    for (const positions of ['rope', 'learned'] as const) {
      const policy = createPolicy({ ...config, positions }, { seed: 7 });
      const plain = policy.forward(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32'), { lastOnly: true });
      const padded = policy.forward(tf.tensor2d([[0, 0, 1, 2, 3]], [1, 5], 'int32'), {
        lastOnly: true,
        keyMask: tf.tensor2d([[0, 0, 1, 1, 1]], [1, 5]),
        positions: tf.tensor2d([[0, 0, 0, 1, 2]], [1, 5], 'int32'),
      });
      const diff = (await tf.max(tf.abs(tf.sub(plain, padded))).data())[0];
      expect(diff).toBeLessThan(1e-4);
      tf.dispose([plain, padded]);
      policy.dispose();
    }
  });

  it("splits a large batch into row chunks whose gradients add up to the whole batch's", async () => {
    expect(rowChunks(5, 16, 2048, 32)).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
    expect(rowChunks(2, 64, 2048, 16)).toEqual([
      [0, 1],
      [1, 2],
    ]); // never less than a row
    // A large vocabulary gets fewer tokens per pass: (rows·T, V) float32 logits within 128 MiB.
    expect(passTokens(2048)).toBe(CHUNK_TOKENS);
    expect(passTokens(49_152)).toBe(682);
    expect(rowChunks(16, 256, 49_152)).toHaveLength(8);
    expect(rowChunks(16, 256, 2048)).toHaveLength(2);
    const pairs = Array.from({ length: 7 }, (_, b) => ({
      promptIds: [1 + b, 2, 3],
      completionIds: Array.from({ length: 3 + 2 * b }, (_, i) => (5 + i * b) % 30),
    }));
    const trainedWith = async (chunkTokens: number) => {
      const policy = createPolicy(config, { seed: 4 });
      const optimizer = new AdamW(policy.weights);
      const metrics = await sftStep(policy, optimizer, pairs, { lr: 1e-2, chunkTokens });
      const weights = Array.from(await policy.weights['h.1.mlp.wfc'].data());
      optimizer.dispose();
      policy.dispose();
      return { loss: metrics!.loss, gradNorm: metrics!.gradNorm, weights };
    };
    const whole = await trainedWith(10_000);
    const chunked = await trainedWith(40); // 7 rows of 16 → 3 chunks
    expect(chunked.loss).toBeCloseTo(whole.loss, 5);
    expect(chunked.gradNorm).toBeCloseTo(whole.gradNorm!, 5);
    for (const [i, w] of chunked.weights.entries()) expect(w).toBeCloseTo(whole.weights[i], 5);
  });
});
