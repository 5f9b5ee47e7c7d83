// The one place a training run is opened and driven, for every shell: `edgelight train`, the lab worker
// and the server's training jobs. It decides — once — new policy or init, resume or weights only, the
// optimizer, each phase's schedule, the SFT → RL phases, the KL reference (by checkpoint id) and how a
// checkpoint is assembled; it reports typed events. Shells keep their I/O: where data comes from, where
// checkpoints go (a run folder, IndexedDB, the server's blob folder), and how events are shown.
//
//   const session = await openTrainSession(config, io);   // loads or builds the policy
//   const result = await session.run({ signal });          // until steps / minutes / abort; saves the end
//   await session.run({ signal: other });                   // a paused run continues in memory
//   session.dispose();
import { promptFormatOf } from '../agent/prompt';
import type { FeedbackTask } from '../agent/task';
import type { PreferenceLabel, PreferencePair } from '../data/preference';
import type { GovernancePipeline } from '../governance/types';
import type { BlobStorage, Checkpoint } from '../policy/checkpoint';
import { MemoryBlobStorage, optimizerStepOf } from '../policy/checkpoint';
import {
  checkpointFromPolicy,
  policyFromCheckpoint,
  readNamedTensors,
  toTfTensors,
} from '../policy/checkpoint-policy';
import {
  attachLora,
  createLora,
  detachLora,
  type Lora,
  loraOf,
  mergeLora,
  resolveLoraConfig,
} from '../policy/lora';
import { clonePolicy, createPolicy, describeParameters, Policy, presetConfig } from '../policy/model';
import { deriveSeed } from '../random';
import { encodeSftPair } from '../policy/sequence';
import { PolicyTokenizer } from '../policy/tokenizer';
import { trainByteLevelBpe } from '../policy/tokenizer-train';
import { InMemoryLightningStore } from '../store/memory';
import type { LightningStore } from '../store/store';
import { type LearnedReward, learnedRewardOf, type RewardModel } from '../agent/reward-model';
import {
  algoDefaults,
  isPreference,
  isRl,
  loraSettingsOf,
  resolveTrainConfig,
  SHAPE_KEYS,
  type TrainAlgo,
  type TrainConfig,
  type TrainConfigInput,
} from './config';
import type { SequencePair } from './batch';
import type { StepMetrics } from './loop';
import { runRlLoop } from './loop-rl';
import { type PreferenceData, runPreferenceLoop } from './loop-preference';
import { runSftLoop } from './loop-sft';
import { encodePreferenceLabel, encodePreferencePair } from './preference';
import { type RecordedGroups, readRecordedGroups, recordedSource } from './recorded';
import { AdamW } from './optimizer';
import { trainableWeights } from './step';
import { type SampledReply, SampleTap } from './sample-tap';
import { type ScheduleConfig, ScheduleConfigSchema } from './schedule';
import {
  algoFamily,
  type ReadTrainerState,
  type ReferenceRef,
  readTrainerState,
  TRAINER_STATE_VERSION,
  type TrainerState,
} from './trainer-state';

export type { SampledReply } from './sample-tap';

/** A checkpoint as a shell found it: its id, content, and (command line) the folder it came from. */
export type LoadedCheckpoint = { id: string; checkpoint: Checkpoint; path?: string };

/** What a shell gives the session: data, storage and an event sink. */
export interface TrainIO {
  /** The SFT corpus: SFT phases train on it, and a new policy's tokenizer is trained on it. */
  sftExamples(): Promise<Array<{ prompt: string; reply: string }>>;
  /** RL phases' feedback items. */
  tasks(): Promise<FeedbackTask[]>;
  /** dpo: preference pairs {prompt, chosen, rejected} (a shell without them cannot run dpo). */
  preferencePairs?(): Promise<PreferencePair[]>;
  /** kto: labelled replies {prompt, completion, label}. */
  preferenceLabels?(): Promise<PreferenceLabel[]>;
  governance(): Promise<GovernancePipeline>;
  /** grpo / rloo with `rewardModel`: reads the reward model the config names (a file, an id…). */
  loadRewardModel?(ref: string): Promise<RewardModel>;
  /** Finds a checkpoint by what the config names (`init`, `reference`): a folder, an id, 'latest'… */
  loadCheckpoint(ref: ReferenceRef | string): Promise<LoadedCheckpoint>;
  /** Persists a checkpoint of the run (a run folder, IndexedDB, blobs) and returns its id. */
  saveCheckpoint(checkpoint: Checkpoint, at: { runStep: number; phase: TrainAlgo }): Promise<string>;
  /** RL: where rollouts and spans go (default: a store in memory). */
  store?: LightningStore;
  /** RL: where each step's weights are published for the runners (default: memory). */
  publish?: BlobStorage;
  onEvent?: (event: TrainEvent) => void | Promise<void>;
}

