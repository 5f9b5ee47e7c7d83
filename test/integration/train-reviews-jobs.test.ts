// Server training jobs on reviews: POST /v1/train/jobs with algo dpo / kto (and sft with data "reviews")
// reads the reviewers' decisions from the server's own SQLite store in the job's thread, writes them into
// the run folder, and trains from the served starter policy through the one trainer session. Items are
// written as the intake and the real feedback agent leave them, decisions as the Inbox writes them.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { DirectoryBlobStorage } from '../../server/checkpoints/directory';
import { dataLayout } from '../../server/commands/data-dir';
import { TrainJobConfig } from '../../server/jobs/config';
import { TrainJobManager } from '../../server/jobs/manager';
import type { TrainJob } from '../../server/jobs/types';
import { workerThreadRunner } from '../../server/jobs/worker-runner';
import { ensureServed } from '../../server/serving/served';
import { openSqliteStore } from '../../server/store/sqlite';
import { createGovernancePipeline } from '../../shared/governance/index';
import { decodeRewardModel, REWARD_MODEL_FILE } from '../../shared/agent/reward-model';
import { loadCheckpoint } from '../../shared/policy/checkpoint';
import { SEEDED_REVIEWS, seedReviews } from '../helpers/review-decisions';

describe('training jobs on reviews (POST /v1/train/jobs {algo: dpo | kto, or sft with data: reviews})', () => {
  let dir: string;
  let layout: ReturnType<typeof dataLayout>;
  let store: ReturnType<typeof openSqliteStore>;
  let blobs: DirectoryBlobStorage;
  let jobs: TrainJobManager;
  let app: ReturnType<typeof createApp>;
  let starterId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-review-jobs-'));
    layout = dataLayout(dir);
    store = openSqliteStore(layout.store);
    blobs = new DirectoryBlobStorage(layout.blobs);
    starterId = (await ensureServed(store, blobs)).checkpointId;
    jobs = new TrainJobManager({
      store,
      runner: workerThreadRunner(new URL('../../server/jobs/train-worker.ts', import.meta.url), {
        data: async () => ({
          runsDir: layout.runs,
          blobsDir: layout.blobs,
          latestCheckpointId: null,
          servedCheckpointId: starterId,
          storePath: layout.store,
        }),
      }),
    });
    app = createApp({ store, jobs: { manager: jobs, configSchema: TrainJobConfig } });
  }, 120_000);
  afterAll(async () => {
    await jobs?.stopAll();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (body: unknown) =>
    app.request('/v1/train/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  /** Starts a job (201) and waits for its end. */
  async function run(body: Record<string, unknown>): Promise<TrainJob> {
    const created = await post(body);
    expect(created.status, await created.clone().text()).toBe(201);
    const { job_id } = (await created.json()) as { job_id: string };
    await jobs.settled(job_id);
    return jobs.get(job_id) as TrainJob;
  }

  const small = { init: 'served', batch: 2, maxNewTokens: 48, backend: 'wasm' } as const;

  it('refuses data choices that mean nothing for the algorithm with 422, starting nothing', async () => {
    for (const body of [
      { algo: 'grpo', steps: 1, data: 'reviews' },
      { algo: 'dpo', steps: 1, init: 'served', data: 'generated' },
      { algo: 'sft', steps: 1, data: 'somewhere' },
    ]) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
    expect(jobs.list()).toEqual([]);
  });

  it('a dpo job on a store without decisions fails at once, saying what the store holds', async () => {
    const job = await run({ algo: 'dpo', steps: 1, ...small });
    expect(job.status).toBe('failed');
    expect(job.error).toContain('dpo needs preference pairs (a reply a reviewer approved, edited or wrote');
    expect(job.error).toContain('0 feedback items, 0 decided');
    expect(job.checkpoints).toEqual([]);
  }, 120_000);

  it('a dpo job trains on the pairs from the decisions: metrics, a published checkpoint, the data beside it', async () => {
    await seedReviews(store, createGovernancePipeline());
    const job = await run({ algo: 'dpo', steps: 2, saveEvery: 1, ...small });
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(job.checkpoints.map((c) => c.step)).toEqual([1, 2]);
    // The checkpoint is in the blob folder and published as the policy bundle's newest version.
    const last = job.checkpoints.at(-1)!;
    const checkpoint = await loadCheckpoint(blobs, last.checkpoint_id);
    expect(checkpoint.trainer).toMatchObject({
      phase: 'dpo',
      step: 2,
      reference: { checkpointId: starterId },
    });
    expect((await store.getLatestResources())?.resources.policy).toMatchObject({
      checkpoint_id: last.checkpoint_id,
    });

    const folder = join(layout.runs, job.job_id);
    const metrics = readFileSync(join(folder, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(metrics).toHaveLength(2);
    for (const m of metrics) {
      expect(m.algo).toBe('dpo');
      expect(Number.isFinite(m.loss)).toBe(true);
      expect(Number.isFinite(m['rewards/accuracies'])).toBe(true);
    }
    // What the job learnt from, line by line with its provenance, owner-only like the store.
    const pairsFile = join(folder, 'reviews', 'pairs.jsonl');
    const pairs = readFileSync(pairsFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(pairs).toHaveLength(SEEDED_REVIEWS.pairs);
    for (const p of pairs)
      expect(Object.keys(p).sort()).toEqual([
        'action',
        'chosen',
        'decision_id',
        'item_id',
        'prompt',
        'rejected',
      ]);
    expect(statSync(pairsFile).mode & 0o777).toBe(0o600);
  }, 300_000);

  it('a kto job trains on the labelled replies, and sft with data "reviews" on the replies reviewers sent', async () => {
    const kto = await run({ algo: 'kto', steps: 1, ...small });
    expect(kto.error).toBeNull();
    expect(kto.status).toBe('succeeded');
    expect(kto.checkpoints).toHaveLength(1);
    const labels = readFileSync(join(layout.runs, kto.job_id, 'reviews', 'labels.jsonl'), 'utf8');
    expect(labels.trim().split('\n')).toHaveLength(SEEDED_REVIEWS.labels);

    const sft = await run({ algo: 'sft', data: 'reviews', steps: 1, logEvery: 1, ...small });
    expect(sft.error).toBeNull();
    expect(sft.status).toBe('succeeded');
    expect(sft.checkpoints).toHaveLength(1);
    const examples = readFileSync(join(layout.runs, sft.job_id, 'reviews', 'sft.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(examples).toHaveLength(SEEDED_REVIEWS.sft);
    // TRL's prompt–completion shape, as the export writes it, with its provenance.
    for (const e of examples)
      expect(Object.keys(e).sort()).toEqual(['completion', 'decision_id', 'item_id', 'prompt']);
    const metrics = readFileSync(join(layout.runs, sft.job_id, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(metrics).toHaveLength(1);
    expect(JSON.parse(metrics[0])).toMatchObject({ algo: 'sft', phase: 'sft', runStep: 1 });
  }, 300_000);

  it('a grpo job with rewardModel "reviews" fits one from the decisions and drafts against it', async () => {
    expect((await post({ algo: 'grpo', steps: 1, rewardModel: '/etc/passwd' })).status).toBe(422);
    const job = await run({
      algo: 'grpo',
      steps: 1,
      group: 2,
      rewardModel: 'reviews',
      rewardModelWeight: 0.5,
      ...small,
    });
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    const folder = join(layout.runs, job.job_id);
    // The model it learnt against is in the run folder, named in its config, fitted on the review pairs.
    const model = decodeRewardModel(readFileSync(join(folder, REWARD_MODEL_FILE)));
    expect(model.training.pairs + model.training.heldOutPairs).toBe(SEEDED_REVIEWS.pairs);
    expect(JSON.parse(readFileSync(join(folder, 'train_config.json'), 'utf8'))).toMatchObject({
      rewardModel: join(folder, REWARD_MODEL_FILE),
      rewardModelWeight: 0.5,
    });
    const [step] = readFileSync(join(folder, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(step.terms.learned).toBeGreaterThan(0);
    expect(step.terms.learned).toBeLessThan(1);
  }, 300_000);
});
