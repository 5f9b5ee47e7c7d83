// The starter policy the lab ships (web/public/starter-policy/): the default recipe's SFT checkpoint as a
// weights-only checkpoint (config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
// manifest.json), reproduced byte for byte.
//
//   node bin/tsx.mjs scripts/starter-policy.ts              train the recipe (wasm), write the files, print the id
//   node bin/tsx.mjs scripts/starter-policy.ts --check      train it and compare with the committed files (exit 1 if not equal)
//   node bin/tsx.mjs scripts/starter-policy.ts --steps 4    a smoke run of the first 4 steps, into a temp folder
//   node bin/tsx.mjs scripts/starter-policy.ts --from RUN   convert a run's checkpoint (its `latest`) instead of training
//
// The recipe (shared/train/starter-policy.ts) is what these two commands do, and gives the same weights:
//   edgelight data generate --out DATA
//   edgelight train --algo sft --steps 1200 --batch 8 --lr 3e-3 --warmup 10 --lr-horizon 1200 --backend wasm \
//     --data DATA/sft.jsonl --out RUN
// Here the dataset is generated in memory by the same functions with the same defaults (seed 7), its SFT
// corpus passes through JSON Lines as `--data` reads it, and the one trainer session trains on the same
// backend. The checkpoint id printed is the SHA-256 of manifest.json (shared/policy/checkpoint.ts).
// Progress goes to stderr, the id alone to stdout.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { readCheckpointDirectory, resolveCheckpointDirectory } from '../server/checkpoints/directory';
import { writeFileAtomic } from '../server/write-file-atomic';
import { DEFAULT_GENERATE_OPTIONS, generateFeedback } from '../shared/data/generator';
import { parseJsonlStrict, toJsonl } from '../shared/data/jsonl';
import { SftExample } from '../shared/data/schema';
import { buildSftCorpus, DEFAULT_BAD_SHARE } from '../shared/data/sft';
import { createGovernancePipeline } from '../shared/governance';
import {
  type Checkpoint,
  CheckpointError,
  checkpointToFiles,
  FILES,
  sha256Hex,
} from '../shared/policy/checkpoint';
import { selectBackend } from '../shared/train/backend';
import { resolveTrainConfig, type TrainConfig, type TrainConfigInput } from '../shared/train/config';
import { openTrainSession, TrainSetupError } from '../shared/train/session';
import { STARTER_POLICY, STARTER_RECIPE } from '../shared/train/starter-policy';
import { readTrainerState } from '../shared/train/trainer-state';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_OUT = join(ROOT, 'web', 'public', 'starter-policy');
/** The app serves these files as they are; each stays under this size. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

const HELP = `usage: node bin/tsx.mjs scripts/starter-policy.ts [--out DIR] [--check] [--steps N] [--from RUN_OR_CHECKPOINT]

Trains the lab's starter policy (the default dataset, seed 7; SFT ${STARTER_RECIPE.steps} steps, batch
${STARTER_RECIPE.batch}, lr ${STARTER_RECIPE.lr}, warm-up ${STARTER_RECIPE.warmup}, horizon ${STARTER_RECIPE.lrHorizon}, seed ${STARTER_RECIPE.seed}, ${STARTER_RECIPE.backend}) and writes it weights only:
${STARTER_POLICY.files.join(', ')}. Prints its checkpoint id.
  --out DIR   where the files go (default web/public/starter-policy; with --steps, a temp folder)
  --check     do not write: compare the result's id with DIR's manifest.json; exit 1 when they differ
  --steps N   train only the first N steps of the recipe (a smoke run)
  --from DIR  no training: convert a run folder's latest checkpoint (or a checkpoint folder), dropping
              its optimizer and trainer state`;

class UsageError extends Error {}

const log = (line: string) => process.stderr.write(`${line}\n`);

let corpus: Promise<Array<{ prompt: string; reply: string }>> | undefined;
/** The default dataset's SFT corpus, generated once per process. */
function defaultSftCorpus(): Promise<Array<{ prompt: string; reply: string }>> {
  corpus ??= generateCorpus();
  return corpus;
}

/**
 * The SFT corpus of `edgelight data generate`'s defaults, as `train --data sft.jsonl` reads it: the same
 * generator options and corpus options as server/commands/data.ts, through JSON Lines and back.
 */