/** A step's record: the loop's metrics plus where it sits in the run. One line of metrics.jsonl. */
export type StepRecord = StepMetrics & { phase: TrainAlgo; runStep: number };

export type TrainEvent =
  | { type: 'info'; message: string }
  | { type: 'phase'; phase: TrainAlgo; runStep: number; steps: number | null }
  | { type: 'step'; record: StepRecord; samples: SampledReply[] }
  | { type: 'checkpoint'; id: string; runStep: number; phase: TrainAlgo; state: TrainerState }
  | { type: 'done'; runStep: number; reason: RunEnd }
  | { type: 'error'; message: string };

export type RunEnd = 'finished' | 'deadline' | 'aborted';

/** A mistake in what was asked (mismatched resume, bad data): shells show the message, not a stack. */
export class TrainSetupError extends Error {
  override name = 'TrainSetupError';
}

type PhasePlan = {
  phase: TrainAlgo;
  /** Optimizer steps done in this phase. */
  step: number;
  /** Stop this phase at this phase step (the warm-up's length; the run's last step); none: by clock. */
  until: number | undefined;
  offset: number;
  schedule: ScheduleConfig;
  batch: number;
};

/**
 * A phase's learning-rate schedule and batch. The run's algorithm takes the config; an RL run's SFT
 * warm-up takes SFT's defaults, with the warm-up ramp at most a fifth of it (a 20-step warm-up phase
 * would otherwise never reach its peak rate).
 */
export function phaseSchedule(
  config: TrainConfig,
  phase: TrainAlgo,
): { schedule: ScheduleConfig; batch: number } {
  if (phase === config.algo) {
    return {
      schedule: ScheduleConfigSchema.parse({
        lr: config.lr,
        warmupSteps: config.warmup,
        totalSteps: config.lrHorizon ?? 2000,
        minLr: isRl(phase) ? config.lr : config.lr / 10,
      }),
      batch: config.batch,
    };
  }
  const sft = algoDefaults('sft');
  return {
    schedule: ScheduleConfigSchema.parse({
      lr: sft.lr,
      warmupSteps: Math.min(sft.warmup, Math.floor(config.sftSteps / 5)),
      totalSteps: Math.max(1, config.sftSteps),
      minLr: sft.lr / 10,
    }),
    batch: sft.batch,
  };
}

const weightDecayOf = (phase: TrainAlgo) => (phase === 'sft' ? 0.01 : 0);

/**
 * The policy with the adapter of this run, or none (full fine-tuning). A resumed LoRA run keeps the
 * adapter its checkpoint carries (and must ask for the same one); a new phase from weights folds any
 * adapter init carries into the base (W + scale·A·B), so the new adapter starts, with B = 0, exactly where
 * init was, and the base alone is that starting point: the run's frozen reference.
 */
function prepareAdapter(policy: Policy, config: TrainConfig, resuming: boolean): Lora | null {
  const asked = loraSettingsOf(config);
  const carried = loraOf(policy);
  if (resuming) {
    if (carried && asked) {
      const want = resolveLoraConfig(asked, carried.config.family);
      if (JSON.stringify(want) !== JSON.stringify(carried.config))
        throw new TrainSetupError(
          `init ${config.init} trains a LoRA adapter ${JSON.stringify(carried.config)} and ${JSON.stringify(want)} was asked: a resumed run keeps its adapter`,
        );
      return carried;
    }
    if (carried || asked)
      throw new TrainSetupError(
        `init ${config.init} continues a ${carried ? 'LoRA' : 'full fine-tuning'} run and ${asked ? 'LoRA' : 'full fine-tuning'} was asked: a resumed run keeps what it trains (start a new phase from its weights instead)`,
      );
    return null;
  }
  if (carried) foldAdapter(policy);
  if (!asked) return null;
  const lora = createLora(policy, asked, { seed: deriveSeed(config.seed, 'lora') });
  attachLora(policy, lora);
  return lora;
}

/** Folds the attached adapter into the policy's weights and disposes it. */
function foldAdapter(policy: Policy): void {
  const lora = loraOf(policy);
  if (!lora) return;
  const merged = mergeLora(policy, lora);
  detachLora(policy);
  policy.loadWeights(merged);
  for (const t of Object.values(merged)) t.dispose();
  lora.dispose();
}

/**
 * The frozen reference of a LoRA run: the base itself, its projections without the adapter. A second
 * Policy over the same variables, so no copy of the base weights is made; the session never disposes it.
 */
function baseOf(policy: Policy): Policy {
  return new Policy(policy.config, policy.weights);
}

/** What a LoRA adapter trains, as a line of the run's log. */
function describeAdapter(lora: Lora, policy: Policy): string {
  const base = Object.values(policy.weights).reduce((n, w) => n + w.size, 0);
  const { rank, alpha, dropout, targets, family } = lora.config;
  const share = ((100 * lora.size()) / base).toFixed(2);
  return `LoRA: rank ${rank}, alpha ${alpha}, dropout ${dropout}, targets ${targets.join(', ')} (${family}): ${lora.size()} trainable values, ${share} % of the ${base} base weights, which stay frozen`;
}

