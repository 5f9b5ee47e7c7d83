import { REPLY_ATTR, REPLY_OBJECT_TYPE } from '../../shared/agent/feedback-agent';
import { AGL_OBJECT, AGL_REWARD, ATTR, readReward } from '../../shared/agent/semconv';
import type { FeedbackTask } from '../../shared/agent/task';
import { buildSftCorpus } from '../../shared/data/index';
import type { GovernancePipeline } from '../../shared/governance/types';
import {
  type Checkpoint,
  loadCheckpoint,
  optimizerStepOf,
  saveCheckpoint,
} from '../../shared/policy/checkpoint';
import type { Policy } from '../../shared/policy/model';
import type { PolicyTokenizer } from '../../shared/policy/tokenizer';
import type { LightningStore } from '../../shared/store/store';
import type { SpanInput } from '../../shared/store/types';
import type { SequencePair } from '../../shared/train/batch';
import type { StepMetrics } from '../../shared/train/loop';
import type { AdamW } from '../../shared/train/optimizer';
import type { ScheduleConfig } from '../../shared/train/schedule';
import { ensureBackend } from './backend';
import type { ProtectedBlobs } from './protected-blobs';
import { datasetItems, SFT_SETTINGS_KEY, type SftSettings } from './dataset';
import type { CheckpointRecord, LabDatabase } from './lab-db';
import {
  type CheckpointSummary,
  type MetricPoint,
  type SampledReply,
  TrainRequest,
  type TrainSnapshot,
  type TrainStatus,
} from './protocol';
import { emptySnapshot } from './snapshot';

// The training run of the lab worker: the browser twin of `edgelight train`. It composes the
// shared/ pieces (tokenizer, policy, AdamW, the SFT and RL loops, checkpoints) and adds what a page
// needs: status, live metrics and samples as events, pause / resume / stop, checkpoints with their
// metrics in the lab database, and a run record that survives a reload, so a stopped or interrupted
// run continues from its last checkpoint.
//
// An RL run with no checkpoint of its preset to start from is the SFT → RL recipe: a short SFT
// warm-up on the dataset's corpus, then GRPO / RLOO through the store. Chart steps count both phases.

export type TrainingEvent =
  | { type: 'train-status'; status: Partial<TrainSnapshot> }
  | { type: 'train-step'; runId: string; point: MetricPoint; samples: SampledReply[] }
  | { type: 'train-reset'; snapshot: TrainSnapshot };

export type TrainingDeps = {
  db: LabDatabase;
  /** Where RL rollouts and spans are written (the outbox-recording store, so they sync). */
  store: LightningStore;
  /** The store's blob table, guarding saved checkpoints' blobs from the RL loop's clean-up. */
  blobs: ProtectedBlobs;
  governance: () => Promise<GovernancePipeline>;
  emit: (event: TrainingEvent) => void;
};

type Phase = 'sft' | 'grpo' | 'rloo';

/** Live tensors and data of a run between pauses. */
type Session = {
  policy: Policy;
  tokenizer: PolicyTokenizer;
  optimizer: AdamW;
  phase: Phase;
  /** Optimizer steps done in this phase (what the loops and the trainer state count). */
  phaseStep: number;
  phaseSteps: number;
  /** Chart steps before this phase began (the SFT warm-up's length during RL). */
  offset: number;
  schedule: ScheduleConfig;
  pairs: SequencePair[];
  tasks: FeedbackTask[];
  /** RL: the frozen policy the phase started from (the KL guards' reference), and its checkpoint. */
  reference: { policy: Policy; checkpointId: string | null } | null;
};

const RUN_KEY = 'train.current-run';
const MAX_SAMPLES = 50;
const PERSIST_EVERY_MS = 3000;
const ACTIVE: TrainStatus[] = ['loading', 'compiling', 'running', 'pausing', 'stopping'];
// The CLI's measured GRPO recipe (docs/training.md): lr 3e-4 with the KL guards on.
const RL_LR = 3e-4;
const SFT_LR = 2e-3;