async function generateCorpus(): Promise<Array<{ prompt: string; reply: string }>> {
  const { seed, count, piiShare, novelShare } = DEFAULT_GENERATE_OPTIONS;
  const items = generateFeedback({ seed, count, piiShare, novelShare });
  const train = items.filter((i) => i.metadata.split === 'train');
  const sft = buildSftCorpus(train, {
    governance: createGovernancePipeline(),
    badShare: DEFAULT_BAD_SHARE,
    seed,
    quote: false,
    keyWords: false,
  });
  log(`data: ${items.length} feedback items (seed ${seed}), SFT corpus ${sft.length} examples`);
  return parseJsonlStrict(toJsonl(sft, SftExample), SftExample.pick({ prompt: true, reply: true }));
}

/** Trains the recipe's first `steps` steps through the one trainer; returns the final checkpoint. */
async function trainRecipe(steps: number): Promise<Checkpoint> {
  const input: TrainConfigInput = { ...STARTER_RECIPE, steps };
  const backend = await selectBackend({ prefer: STARTER_RECIPE.backend, allowSoftware: true });
  log(`backend ${backend.name} (${backend.adapterDescription})`);
  const examples = await defaultSftCorpus();
  const startedAt = Date.now();
  let last: Checkpoint | undefined;
  const session = await openTrainSession(input, {
    sftExamples: async () => examples,
    tasks: async () => {
      throw new TrainSetupError('the starter recipe is SFT: it reads no feedback tasks');
    },
    governance: async () => createGovernancePipeline(),
    loadCheckpoint: async () => {
      throw new TrainSetupError('the starter recipe starts from no checkpoint');
    },
    saveCheckpoint: async (checkpoint) => {
      last = checkpoint;
      return (await checkpointToFiles(checkpoint)).id;
    },
    onEvent: (event) => {
      if (event.type === 'info') log(event.message);
      else if (event.type === 'step') {
        const r = event.record;
        if (r.runStep % 10 !== 0 && r.runStep !== steps) return;
        const perStep = (Date.now() - startedAt) / 1000 / r.runStep;
        log(
          `step ${r.runStep}/${steps}  loss ${r.loss.toFixed(4)}  lr ${r.lr.toExponential(2)}  eta ${Math.round((steps - r.runStep) * perStep)}s`,
        );
      }
    },
  });
  try {
    await session.run();
  } finally {
    session.dispose();
  }
  if (!last) throw new Error('the session saved no checkpoint');
  return last;
}

/** The checkpoint without optimizer and trainer state: what the app ships. */
function weightsOnly(checkpoint: Checkpoint): Checkpoint {
  return { config: checkpoint.config, weights: checkpoint.weights, tokenizer: checkpoint.tokenizer };
}

/** The starter files and their id, each file checked against the size the app serves. */
async function starterFiles(checkpoint: Checkpoint) {
  const { id, files } = await checkpointToFiles(weightsOnly(checkpoint));
  const names = Object.keys(files).sort();
  if (names.join() !== [...STARTER_POLICY.files].sort().join())
    throw new Error(
      `a weights-only checkpoint has ${names.join(', ')}, not ${STARTER_POLICY.files.join(', ')}`,
    );
  for (const [name, bytes] of Object.entries(files))
    if (bytes.length >= MAX_FILE_BYTES)
      throw new Error(`${name} is ${bytes.length} bytes; the app's files stay under ${MAX_FILE_BYTES}`);
  return { id, files };
}

/** Writes the files into `out`, removing checkpoint files that do not belong to a starter policy. */
async function writeStarter(out: string, files: Record<string, Uint8Array>): Promise<void> {
  for (const [name, bytes] of Object.entries(files)) await writeFileAtomic(join(out, name), bytes);
  for (const stale of [FILES.optimizer, FILES.trainer]) await rm(join(out, stale), { force: true });
  const total = Object.values(files).reduce((n, b) => n + b.length, 0);
  log(`wrote ${out}: ${Object.keys(files).length} files, ${(total / 1e6).toFixed(2)} MB`);
}

