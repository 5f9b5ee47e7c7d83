import type { FeedbackTask } from '../../shared/agent/task';
import { buildSftCorpus } from '../../shared/data/index';
import type { GovernancePipeline } from '../../shared/governance/types';
import { type Checkpoint, loadCheckpoint, saveCheckpoint } from '../../shared/policy/checkpoint';
import type { LightningStore } from '../../shared/store/store';
import type { TrainAlgo } from '../../shared/train/config';
import { sendability } from '../../shared/train/sample-tap';
import type { RunEnd, StepRecord, TrainEvent, TrainSession } from '../../shared/train/session';
import type { ReferenceRef } from '../../shared/train/trainer-state';
import type { PreferenceLabel, PreferencePair } from '../../shared/data/preference';
import { REWARD_MODEL_FROM_REVIEWS, rewardModelFromReviews } from '../../shared/review/reward-model';
import { RewardModelFitError } from '../../shared/train/reward-model';
import { ensureBackend } from './backend';
import { datasetItems, SFT_SETTINGS_KEY, type SftSettings } from './dataset';
import type { CheckpointRecord, LabDatabase } from './lab-db';
import type { ProtectedBlobs } from './protected-blobs';
import {
  type CheckpointSummary,
  type MetricPoint,
  type SampledReply,
  TrainRequest,
  type TrainSnapshot,
  type TrainStatus,
} from './protocol';
import { emptySnapshot } from './snapshot';

// The lab worker's training run: the browser shell of the one trainer session (shared/train/session.ts),
// which `edgelight train` and server jobs drive too. This file keeps what a page needs: status, live
// metrics and samples as events, pause / resume / stop, checkpoints in the lab database (with their
// metrics) and as resources that sync, and a run record that survives a reload, so a stopped or
// interrupted run continues from its last checkpoint. Chart steps count the SFT warm-up too.
// A run's data is the lab's dataset or, for DPO, KTO and SFT from reviews, the Inbox's decisions in the
// lab's store (./review-data.ts), read when the run opens.

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

const RUN_KEY = 'train.current-run';
const MAX_SAMPLES = 50;
const PERSIST_EVERY_MS = 3000;
const ACTIVE: TrainStatus[] = ['loading', 'compiling', 'running', 'pausing', 'stopping'];

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

function toPoint(r: StepRecord, samples: SampledReply[]): MetricPoint {
  return {
    step: r.runStep,
    phase: r.phase,
    loss: r.loss,
    rewardMean: r.rewardMean ?? null,
    rewardStd: r.rewardStd ?? null,
    terms: r.terms ?? {},
    termStd: termSpread(samples),
    kl: r.kl ?? null,
    entropy: r.entropy ?? null,
    violationRate: r.violationRate ?? null,
    // The loop's figure over every reply of the step; the per-check shares over the sampled ones.
    sendableRate: r.sendableRate ?? null,
    failedChecks: sendability(samples).failedChecks,
    ...(r.phase === 'dpo' || r.phase === 'kto'
      ? {
          preference: {
            chosen: r['rewards/chosen'] ?? null,
            rejected: r['rewards/rejected'] ?? null,
            accuracy: r['rewards/accuracies'] ?? null,
          },
        }
      : {}),
    tokensPerSecond: r.tokensPerSecond,
    seconds: r.seconds,
  };
}

/** The figures worth keeping beside a checkpoint: the last step's, without the nulls. */
function metricsAtSave(point: MetricPoint | undefined): Record<string, number> {
  if (!point) return {};
  const out: Record<string, number> = { loss: point.loss, tokensPerSecond: point.tokensPerSecond };
  for (const key of ['rewardMean', 'rewardStd', 'kl', 'entropy', 'violationRate', 'sendableRate'] as const) {
    const v = point[key];
    if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
  }
  for (const [term, v] of Object.entries(point.terms)) out[`term.${term}`] = v;
  // DPO / KTO: under TRL's names, as the command line records them.
  const { chosen, rejected, accuracy } = point.preference ?? {};
  if (typeof chosen === 'number') out['rewards/chosen'] = chosen;
  if (typeof rejected === 'number') out['rewards/rejected'] = rejected;
  if (typeof accuracy === 'number') out['rewards/accuracies'] = accuracy;
  // Why the step's replies were not sendable: `failed.<check>`, the share failing it.
  for (const [check, v] of Object.entries(point.failedChecks ?? {})) out[`failed.${check}`] = v;
  return out;
}