/**
 * The config with its cosine horizon fixed as the run's algorithm phase starts at `startStep`: asked,
 * else recorded (a resume keeps it), else the end of this call's steps, else 2000.
 */
function withHorizon(config: TrainConfig, startStep: number): TrainConfig {
  if (config.lrHorizon !== undefined) return config;
  return { ...config, lrHorizon: config.steps !== undefined ? startStep + config.steps : 2000 };
}

/** What differs between a checkpoint's policy and the shape settings a run asks for, if anything. */
function shapeMismatch(config: TrainConfig, policy: Policy): string | null {
  for (const key of SHAPE_KEYS) {
    const asked = config[key];
    if (asked !== undefined && asked !== policy.config[key])
      return `${key} ${asked} was asked but the checkpoint has ${policy.config[key]}`;
  }
  if (config.copy && !policy.config.copy) return 'a copy head was asked but the checkpoint has none';
  return null;
}

/** The frozen reference; `shared`: it is the base of a LoRA run (baseOf), whose weights the policy owns. */
type Reference = { policy: Policy; ref: ReferenceRef; shared?: boolean };

export class TrainSession {
  private reference: Reference | null = null;
  private savedAt: { runStep: number; phase: TrainAlgo; id: string } | null = null;
  private tap = new SampleTap();
  /** Where the session opened: a run that trained no step since has nothing new to save. */
  private readonly openedAt: { runStep: number; phase: TrainAlgo };

  private constructor(
    private _config: TrainConfig,
    private readonly io: TrainIO,
    readonly policy: Policy,
    readonly tokenizer: PolicyTokenizer,
    private optimizer: AdamW,
    private plan: PhasePlan,
    private readonly runId: string | undefined,
  ) {
    this.openedAt = { runStep: plan.offset + plan.step, phase: plan.phase };
  }

  /** The run's resolved settings (the cosine horizon is fixed when the algorithm's phase starts). */
  get config(): TrainConfig {
    return this._config;
  }

  /** The phase being trained, its step and the run's step (what a progress display shows). */
  get position() {
    return { phase: this.plan.phase, step: this.plan.step, runStep: this.plan.offset + this.plan.step };
  }

  /** The planned number of steps of the whole run (warm-up included), when steps bound it. */
  get totalSteps(): number | undefined {
    const { phase, until, offset } = this.plan;
    if (until === undefined) return undefined;
    if (phase === this.config.algo) return offset + until;
    return offset + until + (this.config.steps ?? 0);
  }

