// The lab worker's TrainingController in Node: the real controller, LabDatabase, Dexie store (through the
// outbox recorder, as worker/lab.worker.ts wires it), ProtectedBlobs and governance pipeline, all on
// fake-indexeddb, training a cut-down tiny preset on the cpu backend. The Chromium twins (real IndexedDB, wasm,
// the Train page) are test/browser/web-train.test.ts and test/e2e.
//
// Backend: 'cpu'. worker/lab/backend.ts passes tfjs-backend-wasm the `?url` imports of its .wasm files;
// under vitest those are server paths (/node_modules/@tensorflow/...), which the wasm loader in Node
// opens as file-system paths (ENOENT), so `ensureBackend('wasm')` fails here while 'cpu' works.
//
// Pause and stop are requested from the emit callback when a given step is reported (the worker sees a
// page's message between two steps the same way), so the step a run pauses or stops at is exact.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dexie from 'dexie';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { createGovernancePipeline } from '../../../shared/governance/index';
import type { GovernancePipeline } from '../../../shared/governance/types';
import { blobStorageOf, loadCheckpoint, saveCheckpoint } from '../../../shared/policy/checkpoint';
import { readCheckpointDirectory, writeCheckpointDirectory } from '../../../server/checkpoints/directory';
import { runCli } from '../../helpers/cli';
import { DexieLightningStore } from '../../../shared/store/dexie';
import { DexieOutbox } from '../../../shared/sync/outbox';
import { OutboxRecordingStore } from '../../../shared/sync/recording-store';
import { sendability } from '../../../shared/train/sample-tap';
import { readTrainerState } from '../../../shared/train/trainer-state';
import { ensureBackend } from '../../../worker/lab/backend';
import { compareCheckpoints } from '../../../worker/lab/checkpoints';
import { generateDataset } from '../../../worker/lab/dataset';
import { LabDatabase } from '../../../worker/lab/lab-db';
import { ProtectedBlobs } from '../../../worker/lab/protected-blobs';
import type { MetricPoint, TrainRequest, TrainSnapshot, TrainStatus } from '../../../worker/lab/protocol';
import { TrainingController, type TrainingEvent } from '../../../worker/lab/training';

/**
 * The one place a request is built: adapt here when TrainRequest's fields change. The tiny preset cut
 * down further (one layer, width 32, 64-token context, 300-token vocabulary) so a cpu step is quick;
 * metrics every step, so each step is reported as it happens.
 */
function trainRequest(overrides: Partial<TrainRequest> = {}): TrainRequest {
  return {
    algo: 'sft',
    preset: 'tiny',
    nLayer: 1,
    nHead: 2,
    nEmbd: 32,
    blockSize: 64,
    vocabSize: 300,
    backend: 'cpu',
    seed: 3,
    steps: 4,
    batch: 1,
    group: 2,
    maxNewTokens: 8,
    sftSteps: 2,
    mu: 1,
    logEvery: 1,
    ...overrides,
  };
}
/** Steps enough that a run is still going when the test stops it. */
const LONG = 10_000;

// The file takes about 20 s on a 2-core machine; the limits leave room for one shared with other jobs
// (tfjs's cpu backend slows down several times under load), and only bound a hung run.
const WAIT_MS = 150_000;
const TEST_MS = 240_000;

let pipeline: Promise<GovernancePipeline> | undefined;
const governance = () => {
  pipeline ??= Promise.resolve(createGovernancePipeline());
  return pipeline;
};

/** One "page load" of the lab worker over a browser profile's IndexedDB (`indexedDB`). */
class Lab {
  readonly db: LabDatabase;
  readonly local: DexieLightningStore;
  readonly outbox: DexieOutbox;
  readonly blobs: ProtectedBlobs;
  readonly controller: TrainingController;
  readonly events: TrainingEvent[] = [];
  /** Called with each reported step, inside emit (before the loop takes its next step). */
  onStep: ((step: number) => void) | null = null;

  constructor(readonly indexedDB: IDBFactory) {
    // LabDatabase takes only a name; it opens through Dexie's default dependencies.
    Dexie.dependencies.indexedDB = indexedDB;
    Dexie.dependencies.IDBKeyRange = IDBKeyRange;
    this.db = new LabDatabase();
    this.local = new DexieLightningStore({ indexedDB, IDBKeyRange, name: 'edgelight-store' });
    this.outbox = new DexieOutbox('edgelight-sync', { indexedDB, IDBKeyRange });
    this.blobs = new ProtectedBlobs(blobStorageOf(this.local));
    this.controller = new TrainingController({
      db: this.db,
      store: new OutboxRecordingStore(this.local, this.outbox),
      blobs: this.blobs,
      governance,
      emit: (event) => {
        this.events.push(event);
        if (event.type === 'train-step') this.onStep?.(event.point.step);
      },
    });
  }

