import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { z } from 'zod';
import { promptFormatOf } from '../../shared/agent/prompt';
import { FeedbackTask } from '../../shared/agent/task';
import { DEFAULT_GENERATE_OPTIONS, generateFeedback } from '../../shared/data/generator';
import { JsonlError, parseJsonlStrict } from '../../shared/data/jsonl';
import { SftExample } from '../../shared/data/schema';
import { buildSftCorpus } from '../../shared/data/sft';
import { createGovernancePipeline } from '../../shared/governance';
import type { Checkpoint, TrainerState } from '../../shared/policy/checkpoint';
import { MemoryBlobStorage, optimizerStepOf } from '../../shared/policy/checkpoint';
import { policyFromCheckpoint, readNamedTensors, toTfTensors } from '../../shared/policy/checkpoint-policy';
import { createPolicy, describeParameters, type Policy, presetConfig } from '../../shared/policy/model';
import { DEFAULT_MAX_NEW_TOKENS, encodeSftPair } from '../../shared/policy/sequence';
import { PolicyTokenizer } from '../../shared/policy/tokenizer';
import { DEFAULT_VOCAB_SIZE, trainByteLevelBpe } from '../../shared/policy/tokenizer-train';
import { HttpLightningStore } from '../../shared/store/http';
import { InMemoryLightningStore } from '../../shared/store/memory';
import { HttpBlobStorage } from '../../shared/sync/remote';
import { selectBackend } from '../../shared/train/backend';
import type { StepMetrics } from '../../shared/train/loop';
import { runRlLoop } from '../../shared/train/loop-rl';
import { runSftLoop } from '../../shared/train/loop-sft';
import { AdamW } from '../../shared/train/optimizer';
import { ScheduleConfigSchema } from '../../shared/train/schedule';
import {
  readCheckpointDirectory,
  resolveCheckpointDirectory,
  writeRunCheckpoint,
} from '../checkpoints/directory';
import { CliUsageError } from '../cli';
import { createNodeFetch } from '../node-fetch';
import { parseCommandArgs } from './args';

const HELP = `usage: edgelight train --preset tiny|small --algo sft|grpo|rloo [--backend wasm|cpu|webgpu]
                      [--steps N | --minutes M] [--data FILE] [--init CKPT] [--out DIR] [--group G] [--seed S]
                      [--server URL [--token T]]

Trains the reply policy and writes checkpoints (safetensors + config.json + tokenizer.json, optimizer
and trainer state for an exact resume) to DIR/step-NNNNNN/, with DIR/latest naming the newest.
  --preset        model shape (tiny ≈ 0.85 M, small ≈ 5.3 M parameters; ignored with --init)
  --algo          sft: teacher forcing on the SFT corpus; grpo / rloo: RL through the store
  --backend       tfjs backend (default wasm)
  --steps         optimizer steps to run now (a resumed run continues its step count)
  --minutes       stop after this much wall-clock time instead (or as well)
  --data          sft: JSON Lines of {prompt, reply}; grpo/rloo: JSON Lines of {id, text, category?}.
                  Without it the seeded synthetic dataset's train split (and its SFT corpus) is used.
  --init          a checkpoint (or run folder) to start from. The same algorithm with optimizer state
                  resumes exactly; otherwise only the weights and tokenizer are taken (SFT → GRPO).
                  RL needs it: it starts from an SFT checkpoint.
  --out           run folder (default .edgelight/runs/<algo>-<preset>)
  --group         replies per feedback, the GRPO/RLOO group G (default 8)
  --seed          seed of init, data order and sampling (default 1)
  --server        grpo / rloo: use an edgelight server's store and blob folder (e.g. http://127.0.0.1:8787)
                  instead of an in-process store, so rollouts, spans and every published policy version
                  land on the server (and other runners or browsers can pull them)
  --token         bearer token for --server (default: EDGELIGHT_TOKEN)
  --batch         sft: sequences per step (default 16); grpo/rloo: feedback items per step (default 4)
  --lr            peak learning rate (default sft 2e-3, grpo/rloo 3e-4)
  --warmup        warm-up steps (default sft 20, grpo/rloo 0)
  --lr-horizon    step at which the cosine decay ends (default --steps, else 2000; kept on resume)
  --log-every     progress line every N steps (default sft 10, grpo/rloo 1)
  --save-every    checkpoint every N steps (default 100; the final state is always saved)
  --vocab-size    tokenizer vocabulary when one is trained here (default ${DEFAULT_VOCAB_SIZE})
  --max-new-tokens  reply length limit when sampling (default ${DEFAULT_MAX_NEW_TOKENS})
  --temperature   sampling temperature for RL (default 1)
  --beta          KL coefficient to the reference policy, in the loss (default 0.1)
  --reference     the frozen policy of --beta / --kl-reward (default: the one a resumed RL run
                  recorded, else the --init checkpoint)
  --kl-reward     KL in the reward: each reply's reward loses this × its mean per-token
                  log π/π_ref before the group advantages (default 0.2; 0 turns it off)
  --mu            optimizer steps per RL batch (default 3)
  --n-layer, --n-head, --n-embd, --block-size
                  override the preset's shape (experiments, and micro models in tests)
  --copy          add a copy head: the policy may point at earlier tokens (the feedback's own
                  words) as well as draw from its vocabulary (new models only; a checkpoint
                  keeps the head it was trained with)`;

