import { z } from 'zod';
import { CHECKPOINT_ID } from '../../shared/policy/checkpoint';
import { TrainConfigFields, withTrainConfigRules } from '../../shared/train/config';

const checkpointRef = z.union([
  z.literal('latest'),
  z.literal('served'),
  z.string().regex(CHECKPOINT_ID, 'a checkpoint id: 64 lowercase hex, "latest" or "served"'),
]);

/**
 * A training job's body: the TrainConfig every trainer reads (shared/train/config.ts), camelCase as
 * there, so a bad request is a 422 before any thread starts. Paths are not accepted from the network:
 * data is the built-in synthetic train split, the run folder is the server's own, and `init` /
 * `reference` name checkpoints already in the blob store ("latest" = the newest published policy,
 * "served" = the one the server serves). A `recorded` job reads the server's own store.
 */
export const TrainJobConfig = withTrainConfigRules(
  TrainConfigFields.extend({ init: checkpointRef.optional(), reference: checkpointRef.optional() }),
);
export type TrainJobConfig = z.infer<typeof TrainJobConfig>;