  /**
   * Opens a run: loads `init` (resume, or weights only), or builds a new tokenizer and policy; picks
   * the phase, its schedule and the KL reference. `input` holds the settings asked for: a resume takes
   * the recorded config and overrides what `input` gives.
   */
  static async open(
    input: TrainConfigInput,
    io: TrainIO,
    options: {
      runId?: string;
      /** Start a new run from init's weights even where its state could be resumed (the lab's Start). */
      weightsOnly?: boolean;
    } = {},
  ): Promise<TrainSession> {
    let config = resolveTrainConfig(input);
    const init = config.init
      ? await io.loadCheckpoint(config.init).catch((error: Error) => {
          throw error instanceof TrainSetupError
            ? error
            : new TrainSetupError(`init ${config.init}: ${error.message}`);
        })
      : null;
    let state: ReadTrainerState | null = null;
    if (init?.checkpoint.trainer && init.checkpoint.optimizer && !options.weightsOnly) {
      try {
        state = readTrainerState(init.checkpoint.trainer);
      } catch (error) {
        throw new TrainSetupError(`init ${config.init}: ${(error as Error).message}`);
      }
    }

    // Resume (this run's optimizer state continues) or weights only (a new phase from its weights).
    let resumePhase: TrainAlgo | null = null;
    if (state) {
      const runAlgo = state.config?.algo ?? state.phase;
      if (state.phase === config.algo) resumePhase = state.phase;
      else if (state.phase === 'sft' && runAlgo === config.algo)
        resumePhase = 'sft'; // an RL run's warm-up
      else if (algoFamily(state.phase) === algoFamily(config.algo))
        throw new TrainSetupError(
          `init ${config.init} continues a ${state.phase} run, and ${config.algo} was asked: resume it with algo ${state.phase}`,
        );
    }
    // LoRA asked of a full fine-tuning run's checkpoint: a LoRA run from its weights, not its continuation.
    if (resumePhase && config.loraRank !== undefined && state?.config?.loraRank === undefined)
      resumePhase = null;
    if (resumePhase && state) {
      // The recorded settings are the base; what was asked overrides them (steps and minutes are per call).
      // init and reference are where this call found things; the state's reference id is what counts.
      const { steps: _s, minutes: _m, init: _i, reference: _r, ...recorded } = state.config ?? {};
      config = resolveTrainConfig({
        ...recorded,
        ...(state.legacyLrHorizon !== undefined ? { lrHorizon: state.legacyLrHorizon } : {}),
        ...input,
      });
    }
    if (config.recorded && !init)
      throw new TrainSetupError(
        'recorded rollouts need init: the policy that served them (or one with its tokenizer), since their token ids are its tokenizer’s',
      );
    if (isPreference(config.algo) && !init)
      throw new TrainSetupError(
        `${config.algo} starts from a trained policy: give init (an SFT checkpoint, the served policy); its frozen copy is the reference the implicit reward compares against`,
      );
    const warmUp = isRl(config.algo) && !init && config.sftSteps > 0;
    const firstPhase: TrainAlgo = resumePhase ?? (warmUp ? 'sft' : config.algo);
    const emit = (event: TrainEvent) => io.onEvent?.(event);

    // Model and tokenizer.
    let policy: Policy;
    let tokenizer: PolicyTokenizer;
    const examples = !init || firstPhase === 'sft' ? await io.sftExamples() : [];
    let keyWords = false;
    if (examples.length > 0) {
      try {
        keyWords = promptFormatOf(examples.map((e) => e.prompt)).keyWords;
      } catch (error) {
        throw new TrainSetupError(`the SFT corpus: ${(error as Error).message}`);
      }
    }
    if (init) {
      // A checkpoint no run here wrote (a pretrained model, an exported one) was never trained on our
      // prompts: its first SFT phase sets the format, from the corpus.
      if (!init.checkpoint.trainer && firstPhase === 'sft')
        init.checkpoint.config = { ...init.checkpoint.config, promptKeyWords: keyWords };
      try {
        ({ policy, tokenizer } = policyFromCheckpoint(init.checkpoint, { adapter: 'attach' }));
      } catch (error) {
        throw new TrainSetupError(`init ${config.init}: ${(error as Error).message}`);
      }
      const mismatch = shapeMismatch(config, policy);
      const formatDiffers = firstPhase === 'sft' && policy.config.promptKeyWords !== keyWords;
      if (mismatch || formatDiffers) {
        loraOf(policy)?.dispose();
        policy.dispose();
        throw new TrainSetupError(
          mismatch
            ? `init ${config.init}: ${mismatch}; a checkpoint keeps its shape`
            : `init ${config.init} was trained on prompts ${policy.config.promptKeyWords ? 'with' : 'without'} a "Key words:" line and the SFT corpus's prompts are ${keyWords ? 'with' : 'without'} it; a policy keeps one prompt format`,
        );
      }
      await emit({
        type: 'info',
        message: `init: ${init.path ?? config.init} (${init.id.slice(0, 12)}), ${resumePhase && state ? `resuming at step ${state.offset + state.step}` : 'weights only'}`,
      });
    } else {
      tokenizer = PolicyTokenizer.fromJson(
        trainByteLevelBpe(
          examples.flatMap((e) => [e.prompt, e.reply]),
          { vocabSize: config.vocabSize },
        ),
      );
      const overrides = Object.fromEntries(
        SHAPE_KEYS.filter((k) => config[k] !== undefined).map((k) => [k, config[k]]),
      );
      let modelConfig: ReturnType<typeof presetConfig>;
      try {
        modelConfig = presetConfig(config.preset, {
          ...overrides,
          copy: config.copy,
          vocabSize: tokenizer.vocabSize,
          padId: tokenizer.padId,
          promptKeyWords: keyWords,
        });
      } catch (error) {
        throw new TrainSetupError(`model shape: ${(error as Error).message}`);
      }
      policy = createPolicy(modelConfig, { seed: config.seed });
      await emit({ type: 'info', message: `tokenizer: trained here, ${tokenizer.vocabSize} tokens` });
    }
    await emit({
      type: 'info',
      message: `model: ${describeParameters(policy.config)}${policy.config.promptKeyWords ? '; prompts with a key-words line' : ''}`,
    });

    // What trains: a LoRA adapter on the frozen base, or every weight.
    let lora: Lora | null;
    try {
      if (loraSettingsOf(config) && config.reference)
        throw new TrainSetupError(
          'with LoRA the reference is the frozen base itself (the policy without its adapter): leave reference out',
        );
      lora = prepareAdapter(policy, config, resumePhase !== null);
    } catch (error) {
      loraOf(policy)?.dispose();
      policy.dispose();
      if (error instanceof TrainSetupError) throw error;
      throw new TrainSetupError(`LoRA: ${(error as Error).message}`);
    }
    if (lora) await emit({ type: 'info', message: describeAdapter(lora, policy) });

    // Optimizer over what trains (step.ts trainableWeights), resumed where the checkpoint left it.
    const optimizer = new AdamW(trainableWeights(policy), { weightDecay: weightDecayOf(firstPhase) });
    const resumed = resumePhase ? state : null; // state is read only beside optimizer state
    if (resumed && init?.checkpoint.optimizer) {
      const tensors = toTfTensors(init.checkpoint.optimizer.tensors);
      try {
        // The optimizer counts its own updates (μ per RL batch), which bias correction and the schedule
        // read; the trainer's step counts batches.
        optimizer.importState({ step: optimizerStepOf(init.checkpoint, resumed.step), tensors });
      } catch (error) {
        optimizer.dispose();
        loraOf(policy)?.dispose();
        policy.dispose();
        throw new TrainSetupError(`init ${config.init}: optimizer state: ${(error as Error).message}`);
      } finally {
        for (const t of Object.values(tensors)) t.dispose();
      }
    }
    const startStep = resumed?.step ?? 0;
    const offset = resumed?.offset ?? 0;
    if (firstPhase === config.algo) config = withHorizon(config, startStep);
    const { schedule, batch } = phaseSchedule(config, firstPhase);
    const plan: PhasePlan = {
      phase: firstPhase,
      step: startStep,
      until:
        firstPhase !== config.algo
          ? config.sftSteps
          : config.steps !== undefined
            ? startStep + config.steps
            : undefined,
      offset,
      schedule,
      batch,
    };
    const session = new TrainSession(
      config,
      io,
      policy,
      tokenizer,
      optimizer,
      plan,
      options.runId ?? state?.runId,
    );

    // The KL reference of an RL phase (and the policy of DPO / KTO's implicit reward): asked, else the
    // one the run recorded, else init's weights. A LoRA run's is always its base (the adapter off): the
    // starting point by construction (prepareAdapter), and no second copy of the weights.
    const frozen = (ref: ReferenceRef): Reference =>
      lora
        ? { policy: baseOf(policy), ref, shared: true }
        : { policy: clonePolicy(policy, { trainable: false }), ref };
    if ((isRl(firstPhase) && (config.beta > 0 || config.klReward > 0)) || isPreference(firstPhase)) {
      try {
        if (config.reference) await session.loadReference(config.reference);
        else if (resumed?.reference)
          if (lora) session.reference = frozen(resumed.reference);
          else await session.loadReference(resumed.reference);
        else if (init && !resumed)
          session.reference = frozen({ checkpointId: init.id, ...(init.path ? { path: init.path } : {}) });
        else if (!init)
          // RL from random weights (sftSteps 0): the seeded initial weights are the reference, and the
          // seed names them (createPolicy is a pure function of config and seed), so no checkpoint is needed.
          session.reference = frozen({ initSeed: config.seed });
        else throw new TrainSetupError(`init ${config.init} records no KL reference: give reference`);
      } catch (error) {
        session.dispose();
        if (error instanceof TrainSetupError) throw error;
        throw new TrainSetupError(`the KL reference: ${(error as Error).message}`);
      }
    }
    if ((config.recorded && isRl(firstPhase)) || isPreference(firstPhase) || config.rewardModel) {
      // Read (and checked) before the first step: a run with nothing to train on is a setup mistake.
      try {
        if (isPreference(firstPhase)) await session.preferenceData();
        else if (config.recorded) await session.recordedGroups();
        if (config.rewardModel) await session.learnedReward();
      } catch (error) {
        session.dispose();
        throw error;
      }
    }
    await emit({ type: 'phase', phase: firstPhase, runStep: offset + startStep, steps: plan.until ?? null });
    return session;
  }

