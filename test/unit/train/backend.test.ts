import { existsSync } from 'node:fs';
import * as tf from '../../../shared/policy/tfjs';
import { describe, expect, it } from 'vitest';
import { createPolicy } from '../../../shared/policy/model';
import { generate } from '../../../shared/policy/sampling';
import { isNode, probeBackend, selectBackend } from '../../../shared/train/backend';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;

describe('backend selection under Node', () => {
  it('picks wasm by default and reports it', async () => {
    expect(isNode()).toBe(true);
    const info = await selectBackend();
    expect(info).toEqual({ name: 'wasm', adapterDescription: expect.any(String), software: false });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('honours an explicit cpu request', async () => {
    expect((await selectBackend({ prefer: 'cpu' })).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('reports WebGL as unavailable in Node with a reason, and rejects unknown names', async () => {
    const probe = await probeBackend('webgl');
    expect(probe.available).toBe(false);
    expect(probe.reason).toMatch(/browser/);
    await expect(selectBackend({ prefer: 'webgl' })).rejects.toThrow(/not available/);
    await expect(selectBackend({ prefer: 'tpu' as never })).rejects.toThrow();
  });

  it('uses WebGPU through Dawn when asked (SwiftShader flagged software), and samples there', async () => {
    const probe = await probeBackend('webgpu');
    expect(probe.available).toBe(true);
    expect(probe.software).toBe(true);
    expect(probe.adapterDescription.toLowerCase()).toContain('swiftshader');
    const info = await selectBackend({ prefer: 'webgpu' });
    expect(info.name).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    const y = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2]));
    expect(Array.from(await y.data())).toEqual([3, 3, 3, 3]);
    // The KV-cache sampler gives the same tokens as a full recompute on WebGPU too.
    const policy = createPolicy(
      { vocabSize: 40, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 32 },
      { seed: 5 },
    );
    const prompts = [
      [1, 2, 3],
      [4, 5],
    ];
    const options = { maxNewTokens: 5, samplesPerPrompt: 2, seed: 21 };
    const cached = await generate(policy, prompts, options);
    const full = await generate(policy, prompts, { ...options, useCache: false });
    expect(cached.map((s) => s.tokens)).toEqual(full.map((s) => s.tokens));
    policy.dispose();
    // 'auto' under Node never picks a software GPU, even when one is installed.
    expect((await selectBackend({ prefer: 'auto' })).name).toBe('wasm');
  });
});