const OPTIONS = {
  preset: { type: 'string', default: 'tiny' },
  algo: { type: 'string' },
  backend: { type: 'string', default: 'wasm' },
  steps: { type: 'string' },
  minutes: { type: 'string' },
  data: { type: 'string' },
  init: { type: 'string' },
  reference: { type: 'string' },
  out: { type: 'string' },
  group: { type: 'string', default: '8' },
  seed: { type: 'string', default: '1' },
  server: { type: 'string' },
  token: { type: 'string' },
  batch: { type: 'string' },
  lr: { type: 'string' },
  warmup: { type: 'string' },
  'lr-horizon': { type: 'string' },
  'log-every': { type: 'string' },
  'save-every': { type: 'string', default: '100' },
  'vocab-size': { type: 'string', default: String(DEFAULT_VOCAB_SIZE) },
  'max-new-tokens': { type: 'string', default: String(DEFAULT_MAX_NEW_TOKENS) },
  temperature: { type: 'string', default: '1' },
  beta: { type: 'string', default: '0.1' },
  'kl-reward': { type: 'string', default: '0.2' },
  mu: { type: 'string', default: '3' },
  'n-layer': { type: 'string' },
  'n-head': { type: 'string' },
  'n-embd': { type: 'string' },
  'block-size': { type: 'string' },
  copy: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function numberOption(value: string | undefined, name: string, check: (n: number) => boolean, rule: string) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !check(n))
    throw new CliUsageError(`--${name} must be ${rule}, got '${value}'`);
  return n;
}
const positiveInt = (v: string | undefined, name: string) =>
  numberOption(v, name, (n) => Number.isInteger(n) && n >= 1, 'an integer ≥ 1');
const positive = (v: string | undefined, name: string) => numberOption(v, name, (n) => n > 0, 'a number > 0');
const nonNegative = (v: string | undefined, name: string) =>
  numberOption(v, name, (n) => n >= 0, 'a number ≥ 0');

