// The KV-cache decode step against the full forward (one pointer function serves both: copy-head.ts), and
// the RoPE tables: built once per (head size, length, base) and backend, kept across tidy, rebuilt on a new
// backend (rope.ts).
import * as tf from '../../../shared/policy/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicy, disposeCache, type KVCache, type Policy } from '../../../shared/policy/model';
import { generate } from '../../../shared/policy/sampling';
import { ropeTableBuilds, ropeTables } from '../../../shared/policy/rope';
import { selectBackend } from '../../../shared/train/backend';

const micro = { vocabSize: 40, blockSize: 24, nLayer: 2, nHead: 2, nEmbd: 32 };

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
});

/**
 * Greedy decoding of rows (B, P) for `steps` tokens twice: prefill + decodeStep, and a full forward over
 * the whole prefix at every step (promptLengths P: the pointer reads the prompt only, as the prefill's
 * cache does). Returns the largest difference between the two next-token log-probability rows.
 */
async function decodeAgainstForward(policy: Policy, prompt: number[][], steps: number): Promise<number> {
  const B = prompt.length;
  const P = prompt[0].length;
  const S = P + steps;
  const rows = prompt.map((r) => [...r]);
  const logSoftmax = (t: tf.Tensor2D) => tf.tidy(() => tf.logSoftmax(t));
  let { logits, cache }: { logits: tf.Tensor2D; cache: KVCache } = tf.tidy(() =>
    policy.prefill(tf.tensor2d(rows, [B, P], 'int32'), {}, S),
  );
  let worst = 0;
  for (let step = 0; ; step++) {
    const L = P + step;
    const full = tf.tidy(() =>
      logSoftmax(
        policy.forward(tf.tensor2d(rows, [B, L], 'int32'), {
          lastOnly: true,
          promptLengths: new Array(B).fill(P),
        }),
      ),
    );
    const cached = logSoftmax(logits);
    const [a, b] = [await cached.data(), await full.data()];
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    const picks = (await tf.argMax(full, 1).data()) as Int32Array;
    tf.dispose([cached, full, logits]);
    if (step === steps - 1) break;
    for (const [i, r] of rows.entries()) r.push(picks[i]);
    const bias = new Float32Array(B * S).fill(-1e9);
    for (let i = 0; i < B; i++) for (let j = 0; j <= L; j++) bias[i * S + j] = 0;
    const previous = cache;
    const out = tf.tidy(() =>
      policy.decodeStep(
        tf.tensor1d(Int32Array.from(picks), 'int32'),
        tf.tensor1d(new Int32Array(B).fill(L), 'int32'),
        L,
        tf.tensor4d(bias, [B, 1, 1, S]),
        previous,
      ),
    );
    disposeCache(previous);
    ({ logits, cache } = out);
  }
  disposeCache(cache);
  return worst;
}

describe('KV-cache decoding', () => {
  it('equals the full forward at every step, with and without the copy head', async () => {
    // Prompts that repeat tokens, so the copy head's continuation match fires.
    const prompt = [
      [3, 7, 9, 3, 7, 11, 5],
      [2, 2, 8, 6, 2, 8, 1],
    ];
    for (const copy of [false, true]) {
      const policy = createPolicy({ ...micro, copy }, { seed: 3 });
      // A sharper pointer than at init, so a wrong pointer in either path would show.
      if (copy) policy.weights['copy.wq'].assign(tf.mul(policy.weights['copy.wq'], 40));
      expect(await decodeAgainstForward(policy, prompt, 10)).toBeLessThan(1e-4);
      policy.dispose();
    }
  });
});

describe('RoPE tables', () => {
  it('are built once per (head size, length, base), kept across forwards and decoded tokens', async () => {
    const config = { ...micro, ropeBase: 777 }; // a key no other test in this file builds
    const before = ropeTableBuilds();
    const policy = createPolicy(config, { seed: 1 });
    const ids = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
    tf.dispose(policy.forward(ids)); // inside forward's tidy: the tables must survive it
    expect(ropeTableBuilds()).toBe(before + 1);
    const tables = ropeTables(16, micro.blockSize, 777);
    expect(ropeTableBuilds()).toBe(before + 1);
    expect([tables.cos, tables.sin, tables.rotate].some((t) => t.isDisposed)).toBe(false);

    const tensors = tf.memory().numTensors;
    await generate(policy, [[1, 2, 3]], { maxNewTokens: 8, samplesPerPrompt: 2, seed: 1 });
    await generate(policy, [[1, 2, 3]], { maxNewTokens: 8, useCache: false, seed: 1 });
    const other = createPolicy({ ...config, copy: true }, { seed: 2 }); // same head size, length, base
    tf.dispose(other.forward(ids));
    other.dispose();
    expect(ropeTableBuilds()).toBe(before + 1);
    expect(tf.memory().numTensors).toBe(tensors);

    // Another head size is another table.
    tf.dispose(createPolicyAndForward({ ...config, nHead: 4 }, ids));
    expect(ropeTableBuilds()).toBe(before + 2);
    ids.dispose();
    policy.dispose();
  });

  it('are rebuilt on a new backend, the old ones freed, with the same logits', async () => {
    const config = { ...micro, ropeBase: 999 };
    const policy = createPolicy(config, { seed: 4 });
    const ids = tf.tensor2d([[5, 6, 7, 8, 9]], [1, 5], 'int32');
    const onWasm = policy.forward(ids);
    const wasmValues = await onWasm.data();
    onWasm.dispose();
    const wasmTables = ropeTables(16, micro.blockSize, 999);
    const builds = ropeTableBuilds();
    try {
      await selectBackend({ prefer: 'cpu' });
      const onCpu = policy.forward(ids);
      const cpuValues = await onCpu.data();
      onCpu.dispose();
      expect(ropeTableBuilds()).toBe(builds + 1);
      expect(wasmTables.cos.isDisposed).toBe(true);
      const cpuTables = ropeTables(16, micro.blockSize, 999);
      expect(cpuTables.cos.isDisposed).toBe(false);
      let worst = 0;
      for (let i = 0; i < wasmValues.length; i++)
        worst = Math.max(worst, Math.abs(wasmValues[i] - cpuValues[i]));
      expect(worst).toBeLessThan(1e-4);
    } finally {
      await selectBackend({ prefer: 'wasm' });
    }
    tf.dispose(policy.forward(ids));
    expect(ropeTableBuilds()).toBe(builds + 2);
    ids.dispose();
    policy.dispose();
  });
});

function createPolicyAndForward(config: Parameters<typeof createPolicy>[0], ids: tf.Tensor2D): tf.Tensor {
  const policy = createPolicy(config, { seed: 1 });
  const out = policy.forward(ids);
  policy.dispose();
  return out;
}
