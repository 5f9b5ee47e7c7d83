// Reward models on disk (Node): `edgelight reward-model --out DIR` writes DIR/reward_model.safetensors;
// `train --reward-model REF` reads REF, a folder holding that file or the file itself. Every way of
// getting it wrong is a TrainSetupError that names the path and what is wrong.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  decodeRewardModel,
  encodeRewardModel,
  REWARD_MODEL_FILE,
  type RewardModel,
  RewardModelFormatError,
} from '../../shared/agent/reward-model';
import { TrainSetupError } from '../../shared/train/session';
import { writeFileAtomic } from '../write-file-atomic';

export async function readRewardModelFile(ref: string): Promise<RewardModel> {
  let path = ref;
  try {
    if ((await stat(ref)).isDirectory()) path = join(ref, REWARD_MODEL_FILE);
  } catch (error) {
    throw new TrainSetupError(`reward model ${ref}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new TrainSetupError(`reward model ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  try {
    return decodeRewardModel(bytes);
  } catch (error) {
    if (error instanceof RewardModelFormatError)
      throw new TrainSetupError(`reward model ${path}: ${error.message}`);
    throw error;
  }
}

/** Writes `model` as DIR/reward_model.safetensors (atomically, owner-only); returns the path. */
export async function writeRewardModelFile(dir: string, model: RewardModel): Promise<string> {
  const path = join(dir, REWARD_MODEL_FILE);
  await writeFileAtomic(path, encodeRewardModel(model));
  return path;
}
