import { z } from 'zod';
import { CHECKPOINT_ID } from '../../shared/policy/checkpoint';
import { REWARD_MODEL_FROM_REVIEWS } from '../../shared/review/reward-model';
import { TrainConfigFields, withTrainConfigRules } from '../../shared/train/config';

const checkpointRef = z.union([
  z.literal('latest'),
  z.literal('served'),
  z.string().regex(CHECKPOINT_ID, 'a checkpoint id: 64 lowercase hex, "latest" or "served"'),
]);

/**
 * Where a job's examples come from (the job's own field; the trainer's config has no such setting):
 * `generated` is the built-in synthetic train split (SFT corpus, RL feedback), `reviews` the reviewers'
 * decisions in the server's store (shared/review/datasets.ts). dpo / kto always read reviews (people's
 * choices have no generated stand-in); sft reads either (default generated): with `reviews` it trains on
 * the replies reviewers sent (approved, edited, written); grpo / rloo draft for the generated feedback.
 */
export const TrainJobData = z.enum(['generated', 'reviews']);
export type TrainJobData = z.infer<typeof TrainJobData>;

/**
 * A training job's body: the TrainConfig every trainer reads (shared/train/config.ts), camelCase as
 * there, so a bad request is a 422 before any thread starts, plus `data` (above). Paths are not accepted
 * from the network: data is the built-in synthetic train split or the server's reviews, the run folder
 * is the server's own, and `init` / `reference` name checkpoints already in the blob store ("latest" =
 * the newest published policy, "served" = the one the server serves). A `recorded` job and a job on
 * reviews read the server's own store.
 */
export const TrainJobConfig = withTrainConfigRules(
  TrainConfigFields.extend({
    init: checkpointRef.optional(),
    reference: checkpointRef.optional(),
    data: TrainJobData.optional(),
    /** grpo / rloo: "reviews", a reward model fitted from the server's reviews in the job's thread. */
    rewardModel: z.literal(REWARD_MODEL_FROM_REVIEWS).optional(),
  }),
)
  .refine((c) => !(c.data === 'reviews' && (c.algo === 'grpo' || c.algo === 'rloo')), {
    message: 'grpo / rloo draft for the generated feedback: reviews are data for dpo, kto and sft',
    path: ['data'],
  })
  .refine((c) => !(c.data === 'generated' && (c.algo === 'dpo' || c.algo === 'kto')), {
    message:
      'dpo / kto learn from reviewers’ choices: their data is reviews (there is no generated stand-in)',
    path: ['data'],
  });
export type TrainJobConfig = z.infer<typeof TrainJobConfig>;

/** dpo and kto always train on the server's reviews; sft does when the job says so. */
export function jobTrainsOnReviews(config: Pick<TrainJobConfig, 'algo' | 'data'>): boolean {
  return config.algo === 'dpo' || config.algo === 'kto' || config.data === 'reviews';
}
