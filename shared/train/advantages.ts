// Advantage estimators for the policy-gradient family, computed on the host from scalar rewards.
//
//   grpo       (r − mean of its group) / (std of its group + 1e-4)   DeepSeekMath; TRL's GRPOTrainer
//              (`scaleRewards: 'batch'` divides by the batch std instead, 'none' not at all: Dr. GRPO)
//   rloo       r − mean of the *other* samples of its group           Ahmadian et al. 2024, leave-one-out
//   reinforce  r − baseline (the batch mean unless one is given)      Williams 1992, with a baseline
//
// The std is the unbiased sample std (n − 1), as torch's default that TRL uses. A group of one sample
// has no baseline to compare with and gets advantage 0 under grpo and rloo.
import { z } from 'zod';

export const AdvantageEstimatorSchema = z.enum(['grpo', 'rloo', 'reinforce']);
export type AdvantageEstimator = z.infer<typeof AdvantageEstimatorSchema>;
export const RewardScalingSchema = z.enum(['group', 'batch', 'none']);
export type RewardScaling = z.infer<typeof RewardScalingSchema>;

const STD_EPS = 1e-4;

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function sampleStd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export function computeAdvantages(
  rewards: number[],
  groups: number[],
  options: { estimator: AdvantageEstimator; scaleRewards?: RewardScaling; baseline?: number },
): number[] {
  if (rewards.length !== groups.length) throw new Error('rewards and groups must have the same length');
  for (const r of rewards) if (!Number.isFinite(r)) throw new Error(`reward must be finite, got ${r}`);
  if (options.estimator === 'reinforce') {
    const baseline = options.baseline ?? mean(rewards);
    return rewards.map((r) => r - baseline);
  }
  const members = new Map<number, number[]>();
  groups.forEach((g, i) => {
    const list = members.get(g) ?? [];
    list.push(i);
    members.set(g, list);
  });
  const advantages = new Array<number>(rewards.length).fill(0);
  for (const indices of members.values()) {
    const rs = indices.map((i) => rewards[i]);
    const n = rs.length;
    if (n < 2) continue;
    const m = mean(rs);
    indices.forEach((i, j) => {
      advantages[i] = options.estimator === 'rloo' ? (rs[j] - m) * (n / (n - 1)) : rs[j] - m;
    });
    if (options.estimator === 'grpo' && (options.scaleRewards ?? 'group') === 'group') {
      const std = sampleStd(rs);
      for (const i of indices) advantages[i] /= std + STD_EPS;
    }
  }
  if (options.estimator === 'grpo' && options.scaleRewards === 'batch') {
    const std = sampleStd(rewards);
    return advantages.map((a) => a / (std + STD_EPS));
  }
  return advantages;
}