  private async loadReference(ref: ReferenceRef | string): Promise<void> {
    if (typeof ref !== 'string' && ref.initSeed !== undefined) {
      this.reference = {
        policy: createPolicy(this.policy.config, { seed: ref.initSeed, trainable: false }),
        ref,
      };
      return;
    }
    const loaded = await this.io.loadCheckpoint(ref);
    const { policy } = policyFromCheckpoint(loaded.checkpoint);
    this.reference = {
      policy,
      ref: { checkpointId: loaded.id, ...(loaded.path ? { path: loaded.path } : {}) },
    };
  }

  /** The trainer state of the moment, as trainer_state.json records it. */
  trainerState(): TrainerState {
    const { phase, step, offset } = this.plan;
    // The run's settings, less what belongs to one call (how long, where it started): a run resumed in
    // two calls records the same state as one that ran straight through.
    const { steps: _s, minutes: _m, init: _i, reference: _r, ...config } = this.config;
    return {
      version: TRAINER_STATE_VERSION,
      phase,
      step,
      offset,
      reference: isRl(phase) || isPreference(phase) ? (this.reference?.ref ?? null) : null,
      config,
      ...(this.runId ? { runId: this.runId } : {}),
    };
  }

  /** The checkpoint of the moment: config, weights, tokenizer, optimizer and trainer state. */
  async checkpoint(): Promise<Checkpoint> {
    const optimizerState = this.optimizer.exportState();
    return checkpointFromPolicy(this.policy, this.tokenizer, {
      optimizer: {
        tensors: await readNamedTensors(optimizerState.tensors),
        metadata: { step: String(optimizerState.step), algo: this.plan.phase },
      },
      trainer: this.trainerState(),
    });
  }

