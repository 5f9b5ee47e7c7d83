// A reward model from the reviews a store holds: what `rewardModel: "reviews"` means in the lab and in
// server jobs. The pairs are the ones `edgelight data reviews` exports (datasets.ts), the fit is the
// CLI's (`edgelight reward-model`, shared/train/reward-model.ts) with its defaults, so the same reviews
// give the same model wherever it is fitted (well under a second for a few hundred pairs).
import { REWARD_MODEL_FROM_REVIEWS, type RewardModel } from '../agent/reward-model';
import type { LightningStore } from '../store/store';
import { fitRewardModel, RewardModelFitError } from '../train/reward-model';
import { readReviewDatasets } from './datasets';

export { REWARD_MODEL_FROM_REVIEWS };

export async function rewardModelFromReviews(store: LightningStore): Promise<RewardModel> {
  const { pairs, counts } = await readReviewDatasets(store);
  if (pairs.length === 0)
    throw new RewardModelFitError(
      `a reward model from reviews needs preference pairs, and the reviews give none (${counts.decided} decided items, ${counts.items} items)`,
    );
  return fitRewardModel(pairs);
}
