// trainer_state.json: where a run stopped, in a form every shell reads the same way. With the optimizer
// file beside it, it is enough to continue bit for bit — data order and the schedule are functions of
// (config, phase, step) — and to keep the same KL reference, named by checkpoint id.
import { z } from 'zod';
import { CHECKPOINT_ID } from '../policy/checkpoint';
import { type TrainAlgo, TrainAlgo as TrainAlgoSchema, TrainConfigFields } from './config';

export const TRAINER_STATE_VERSION = 2;

/** The frozen policy of an RL phase's KL guards: its checkpoint id, and where a shell found it (a hint). */
export const ReferenceSchema = z
  .object({
    checkpointId: z.string().regex(CHECKPOINT_ID).optional(),
    /** A folder (command line): lets a resume on the same machine find it without an id index. */
    path: z.string().optional(),
    /** RL from random weights: the policy's initial weights, made again from its config and this seed. */
    initSeed: z.int().optional(),
  })
  .refine((r) => r.checkpointId !== undefined || r.path !== undefined || r.initSeed !== undefined, {
    message: 'a reference needs a checkpointId, a path or an initSeed',
  });
export type ReferenceRef = z.infer<typeof ReferenceSchema>;

export const TrainerStateSchema = z.object({
  version: z.literal(TRAINER_STATE_VERSION),
  /** The algorithm of the phase this checkpoint's optimizer state belongs to. */
  phase: TrainAlgoSchema,
  /** Optimizer steps (batches) done in this phase. */
  step: z.int().min(0),
  /** Steps of the run's earlier phases (an RL run's SFT warm-up): the run's step is offset + step. */
  offset: z.int().min(0),
  /** RL and preference phases: the KL reference (dpo / kto: the policy of the implicit reward). */
  reference: ReferenceSchema.nullable(),
  /** The run's resolved settings (lrHorizon included), the base of a resume. */
  config: TrainConfigFields.extend({
    batch: z.int(),
    lr: z.number(),
    warmup: z.int(),
    logEvery: z.int(),
  }),
  /** The lab's run this checkpoint belongs to (the page groups checkpoints by it). */
  runId: z.string().optional(),
});
export type TrainerState = z.infer<typeof TrainerStateSchema>;

/**
 * A trainer state as read from a checkpoint: version 2 as is; version 1 (no `version` field, written
 * before the trainer became one session) upgraded where its fields allow — its settings are not
 * recorded, so a resume takes them from the new run's config (`config: null`).
 */
export type ReadTrainerState = Omit<TrainerState, 'config'> & {
  config: TrainerState['config'] | null;
  /** Version 1 recorded the command line's cosine horizon, which a resume keeps. */
  legacyLrHorizon?: number;
};

const LegacyTrainerStateSchema = z.object({
  step: z.int().min(0),
  algo: z.enum(['sft', 'grpo', 'rloo', 'reinforce']),
  seed: z.int(),
  options: z.record(z.string(), z.unknown()).default({}),
});

export class TrainerStateError extends Error {
  override name = 'TrainerStateError';
}

function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue.path.join('.') || '(root)'}: ${issue.message}`;
}

/** Parses trainer_state.json's content; throws TrainerStateError naming the field that is wrong. */
export function readTrainerState(raw: unknown): ReadTrainerState {
  const version = (raw as { version?: unknown } | null)?.version;
  if (version === TRAINER_STATE_VERSION) {
    const parsed = TrainerStateSchema.safeParse(raw);
    if (!parsed.success) throw new TrainerStateError(`trainer_state.json: ${issueText(parsed.error)}`);
    return parsed.data;
  }
  if (version !== undefined)
    throw new TrainerStateError(
      `trainer_state.json has version ${JSON.stringify(version)}; this edgelight reads version ${TRAINER_STATE_VERSION} (and the unversioned files before it)`,
    );
  const legacy = LegacyTrainerStateSchema.safeParse(raw);
  if (!legacy.success) throw new TrainerStateError(`trainer_state.json: ${issueText(legacy.error)}`);
  const { step, algo, options } = legacy.data;
  if (algo === 'reinforce')
    throw new TrainerStateError('trainer_state.json: algo: reinforce runs cannot be resumed by the trainer');
  const referenceId = typeof options.referenceId === 'string' ? options.referenceId : undefined;
  const referencePath = typeof options.reference === 'string' ? options.reference : undefined;
  return {
    version: TRAINER_STATE_VERSION,
    phase: algo,
    step,
    offset: typeof options.offset === 'number' ? options.offset : 0,
    reference:
      referenceId || referencePath
        ? {
            ...(referenceId && CHECKPOINT_ID.test(referenceId) ? { checkpointId: referenceId } : {}),
            ...(referencePath ? { path: referencePath } : {}),
          }
        : null,
    config: null,
    ...(typeof options.lrHorizon === 'number' ? { legacyLrHorizon: options.lrHorizon } : {}),
    ...(typeof options.runId === 'string' ? { runId: options.runId } : {}),
  };
}

/** The family an optimizer state belongs to: SFT's, the policy-gradient algorithms' or the preference ones'. */
export const algoFamily = (algo: TrainAlgo) =>
  algo === 'sft' ? 'sft' : algo === 'dpo' || algo === 'kto' ? 'preference' : 'policy-gradient';