  /** Saves the current state through the shell, once per step (a second call at the same step is free). */
  async save(): Promise<{ id: string; runStep: number }> {
    const { phase, runStep } = this.position;
    if (this.savedAt && this.savedAt.runStep === runStep && this.savedAt.phase === phase)
      return { id: this.savedAt.id, runStep };
    const state = this.trainerState();
    const id = await this.io.saveCheckpoint(await this.checkpoint(), { runStep, phase });
    this.savedAt = { runStep, phase, id };
    await this.io.onEvent?.({ type: 'checkpoint', id, runStep, phase, state });
    return { id, runStep };
  }

  /**
   * Trains until the run's steps are done, `minutes` (from this call) have passed, or `signal` aborts;
   * then saves. An RL run's SFT warm-up switches to RL on the way. Call again to continue.
   */
  async run(
    options: { signal?: AbortSignal; deadline?: number } = {},
  ): Promise<{ reason: RunEnd; runStep: number }> {
    const deadline =
      options.deadline ??
      (this.config.minutes !== undefined ? Date.now() + this.config.minutes * 60_000 : undefined);
    try {
      for (;;) {
        const stop = { untilStep: this.plan.until, deadline, signal: options.signal };
        if (this.plan.phase === 'sft') await this.runSft(stop);
        else if (isPreference(this.plan.phase)) await this.runPreference(stop);
        else await this.runRl(stop);
        const phaseDone = this.plan.until !== undefined && this.plan.step >= this.plan.until;
        const { runStep, phase } = this.position;
        if (runStep !== this.openedAt.runStep || phase !== this.openedAt.phase) await this.save();
        const reason: RunEnd | null = options.signal?.aborted
          ? 'aborted'
          : deadline !== undefined && Date.now() >= deadline
            ? 'deadline'
            : phaseDone && this.plan.phase === this.config.algo
              ? 'finished'
              : null;
        if (reason) {
          await this.io.onEvent?.({ type: 'done', runStep: this.position.runStep, reason });
          return { reason, runStep: this.position.runStep };
        }
        if (phaseDone) await this.startRlAfterWarmUp();
      }
    } catch (error) {
      await this.io.onEvent?.({ type: 'error', message: (error as Error).message });
      throw error;
    }
  }

  /**
   * After an RL run's SFT warm-up: a fresh optimizer, the warm-up's checkpoint as the reference. A LoRA
   * run folds the warm-up's adapter into the base and trains a fresh one, so the base is that reference.
   */
  private async startRlAfterWarmUp(): Promise<void> {
    const warmedUp = await this.save();
    const phase = this.config.algo;
    this.optimizer.dispose();
    const lora = loraOf(this.policy);
    const settings = loraSettingsOf(this.config);
    if (lora && settings) {
      foldAdapter(this.policy);
      attachLora(
        this.policy,
        createLora(this.policy, settings, { seed: deriveSeed(this.config.seed, `lora.${phase}`) }),
      );
    }
    this.optimizer = new AdamW(trainableWeights(this.policy), { weightDecay: weightDecayOf(phase) });
    this._config = withHorizon(this.config, 0);
    const { schedule, batch } = phaseSchedule(this.config, phase);
    this.plan = {
      phase,
      step: 0,
      until: this.config.steps,
      offset: warmedUp.runStep,
      schedule,
      batch,
    };
    if (!this.reference?.shared) this.reference?.policy.dispose();
    const ref = { checkpointId: warmedUp.id };
    this.reference =
      this.config.beta > 0 || this.config.klReward > 0
        ? lora
          ? { policy: baseOf(this.policy), ref, shared: true }
          : { policy: clonePolicy(this.policy, { trainable: false }), ref }
        : null;
    this.savedAt = null;
    this.pairs = undefined; // the warm-up's corpus is not needed again
    await this.io.onEvent?.({
      type: 'phase',
      phase,
      runStep: warmedUp.runStep,
      steps: this.config.steps ?? null,
    });
  }

  private async emitStep(metrics: StepMetrics, samples: SampledReply[]): Promise<void> {
    this.plan.step = metrics.step;
    const record: StepRecord = {
      ...metrics,
      phase: this.plan.phase,
      runStep: this.plan.offset + metrics.step,
    };
    await this.io.onEvent?.({ type: 'step', record, samples });
  }

  /** The SFT corpus as token ids, encoded once per session (a paused run continues without it). */
  private pairs: SequencePair[] | undefined;

