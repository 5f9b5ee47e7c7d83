import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { BlobStore } from '../../server/blobs/blob-store';
import { TrainJobConfig } from '../../server/jobs/config';
import { resolveTrainConfig } from '../../shared/train/config';
import { TrainJobManager } from '../../server/jobs/manager';
import { workerThreadRunner } from '../../server/jobs/worker-runner';
import { SqliteLightningStore } from '../../server/store/sqlite';

// A real training job in a worker thread: a micro model, two SFT steps, a checkpoint per step.

const micro = {
  algo: 'sft',
  steps: 2,
  saveEvery: 1,
  logEvery: 1,
  batch: 2,
  nLayer: 1,
  nHead: 1,
  nEmbd: 16,
  blockSize: 64,
  vocabSize: 300,
};

type SseEvent = { event: string; data: Record<string, unknown> };

async function readEvents(response: Response): Promise<SseEvent[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.includes('data:'))
    .map((block) => {
      const event = /^event: (.+)$/m.exec(block)?.[1] ?? 'message';
      const data = JSON.parse(/^data: (.+)$/m.exec(block)?.[1] ?? 'null');
      return { event, data };
    });
}

describe('training jobs: POST /v1/train/jobs runs the trainer in a worker thread', () => {
  let dir: string;
  let store: SqliteLightningStore;
  let blobs: BlobStore;
  let jobs: TrainJobManager;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-jobs-'));
    store = new SqliteLightningStore({ path: join(dir, 'store.sqlite') });
    blobs = new BlobStore(join(dir, 'blobs'), 1 << 30);
    await blobs.init();
    jobs = new TrainJobManager({
      store,
      runner: workerThreadRunner(new URL('../../server/jobs/train-worker.ts', import.meta.url), {
        data: async () => ({
          runsDir: join(dir, 'runs'),
          blobsDir: join(dir, 'blobs'),
          latestCheckpointId: null,
        }),
      }),
    });
    app = createApp({ store, blobs, jobs: { manager: jobs, configSchema: TrainJobConfig } });
  });
  afterAll(async () => {
    await jobs.stopAll();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (body: unknown) =>
    app.request('/v1/train/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it.each([
    ['an unknown algorithm', { algo: 'ppo', steps: 1 }],
    ['neither steps nor minutes', { algo: 'sft' }],
    ['snake_case settings (the body is camelCase)', { algo: 'sft', steps: 1, save_every: 1 }],
    ['a path as init', { algo: 'sft', steps: 1, init: '/tmp/run' }],
    ['a group of one for grpo', { algo: 'grpo', steps: 1, init: 'latest', group: 1 }],
    ['a data path from the network', { algo: 'sft', steps: 1, data: '/etc/passwd' }],
  ])('refuses %s with 422 and starts nothing', async (_label, body) => {
    const res = await post(body);
    expect(res.status).toBe(422);
    expect(jobs.list()).toEqual([]);
  });

  it('refuses a model too large for the server with 422 and the estimate, and starts nothing (issue 19)', async () => {
    const res = await post({ algo: 'sft', steps: 1, nLayer: 64, nHead: 64, nEmbd: 4096 });
    expect(res.status).toBe(422);
    const body = (await res.json()) as {
      error: { code: string; message: string; details: { estimate: object } };
    };
    expect(body.error.code).toBe('job_too_large');
    expect(body.error.message).toMatch(/12,893,622,272 parameters; this server allows 100,000,000/);
    expect(body.error.details.estimate).toMatchObject({ parameters: 12_893_622_272 });
    expect(jobs.list()).toEqual([]);
    // Within the parameter limit but not the memory one: a long context and a large group.
    const wide = await post({ algo: 'grpo', steps: 1, blockSize: 8192, batch: 64, group: 64 });
    expect(wide.status).toBe(422);
    expect(((await wide.json()) as { error: { message: string } }).error.message).toMatch(/MiB of memory/);
    expect(jobs.list()).toEqual([]);
  });

  it('takes the same TrainConfig as the command line and the lab', () => {
    const body = TrainJobConfig.parse({ ...micro, copy: true });
    expect(resolveTrainConfig(body)).toMatchObject({
      algo: 'sft',
      copy: true,
      nEmbd: 16,
      group: 8,
      lr: 2e-3,
    });
  });

  it('trains, streams metrics and checkpoints over SSE, publishes each checkpoint, and allows one job at a time', async () => {
    const created = await post(micro);
    expect(created.status).toBe(201);
    const job = (await created.json()) as { job_id: string; status: string };
    expect(job.status).toBe('running');

    const second = await post(micro);
    expect(second.status).toBe(409);
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe('conflict');

    const stream = await app.request(`/v1/train/jobs/${job.job_id}/events`);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const events = await readEvents(stream);
    expect(events[0]?.event).toBe('job');
    expect(events.at(-1)).toMatchObject({ event: 'status', data: { status: 'succeeded' } });
    const metrics = events.filter((e) => e.event === 'metrics').map((e) => e.data.metrics);
    expect(metrics.map((m) => (m as { runStep: number }).runStep)).toEqual([1, 2]);
    // The run folder's metrics.jsonl holds the very objects the stream carried, and the resolved config.
    const runDir = join(dir, 'runs', job.job_id);
    const lines = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(metrics);
    expect(JSON.parse(readFileSync(join(runDir, 'train_config.json'), 'utf8'))).toMatchObject({
      algo: 'sft',
      nEmbd: 16,
      lrHorizon: 2,
    });
    const checkpoints = events.filter((e) => e.event === 'checkpoint').map((e) => e.data);
    expect(checkpoints.map((c) => c.step)).toEqual([1, 2]);

    const done = (await (await app.request(`/v1/train/jobs/${job.job_id}`)).json()) as {
      status: string;
      checkpoints: { checkpoint_id: string; version: number }[];
    };
    expect(done.status).toBe('succeeded');
    const policy = await store.getResourcesById('policy');
    expect(policy?.version).toBe(2);
    const last = done.checkpoints.at(-1);
    expect(policy?.resources.policy).toMatchObject({
      resource_type: 'policy',
      checkpoint_id: last?.checkpoint_id,
    });
    expect(await blobs.stat(last?.checkpoint_id as string)).not.toBeNull();
  });

  it('stops a running job on DELETE after its current step, publishing a final checkpoint', async () => {
    const created = await post({ ...micro, steps: 100_000, saveEvery: 100_000 });
    const { job_id } = (await created.json()) as { job_id: string };
    // Wait until it has trained a step, so there is something to save.
    const trained = new Promise<void>((resolve) => {
      const unsubscribe = jobs.subscribe(job_id, (event) => {
        if (event.type === 'metrics') {
          unsubscribe?.();
          resolve();
        }
      });
    });
    await trained;
    const stopped = await app.request(`/v1/train/jobs/${job_id}`, { method: 'DELETE' });
    expect(stopped.status).toBe(200);
    const job = (await stopped.json()) as { status: string; checkpoints: { step: number }[] };
    expect(job.status).toBe('cancelled');
    // saveEvery is out of reach, so this checkpoint is the one the stop saved.
    expect(job.checkpoints.length).toBe(1);
    expect(job.checkpoints[0].step).toBeGreaterThanOrEqual(1);
    expect((await app.request('/v1/train/jobs/job-unknown', { method: 'DELETE' })).status).toBe(404);
  });
});
