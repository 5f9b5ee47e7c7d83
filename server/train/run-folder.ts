// A training run under Node, in a run folder: what `edgelight train` and the server's training jobs
// share. It picks the backend, reads data files (or generates the synthetic dataset), opens the one
// trainer session (shared/train/session.ts) and keeps the folder:
//
//   OUT/train_config.json     the resolved TrainConfig (rewritten when a phase starts)
//   OUT/metrics.jsonl         one StepRecord per step, appended as steps finish
//   OUT/step-NNNNNN/          checkpoints (safetensors + config + tokenizer + optimizer + trainer state)
//   OUT/latest                names the newest
import { appendFile, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { z } from 'zod';
import { FeedbackTask } from '../../shared/agent/task';
import { DEFAULT_GENERATE_OPTIONS, generateFeedback } from '../../shared/data/generator';
import { JsonlError, parseJsonlStrict } from '../../shared/data/jsonl';
import { PreferenceLabel, PreferencePair, SftPairInput } from '../../shared/data/preference';
import { buildSftCorpus } from '../../shared/data/sft';
import { createGovernancePipeline } from '../../shared/governance';
import type { GovernancePipeline } from '../../shared/governance/types';
import { type BlobStorage, type Checkpoint, sha256Hex } from '../../shared/policy/checkpoint';
import type { LightningStore } from '../../shared/store/store';
import { type BackendInfo, selectBackend } from '../../shared/train/backend';
import { isPreference, type TrainAlgo, type TrainConfigInput } from '../../shared/train/config';
import {
  type LoadedCheckpoint,
  openTrainSession,
  type RunEnd,
  type TrainEvent,
  TrainSetupError,
  type TrainSession,
} from '../../shared/train/session';
import type { ReferenceRef } from '../../shared/train/trainer-state';
import {
  readCheckpointDirectory,
  resolveCheckpointDirectory,
  writeRunCheckpoint,
} from '../checkpoints/directory';
import { writeFileAtomic } from '../write-file-atomic';
import { readRewardModelFile } from './reward-model-file';

export const RUN_FILES = { config: 'train_config.json', metrics: 'metrics.jsonl' } as const;

/** Finds the checkpoints a config names (`init`, `reference`) and a trainer state records. */
export type CheckpointFinder = (ref: ReferenceRef | string) => Promise<LoadedCheckpoint>;

export type FolderRunOptions = {
  /** The settings asked for (flags, a config file, a job's body); defaults are filled by the session. */
  input: TrainConfigInput;
  out: string;
  /**
   * JSON Lines: SFT examples {prompt, reply} for sft, feedback tasks {id, text, category?} for RL,
   * preference pairs {prompt, chosen, rejected} for dpo, labelled replies {prompt, completion, label} for kto.
   */
  data?: string;
  checkpoints: CheckpointFinder;
  /** Called after each checkpoint is written to the folder (a job copies it into the blob folder). */
  afterSave?: (
    id: string,
    checkpoint: Checkpoint,
    at: { runStep: number; phase: TrainAlgo },
  ) => Promise<void>;
  store?: LightningStore;
  publish?: BlobStorage;
  onEvent?: (event: TrainEvent) => void | Promise<void>;
  /** Lines about the setup (backend, data) for a person. */
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Called once the session is open (before the first step), e.g. to print the resolved plan. */
  onOpen?: (session: TrainSession, backend: BackendInfo) => void;
};

async function readJsonl<S extends z.ZodType>(path: string, schema: S, what: string): Promise<z.infer<S>[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new TrainSetupError(
      `cannot read --data ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  try {
    const rows = parseJsonlStrict(text, schema);
    if (rows.length === 0) throw new TrainSetupError(`--data ${path} has no ${what}`);
    return rows;
  } catch (error) {
    if (error instanceof JsonlError) throw new TrainSetupError(`--data ${path}: ${error.message}`);
    throw error;
  }
}

/** Runs one training call in `out` to its end (steps, minutes or `signal`); returns how it ended. */
export async function trainInFolder(
  options: FolderRunOptions,
): Promise<{ reason: RunEnd; runStep: number; startStep: number }> {
  const log = options.log ?? (() => undefined);
  const out = resolve(options.out);
  const algo = options.input.algo;
  const backend = await selectBackend({ prefer: options.input.backend ?? 'auto', allowSoftware: true });
  log(`backend ${backend.name} (${backend.adapterDescription}${backend.software ? ', software' : ''})`);

  let governance: GovernancePipeline | undefined;
  const governanceOnce = async () => (governance ??= createGovernancePipeline());
  let examples: Promise<Array<{ prompt: string; reply: string }>> | undefined;
  let tasks: Promise<FeedbackTask[]> | undefined;
  const trainSplit = () =>
    generateFeedback(DEFAULT_GENERATE_OPTIONS).filter((i) => i.metadata.split === 'train');
  const sftExamples = () =>
    (examples ??= (async () => {
      if (options.data && algo === 'sft') return readJsonl(options.data, SftPairInput, 'examples');
      const corpus = buildSftCorpus(trainSplit(), { governance: await governanceOnce() });
      log(
        `data: generated SFT corpus, ${corpus.length} examples (seed ${DEFAULT_GENERATE_OPTIONS.seed}, train split)`,
      );
      return corpus;
    })());
  const rlTasks = () =>
    (tasks ??= (async () => {
      if (options.data && algo !== 'sft' && !isPreference(algo))
        return readJsonl(options.data, FeedbackTask, 'tasks');
      const split = trainSplit();
      log(
        `data: generated train split, ${split.length} feedback items (seed ${DEFAULT_GENERATE_OPTIONS.seed})`,
      );
      return split;
    })());
  // DPO and KTO learn from people's choices: there is no generated stand-in for them.
  if (isPreference(algo) && !options.data)
    throw new TrainSetupError(
      algo === 'dpo'
        ? 'dpo reads --data: JSON Lines of {prompt, chosen, rejected}'
        : 'kto reads --data: JSON Lines of {prompt, completion, label}',
    );
  const pairs =
    algo === 'dpo' && options.data ? readJsonl(options.data, PreferencePair, 'preference pairs') : undefined;
  const labels =
    algo === 'kto' && options.data ? readJsonl(options.data, PreferenceLabel, 'labelled replies') : undefined;
  // A data file is checked before minutes of model building.
  if (options.data) await (algo === 'sft' ? sftExamples() : (pairs ?? labels ?? rlTasks()));

  const writeConfig = (session: TrainSession) =>
    writeFileAtomic(join(out, RUN_FILES.config), `${JSON.stringify(session.config, null, 2)}\n`);
  let session: TrainSession | undefined;
  session = await openTrainSession(options.input, {
    sftExamples,
    tasks: rlTasks,
    ...(pairs ? { preferencePairs: () => pairs } : {}),
    ...(labels ? { preferenceLabels: () => labels } : {}),
    governance: governanceOnce,
    loadRewardModel: readRewardModelFile,
    loadCheckpoint: options.checkpoints,
    store: options.store,
    publish: options.publish,
    saveCheckpoint: async (checkpoint, at) => {
      const saved = await writeRunCheckpoint(out, at.runStep, checkpoint);
      log(`checkpoint ${saved.dir} (${saved.id.slice(0, 12)})`);
      await options.afterSave?.(saved.id, checkpoint, at);
      return saved.id;
    },
    onEvent: async (event) => {
      if (event.type === 'step')
        await appendFile(join(out, RUN_FILES.metrics), `${JSON.stringify(event.record)}\n`);
      if (event.type === 'phase' && session) await writeConfig(session);
      await options.onEvent?.(event);
    },
  });
  try {
    await writeConfig(session);
    const startStep = session.position.runStep;
    options.onOpen?.(session, backend);
    const result = await session.run({ signal: options.signal });
    return { ...result, startStep };
  } finally {
    session.dispose();
  }
}

/** The id a checkpoint folder has (its manifest's SHA-256), or null for a folder without a manifest. */
async function folderId(dir: string): Promise<string | null> {
  const bytes = await readFile(join(dir, 'manifest.json')).catch(() => null);
  return bytes ? sha256Hex(new Uint8Array(bytes)) : null;
}

/**
 * Checkpoints as folders (the command line): a config names a folder or a run folder; a recorded
 * reference is found by its path hint, else by id among the step folders of `runDirs`.
 */
export function folderCheckpoints(runDirs: string[]): CheckpointFinder {
  const read = async (dir: string): Promise<LoadedCheckpoint> => {
    const path = resolve(await resolveCheckpointDirectory(dir));
    return { ...(await readCheckpointDirectory(path)), path };
  };
  return async (ref) => {
    if (typeof ref === 'string') return read(ref);
    if (ref.path) {
      const found = await read(ref.path).catch(() => null);
      if (found && (!ref.checkpointId || found.id === ref.checkpointId)) return found;
    }
    if (ref.checkpointId) {
      for (const runDir of runDirs) {
        const names = await readdir(runDir).catch(() => [] as string[]);
        for (const name of names
          .filter((n) => n.startsWith('step-'))
          .sort()
          .reverse())
          if ((await folderId(join(runDir, name))) === ref.checkpointId) return read(join(runDir, name));
      }
    }
    throw new TrainSetupError(
      `checkpoint ${ref.checkpointId ?? ''}${ref.path ? ` (last seen at ${ref.path})` : ''} was not found; give --reference`,
    );
  };
}