  private async runSft(stop: { untilStep?: number; deadline?: number; signal?: AbortSignal }): Promise<void> {
    this.pairs ??= (await this.io.sftExamples()).map((e) =>
      encodeSftPair(
        this.tokenizer,
        e.prompt,
        e.reply,
        this.policy.config.blockSize,
        this.config.maxNewTokens,
      ),
    );
    const { step } = await runSftLoop({
      policy: this.policy,
      optimizer: this.optimizer,
      pairs: this.pairs,
      batchSize: this.plan.batch,
      schedule: this.plan.schedule,
      seed: this.config.seed,
      startStep: this.plan.step,
      stop,
      logEvery: Math.min(this.config.logEvery, 10),
      onMetrics: (m) => this.emitStep(m, []),
      checkpointEvery: this.config.saveEvery,
      onCheckpoint: async () => {
        await this.save();
      },
    });
    this.plan.step = step;
  }

  private preference: PreferenceData | undefined;

  /**
   * The pairs (dpo) or labelled replies (kto) this run trains on, from the shell, encoded once (as SFT
   * encodes a pair) when the run opens. Their prompts must be in the policy's prompt format.
   */
  async preferenceData(): Promise<PreferenceData> {
    if (this.preference) return this.preference;
    const algo = this.config.algo;
    const { blockSize } = this.policy.config;
    const { maxNewTokens } = this.config;
    let prompts: string[];
    let data: PreferenceData;
    let counts: string;
    if (algo === 'dpo') {
      if (!this.io.preferencePairs)
        throw new TrainSetupError('dpo needs preference pairs, and none were given');
      const pairs = await this.io.preferencePairs();
      if (pairs.length === 0) throw new TrainSetupError('dpo needs preference pairs, and there are none');
      prompts = pairs.map((p) => p.prompt);
      data = {
        algo,
        pairs: pairs.map((p) => encodePreferencePair(this.tokenizer, p, blockSize, maxNewTokens)),
      };
      counts = `${pairs.length} preference pairs`;
    } else if (algo === 'kto') {
      if (!this.io.preferenceLabels)
        throw new TrainSetupError('kto needs labelled replies, and none were given');
      const labels = await this.io.preferenceLabels();
      if (labels.length === 0) throw new TrainSetupError('kto needs labelled replies, and there are none');
      prompts = labels.map((l) => l.prompt);
      data = {
        algo,
        labelled: labels.map((l) => encodePreferenceLabel(this.tokenizer, l, blockSize, maxNewTokens)),
      };
      const good = labels.filter((l) => l.label).length;
      const bad = labels.length - good;
      // Balanced by default: reviews give several passed-over drafts per sent reply, and KTO weighted
      // 1 : 1 then spends most of its gradient pushing down the policy's own typical samples (measured:
      // 197 sent vs 603 passed over, 60 steps, lr 3e-4 — sendable text collapsed and the reviewer's win
      // rate fell to 0.10). TRL's KTOTrainer advises λ_D·n_D / (λ_U·n_U) in [1, 4/3]; this is 1.
      this.desirableWeight =
        this.config.desirableWeight ??
        (good > 0 && bad > 0 ? Math.min(100, (this.config.undesirableWeight * bad) / good) : 1);
      counts = `${labels.length} labelled replies (${good} desirable, ${bad} undesirable; λ_D ${this.desirableWeight.toPrecision(3)}${this.config.desirableWeight === undefined ? ', balanced' : ''}, λ_U ${this.config.undesirableWeight})`;
    } else throw new Error(`${algo} is not a preference algorithm`);
    let keyWords: boolean;
    try {
      keyWords = promptFormatOf(prompts).keyWords;
    } catch (error) {
      throw new TrainSetupError(`the ${algo} data: ${(error as Error).message}`);
    }
    if (keyWords !== this.policy.config.promptKeyWords)
      throw new TrainSetupError(
        `the policy was trained on prompts ${this.policy.config.promptKeyWords ? 'with' : 'without'} a "Key words:" line and the ${algo} data's prompts are ${keyWords ? 'with' : 'without'} it; a policy keeps one prompt format`,
      );
    await this.io.onEvent?.({ type: 'info', message: `data: ${counts}` });
    this.preference = data;
    return data;
  }

  /** KTO's λ_D as resolved from the config and the labels (preferenceData). */
  private desirableWeight = 1;

  private async runPreference(stop: {
    untilStep?: number;
    deadline?: number;
    signal?: AbortSignal;
  }): Promise<void> {
    const reference = this.reference?.policy;
    if (!reference)
      throw new Error(`${this.plan.phase} runs against a reference policy, and none was loaded`);
    const { step } = await runPreferenceLoop({
      policy: this.policy,
      reference,
      optimizer: this.optimizer,
      data: await this.preferenceData(),
      loss: {
        beta: this.config.beta,
        labelSmoothing: this.config.labelSmoothing,
        desirableWeight: this.desirableWeight,
        undesirableWeight: this.config.undesirableWeight,
      },
      batchSize: this.plan.batch,
      schedule: this.plan.schedule,
      seed: this.config.seed,
      startStep: this.plan.step,
      stop,
      onMetrics: (m) => this.emitStep(m, []),
      checkpointEvery: this.config.saveEvery,
      onCheckpoint: async () => {
        await this.save();
      },
    });
    this.plan.step = step;
  }

