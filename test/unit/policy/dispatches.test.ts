// countDispatches (shared/policy/dispatches.ts): exact counts for a known small graph on the cpu and wasm
// backends, nesting, the engine left as tfjs made it after a count ends, throws or rejects, and nothing of
// the counter on the engine when no count is open; on webgpu (Dawn in Node on SwiftShader) the programs
// recorded and the queue submits.
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { countDispatches, isCounting } from '../../../shared/policy/dispatches';
import * as tf from '../../../shared/policy/tfjs';
import { probeBackend, selectBackend } from '../../../shared/train/backend';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;

const WRAPPED = ['runKernelFunc', 'readSync', 'read', 'makeTensor'] as const;

/** The engine carries none of the counter's own properties: tfjs's prototype methods run unwrapped. */
function expectEngineUntouched() {
  const engine = tf.engine();
  const prototype = Object.getPrototypeOf(engine) as Record<string, unknown>;
  for (const name of WRAPPED) {
    expect(Object.hasOwn(engine, name), name).toBe(false);
    expect((engine as unknown as Record<string, unknown>)[name], name).toBe(prototype[name]);
  }
  expect(isCounting()).toBe(false);
}

/** x = [1, 2, 3] (1 upload); x + 1 (Add, and the number 1 is an upload); reshape (data-only); sum; read. */
function smallGraph(): number {
  return tf.tidy(() => {
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.add(x, 1); // (3)
    const z = y.reshape([3, 1]); // (3, 1)
    return tf.sum(z).dataSync()[0];
  });
}

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(['cpu', 'wasm'] as const)('countDispatches on %s', (backend) => {
  it('counts a known graph exactly', async () => {
    await selectBackend({ prefer: backend });
    expect(tf.getBackend()).toBe(backend);
    const counted = countDispatches(smallGraph);
    expect(counted.value).toBe(9);
    expect(counted).toMatchObject({ kernels: 3, dataOnly: 1, reads: 1, uploads: 2 });
    expect(counted.byKernel).toEqual({ Add: 1, Reshape: 1, Sum: 1 });
    expect(counted.webgpu).toBeUndefined();
    expectEngineUntouched();
  });

  it('counts a lossless Cast as data-only and a lossy one as a kernel', async () => {
    await selectBackend({ prefer: backend });
    const ints = tf.tensor1d([1, 2], 'int32');
    const floats = tf.tensor1d([1.5, 2.5]);
    const widen = countDispatches(() => tf.tidy(() => tf.cast(ints, 'float32').dataSync()));
    expect(widen).toMatchObject({ kernels: 1, dataOnly: 1, byKernel: { Cast: 1 } });
    const narrow = countDispatches(() => tf.tidy(() => tf.cast(floats, 'int32').dataSync()));
    expect(narrow).toMatchObject({ kernels: 1, dataOnly: 0, byKernel: { Cast: 1 } });
    tf.dispose([ints, floats]);
  });

  it('counts tf.zeros as an upload (filled on the host) and tf.zerosLike as a kernel', async () => {
    await selectBackend({ prefer: backend });
    const x = tf.tensor1d([1, 2]);
    const zeros = countDispatches(() => tf.tidy(() => tf.zeros([2, 3]).shape));
    expect(zeros).toMatchObject({ kernels: 0, uploads: 1 });
    const like = countDispatches(() => tf.tidy(() => tf.zerosLike(x).shape));
    expect(like).toMatchObject({ kernels: 1, uploads: 0, byKernel: { ZerosLike: 1 } });
    x.dispose();
  });

  it('counts the backward pass: gradients run through the same engine', async () => {
    await selectBackend({ prefer: backend });
    const x = tf.tensor1d([1, 2, 3]);
    const forward = countDispatches(() => tf.tidy(() => tf.sum(tf.square(x))));
    const both = countDispatches(() => tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.square(v)))(x)));
    // Forward: Square, Sum. Backward adds Sum's and Square's gradients (at least a Mul).
    expect(forward.kernels).toBe(2);
    expect(both.kernels).toBeGreaterThan(forward.kernels);
    expect(both.byKernel.Square).toBe(1);
    expect(both.byKernel.Multiply).toBeGreaterThanOrEqual(1);
    tf.dispose([forward.value, both.value, x]);
  });
});