  /** Statuses in the order they were emitted, from event `since` on. */
  statuses(since = 0): TrainStatus[] {
    const out: TrainStatus[] = [];
    for (const event of this.events.slice(since)) {
      const status =
        event.type === 'train-reset'
          ? event.snapshot.status
          : event.type === 'train-status'
            ? event.status.status
            : undefined;
      if (status && out.at(-1) !== status) out.push(status);
    }
    return out;
  }

  points(since = 0): MetricPoint[] {
    return this.events.slice(since).flatMap((e) => (e.type === 'train-step' ? [e.point] : []));
  }

  /** Waits until `status` is emitted (at or after event `since`); a failed run throws its error. */
  async waitForStatus(status: TrainStatus, since = 0, timeoutMs = WAIT_MS): Promise<TrainSnapshot> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = this.statuses(since);
      if (seen.includes(status)) return this.controller.snapshot();
      if (seen.includes('failed') && status !== 'failed')
        throw new Error(`the run failed: ${(await this.controller.snapshot()).error}`);
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for '${status}'; statuses: ${seen.join(' → ')}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** The run record as persisted in the lab database (whatever its key), once it reads `status`. */
  async waitForPersisted(match: (run: TrainSnapshot) => boolean): Promise<TrainSnapshot> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const { status, error } = await this.controller.snapshot();
      if (status === 'failed') throw new Error(`the run failed: ${error}`);
      for (const row of await this.db.settings.toArray()) {
        const value = row.value as TrainSnapshot | null;
        if (value && typeof value === 'object' && 'status' in value && match(value)) return value;
      }
      if (Date.now() > deadline) throw new Error('no persisted run record matched');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async checkpoints() {
    const rows = await this.db.checkpoints.toArray();
    return rows.sort((a, b) => a.createdAt - b.createdAt || a.step - b.step);
  }

  /** A checkpoint's trainer_state.json, read (and validated) as the trainer reads it. */
  async trainerState(id: string) {
    return readTrainerState((await loadCheckpoint(this.blobs, id)).trainer);
  }

  async close(): Promise<void> {
    this.db.close();
    await this.outbox.close();
    await this.local.close();
  }
}

const opened: Lab[] = [];

/** A fresh browser profile with a generated 40-item dataset, and the lab worker loaded over it. */
async function freshLab(): Promise<Lab> {
  const lab = openLab(new IDBFactory());
  await generateDataset(lab.db, { seed: 11, size: 40, badHabitShare: 0.2 });
  return lab;
}

function openLab(indexedDB: IDBFactory): Lab {
  const lab = new Lab(indexedDB);
  opened.push(lab);
  return lab;
}

const ACTIVE: TrainStatus[] = ['loading', 'compiling', 'running', 'pausing', 'paused', 'stopping'];