/** What in a run's trainer state differs from the recipe (a converted checkpoint need not be the recipe's). */
function differencesFromRecipe(checkpoint: Checkpoint): string[] {
  if (!checkpoint.trainer) return ['it has no trainer state to compare with the recipe'];
  let state: ReturnType<typeof readTrainerState>;
  try {
    state = readTrainerState(checkpoint.trainer);
  } catch (error) {
    return [`its trainer state is unreadable (${(error as Error).message})`];
  }
  const recipe = resolveTrainConfig(STARTER_RECIPE);
  const out: string[] = [];
  if (state.phase !== 'sft') out.push(`phase ${state.phase} (recipe sft)`);
  const step = state.offset + state.step;
  if (step !== STARTER_RECIPE.steps) out.push(`step ${step} (recipe ${STARTER_RECIPE.steps})`);
  const keys: Array<keyof TrainConfig> = [
    'algo',
    'preset',
    'copy',
    'vocabSize',
    'seed',
    'batch',
    'lr',
    'warmup',
    'lrHorizon',
    'backend',
    'maxNewTokens',
  ];
  for (const key of keys) {
    const had = state.config?.[key as keyof typeof state.config];
    if (had !== undefined && had !== recipe[key]) out.push(`${key} ${had} (recipe ${recipe[key]})`);
  }
  return out;
}

/** Compares `id` with the committed files in `dir` (every file verified against its manifest). */
async function check(id: string, dir: string, files: Record<string, Uint8Array>): Promise<number> {
  const manifest = await readFile(join(dir, FILES.manifest)).catch(() => null);
  if (!manifest) {
    log(`check failed: there is no committed starter policy at ${dir} (no ${FILES.manifest})`);
    return 1;
  }
  const committed = await sha256Hex(new Uint8Array(manifest));
  try {
    await readCheckpointDirectory(dir);
  } catch (error) {
    log(
      `check failed: the committed files at ${dir} do not match their manifest: ${(error as Error).message}`,
    );
    return 1;
  }
  const extra = (await readdir(dir)).filter((n) => !(STARTER_POLICY.files as readonly string[]).includes(n));
  if (committed !== id) {
    const listed = JSON.parse(new TextDecoder().decode(manifest)) as {
      files?: Record<string, { sha256: string }>;
    };
    const differ = await Promise.all(
      Object.entries(files)
        .filter(([name]) => name !== FILES.manifest)
        .map(async ([name, bytes]) =>
          (await sha256Hex(bytes)) !== listed.files?.[name]?.sha256 ? name : null,
        ),
    );
    log(
      `check failed: this run gives starter policy ${id}, the committed one at ${dir} is ${committed}` +
        ` (files that differ: ${differ.filter(Boolean).join(', ') || 'none; the manifests differ'})`,
    );
    return 1;
  }
  if (extra.length > 0)
    log(`note: ${dir} also holds ${extra.join(', ')}, which the starter policy does not use`);
  log(`check passed: ${id} is the committed starter policy`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  let values: { out?: string; check?: boolean; steps?: string; from?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        check: { type: 'boolean' },
        steps: { type: 'string' },
        from: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  let steps: number = STARTER_RECIPE.steps;
  if (values.steps !== undefined) {
    steps = Number(values.steps);
    if (!Number.isInteger(steps) || steps < 1 || steps > STARTER_RECIPE.steps)
      throw new UsageError(
        `--steps must be an integer from 1 to ${STARTER_RECIPE.steps}, got '${values.steps}'`,
      );
    if (values.check) throw new UsageError('--check reproduces the whole recipe: it takes no --steps');
    if (values.from) throw new UsageError('--from converts a checkpoint: it takes no --steps');
  }
  const out = values.out
    ? resolve(values.out)
    : values.steps !== undefined
      ? await mkdtemp(join(tmpdir(), 'edgelight-starter-'))
      : DEFAULT_OUT;

  let checkpoint: Checkpoint;
  if (values.from) {
    const dir = await resolveCheckpointDirectory(values.from);
    const read = await readCheckpointDirectory(dir);
    log(`read ${dir} (checkpoint ${read.id.slice(0, 12)})`);
    const differences = differencesFromRecipe(read.checkpoint);
    if (differences.length > 0) log(`note: ${dir} is not the starter recipe's: ${differences.join('; ')}`);
    checkpoint = read.checkpoint;
  } else {
    checkpoint = await trainRecipe(steps);
  }
  const { id, files } = await starterFiles(checkpoint);
  if (values.check) {
    const code = await check(id, out, files);
    console.log(id);
    return code;
  }
  await writeStarter(out, files);
  console.log(id);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (
        error instanceof UsageError ||
        error instanceof TrainSetupError ||
        error instanceof CheckpointError
      ) {
        log(`starter-policy: ${error.message}`);
        process.exitCode = 2;
      } else {
        log(`starter-policy: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        process.exitCode = 1;
      }
    },
  );
}
