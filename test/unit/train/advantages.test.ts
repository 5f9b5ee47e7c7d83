import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeAdvantages } from '../../../shared/train/advantages';

describe('advantage estimators', () => {
  const rewards = [1, 0, 0.5, 0.5, 0.2, 0.8];
  const groups = [0, 0, 1, 1, 2, 2];

  it('grpo: group-normalised with the unbiased std (TRL)', () => {
    const a = computeAdvantages([1, 0, 0.5], [0, 0, 0], { estimator: 'grpo' });
    // mean 0.5, sample std 0.5
    expect(a[0]).toBeCloseTo(0.5 / (0.5 + 1e-4), 6);
    expect(a[1]).toBeCloseTo(-0.5 / (0.5 + 1e-4), 6);
    expect(a[2]).toBeCloseTo(0, 6);
    const equal = computeAdvantages([0.5, 0.5], [3, 3], { estimator: 'grpo' });
    expect(equal).toEqual([0, 0]);
  });

  it('grpo without std scaling (Dr. GRPO) and with batch scaling', () => {
    const none = computeAdvantages(rewards, groups, { estimator: 'grpo', scaleRewards: 'none' });
    expect(none.map((x) => Number(x.toFixed(6)))).toEqual([0.5, -0.5, 0, 0, -0.3, 0.3]);
    const batch = computeAdvantages(rewards, groups, { estimator: 'grpo', scaleRewards: 'batch' });
    const mean = rewards.reduce((a, b) => a + b) / rewards.length;
    const std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / (rewards.length - 1));
    batch.forEach((x, i) => {
      expect(x).toBeCloseTo(none[i] / (std + 1e-4), 6);
    });
  });

  it('rloo: reward minus the mean of the other samples of the group', () => {
    const a = computeAdvantages([1, 0, 0.5, 0.3], [0, 0, 0, 1], { estimator: 'rloo' });
    expect(a[0]).toBeCloseTo(1 - 0.25, 6);
    expect(a[1]).toBeCloseTo(0 - 0.75, 6);
    expect(a[2]).toBeCloseTo(0.5 - 0.5, 6);
    expect(a[3]).toBe(0); // alone in its group: no baseline
  });

  it('reinforce: reward minus a baseline (the batch mean by default)', () => {
    expect(computeAdvantages([1, 0, 0.5], [0, 1, 2], { estimator: 'reinforce' })).toEqual([0.5, -0.5, 0]);
    expect(computeAdvantages([1, 0], [0, 0], { estimator: 'reinforce', baseline: 0.25 })).toEqual([
      0.75, -0.25,
    ]);
  });

  it('group advantages sum to zero and ordering follows the rewards', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 2, maxLength: 12 }),
        (rs) => {
          for (const estimator of ['grpo', 'rloo'] as const) {
            const a = computeAdvantages(
              rs,
              rs.map(() => 0),
              { estimator },
            );
            expect(Math.abs(a.reduce((x, y) => x + y, 0))).toBeLessThan(1e-6 * rs.length + 1e-9);
            for (let i = 0; i < rs.length; i++)
              for (let j = 0; j < rs.length; j++)
                if (rs[i] > rs[j] + 1e-9) expect(a[i]).toBeGreaterThan(a[j]);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rejects non-finite rewards and mismatched lengths', () => {
    expect(() => computeAdvantages([Number.NaN], [0], { estimator: 'grpo' })).toThrow(/finite/);
    expect(() => computeAdvantages([1, 2], [0], { estimator: 'grpo' })).toThrow(/same length/);
  });
});