export class TrainingController {
  private state: TrainSnapshot = emptySnapshot();
  private session: TrainSession | null = null;
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
        (saved.totalSteps === 0 || saved.step < saved.totalSteps), // 0: bounded by minutes only
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
    // A status change or a new checkpoint is written at once: a reload must find the run resumable.
    this.persist(patch.status !== undefined || patch.lastCheckpoint !== undefined).catch((error: unknown) =>
      console.error('lab: could not record the training run', error),
    );
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
      // RL without a named start continues the newest checkpoint of the same model (else: SFT warm-up);
      // DPO and KTO do the same, and with no checkpoint of the model they have nothing to refine.
      const start =
        request.algo !== 'sft' && !request.init
          ? await this.newestCheckpoint(modelLabel(request))
          : undefined;
      if (isPreferenceRequest(request) && !request.init && !start)
        throw new Error(
          `${request.algo} refines a trained policy, and this lab has no ${modelLabel(request)} checkpoint: start from the starter policy, or train one with SFT first`,
        );
      if (start)
        this.update({ message: `starting from checkpoint ${start.id.slice(0, 10)}… (step ${start.step})` });
      // A checkpoint the lab picked starts a new run from its weights; one the request names is resumed
      // where its state allows, as on the command line.
      await this.open({ ...request, ...(start ? { init: start.id } : {}) }, { weightsOnly: !!start });
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
    const { lastCheckpoint, request } = this.state;
    if (!this.state.resumable || !lastCheckpoint || !request)
      throw new Error('there is no stopped run with a checkpoint to resume');
    this.update({ status: 'loading', message: 'loading the last checkpoint…', resumable: false, error: '' });
    this.deadline = request.minutes ? Date.now() + request.minutes * 60_000 : undefined;
    // The session counts `steps` from where the checkpoint's phase stands: a warm-up checkpoint runs the
    // whole RL phase after it, an RL one what is left of the run.
    const inWarmUp = lastCheckpoint.algorithm === 'sft' && request.algo !== 'sft';
    const steps =
      inWarmUp || request.steps === undefined ? request.steps : this.state.totalSteps - lastCheckpoint.step;
    void this.guard(async () => {
      await this.open({ ...request, init: lastCheckpoint.id, ...(steps !== undefined ? { steps } : {}) });
      this.update({ message: `resumed at step ${lastCheckpoint.step}` });
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
    this.session?.dispose();
    this.session = null;
  }

  /** The dataset's train split as the SFT corpus and as RL tasks. */
  private async datasetData() {
    const items = await datasetItems(this.deps.db, 'train');
    if (items.length === 0) throw new Error('the dataset has no train split: generate or import one first');
    const settings = (await this.deps.db.getSetting<SftSettings>(SFT_SETTINGS_KEY)) ?? {
      seed: 7,
      badHabitShare: 0.2,
    };
    const corpus = buildSftCorpus(items, {
      governance: await this.deps.governance(),
      badShare: settings.badHabitShare,
      seed: settings.seed,
    });
    const tasks: FeedbackTask[] = items.map(({ id, text, category, locale }) => ({
      id,
      text,
      category,
      locale,
    }));
    return { corpus, tasks };
  }

  /**
   * What the run trains on: the dataset (SFT corpus, RL tasks), or the reviews in the lab's store (DPO's
   * pairs, KTO's labels, SFT on the replies reviewers sent). Reviews that give the run nothing are a
   * failed start with the page's own reason, before any model is loaded.
   */
  private async data(request: TrainRequest): Promise<RunData> {
    if (!trainsOnReviews(request)) {
      const { corpus, tasks } = await this.datasetData();
      return { sftExamples: corpus, tasks, note: '' };
    }
    this.update({ message: 'reading the reviews in this lab…' });
    const { readReviewTrainingData } = await import('./review-data');
    const reviews = await readReviewTrainingData(this.deps.store);
    const run = request.algo === 'dpo' || request.algo === 'kto' ? request.algo : 'sft';
    const missing = reviews.summary.missing[run];
    if (missing) throw new Error(missing);
    const { pairs, labels, sft, summary } = reviews;
    const note = `from reviews: ${summary.pairs} pairs, ${summary.labels} labels, ${summary.sft} replies`;
    this.update({ message: note });
    return { sftExamples: sft, tasks: [], pairs, labels, note };
  }

  /** Opens the trainer session for `request` (its `init` an id in this lab's blob store). */
  private async open(request: TrainRequest, options: { weightsOnly?: boolean } = {}): Promise<void> {
    const backend = await ensureBackend(request.backend ?? 'auto');
    this.update({ backend });
    const [{ openTrainSession, TrainSetupError }, prepared] = await Promise.all([
      import('../../shared/train/session'),
      this.data(request),
    ]);
    const load = async (ref: ReferenceRef | string) => {
      const id = typeof ref === 'string' ? ref : ref.checkpointId;
      if (!id)
        throw new Error(
          `the reference was recorded as a folder (${(ref as ReferenceRef).path}), not an id this lab has`,
        );
      return { id, checkpoint: await loadCheckpoint(this.deps.blobs, id) };
    };
    if (!request.init) this.update({ message: 'training the tokenizer on the corpus…' });
    // `data` is the lab's own field; the trainer's config has no such setting.
    const { data: _data, ...config } = request;
    this.session = await openTrainSession(
      config,
      {
        sftExamples: async () => prepared.sftExamples,
        tasks: async () => prepared.tasks,
        ...(prepared.pairs ? { preferencePairs: async () => prepared.pairs ?? [] } : {}),
        ...(prepared.labels ? { preferenceLabels: async () => prepared.labels ?? [] } : {}),
        governance: this.deps.governance,
        // `rewardModel: "reviews"`: fitted from the reviews in this lab's store when the run opens.
        loadRewardModel: async (ref) => {
          if (ref !== REWARD_MODEL_FROM_REVIEWS)
            throw new TrainSetupError(
              `the lab fits its reward model from its reviews: rewardModel "${REWARD_MODEL_FROM_REVIEWS}", not "${ref}"`,
            );
          try {
            return await rewardModelFromReviews(this.deps.store);
          } catch (error) {
            if (error instanceof RewardModelFitError) throw new TrainSetupError(error.message);
            throw error;
          }
        },
        loadCheckpoint: load,
        saveCheckpoint: (checkpoint, at) => this.saveCheckpoint(checkpoint, at),
        store: this.deps.store,
        publish: this.deps.blobs,
        onEvent: (event) => this.onEvent(event),
      },
      { runId: this.state.runId ?? undefined, weightsOnly: options.weightsOnly },
    );
    const { phase, runStep } = this.session.position;
    this.dataNote = [prepared.note, this.rewardModelNote].filter(Boolean).join('; ');
    this.rewardModelNote = '';
    this.update({
      totalSteps: this.session.totalSteps ?? this.state.totalSteps,
      phase,
      step: runStep,
      message: this.dataNote,
    });
  }

  /** What the run trains on, when the status line should say so (reviews' counts); '' otherwise. */
  private dataNote = '';
  /** The session's line on the reward model it fitted from the reviews (its held-out accuracy), while it opens. */
  private rewardModelNote = '';
  private firstStep = true;
  private runStarted = { at: 0, step: 0 };

  private async onEvent(event: TrainEvent): Promise<void> {
    if (event.type === 'info' && event.message.startsWith('reward model')) {
      this.rewardModelNote = event.message;
      return;
    }
    if (event.type === 'phase') {
      if (event.runStep > 0)
        this.update({
          phase: event.phase,
          message: `SFT warm-up done; ${event.phase.toUpperCase()} from here`,
        });
      return;
    }
    if (event.type !== 'step') return;
    const point = toPoint(event.record, event.samples);
    const { at, step: from } = this.runStarted;
    const perStep = (Date.now() - at) / 1000 / Math.max(1, point.step - from);
    const remaining = this.state.totalSteps - point.step;
    const byClock = this.deadline ? (this.deadline - Date.now()) / 1000 : Number.POSITIVE_INFINITY;
    this.state = {
      ...this.state,
      metrics: [...this.state.metrics, point],
      samples: [...event.samples, ...this.state.samples].slice(0, MAX_SAMPLES),
    };
    this.deps.emit({ type: 'train-step', runId: this.state.runId!, point, samples: event.samples });
    this.update({
      step: point.step,
      etaSeconds: Math.max(0, Math.min(remaining * perStep, byClock)),
      ...(this.firstStep && this.state.status === 'compiling' ? { status: 'running' as const } : {}),
    });
    this.firstStep = false;
  }

  private async newestCheckpoint(label: string): Promise<CheckpointRecord | undefined> {
    const all = await this.deps.db.checkpoints.orderBy('createdAt').reverse().toArray();
    return all.find((c) => c.preset === label);
  }

  /** Trains until the run finishes, pauses or stops (the session saves whenever it returns). */
  private async drive(): Promise<void> {
    const session = this.session!;
    const gpu = this.state.backend?.name === 'webgpu' || this.state.backend?.name === 'webgl';
    this.firstStep = true;
    this.runStarted = { at: Date.now(), step: session.position.runStep };
    this.control = new AbortController();
    // A stop or pause asked for while the session was loading takes effect now, before any step.
    if (this.after) this.control.abort();
    else this.update({ status: gpu ? 'compiling' : 'running' });
    const { reason } = await session.run({ signal: this.control.signal, deadline: this.deadline });
    const after = this.after;
    this.after = null;
    if (after === 'pause') {
      this.update({ status: 'paused', etaSeconds: null });
      return;
    }
    const { runStep } = session.position;
    this.disposeSession();
    // A stop on the last step has nothing left to resume: the run is finished.
    const allDone = this.state.totalSteps > 0 && runStep >= this.state.totalSteps;
    const finished = reason !== ('aborted' satisfies RunEnd) || allDone;
    this.update({
      status: finished ? 'finished' : 'stopped',
      etaSeconds: null,
      resumable: !finished,
      message: [reason === 'deadline' ? 'the time budget is spent' : '', this.dataNote]
        .filter(Boolean)
        .join('; '),
    });
  }

  /** The shell's side of a save: blobs (protected), a record with the metrics of the moment, a resource. */
  private async saveCheckpoint(
    checkpoint: Checkpoint,
    at: { runStep: number; phase: TrainAlgo },
  ): Promise<string> {
    const request = this.state.request!;
    const id = await saveCheckpoint(this.deps.blobs, checkpoint);
    await this.deps.blobs.protect(id);
    const record: CheckpointRecord = {
      id,
      createdAt: Date.now(),
      step: at.runStep,
      runId: this.state.runId,
      preset: modelLabel(request),
      algorithm: at.phase,
      metrics: metricsAtSave(this.state.metrics.at(-1)),
      source: 'trained',
    };
    await this.deps.db.checkpoints.put(record);
    // A resource row names the checkpoint, so sync uploads its blobs with the row.
    await this.deps.store.addResources({
      policy: {
        resource_type: 'policy',
        checkpoint_id: id,
        metadata: { step: at.runStep, run: this.state.runId ?? '' },
      },
    });
    const summary: CheckpointSummary = {
      id,
      step: at.runStep,
      createdAt: record.createdAt,
      preset: record.preset,
      algorithm: record.algorithm,
      metrics: record.metrics,
    };
    this.update({ lastCheckpoint: summary });
    return id;
  }
}

/** A run's examples, as the trainer session asks for them. */
type RunData = {
  sftExamples: Array<{ prompt: string; reply: string }>;
  tasks: FeedbackTask[];
  pairs?: PreferencePair[];
  labels?: PreferenceLabel[];
  /** What the status line says while the run trains (where reviews' data came from). */
  note: string;
};

const isPreferenceRequest = (request: TrainRequest) => request.algo === 'dpo' || request.algo === 'kto';

/** DPO and KTO always train on reviews; SFT does when the request says so. */
export function trainsOnReviews(request: Pick<TrainRequest, 'algo' | 'data'>): boolean {
  return request.algo === 'dpo' || request.algo === 'kto' || request.data === 'reviews';
}

/** The model a request trains, as checkpoints are labelled: the preset, `-copy` with a copy head. */
export function modelLabel(request: Pick<TrainRequest, 'preset' | 'copy'>): string {
  const preset = request.preset ?? 'tiny';
  return request.copy ? `${preset}-copy` : preset;
}
