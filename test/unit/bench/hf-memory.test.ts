// bench/hf-memory.ts's Node-side pieces: its settings and the step's FLOP count (the browser half runs
// in `npm run bench -- hf-memory`, not here).
import { describe, expect, it } from 'vitest';
import { parseSettings, SMOLLM2_135M, stepFlops, WEBGPU_DEFAULT_LIMITS } from '../../../bench/hf-memory';

describe('bench hf-memory', () => {
  it('asks for the issue 22 step by default and a 2-layer one with --quick', () => {
    const full = parseSettings([]);
    expect(full).toMatchObject({ nLayer: 30, prompts: 4, group: 4, seq: 256, rank: 8, compute: false });
    expect(full.promptTokens + 160).toBe(256);
    const quick = parseSettings(['--quick', '--compute']);
    expect(quick).toMatchObject({ nLayer: 2, seq: 64, compute: true });
    expect(parseSettings(['--layers=4', '--targets=q_proj,k_proj']).targets).toEqual(['q_proj', 'k_proj']);
    expect(() => parseSettings(['--layers=0'])).toThrow(/--layers/);
  });

  it('counts the tied head once per pass and attention over the whole row', () => {
    const shape = { ...SMOLLM2_135M, nLayer: 1 };
    const one = stepFlops(shape, 256, 256);
    const two = stepFlops(shape, 512, 256);
    expect(two.total).toBe(2 * one.total);
    const headForward = 2 * 256 * SMOLLM2_135M.nEmbd * SMOLLM2_135M.vocabSize;
    expect(one.reference).toBeGreaterThan(headForward);
    expect(one.update).toBeGreaterThan(2 * one.reference);
    expect(one.total).toBe(one.reference + one.update);
  });

  it('keeps the spec default limits the report compares against', () => {
    expect(WEBGPU_DEFAULT_LIMITS.maxBufferSize).toBe(256 * 2 ** 20);
    expect(WEBGPU_DEFAULT_LIMITS.maxStorageBufferBindingSize).toBe(128 * 2 ** 20);
  });
});
