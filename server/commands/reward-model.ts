// `edgelight reward-model --data pairs.jsonl --out DIR`: fits the Bradley–Terry reward model
// (shared/agent/reward-model.ts, shared/train/reward-model.ts) to preference pairs — `edgelight data
// reviews`' pairs.jsonl — and writes DIR/reward_model.safetensors, which `train --algo grpo|rloo
// --reward-model DIR` adds to the reward as a term.
import { mkdir, readFile } from 'node:fs/promises';
import { z } from 'zod';
import { REWARD_MODEL_FILE } from '../../shared/agent/reward-model';
import { JsonlError, parseJsonlStrict } from '../../shared/data/jsonl';
import { PreferencePair } from '../../shared/data/preference';
import {
  fitRewardModel,
  REWARD_MODEL_FIT_DEFAULTS as D,
  RewardModelFitError,
} from '../../shared/train/reward-model';
import { writeRewardModelFile } from '../train/reward-model-file';
import { CliUsageError, flagNumber, integer, parseCommandArgs, positiveInteger } from './args';

export const HELP = `usage: edgelight reward-model --data PAIRS.jsonl --out DIR [options]

Fits a reward model to reviewers' choices: a linear Bradley–Terry scorer over the reply's words, word
pairs and shape, P(chosen ≻ rejected) = σ(s(chosen) − s(rejected)). Writes DIR/${REWARD_MODEL_FILE};
'train --algo grpo --reward-model DIR' adds its calibrated score to the reward as a term. Prints the
held-out pair accuracy (pairs of prompts it did not train on) as JSON.
  --data       JSON Lines of {prompt, chosen, rejected} (edgelight data reviews' pairs.jsonl)
  --out        folder to write (created if needed)
  --held-out   share of prompts held out, with all their pairs (default ${D.heldOut}; 0: train on all)
  --epochs     passes over the pairs (default ${D.epochs})
  --lr         AdaGrad step size (default ${D.lr})
  --l2         L2 penalty λ (default ${D.l2})
  --seed       held-out split and pair order (default ${D.seed})`;

const heldOutShare = z.number().min(0).lt(1).describe('a number in [0, 1)');
const positive = z.number().gt(0).describe('a number > 0');
const nonNegative = z.number().min(0).describe('a number ≥ 0');

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    data: { type: 'string' },
    out: { type: 'string' },
    'held-out': { type: 'string' },
    epochs: { type: 'string' },
    lr: { type: 'string' },
    l2: { type: 'string' },
    seed: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.data) throw new CliUsageError('--data PAIRS.jsonl is required');
  if (!values.out) throw new CliUsageError('--out DIR is required');
  const options = {
    heldOut: flagNumber(heldOutShare, values['held-out'], 'held-out') ?? D.heldOut,
    epochs: flagNumber(positiveInteger(), values.epochs, 'epochs') ?? D.epochs,
    lr: flagNumber(positive, values.lr, 'lr') ?? D.lr,
    l2: flagNumber(nonNegative, values.l2, 'l2') ?? D.l2,
    seed: flagNumber(integer(), values.seed, 'seed') ?? D.seed,
  };

  let text: string;
  try {
    text = await readFile(values.data, 'utf8');
  } catch (error) {
    throw new CliUsageError(
      `cannot read --data ${values.data}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  let pairs: PreferencePair[];
  try {
    pairs = parseJsonlStrict(text, PreferencePair);
  } catch (error) {
    if (error instanceof JsonlError) throw new CliUsageError(`--data ${values.data}: ${error.message}`);
    throw error;
  }

  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  let model: ReturnType<typeof fitRewardModel>;
  try {
    model = fitRewardModel(pairs, {
      ...options,
      onEpoch: ({ epoch, loss, heldOutAccuracy }) =>
        console.error(
          `epoch ${epoch}/${options.epochs}  loss ${loss.toFixed(4)}${heldOutAccuracy === null ? '' : `  held-out accuracy ${heldOutAccuracy.toFixed(3)}`}`,
        ),
    });
  } catch (error) {
    if (error instanceof RewardModelFitError) throw new CliUsageError(error.message);
    throw error;
  }
  const cpu = process.cpuUsage(cpuStarted);
  try {
    await mkdir(values.out, { recursive: true });
  } catch (error) {
    throw new CliUsageError(
      `cannot create --out ${values.out}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  const path = await writeRewardModelFile(values.out, model);
  console.log(
    JSON.stringify(
      {
        out: path,
        ...model.training,
        calibration: model.calibration,
        seconds: Math.round(performance.now() - started) / 1000,
        cpuSeconds: Math.round((cpu.user + cpu.system) / 1000) / 1000,
      },
      null,
      2,
    ),
  );
  return 0;
}
