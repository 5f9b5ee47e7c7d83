// The training job's thread: runs the one trainer session (through the same run-folder runner as
// `edgelight train`) with the job's config, forwards its typed events to the host, and copies every
// checkpoint into the server's blob folder so the host can publish it as a resource. A job on reviews
// (dpo, kto, sft with data "reviews") first writes them from the server's store into its run folder.
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { loadCheckpoint, saveCheckpoint } from '../../shared/policy/checkpoint';
import { REWARD_MODEL_FROM_REVIEWS, rewardModelFromReviews } from '../../shared/review/reward-model';
import { RewardModelFitError } from '../../shared/train/reward-model';
import { TrainSetupError } from '../../shared/train/session';
import { DirectoryBlobStorage } from '../checkpoints/directory';
import { openSqliteStore } from '../store/sqlite';
import { writeRewardModelFile } from '../train/reward-model-file';
import { type CheckpointFinder, trainInFolder } from '../train/run-folder';
import { jobTrainsOnReviews, TrainJobConfig } from './config';
import { writeReviewData } from './review-data';
import type { HostMessage, WorkerMessage } from './types';

type JobData = {
  job: { job_id: string; config: unknown };
  /** Where run folders go and where blobs live (the server's data folder layout). */
  runsDir: string;
  blobsDir: string;
  /** The checkpoint id "latest" resolves to, looked up by the host before the thread started. */
  latestCheckpointId: string | null;
  /** The checkpoint id "served" resolves to (server/serving/served.ts), looked up the same way. */
  servedCheckpointId?: string | null;
  /** The server's SQLite store: a `recorded` job reads the recorded chat completions there, a job on reviews the decisions. */
  storePath?: string;
};

const data = workerData as JobData;
const post = (message: WorkerMessage) => parentPort?.postMessage(message);

// A stop ends the trainer after its current step; it saves (and this thread publishes) a final
// checkpoint, then the thread reports done. The host terminates the thread if that takes too long.
const stopping = new AbortController();
parentPort?.on('message', (message: HostMessage) => {
  if (message.type === 'stop') stopping.abort();
});

/** Checkpoints by id from the server's blob folder; a job never reads paths. */
function blobCheckpoints(blobs: DirectoryBlobStorage): CheckpointFinder {
  return async (ref) => {
    const id =
      typeof ref === 'string'
        ? ref === 'latest'
          ? data.latestCheckpointId
          : ref === 'served'
            ? (data.servedCheckpointId ?? null)
            : ref
        : ref.checkpointId;
    if (!id)
      throw new TrainSetupError(
        typeof ref === 'string'
          ? `init "${ref}": no policy checkpoint has been ${ref === 'served' ? 'served' : 'published'} yet`
          : `the recorded reference has no checkpoint id (only a path, ${ref.path}); give reference`,
      );
    return { id, checkpoint: await loadCheckpoint(blobs, id) };
  };
}

async function main(): Promise<void> {
  // `data` is the job's own field; the trainer's config has no such setting.
  const { data: source, ...config } = TrainJobConfig.parse(data.job.config);
  const reviews = jobTrainsOnReviews({ algo: config.algo, data: source });
  const blobs = new DirectoryBlobStorage(data.blobsDir);
  const out = join(data.runsDir, data.job.job_id);
  // A recorded run and one on reviews read the server's store (a second connection; SQLite's WAL lets
  // both work). The two never meet: recorded is grpo / rloo's, reviews are dpo, kto and sft's data.
  const openStore = () => {
    if (!data.storePath) throw new TrainSetupError('this server gave the job no store to read its data from');
    return openSqliteStore(data.storePath);
  };
  let file: string | undefined;
  if (reviews) {
    const reviewStore = openStore();
    try {
      const run = config.algo === 'dpo' || config.algo === 'kto' ? config.algo : 'sft';
      const written = await writeReviewData(reviewStore, out, run);
      post({ type: 'log', message: written.summary });
      file = written.path;
    } finally {
      await reviewStore.close();
    }
  }
  // A reward model from the server's reviews: fitted here, saved in the run folder (so the run says
  // exactly what it learnt against) and read from there as `train --reward-model DIR` reads one.
  let rewardModelFile: string | undefined;
  if (config.rewardModel === REWARD_MODEL_FROM_REVIEWS) {
    const reviewStore = openStore();
    try {
      const model = await rewardModelFromReviews(reviewStore);
      const t = model.training;
      post({
        type: 'log',
        message: `reward model from reviews: ${t.pairs} pairs, held-out pair accuracy ${t.heldOutAccuracy?.toFixed(3) ?? 'n/a'} (${t.heldOutPairs} pairs)`,
      });
      rewardModelFile = await writeRewardModelFile(out, model);
    } catch (error) {
      if (error instanceof RewardModelFitError) throw new TrainSetupError(error.message);
      throw error;
    } finally {
      await reviewStore.close();
    }
  }
  const store = config.recorded ? openStore() : undefined;
  await trainInFolder({
    input: rewardModelFile ? { ...config, rewardModel: rewardModelFile } : config,
    // Reviews are read as `edgelight train --data FILE` reads a file.
    ...(file ? { data: file } : {}),
    ...(store ? { store } : {}),
    out,
    checkpoints: blobCheckpoints(blobs),
    signal: stopping.signal,
    log: (message) => post({ type: 'log', message }),
    afterSave: async (id, checkpoint) => {
      if ((await saveCheckpoint(blobs, checkpoint)) !== id) throw new Error('checkpoint id mismatch');
    },
    onEvent: (event) => {
      if (event.type === 'step') post({ type: 'metrics', metrics: event.record });
      else if (event.type === 'checkpoint')
        post({ type: 'checkpoint', step: event.runStep, checkpoint_id: event.id });
      else if (event.type === 'info') post({ type: 'log', message: event.message });
      else if (event.type === 'phase') post({ type: 'phase', phase: event.phase, step: event.runStep });
    },
  }).finally(() => store?.close());
}

main().then(
  () => post({ type: 'done' }),
  (error: unknown) =>
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
);