/** Population standard deviation of each reward term over a step's sampled replies. */
function termSpread(samples: SampledReply[]): Record<string, number> {
  const names = new Set(samples.flatMap((r) => Object.keys(r.terms)));
  const out: Record<string, number> = {};
  for (const name of names) {
    const values = samples.map((r) => r.terms[name]).filter((v): v is number => typeof v === 'number');
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    out[name] = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
  }
  return out;
}

function toPoint(m: StepMetrics, offset: number, phase: string, samples: SampledReply[]): MetricPoint {
  return {
    step: offset + m.step,
    phase,
    loss: m.loss,
    rewardMean: m.rewardMean ?? null,
    rewardStd: m.rewardStd ?? null,
    terms: m.terms ?? {},
    termStd: termSpread(samples),
    kl: m.kl ?? null,
    entropy: m.entropy ?? null,
    violationRate: m.violationRate ?? null,
    tokensPerSecond: m.tokensPerSecond,
    seconds: m.seconds,
  };
}

/** The figures worth keeping beside a checkpoint: the last step's, without the nulls. */
function metricsAtSave(point: MetricPoint | undefined): Record<string, number> {
  if (!point) return {};
  const out: Record<string, number> = { loss: point.loss, tokensPerSecond: point.tokensPerSecond };
  for (const key of ['rewardMean', 'rewardStd', 'kl', 'entropy', 'violationRate'] as const) {
    const v = point[key];
    if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
  }
  for (const [term, v] of Object.entries(point.terms)) out[`term.${term}`] = v;
  return out;
}

/**
 * Watches the spans the RL runners write and pairs each drafted reply with its reward, so the
 * page can show what the policy is saying while it trains.
 */
class SampleTap {
  private replies = new Map<string, { text: string; prompt: string }>();
  private ready: Array<Omit<SampledReply, 'step'>> = [];

  observe(span: SpanInput): void {
    const a = span.attributes ?? {};
    const key = `${span.rollout_id}:${a[REPLY_ATTR.index]}`;
    if (span.name === AGL_OBJECT && a[ATTR.objectType] === REPLY_OBJECT_TYPE) {
      this.replies.set(key, {
        text: String(a[REPLY_ATTR.text] ?? ''),
        prompt: String(a[REPLY_ATTR.prompt] ?? ''),
      });
    } else if (span.name === AGL_REWARD) {
      const reward = readReward({ attributes: a });
      const reply = this.replies.get(key);
      if (!reward || !reply) return;
      this.replies.delete(key);
      const { primary, ...terms } = reward;
      this.ready.push({ prompt: reply.prompt, reply: reply.text, reward: primary, terms });
    }
  }

  take(step: number): SampledReply[] {
    const out = this.ready.map((s) => ({ ...s, step }));
    this.ready = [];
    this.replies.clear();
    return out;
  }