describe('countDispatches nesting and failure', () => {
  it('nests: the inner count is part of the outer one', async () => {
    await selectBackend({ prefer: 'cpu' });
    const outer = countDispatches(() => {
      smallGraph();
      const inner = countDispatches(smallGraph);
      expect(inner).toMatchObject({ kernels: 3, reads: 1, uploads: 2 });
      expect(isCounting()).toBe(true);
      return inner;
    });
    expect(outer).toMatchObject({ kernels: 6, dataOnly: 2, reads: 2, uploads: 4 });
    expect(outer.byKernel).toEqual({ Add: 2, Reshape: 2, Sum: 2 });
    expectEngineUntouched();
  });

  it('leaves tfjs unchanged when fn throws, also inside another count', async () => {
    await selectBackend({ prefer: 'cpu' });
    expect(() =>
      countDispatches(() => {
        smallGraph();
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expectEngineUntouched();
    const outer = countDispatches(() => {
      expect(() =>
        countDispatches(() => {
          throw new Error('inner');
        }),
      ).toThrow('inner');
      expect(isCounting()).toBe(true); // the outer count is still open
      return smallGraph();
    });
    expect(outer.kernels).toBe(3);
    expectEngineUntouched();
    // A later count starts from zero.
    expect(countDispatches(smallGraph).kernels).toBe(3);
  });

  it('counts async work, reads through data(), and restores after a rejection', async () => {
    await selectBackend({ prefer: 'cpu' });
    const counted = await countDispatches(async () => {
      const x = tf.tensor1d([1, 2, 3]);
      const doubled = tf.mul(x, x);
      const values = await doubled.data();
      const row = doubled.reshape([1, 3]); // (1, 3)
      const rows = (await row.array()) as number[][];
      tf.dispose([x, doubled, row]);
      return [values[2], rows[0][1]];
    });
    expect(counted.value).toEqual([9, 4]);
    expect(counted).toMatchObject({ kernels: 2, dataOnly: 1, reads: 2, uploads: 1 });
    await expect(
      countDispatches(async () => {
        await Promise.resolve();
        throw new Error('later');
      }),
    ).rejects.toThrow('later');
    expectEngineUntouched();
  });

  it('puts nothing on the engine when not counting', async () => {
    await selectBackend({ prefer: 'cpu' });
    expectEngineUntouched();
    smallGraph();
    expectEngineUntouched();
  });
});

describe('countDispatches on webgpu (SwiftShader)', () => {
  it('counts the programs recorded and the submits: one per 15 dispatches and one per read', async () => {
    const probe = await probeBackend('webgpu');
    expect(probe.available, probe.reason).toBe(true);
    await selectBackend({ prefer: 'webgpu' });
    // tfjs-webgpu runs small ops on the CPU while their inputs are still there (WEBGPU_CPU_FORWARD):
    // off, so every computing kernel records a program and the count is exact.
    const env = tf.env();
    const forward = env.getBool('WEBGPU_CPU_FORWARD');
    env.set('WEBGPU_CPU_FORWARD', false);
    try {
      const x = tf.tensor1d([1, 2, 3]);
      const settle = tf.add(x, x); // the upload of x and any pending work, before the count
      await settle.data(); // (dataSync needs OffscreenCanvas on webgpu, which Node lacks)
      settle.dispose();
      const chain = await countDispatches(async () => {
        const y = tf.tidy(() => {
          let sum: tf.Tensor = x;
          for (let i = 0; i < 16; i++) sum = tf.add(sum, x); // 16 Add programs
          return sum.reshape([3, 1]); // Reshape: no program
        });
        const values = await y.data(); // one read
        y.dispose();
        return values[0];
      });
      expect(chain.value).toBe(17);
      expect(chain).toMatchObject({ kernels: 17, dataOnly: 1, reads: 1, uploads: 0 });
      // WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE is 15: a submit after the 15th program, one before the read.
      expect(env.get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE')).toBe(15);
      expect(chain.webgpu).toEqual({ programs: 16, submits: 2 });
      x.dispose();
      expectEngineUntouched();
      const backend = tf.backend() as object;
      expect(Object.hasOwn(backend, 'recordAndSubmit')).toBe(false);
      expect(Object.hasOwn(backend, 'submitQueue')).toBe(false);
    } finally {
      env.set('WEBGPU_CPU_FORWARD', forward);
      await tf.setBackend('cpu');
    }
  });
});
