import { z } from 'zod';
import { CHECKPOINT_ID } from '../../shared/policy/checkpoint';
import {
  shellTrainFields,
  TrainConfigFields,
  withShellDataRules,
  withTrainConfigRules,
} from '../../shared/train/config';

const checkpointRef = z.union([
  z.literal('latest'),
  z.literal('served'),
  z.string().regex(CHECKPOINT_ID, 'a checkpoint id: 64 lowercase hex, "latest" or "served"'),
]);

/**
 * Where a job's examples come from (the job's own field): `generated`, the built-in synthetic train split
 * (SFT corpus, RL feedback), or `reviews`, the reviewers' decisions in the server's store
 * (shared/review/datasets.ts); dpo / kto always read reviews, sft either (default generated).
 */
const jobFields = shellTrainFields('generated');
export type TrainJobData = NonNullable<z.infer<typeof jobFields.data>>;

/**
 * A training job's body: the TrainConfig every trainer reads (shared/train/config.ts), camelCase as
 * there, so a bad request is a 422 before any thread starts, plus `data` (above). Paths are not accepted
 * from the network: data is the built-in synthetic train split or the server's reviews, the run folder
 * is the server's own, and `init` / `reference` name checkpoints already in the blob store ("latest" =
 * the newest published policy, "served" = the one the server serves). A `recorded` job and a job on
 * reviews read the server's own store.
 */
export const TrainJobConfig = withShellDataRules(
  withTrainConfigRules(
    TrainConfigFields.extend({
      init: checkpointRef.optional(),
      reference: checkpointRef.optional(),
      ...jobFields,
    }),
  ),
  'generated',
);
export type TrainJobConfig = z.infer<typeof TrainJobConfig>;

/** dpo and kto always train on the server's reviews; sft does when the job says so. */
export function jobTrainsOnReviews(config: Pick<TrainJobConfig, 'algo' | 'data'>): boolean {
  return config.algo === 'dpo' || config.algo === 'kto' || config.data === 'reviews';
}