afterEach(async () => {
  // A test that failed mid-run leaves its run going: stop it so it does not train into the next test.
  for (const lab of opened.splice(0)) {
    if (ACTIVE.includes((await lab.controller.snapshot()).status)) {
      await lab.controller.stop().catch(() => {});
      const deadline = Date.now() + WAIT_MS;
      while (ACTIVE.includes((await lab.controller.snapshot()).status) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await lab.close();
  }
}, TEST_MS);

const steps = (points: MetricPoint[]) => points.map((p) => p.step);

describe('TrainingController (lab worker) on fake-indexeddb', { timeout: TEST_MS }, () => {
  it('runs SFT to the end: loading → running → finished, every step reported, checkpoints recorded', async () => {
    const lab = await freshLab();
    expect((await lab.controller.snapshot()).status).toBe('idle');

    const started = await lab.controller.start(trainRequest({ steps: 4, saveEvery: 2 }));
    expect(started.status).toBe('loading');
    const done = await lab.waitForStatus('finished');

    expect(lab.statuses()).toEqual(['loading', 'running', 'finished']);
    expect(done).toMatchObject({
      status: 'finished',
      step: 4,
      totalSteps: 4,
      phase: 'sft',
      resumable: false,
    });
    expect(done.backend?.name).toBe('cpu');
    const points = lab.points();
    expect(steps(points)).toEqual([1, 2, 3, 4]);
    for (const p of points) {
      expect(p.phase).toBe('sft');
      expect(Number.isFinite(p.loss)).toBe(true);
      expect(p.loss).toBeGreaterThan(0);
    }
    expect(steps(done.metrics)).toEqual([1, 2, 3, 4]);
    for (const event of lab.events) if (event.type === 'train-step') expect(event.runId).toBe(started.runId);

    // Every checkpointEvery steps in the loop, and the final state when it ends.
    const saved = await lab.checkpoints();
    expect(saved.map((c) => [c.step, c.algorithm, c.preset, c.runId, c.source])).toEqual([
      [2, 'sft', 'tiny', started.runId, 'trained'],
      [4, 'sft', 'tiny', started.runId, 'trained'],
    ]);
    expect(saved[1].metrics.loss).toBe(points[3].loss);
    expect(done.lastCheckpoint).toMatchObject({ id: saved[1].id, step: 4, algorithm: 'sft', preset: 'tiny' });
    expect(await lab.trainerState(saved[1].id)).toMatchObject({ step: 4, phase: 'sft', offset: 0 });
    // The newest checkpoint is the store's policy resource (what sync uploads).
    const resources = await lab.local.getLatestResources();
    expect(resources?.resources.policy).toMatchObject({ checkpoint_id: saved[1].id });
  });

  it('pauses in memory and resumes from the paused step: no step repeated, ends at the requested steps', async () => {
    const lab = await freshLab();
    lab.onStep = (step) => {
      if (step === 2) lab.controller.pause();
    };
    await lab.controller.start(trainRequest({ steps: 4 }));
    const paused = await lab.waitForStatus('paused');
    expect(lab.statuses()).toEqual(['loading', 'running', 'pausing', 'paused']);
    expect(paused).toMatchObject({ status: 'paused', step: 2, totalSteps: 4 });
    // Pausing saves a checkpoint of the paused state.
    expect(paused.lastCheckpoint?.step).toBe(2);
    expect((await lab.checkpoints()).map((c) => c.step)).toEqual([2]);
    expect(() => lab.controller.pause()).toThrow();

    lab.onStep = null;
    const mark = lab.events.length;
    const resumed = await lab.controller.resume();
    expect(resumed.status).toBe('running');
    const done = await lab.waitForStatus('finished', mark);
    // The session was kept: no loading of a checkpoint, the next step is 3.
    expect(lab.statuses(mark)).toEqual(['running', 'finished']);
    expect(steps(lab.points(mark))).toEqual([3, 4]);
    expect(steps(lab.points())).toEqual([1, 2, 3, 4]);
    expect(steps(done.metrics)).toEqual([1, 2, 3, 4]);
    expect(done).toMatchObject({ step: 4, totalSteps: 4, resumable: false });
    expect((await lab.checkpoints()).map((c) => c.step)).toEqual([2, 4]);
    expect(done.lastCheckpoint?.step).toBe(4);
  });

  it('an RL run with no checkpoint of its preset warms up with SFT, then switches to GRPO', async () => {
    const lab = await freshLab();
    const request = trainRequest({ algo: 'grpo', steps: 2, sftSteps: 2, group: 2, batch: 1 });
    const started = await lab.controller.start(request);
    const done = await lab.waitForStatus('finished');

    // Chart steps count both phases.
    expect(done).toMatchObject({ status: 'finished', step: 4, totalSteps: 4, phase: 'grpo' });
    const points = lab.points();
    expect(points.map((p) => [p.step, p.phase])).toEqual([
      [1, 'sft'],
      [2, 'sft'],
      [3, 'grpo'],
      [4, 'grpo'],
    ]);
    for (const p of points.slice(0, 2)) {
      expect(p.rewardMean).toBeNull();
      expect(p.sendableRate).toBeNull();
      expect(p.failedChecks).toEqual({});
    }
    for (const p of points.slice(2)) {
      expect(typeof p.rewardMean).toBe('number');
      expect(typeof p.kl).toBe('number');
      expect(p.sendableRate).toBeGreaterThanOrEqual(0);
      expect(p.sendableRate).toBeLessThanOrEqual(1);
    }
    // Sendability per RL step: the loop's rate over the step's replies is the share of the sampled replies
    // with no failed check, and the point's per-check shares are those of the same replies.
    for (const event of lab.events) {
      if (event.type !== 'train-step' || event.point.phase !== 'grpo') continue;
      expect(event.samples.length).toBeGreaterThan(0);
      const shares = sendability(event.samples);
      expect(event.point.sendableRate).toBeCloseTo(shares.sendableRate!, 10);
      expect(event.point.failedChecks).toEqual(shares.failedChecks);
      for (const sample of event.samples) {
        expect(sample.terms.quality).toBeCloseTo(0.5 ** sample.failedChecks.length, 10);
        for (const finding of sample.findings)
          expect(sample.failedChecks).toContain(finding.slice(0, finding.indexOf(':')));
      }
    }
    expect(done.metrics.map((p) => p.phase)).toEqual(['sft', 'sft', 'grpo', 'grpo']);
    // The switch is announced as a status change of the phase.
    const phases = lab.events.flatMap((e) =>
      e.type === 'train-status' && e.status.phase ? [e.status.phase] : [],
    );
    expect(phases[0]).toBe('sft');
    expect(phases.at(-1)).toBe('grpo');
    expect(phases.indexOf('grpo')).toBeGreaterThan(0);
    // The RL steps sampled replies through the store, with their rewards (the page's sample list).
    expect(done.samples.length).toBeGreaterThan(0);
    for (const s of done.samples) expect(s.step).toBeGreaterThanOrEqual(3);
    const rollouts = await lab.local.queryRollouts();
    expect(rollouts.items.length).toBeGreaterThanOrEqual(2);

    // The warm-up's end is saved as an SFT checkpoint, and the GRPO phase records it as its KL reference.
    const saved = await lab.checkpoints();
    expect(saved.map((c) => [c.step, c.algorithm])).toEqual([
      [2, 'sft'],
      [4, 'grpo'],
    ]);
    for (const c of saved) expect(c.runId).toBe(started.runId);
    const rl = await lab.trainerState(saved[1].id);
    expect(rl).toMatchObject({ phase: 'grpo', step: 2, offset: 2, runId: started.runId });
    expect(rl.reference).toEqual({ checkpointId: saved[0].id });
    expect(rl.config).toMatchObject({ algo: 'grpo', group: 2, mu: 1, sftSteps: 2 });
    expect(await lab.trainerState(saved[0].id)).toMatchObject({
      phase: 'sft',
      step: 2,
      offset: 0,
      reference: null,
    });
    expect(done.lastCheckpoint).toMatchObject({ id: saved[1].id, step: 4, algorithm: 'grpo' });
    // The RL checkpoint keeps its step's sendable rate and per-check failure shares; the SFT one has none.
    expect(saved[1].metrics.sendableRate).toBe(points[3].sendableRate);
    const failedAtSave = Object.fromEntries(
      Object.entries(saved[1].metrics)
        .filter(([k]) => k.startsWith('failed.'))
        .map(([k, v]) => [k.slice('failed.'.length), v]),
    );
    expect(failedAtSave).toEqual(points[3].failedChecks);
    expect(saved[0].metrics).not.toHaveProperty('sendableRate');

    // The Checkpoints page's side-by-side: each reply scored with its failed checks, each side's sendable
    // rate and per-check shares over its replies.
    await ensureBackend('cpu');
    const comparison = await compareCheckpoints(lab.db, lab.blobs, await governance(), {
      a: saved[0].id,
      b: saved[1].id,
      prompts: 2,
      maxNewTokens: 8,
    });
    expect(comparison.rows).toHaveLength(2);
    for (const side of [0, 1] as const) {
      const replies = comparison.rows.map((row) => row.replies[side]);
      for (const reply of replies) {
        expect(reply.sendable).toBe(reply.failedChecks.length === 0);
        expect(reply.terms.quality).toBeCloseTo(0.5 ** reply.failedChecks.length, 10);
        for (const finding of reply.findings)
          expect(reply.failedChecks).toContain(finding.slice(0, finding.indexOf(':')));
      }
      const shares = sendability(replies);
      expect(comparison.sendable[side]).toBeCloseTo(shares.sendableRate!, 10);
      expect(comparison.failedChecks[side]).toEqual(shares.failedChecks);
    }
  });

  it('after a stop and a reload, resume continues from the last checkpoint to the requested total', async () => {
    const profile = new IDBFactory();
    const first = openLab(profile);
    await generateDataset(first.db, { seed: 11, size: 40, badHabitShare: 0.2 });
    first.onStep = (step) => {
      if (step === 3) void first.controller.stop();
    };
    const started = await first.controller.start(trainRequest({ steps: 5, saveEvery: 2 }));
    const stopped = await first.waitForStatus('stopped');
    expect(first.statuses()).toEqual(['loading', 'running', 'stopping', 'stopped']);
    expect(stopped).toMatchObject({ step: 3, totalSteps: 5, resumable: true });
    expect((await first.checkpoints()).map((c) => c.step)).toEqual([2, 3]);
    await first.waitForPersisted((run) => run.status === 'stopped');

    // The page reloads: a new worker, a new controller over the same databases.
    const second = openLab(profile);
    const restored = await second.controller.snapshot();
    expect(restored).toMatchObject({
      runId: started.runId,
      status: 'stopped',
      step: 3,
      totalSteps: 5,
      resumable: true,
      phase: 'sft',
    });
    expect(restored.lastCheckpoint?.step).toBe(3);
    expect(steps(restored.metrics)).toEqual([1, 2, 3]);

    const resumed = await second.controller.resume();
    expect(resumed.status).toBe('loading');
    const done = await second.waitForStatus('finished');
    expect(second.statuses()).toEqual(['loading', 'running', 'finished']);
    expect(steps(second.points())).toEqual([4, 5]);
    expect(steps(done.metrics)).toEqual([1, 2, 3, 4, 5]);
    expect(done).toMatchObject({ runId: started.runId, step: 5, totalSteps: 5, resumable: false });
    expect((await second.checkpoints()).map((c) => c.step)).toEqual([2, 3, 4, 5]);
    expect(await second.trainerState(done.lastCheckpoint!.id)).toMatchObject({ step: 5, phase: 'sft' });
    // Nothing is left to resume.
    await expect(second.controller.resume()).rejects.toThrow();
  });

  it('a reload while a run is running shows it stopped (interrupted), resumable from its checkpoint', async () => {
    const profile = new IDBFactory();
    const first = openLab(profile);
    await generateDataset(first.db, { seed: 11, size: 40, badHabitShare: 0.2 });
    // Many steps: the run is stopped below, long before its end.
    await first.controller.start(trainRequest({ steps: LONG, saveEvery: 1 }));
    // The run record is written on status changes and at most every few seconds between them, so
    // wait until one with a checkpoint is on disk (a reload before that finds no checkpoint to resume).
    const persisted = await first.waitForPersisted((run) => run.status === 'running' && !!run.lastCheckpoint);
    expect((await first.controller.snapshot()).status).toBe('running');

    // The page reloads mid-run.
    const reloaded = openLab(profile);
    const restored = await reloaded.controller.snapshot();
    expect(restored.runId).toBe(persisted.runId);
    expect(restored.status).toBe('stopped');
    expect(restored.message).toMatch(/interrupted/);
    expect(restored.etaSeconds).toBeNull();
    expect(restored.resumable).toBe(true);
    expect(restored.step).toBeLessThan(LONG);
    const checkpoint = restored.lastCheckpoint!;
    expect(checkpoint.step).toBeGreaterThanOrEqual(persisted.lastCheckpoint!.step);
    expect(await reloaded.db.checkpoints.get(checkpoint.id)).toMatchObject({ step: checkpoint.step });
    // The new page has no run in memory to pause or stop, only one to resume.
    expect(() => reloaded.controller.pause()).toThrow();
    await expect(reloaded.controller.stop()).rejects.toThrow();

    const mark = first.events.length;
    await first.controller.stop();
    await first.waitForStatus('stopped', mark);
  });

  it('refuses an invalid request with a zod error (state stays idle) and a second start while one runs', async () => {
    const lab = await freshLab();
    const bad: unknown[] = [
      trainRequest({ steps: 0 }),
      { ...trainRequest(), preset: 'huge' },
      trainRequest({ group: 1 }),
      { ...trainRequest(), algo: undefined },
      { ...trainRequest(), notASetting: 1 },
      null,
    ];
    for (const input of bad) {
      await expect(lab.controller.start(input), JSON.stringify(input)).rejects.toBeInstanceOf(ZodError);
      expect((await lab.controller.snapshot()).status).toBe('idle');
    }
    expect(lab.events).toEqual([]);

    const first = await lab.controller.start(trainRequest({ steps: LONG }));
    await expect(lab.controller.start(trainRequest({ steps: 2 }))).rejects.toThrow(/already in progress/);
    await lab.waitForStatus('running');
    await expect(lab.controller.start(trainRequest({ steps: 2 }))).rejects.toThrow(/already in progress/);
    const snapshot = await lab.controller.snapshot();
    expect(snapshot.status).toBe('running');
    expect(snapshot.runId).toBe(first.runId);
    expect(snapshot.request?.steps).toBe(LONG);
    expect(lab.events.filter((e) => e.type === 'train-reset')).toHaveLength(1);

    const mark = lab.events.length;
    await lab.controller.stop();
    await lab.waitForStatus('stopped', mark);
    expect((await lab.controller.snapshot()).step).toBeLessThan(LONG);
  });
  it('moves a checkpoint between the command line and the lab both ways; each resumes it with its KL reference', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgelight-cross-'));
    try {
      const shape = [
        '--n-layer',
        '1',
        '--n-head',
        '2',
        '--n-embd',
        '32',
        '--block-size',
        '64',
        '--backend',
        'cpu',
      ];
      const rl = ['--batch', '1', '--group', '2', '--max-new-tokens', '8', '--mu', '1', '--seed', '3'];
      const tasks = join(dir, 'tasks.jsonl');
      await writeFile(tasks, '{"id":"a","text":"The upload page keeps failing.","category":"website-bug"}\n');
      const sft = await runCli(
        'train',
        '--algo',
        'sft',
        '--steps',
        '2',
        '--vocab-size',
        '300',
        '--batch',
        '2',
        ...shape,
        '--out',
        join(dir, 'sft'),
      );
      expect(sft.code, sft.stderr).toBe(0);
      const grpo = await runCli(
        'train',
        '--algo',
        'grpo',
        '--steps',
        '2',
        '--init',
        join(dir, 'sft'),
        '--data',
        tasks,
        ...shape,
        ...rl,
        '--out',
        join(dir, 'grpo'),
      );
      expect(grpo.code, grpo.stderr).toBe(0);

      // Command line → lab: the lab holds both checkpoints (as an import or a pull would leave them).
      const lab = await freshLab();
      const sftId = (await readCheckpointDirectory(join(dir, 'sft', 'step-000002'))).id;
      for (const folder of [join(dir, 'sft', 'step-000002'), join(dir, 'grpo', 'step-000002')])
        await saveCheckpoint(lab.blobs, (await readCheckpointDirectory(folder)).checkpoint);
      const cliState = JSON.parse(
        await readFile(join(dir, 'grpo', 'step-000002', 'trainer_state.json'), 'utf8'),
      );
      expect(cliState.reference.checkpointId).toBe(sftId);
      const grpoId = (await readCheckpointDirectory(join(dir, 'grpo', 'step-000002'))).id;
      await lab.controller.start(trainRequest({ algo: 'grpo', init: grpoId, steps: 1, maxNewTokens: 8 }));
      const done = await lab.waitForStatus('finished');
      expect(done.step).toBe(3);
      const labCheckpoint = (await lab.checkpoints()).at(-1)!;
      const labState = await lab.trainerState(labCheckpoint.id);
      expect(labState).toMatchObject({ phase: 'grpo', step: 3, reference: { checkpointId: sftId } });
      expect(labState.config?.mu).toBe(1);

      // Lab → command line: the lab's checkpoint and its reference exported as folders of one run.
      const exported = join(dir, 'from-lab');
      await writeCheckpointDirectory(
        join(exported, 'step-000003'),
        await loadCheckpoint(lab.blobs, labCheckpoint.id),
      );
      await writeCheckpointDirectory(join(exported, 'step-000002'), await loadCheckpoint(lab.blobs, sftId));
      const back = await runCli(
        'train',
        '--algo',
        'grpo',
        '--steps',
        '1',
        '--init',
        join(exported, 'step-000003'),
        '--data',
        tasks,
        ...shape,
        '--out',
        join(dir, 'again'),
      );
      expect(back.code, back.stderr).toBe(0);
      expect(back.stderr).toMatch(/resuming at step 3/);
      const againState = JSON.parse(
        await readFile(join(dir, 'again', 'step-000004', 'trainer_state.json'), 'utf8'),
      );
      expect(againState).toMatchObject({ phase: 'grpo', step: 4, reference: { checkpointId: sftId } });
      expect(againState.config).toMatchObject({ mu: 1, group: 2, batch: 1 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