async function readJsonl<S extends z.ZodType>(path: string, schema: S, what: string): Promise<z.infer<S>[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliUsageError(`cannot read --data ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  try {
    const rows = parseJsonlStrict(text, schema);
    if (rows.length === 0) throw new CliUsageError(`--data ${path} has no ${what}`);
    return rows;
  } catch (error) {
    if (error instanceof JsonlError) throw new CliUsageError(`--data ${path}: ${error.message}`);
    throw error;
  }
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const m = Math.floor(seconds / 60);
  return m > 0 ? `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s` : `${Math.round(seconds)}s`;
}

/** One progress line: step, reward, KL, loss, tokens/s, ETA. */
function progressLine(
  m: StepMetrics,
  untilStep: number | undefined,
  deadline: number | undefined,
  startedAt: number,
  startStep: number,
) {
  const elapsed = (Date.now() - startedAt) / 1000;
  const perStep = elapsed / Math.max(1, m.step - startStep);
  const etaSteps = untilStep !== undefined ? (untilStep - m.step) * perStep : Number.POSITIVE_INFINITY;
  const etaClock = deadline !== undefined ? (deadline - Date.now()) / 1000 : Number.POSITIVE_INFINITY;
  const parts = [`step ${m.step}${untilStep !== undefined ? `/${untilStep}` : ''}`];
  if (m.rewardMean !== undefined)
    parts.push(`reward ${m.rewardMean.toFixed(3)}±${(m.rewardStd ?? 0).toFixed(3)}`);
  if (m.violationRate !== undefined) parts.push(`viol ${(100 * m.violationRate).toFixed(1)}%`);
  parts.push(`kl ${(m.kl ?? 0).toFixed(4)}`, `loss ${m.loss.toFixed(4)}`, `lr ${m.lr.toExponential(2)}`);
  // Where an RL step's time goes: drafting the replies (rollouts, reward, reference) vs the update.
  if (m.samplingSeconds !== undefined)
    parts.push(`time ${m.seconds.toFixed(1)}s (sampling ${m.samplingSeconds.toFixed(1)}s)`);
  parts.push(
    `tok/s ${Math.round(m.tokensPerSecond)}`,
    `eta ${formatDuration(Math.max(0, Math.min(etaSteps, etaClock)))}`,
  );
  return parts.join('  ');
}

type Algo = 'sft' | 'grpo' | 'rloo';

export interface TrainRunOptions {
  /**
   * Ends the run after the current step, with a final checkpoint (a server job's DELETE). Without
   * one, Ctrl-C / SIGTERM does the same from a terminal; a second Ctrl-C quits at once.
   */
  signal?: AbortSignal;
}

export async function run(argv: string[], options: TrainRunOptions = {}): Promise<number> {
  const { values } = parseCommandArgs(argv, OPTIONS);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const algo = values.algo as Algo | undefined;
  if (!algo || !['sft', 'grpo', 'rloo'].includes(algo))
    throw new CliUsageError(`--algo must be sft, grpo or rloo`);
  if (!['tiny', 'small'].includes(values.preset)) throw new CliUsageError(`--preset must be tiny or small`);
  if (!['wasm', 'cpu', 'webgpu'].includes(values.backend))
    throw new CliUsageError(`--backend must be wasm, cpu or webgpu`);
  const steps = positiveInt(values.steps, 'steps');
  const minutes = positive(values.minutes, 'minutes');
  if (steps === undefined && minutes === undefined) throw new CliUsageError('give --steps N or --minutes M');
  const seed = numberOption(values.seed, 'seed', Number.isInteger, 'an integer')!;
  const group = positiveInt(values.group, 'group')!;
  const rl = algo !== 'sft';
  if (rl && group < 2)
    throw new CliUsageError(`--group must be ≥ 2 for ${algo} (advantages compare samples)`);
  if (rl && !values.init)
    throw new CliUsageError(`${algo} starts from a trained policy: give --init CKPT (an SFT checkpoint)`);
  const batch = positiveInt(values.batch, 'batch') ?? (rl ? 4 : 16);
  // The RL defaults are the measured recipe of docs/training.md ("Learning", r12): lr 3e-4, 4 × G 8, μ 3, β 0.1,
  // KL in the reward 0.2.
  const lr = positive(values.lr, 'lr') ?? (rl ? 3e-4 : 2e-3);
  const warmup =
    numberOption(values.warmup, 'warmup', (n) => Number.isInteger(n) && n >= 0, 'an integer ≥ 0') ??
    (rl ? 0 : 20);
  const logEvery = positiveInt(values['log-every'], 'log-every') ?? (rl ? 1 : 10);
  const saveEvery = positiveInt(values['save-every'], 'save-every')!;
  const vocabSize = positiveInt(values['vocab-size'], 'vocab-size')!;
  const maxNewTokens = positiveInt(values['max-new-tokens'], 'max-new-tokens')!;
  const temperature = nonNegative(values.temperature, 'temperature')!;
  const beta = nonNegative(values.beta, 'beta')!;
  const klReward = nonNegative(values['kl-reward'], 'kl-reward')!;
  const mu = positiveInt(values.mu, 'mu')!;
  const outDir = resolve(values.out ?? join('.edgelight', 'runs', `${algo}-${values.preset}`));
  if (values.server !== undefined) {
    if (!rl) throw new CliUsageError('--server is for grpo / rloo (SFT reads no store)');
    if (!/^https?:\/\/[^\s/]+/.test(values.server))
      throw new CliUsageError(`--server must be an http(s) URL, got '${values.server}'`);
  }
  const remote = values.server
    ? { baseUrl: values.server, token: values.token ?? process.env.EDGELIGHT_TOKEN, fetch: createNodeFetch() }
    : null;
  if (remote) {
    // Fail before any work (and without a stack trace) when the server is unreachable or refuses us.
    try {
      await new HttpLightningStore({ ...remote, retryDelaysMs: [200, 500] }).getLatestResources();
    } catch (error) {
      throw new CliUsageError(`--server ${values.server}: ${(error as Error).message}`);
    }
  }

  // Starting point: a checkpoint to resume or to start from, or a fresh model.
  let init: { id: string; checkpoint: Checkpoint; dir: string } | null = null;
  if (values.init) {
    try {
      const dir = await resolveCheckpointDirectory(values.init);
      init = { ...(await readCheckpointDirectory(dir)), dir };
    } catch (error) {
      throw new CliUsageError(`--init ${values.init}: ${(error as Error).message}`);
    }
  }
  const resume =
    init?.checkpoint.trainer?.algo === algo && init.checkpoint.optimizer ? init.checkpoint.trainer : null;
  // The KL guards' reference: --reference, else the one a resumed RL run recorded, else --init itself
  // (a run that starts RL from an SFT checkpoint).
  const recordedReference = typeof resume?.options.reference === 'string' ? resume.options.reference : null;
  let reference: { dir: string; checkpoint: Checkpoint } | null = init
    ? { dir: init.dir, checkpoint: init.checkpoint }
    : null;
  const referencePath = values.reference ?? recordedReference;
  if (referencePath) {
    const flag = values.reference ? '--reference' : 'the reference this run was started with';
    try {
      const dir = await resolveCheckpointDirectory(referencePath);
      reference = { dir, checkpoint: (await readCheckpointDirectory(dir)).checkpoint };
    } catch (error) {
      throw new CliUsageError(`${flag} ${referencePath}: ${(error as Error).message}`);
    }
  }

  const backend = await selectBackend({ prefer: values.backend as 'wasm' | 'cpu' | 'webgpu' });
  console.error(
    `backend ${backend.name} (${backend.adapterDescription}${backend.software ? ', software' : ''})`,
  );
  const governance = createGovernancePipeline();

  // Data: the SFT corpus, or the RL tasks.
  let sftExamples: Array<{ prompt: string; reply: string }> = [];
  let tasks: FeedbackTask[] = [];
  if (!rl) {
    if (values.data)
      sftExamples = await readJsonl(values.data, SftExample.pick({ prompt: true, reply: true }), 'examples');
    else {
      const train = generateFeedback(DEFAULT_GENERATE_OPTIONS).filter((i) => i.metadata.split === 'train');
      sftExamples = buildSftCorpus(train, { governance });
      console.error(
        `data: generated SFT corpus, ${sftExamples.length} examples (seed ${DEFAULT_GENERATE_OPTIONS.seed}, train split)`,
      );
    }
  } else {
    if (values.data) tasks = await readJsonl(values.data, FeedbackTask, 'tasks');
    else {
      tasks = generateFeedback(DEFAULT_GENERATE_OPTIONS).filter((i) => i.metadata.split === 'train');
      console.error(
        `data: generated train split, ${tasks.length} feedback items (seed ${DEFAULT_GENERATE_OPTIONS.seed})`,
      );
    }
  }

  // The SFT corpus's prompt format (with or without the key-words line) becomes the policy's: RL and
  // eval build the same format from its config.
  let keyWords = false;
  if (!rl) {
    try {
      keyWords = promptFormatOf(sftExamples.map((e) => e.prompt)).keyWords;
    } catch (error) {
      throw new CliUsageError(`--data ${values.data}: ${(error as Error).message}`);
    }
  }

  // Model and tokenizer.
  let policy: Policy;
  let tokenizer: PolicyTokenizer;
  if (init) {
    try {
      ({ policy, tokenizer } = policyFromCheckpoint(init.checkpoint));
    } catch (error) {
      throw new CliUsageError(`--init ${values.init}: ${(error as Error).message}`);
    }
    if (values.copy && !policy.config.copy) {
      policy.dispose();
      throw new CliUsageError(
        `--copy: --init ${values.init} has no copy head, and a checkpoint keeps its shape`,
      );
    }
    if (!rl && policy.config.promptKeyWords !== keyWords) {
      policy.dispose();
      throw new CliUsageError(
        `--init ${values.init} was trained on prompts ${policy.config.promptKeyWords ? 'with' : 'without'} ` +
          `a "Key words:" line and --data's prompts are ${keyWords ? 'with' : 'without'} it; a policy keeps one prompt format`,
      );
    }
    console.error(
      `init: ${init.dir} (${init.id.slice(0, 12)}), ${resume ? `resuming at step ${resume.step}` : 'weights only'}`,
    );
  } else {
    tokenizer = PolicyTokenizer.fromJson(
      trainByteLevelBpe(
        sftExamples.flatMap((e) => [e.prompt, e.reply]),
        { vocabSize },
      ),
    );
    const shape = {
      nLayer: positiveInt(values['n-layer'], 'n-layer'),
      nHead: positiveInt(values['n-head'], 'n-head'),
      nEmbd: positiveInt(values['n-embd'], 'n-embd'),
      blockSize: positiveInt(values['block-size'], 'block-size'),
      copy: values.copy,
    };
    const overrides = Object.fromEntries(Object.entries(shape).filter(([, v]) => v !== undefined));
    let config: ReturnType<typeof presetConfig>;
    try {
      config = presetConfig(values.preset as 'tiny' | 'small', {
        ...overrides,
        vocabSize: tokenizer.vocabSize,
        padId: tokenizer.padId,
        promptKeyWords: keyWords,
      });
    } catch (error) {
      throw new CliUsageError(`model shape: ${(error as Error).message}`);
    }
    policy = createPolicy(config, { seed });
    console.error(`tokenizer: trained here, ${tokenizer.vocabSize} tokens`);
  }
  console.error(
    `model: ${describeParameters(policy.config)}${policy.config.promptKeyWords ? '; prompts with a key-words line' : ''}`,
  );

  const optimizer = new AdamW(policy.weights, { weightDecay: rl ? 0 : 0.01 });
  if (resume && init?.checkpoint.optimizer) {
    const tensors = toTfTensors(init.checkpoint.optimizer.tensors);
    try {
      // The optimizer counts its own updates (μ per RL batch), which the bias correction and the
      // schedule read; the trainer's step counts batches.
      optimizer.importState({ step: optimizerStepOf(init.checkpoint, resume.step), tensors });
    } catch (error) {
      throw new CliUsageError(`--init ${values.init}: optimizer state: ${(error as Error).message}`);
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  }
  const startStep = resume?.step ?? 0;
  const horizon =
    positiveInt(values['lr-horizon'], 'lr-horizon') ??
    (typeof resume?.options.lrHorizon === 'number' ? resume.options.lrHorizon : undefined) ??
    (steps !== undefined ? startStep + steps : 2000);
  const schedule = ScheduleConfigSchema.parse({
    lr,
    warmupSteps: warmup,
    totalSteps: horizon,
    minLr: rl ? lr : lr / 10,
  });
  const runOptions = {
    // As the browser lab labels its checkpoints: the preset, `-copy` with a copy head.
    preset: policy.config.copy ? `${values.preset}-copy` : values.preset,
    batch,
    lr,
    warmup,
    lrHorizon: horizon,
    group,
    maxNewTokens,
    temperature,
    beta,
    klReward,
    mu,
    // Where the reference lives, so `--init RUN` continues against the same one.
    ...(rl && reference?.dir ? { reference: resolve(reference.dir) } : {}),
  };

  const startedAt = Date.now();
  const untilStep = steps !== undefined ? startStep + steps : undefined;
  const deadline = minutes !== undefined ? startedAt + minutes * 60_000 : undefined;
  const interrupt = options.signal ? null : interruptOnSignals();
  const stop = { untilStep, deadline, signal: options.signal ?? interrupt?.signal };
  const saveAt = async (step: number) => {
    const trainer: TrainerState = { step, algo, seed, rng: [], cursor: step * batch, options: runOptions };
    const state = optimizer.exportState();
    const checkpoint: Checkpoint = {
      config: { ...policy.config },
      weights: await readNamedTensors(policy.weights),
      tokenizer: tokenizer.toText(),
      optimizer: {
        tensors: await readNamedTensors(state.tensors),
        metadata: { step: String(state.step), algo },
      },
      trainer,
    };
    const saved = await writeRunCheckpoint(outDir, step, checkpoint);
    console.error(`checkpoint ${saved.dir} (${saved.id.slice(0, 12)})`);
  };
  const onMetrics = (m: StepMetrics) => {
    if (m.step % logEvery === 0 || (untilStep !== undefined && m.step >= untilStep))
      console.log(progressLine(m, untilStep, deadline, startedAt, startStep));
  };

  let finalStep: number;
  try {
    if (!rl) {
      const pairs = sftExamples.map((e) =>
        encodeSftPair(tokenizer, e.prompt, e.reply, policy.config.blockSize, maxNewTokens),
      );
      ({ step: finalStep } = await runSftLoop({
        policy,
        optimizer,
        pairs,
        batchSize: batch,
        schedule,
        seed,
        startStep,
        stop,
        logEvery: Math.min(logEvery, 10),
        onMetrics,
        checkpointEvery: saveEvery,
        onCheckpoint: saveAt,
      }));
    } else {
      const referencePolicy =
        beta > 0 || klReward > 0 ? policyFromCheckpoint(reference!.checkpoint).policy : undefined;
      ({ step: finalStep } = await runRlLoop({
        // With --server the loop talks to the server exactly as it talks to the in-process store.
        store: remote ? new HttpLightningStore(remote) : new InMemoryLightningStore(),
        checkpoints: remote ? new HttpBlobStorage(remote) : new MemoryBlobStorage(),
        policy,
        tokenizer,
        optimizer,
        algo: algo as 'grpo' | 'rloo',
        policyGradient: { beta, mu },
        reference: referencePolicy,
        klReward,
        tasks,
        tasksPerStep: batch,
        group,
        governance,
        sampling: { temperature, maxNewTokens },
        schedule,
        seed,
        startStep,
        stop,
        onMetrics,
        checkpointEvery: saveEvery,
        onCheckpoint: saveAt,
      }));
      referencePolicy?.dispose();
    }
  } finally {
    interrupt?.dispose();
  }
  // A run stopped before its first step has nothing new to save.
  if (finalStep > startStep) await saveAt(finalStep);
  const stopped = stop.signal?.aborted ? ' (stopped)' : '';
  console.error(
    `done${stopped}: ${finalStep - startStep} steps in ${formatDuration((Date.now() - startedAt) / 1000)}`,
  );
  optimizer.dispose();
  policy.dispose();
  return 0;
}

/** SIGINT/SIGTERM → abort after the current step; a second signal exits at once. */
function interruptOnSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    console.error(`${name}: stopping after this step and saving a checkpoint (again to quit now)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