  /** The store as the RL loop sees it, with every span written shown to the tap first. */
  wrap(store: LightningStore): LightningStore {
    return new Proxy(store, {
      get: (target, property, receiver) => {
        if (property === 'addSpan')
          return (span: SpanInput) => {
            this.observe(span);
            return target.addSpan(span);
          };
        if (property === 'addSpans')
          return (spans: SpanInput[]) => {
            for (const span of spans) this.observe(span);
            return target.addSpans(spans);
          };
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }
}

export class TrainingController {
  private state: TrainSnapshot = emptySnapshot();
  private session: Session | null = null;
  private control: AbortController | null = null;
  private after: 'pause' | 'stop' | null = null;
  private deadline: number | undefined;
  private lastPersist = 0;
  private readonly loaded: Promise<void>;

  constructor(private readonly deps: TrainingDeps) {
    this.loaded = this.restore();
  }

  /** After a reload: the last run as it was; one that was mid-flight is now stopped (interrupted). */
  private async restore(): Promise<void> {
    for (const record of await this.deps.db.checkpoints.toArray()) await this.deps.blobs.protect(record.id);
    const saved = await this.deps.db.getSetting<TrainSnapshot>(RUN_KEY);
    if (!saved) return;
    const interrupted = ACTIVE.includes(saved.status) || saved.status === 'paused';
    this.state = {
      ...emptySnapshot(),
      ...saved,
      status: interrupted ? 'stopped' : saved.status,
      message: interrupted
        ? 'interrupted by a reload; resume continues from the last checkpoint'
        : saved.message,
      etaSeconds: null,
      resumable:
        !!saved.lastCheckpoint &&
        (interrupted || saved.status === 'stopped') &&
        saved.step < saved.totalSteps,
    };
  }

  async snapshot(): Promise<TrainSnapshot> {
    await this.loaded;
    return this.state;
  }

  private update(patch: Partial<TrainSnapshot>): void {
    this.state = { ...this.state, ...patch };
    const { metrics: _m, samples: _s, ...status } = patch;
    this.deps.emit({ type: 'train-status', status });
    void this.persist(patch.status !== undefined);
  }

  private async persist(force: boolean): Promise<void> {
    const now = Date.now();
    if (!force && now - this.lastPersist < PERSIST_EVERY_MS) return;
    this.lastPersist = now;
    await this.deps.db.setSetting(RUN_KEY, this.state);
  }

  private get active(): boolean {
    return ACTIVE.includes(this.state.status) || this.state.status === 'paused';
  }

  async start(input: unknown): Promise<TrainSnapshot> {
    await this.loaded;
    if (this.active) throw new Error('a run is already in progress: stop it first');
    const request = TrainRequest.parse(input);
    this.state = {
      ...emptySnapshot(),
      runId: `run-${Date.now().toString(36)}`,
      status: 'loading',
      request,
      startedAt: Date.now(),
      message: 'preparing data and model…',
    };
    this.deps.emit({ type: 'train-reset', snapshot: this.state });
    this.deadline = request.minutes ? Date.now() + request.minutes * 60_000 : undefined;
    void this.guard(async () => {
      this.session = await this.freshSession(request);
      await this.drive();
    });
    return this.state;
  }

  pause(): void {
    if (this.state.status !== 'running' && this.state.status !== 'compiling')
      throw new Error('nothing to pause');
    this.after = 'pause';
    this.control?.abort();
    this.update({ status: 'pausing' });
  }

  async resume(): Promise<TrainSnapshot> {
    await this.loaded;
    if (this.state.status === 'paused' && this.session) {
      this.update({ status: 'running', message: '' });
      void this.guard(() => this.drive());
      return this.state;
    }
    if (!this.state.resumable || !this.state.lastCheckpoint || !this.state.request)
      throw new Error('there is no stopped run with a checkpoint to resume');
    const checkpointId = this.state.lastCheckpoint.id;
    const request = this.state.request;
    this.update({ status: 'loading', message: 'loading the last checkpoint…', resumable: false, error: '' });
    const remainingMinutes = request.minutes;
    this.deadline = remainingMinutes ? Date.now() + remainingMinutes * 60_000 : undefined;
    void this.guard(async () => {
      this.session = await this.resumedSession(request, checkpointId);
      await this.drive();
    });
    return this.state;
  }

  async stop(): Promise<void> {
    if (this.state.status === 'paused') {
      this.disposeSession();
      this.update({ status: 'stopped', resumable: !!this.state.lastCheckpoint, etaSeconds: null });
      return;
    }
    if (!this.active) throw new Error('nothing to stop');
    this.after = 'stop';
    this.control?.abort();
    this.update({ status: 'stopping' });
  }

  /** Runs `work`, turning any failure into a `failed` state with the message (never a stack). */
  private async guard(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.disposeSession();
      this.update({
        status: 'failed',
        error: error instanceof Error ? error.message : String(error),
        etaSeconds: null,
        resumable: !!this.state.lastCheckpoint,
      });
    }
  }

  private disposeSession(): void {
    if (!this.session) return;
    this.session.optimizer.dispose();
    this.session.policy.dispose();
    this.session.reference?.policy.dispose();
    this.session = null;
  }

  private async backend(request: TrainRequest) {
    const backend = await ensureBackend(request.backend);
    this.update({ backend });
    return backend;
  }

  private async data(request: TrainRequest) {
    const items = await datasetItems(this.deps.db, 'train');
    if (items.length === 0) throw new Error('the dataset has no train split: generate or import one first');
    const governance = await this.deps.governance();
    const settings = (await this.deps.db.getSetting<SftSettings>(SFT_SETTINGS_KEY)) ?? {
      seed: 7,
      badHabitShare: 0.2,
    };
    const corpus = buildSftCorpus(items, {
      governance,
      badShare: settings.badHabitShare,
      seed: settings.seed,
    });
    const tasks: FeedbackTask[] = items.map(({ id, text, category, locale }) => ({
      id,
      text,
      category,
      locale,
    }));
    const encode = async (t: PolicyTokenizer, size: number) => {
      const { encodeSftPair } = await import('../../shared/policy/sequence');
      return corpus.map((e) => encodeSftPair(t, e.prompt, e.reply, size, request.maxNewTokens));
    };
    return { corpus, tasks, encode };
  }

  private schedule(
    phase: Phase,
    steps: number,
    ScheduleConfigSchema: typeof import('../../shared/train/schedule').ScheduleConfigSchema,
  ) {
    return phase === 'sft'
      ? ScheduleConfigSchema.parse({
          lr: SFT_LR,
          warmupSteps: Math.min(20, Math.floor(steps / 5)),
          totalSteps: Math.max(1, steps),
          minLr: SFT_LR / 10,
        })
      : ScheduleConfigSchema.parse({
          lr: RL_LR,
          warmupSteps: 0,
          totalSteps: Math.max(1, steps),
          minLr: RL_LR,
        });
  }

  /** A new run: from the newest checkpoint of the preset (RL), or a fresh tokenizer and model. */
  private async freshSession(request: TrainRequest): Promise<Session> {
    await this.backend(request);
    const [
      { createPolicy, presetConfig },
      { PolicyTokenizer },
      { trainByteLevelBpe },
      { AdamW },
      schedule,
      ckpt,
    ] = await Promise.all([
      import('../../shared/policy/model'),
      import('../../shared/policy/tokenizer'),
      import('../../shared/policy/tokenizer-train'),
      import('../../shared/train/optimizer'),
      import('../../shared/train/schedule'),
      import('../../shared/policy/checkpoint-policy'),
    ]);
    const rl = request.algorithm !== 'sft';
    const start = rl ? await this.newestCheckpoint(modelLabel(request)) : undefined;
    const prepared = await this.data(request);
    let policy: Policy;
    let tokenizer: PolicyTokenizer;
    let warmup = 0;
    if (start) {
      ({ policy, tokenizer } = ckpt.policyFromCheckpoint(await loadCheckpoint(this.deps.blobs, start.id)));
      this.update({ message: `starting from checkpoint ${start.id.slice(0, 10)}… (step ${start.step})` });
    } else {
      this.update({ message: 'training the tokenizer on the corpus…' });
      tokenizer = PolicyTokenizer.fromJson(
        trainByteLevelBpe(prepared.corpus.flatMap((e) => [e.prompt, e.reply])),
      );
      policy = createPolicy(
        presetConfig(request.preset, {
          vocabSize: tokenizer.vocabSize,
          padId: tokenizer.padId,
          copy: request.copy,
        }),
        { seed: request.seed },
      );
      warmup = rl ? request.sftWarmupSteps : 0;
    }
    const phase: Phase = rl && warmup === 0 ? (request.algorithm as Phase) : 'sft';
    const phaseSteps = phase === 'sft' && rl ? warmup : request.steps;
    const pairs = phase === 'sft' ? await prepared.encode(tokenizer, policy.config.blockSize) : [];
    this.update({ totalSteps: warmup + request.steps, phase, message: '' });
    return {
      policy,
      tokenizer,
      optimizer: new AdamW(policy.weights, { weightDecay: phase === 'sft' ? 0.01 : 0 }),
      phase,
      phaseStep: 0,
      phaseSteps,
      offset: 0,
      schedule: this.schedule(phase, phaseSteps, schedule.ScheduleConfigSchema),
      pairs,
      tasks: prepared.tasks,
      reference: phase === 'sft' ? null : await this.referenceFrom(policy, start?.id ?? null),
    };
  }

  /** A stopped run, from its last checkpoint: weights, optimizer state and step. */
  private async resumedSession(request: TrainRequest, checkpointId: string): Promise<Session> {
    await this.backend(request);
    const [{ policyFromCheckpoint, toTfTensors }, { AdamW }, schedule] = await Promise.all([
      import('../../shared/policy/checkpoint-policy'),
      import('../../shared/train/optimizer'),
      import('../../shared/train/schedule'),
    ]);
    const checkpoint = await loadCheckpoint(this.deps.blobs, checkpointId);
    const trainer = checkpoint.trainer;
    if (!trainer || !checkpoint.optimizer)
      throw new Error('the last checkpoint has no optimizer state to resume');
    const { policy, tokenizer } = policyFromCheckpoint(checkpoint);
    const phase = trainer.algo as Phase;
    const offset = typeof trainer.options.offset === 'number' ? trainer.options.offset : 0;
    const phaseSteps =
      typeof trainer.options.phaseSteps === 'number' ? trainer.options.phaseSteps : request.steps;
    const optimizer = new AdamW(policy.weights, { weightDecay: phase === 'sft' ? 0.01 : 0 });
    const tensors = toTfTensors(checkpoint.optimizer.tensors);
    try {
      optimizer.importState({ step: optimizerStepOf(checkpoint, trainer.step), tensors });
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
    const prepared = await this.data(request);
    this.update({ phase, message: `resumed at step ${offset + trainer.step}` });
    return {
      policy,
      tokenizer,
      optimizer,
      phase,
      phaseStep: trainer.step,
      phaseSteps,
      offset,
      schedule: this.schedule(phase, phaseSteps, schedule.ScheduleConfigSchema),
      pairs: phase === 'sft' ? await prepared.encode(tokenizer, policy.config.blockSize) : [],
      tasks: prepared.tasks,
      reference: phase === 'sft' ? null : await this.resumedReference(policy, trainer.options.referenceId),
    };
  }

  /** A frozen copy of `policy` as the RL reference (`checkpointId`: where it is stored, if anywhere). */
  private async referenceFrom(policy: Policy, checkpointId: string | null): Promise<Session['reference']> {
    const { clonePolicy } = await import('../../shared/policy/model');
    return { policy: clonePolicy(policy, { trainable: false }), checkpointId };
  }

  /** The reference a resumed RL phase had: its stored checkpoint, else (older runs) the resumed weights. */
  private async resumedReference(policy: Policy, referenceId: unknown): Promise<Session['reference']> {
    if (typeof referenceId !== 'string') return this.referenceFrom(policy, null);
    const { policyFromCheckpoint } = await import('../../shared/policy/checkpoint-policy');
    const loaded = policyFromCheckpoint(await loadCheckpoint(this.deps.blobs, referenceId));
    return { policy: loaded.policy, checkpointId: referenceId };
  }

  private async newestCheckpoint(preset: string): Promise<CheckpointRecord | undefined> {
    const all = await this.deps.db.checkpoints.orderBy('createdAt').reverse().toArray();
    return all.find((c) => c.preset === preset);
  }

  /** Runs phases until the run finishes, pauses or stops. */
  private async drive(): Promise<void> {
    const request = this.state.request!;
    const gpu = this.state.backend?.name === 'webgpu' || this.state.backend?.name === 'webgl';
    let firstStep = true;
    this.update({ status: gpu ? 'compiling' : 'running' });
    for (;;) {
      const session = this.session!;
      this.control = new AbortController();
      const stop = {
        untilStep: session.phaseSteps,
        deadline: this.deadline,
        signal: this.control.signal,
      };
      const started = Date.now();
      const fromStep = session.phaseStep;
      const onStep = async (m: StepMetrics, samples: SampledReply[]) => {
        session.phaseStep = m.step;
        const point = toPoint(m, session.offset, session.phase, samples);
        const step = point.step;
        const perStep = (Date.now() - started) / 1000 / Math.max(1, m.step - fromStep);
        const remaining = this.state.totalSteps - step;
        const byClock = this.deadline ? (this.deadline - Date.now()) / 1000 : Number.POSITIVE_INFINITY;
        this.state = {
          ...this.state,
          metrics: [...this.state.metrics, point],
          samples: [...samples, ...this.state.samples].slice(0, MAX_SAMPLES),
        };
        this.deps.emit({ type: 'train-step', runId: this.state.runId!, point, samples });
        this.update({
          step,
          etaSeconds: Math.max(0, Math.min(remaining * perStep, byClock)),
          ...(firstStep && this.state.status === 'compiling' ? { status: 'running' as const } : {}),
        });
        firstStep = false;
      };
      const saveEvery = request.checkpointEvery;
      const onCheckpoint = async () => {
        await this.saveCheckpoint();
      };
      if (session.phase === 'sft') {
        const { runSftLoop } = await import('../../shared/train/loop-sft');
        await runSftLoop({
          policy: session.policy,
          optimizer: session.optimizer,
          pairs: session.pairs,
          batchSize: request.batchSize,
          schedule: session.schedule,
          seed: request.seed,
          startStep: session.phaseStep,
          stop,
          logEvery: 1,
          onMetrics: (m) => onStep(m, []),
          checkpointEvery: saveEvery,
          onCheckpoint,
        });
      } else {
        const { runRlLoop } = await import('../../shared/train/loop-rl');
        const tap = new SampleTap();
        await runRlLoop({
          store: tap.wrap(this.deps.store),
          checkpoints: this.deps.blobs,
          policy: session.policy,
          tokenizer: session.tokenizer,
          optimizer: session.optimizer,
          algo: session.phase,
          reference: session.reference?.policy,
          klReward: request.klReward,
          policyGradient: { beta: request.beta, mu: request.mu },
          tasks: session.tasks,
          tasksPerStep: request.batchSize,
          group: request.groupSize,
          governance: await this.deps.governance(),
          sampling: { temperature: 1, maxNewTokens: request.maxNewTokens },
          schedule: session.schedule,
          seed: request.seed,
          startStep: session.phaseStep,
          stop,
          onMetrics: (m) => onStep(m, tap.take(session.offset + m.step)),
          checkpointEvery: saveEvery,
          onCheckpoint,
        });
      }

      const after = this.after;
      this.after = null;
      const phaseDone = session.phaseStep >= session.phaseSteps;
      const outOfTime = this.deadline !== undefined && Date.now() >= this.deadline;
      if (after === 'pause') {
        await this.saveCheckpoint();
        this.update({ status: 'paused', etaSeconds: null });
        return;
      }
      if (after === 'stop' || outOfTime || (phaseDone && !(await this.nextPhase()))) {
        await this.saveCheckpoint();
        this.disposeSession();
        const finished = !after && (phaseDone || outOfTime);
        this.update({
          status: finished ? 'finished' : 'stopped',
          etaSeconds: null,
          resumable: !finished,
          message: outOfTime ? 'the time budget is spent' : '',
        });
        return;
      }
    }
  }

  /** After the SFT warm-up of an RL run: switch to the RL algorithm. False when nothing follows. */
  private async nextPhase(): Promise<boolean> {
    const session = this.session!;
    const request = this.state.request!;
    if (session.phase !== 'sft' || request.algorithm === 'sft') return false;
    const warmedUp = await this.saveCheckpoint();
    const [{ AdamW }, schedule] = await Promise.all([
      import('../../shared/train/optimizer'),
      import('../../shared/train/schedule'),
    ]);
    session.optimizer.dispose();
    const phase = request.algorithm as Phase;
    Object.assign(session, {
      optimizer: new AdamW(session.policy.weights, { weightDecay: 0 }),
      phase,
      offset: session.offset + session.phaseStep,
      phaseStep: 0,
      phaseSteps: request.steps,
      schedule: this.schedule(phase, request.steps, schedule.ScheduleConfigSchema),
      pairs: [],
      reference: await this.referenceFrom(session.policy, warmedUp?.id ?? null),
    });
    this.update({ phase, message: `SFT warm-up done; ${phase.toUpperCase()} from here` });
    return true;
  }

  /** Saves weights, optimizer and trainer state; records it with the metrics of the moment. */
  private async saveCheckpoint(): Promise<CheckpointSummary | null> {
    const session = this.session;
    const request = this.state.request;
    if (!session || !request) return null;
    const step = session.offset + session.phaseStep;
    if (this.state.lastCheckpoint?.step === step && this.state.lastCheckpoint.algorithm === session.phase)
      return this.state.lastCheckpoint;
    const { checkpointFromPolicy, readNamedTensors } = await import('../../shared/policy/checkpoint-policy');
    const optimizerState = session.optimizer.exportState();
    const checkpoint: Checkpoint = await checkpointFromPolicy(session.policy, session.tokenizer, {
      optimizer: {
        tensors: await readNamedTensors(optimizerState.tensors),
        metadata: { step: String(optimizerState.step), algo: session.phase },
      },
      trainer: {
        step: session.phaseStep,
        algo: session.phase,
        seed: request.seed,
        rng: [],
        cursor: session.phaseStep * request.batchSize,
        options: {
          offset: session.offset,
          phaseSteps: session.phaseSteps,
          preset: modelLabel(request),
          runId: this.state.runId,
          // The RL settings, as the command line records its own (provenance; a resume takes the request's).
          ...(session.phase === 'sft'
            ? {}
            : { mu: request.mu, beta: request.beta, klReward: request.klReward }),
          ...(session.reference?.checkpointId ? { referenceId: session.reference.checkpointId } : {}),
        },
      },
    });
    const id = await saveCheckpoint(this.deps.blobs, checkpoint);
    await this.deps.blobs.protect(id);
    const record: CheckpointRecord = {
      id,
      createdAt: Date.now(),
      step,
      runId: this.state.runId,
      preset: modelLabel(request),
      algorithm: session.phase,
      metrics: metricsAtSave(this.state.metrics.at(-1)),
      source: 'trained',
    };
    await this.deps.db.checkpoints.put(record);
    // A resource row names the checkpoint, so sync uploads its blobs with the row.
    await this.deps.store.addResources({
      policy: { resource_type: 'policy', checkpoint_id: id, metadata: { step, run: this.state.runId ?? '' } },
    });
    const summary: CheckpointSummary = {
      id,
      step,
      createdAt: record.createdAt,
      preset: record.preset,
      algorithm: record.algorithm,
      metrics: record.metrics,
    };
    this.update({ lastCheckpoint: summary });
    return summary;
  }
}

/** The model a request trains, as checkpoints are labelled: the preset, `-copy` with a copy head. */
export function modelLabel(request: Pick<TrainRequest, 'preset' | 'copy'>): string {
  return request.copy ? `${request.preset}-copy` : request.preset;
}