  private recorded: RecordedGroups | undefined;

  /**
   * The recorded rollouts this run trains on (config.recorded), read from the shell's store once, when
   * the run opens: groups of replies to the same prompt with at least two rewards (recorded.ts).
   */
  async recordedGroups(): Promise<RecordedGroups> {
    if (this.recorded) return this.recorded;
    if (!this.io.store)
      throw new TrainSetupError(
        'recorded rollouts are read from a store: give one (the command line: --server URL or --server-data DIR)',
      );
    const data = await readRecordedGroups(this.io.store, { vocabSize: this.policy.config.vocabSize });
    const counts = `${data.rollouts} recorded rollouts, ${data.replies} replies (${data.rewarded} rewarded)`;
    if (data.groups.length === 0)
      throw new TrainSetupError(
        `nothing recorded to train on: ${counts}; a group needs two rewarded replies to the same prompt`,
      );
    await this.io.onEvent?.({
      type: 'info',
      message: `recorded: ${counts} → ${data.groups.length} groups; ${data.skippedGroups} skipped (fewer than 2 rewarded replies)${data.foreignTokens ? `; ${data.foreignTokens} replies in another tokenizer's ids, not trained on` : ''}`,
    });
    this.recorded = data;
    return data;
  }

  private async runRl(stop: { untilStep?: number; deadline?: number; signal?: AbortSignal }): Promise<void> {
    const phase = this.plan.phase as 'grpo' | 'rloo';
    const common = {
      store: this.tap.wrap(this.io.store ?? this.defaultStore),
      checkpoints: this.io.publish ?? this.defaultBlobs,
      policy: this.policy,
      tokenizer: this.tokenizer,
      optimizer: this.optimizer,
      algo: phase,
      policyGradient: { beta: this.config.beta, mu: this.config.mu },
      reference: this.reference?.policy,
      klReward: this.config.klReward,
      schedule: this.plan.schedule,
      seed: this.config.seed,
      startStep: this.plan.step,
      stop,
      onMetrics: (m: StepMetrics) => this.emitStep(m, this.tap.take(this.plan.offset + m.step)),
      checkpointEvery: this.config.saveEvery,
      onCheckpoint: async () => {
        await this.save();
      },
    };
    const { step } = await runRlLoop(
      this.config.recorded
        ? {
            ...common,
            source: recordedSource(await this.recordedGroups(), {
              groupsPerStep: this.plan.batch,
              seed: this.config.seed,
            }),
          }
        : {
            ...common,
            tasks: await this.io.tasks(),
            tasksPerStep: this.plan.batch,
            group: this.config.group,
            governance: await this.io.governance(),
            learnedReward: await this.learnedReward(),
            sampling: { temperature: this.config.temperature, maxNewTokens: this.config.maxNewTokens },
          },
    );
    this.plan.step = step;
  }

  /** The reward model term of an RL run that names one (loaded once, kept across pauses). */
  async learnedReward(): Promise<LearnedReward | undefined> {
    const ref = this.config.rewardModel;
    if (!ref) return undefined;
    if (!this.rewardModel) {
      if (!this.io.loadRewardModel)
        throw new TrainSetupError('this shell cannot load a reward model (rewardModel was given)');
      const model = await this.io.loadRewardModel(ref);
      const t = model.training;
      await this.io.onEvent?.({
        type: 'info',
        message: `reward model ${ref === 'reviews' ? 'from reviews' : ref}: weight ${this.config.rewardModelWeight}, learned from ${t.pairs} pairs${t.heldOutAccuracy === null ? '' : `, held-out pair accuracy ${t.heldOutAccuracy.toFixed(3)} (${t.heldOutPairs} pairs)`}`,
      });
      this.rewardModel = learnedRewardOf(model, this.config.rewardModelWeight);
    }
    return this.rewardModel;
  }
  private rewardModel: LearnedReward | undefined;

  /** Where RL goes when the shell gives no store: memory, kept across pauses. */
  private readonly defaultStore: LightningStore = new InMemoryLightningStore();
  private readonly defaultBlobs: BlobStorage = new MemoryBlobStorage();

  dispose(): void {
    this.optimizer.dispose();
    if (!this.reference?.shared) this.reference?.policy.dispose();
    this.reference = null;
    loraOf(this.policy)?.dispose();
    this.policy.dispose();
  }
}

export const openTrainSession = TrainSession.open;
