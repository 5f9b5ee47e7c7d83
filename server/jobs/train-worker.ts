// The training job's thread: runs `edgelight train` (the same trainer and the same checks as the
// CLI) with the job's config, turns its progress lines into metrics messages, and copies every
// checkpoint it saves into the server's blob folder so the host can publish it as a resource.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { format } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import { loadCheckpoint, saveCheckpoint } from '../../shared/policy/checkpoint';
import {
  DirectoryBlobStorage,
  readCheckpointDirectory,
  writeCheckpointDirectory,
} from '../checkpoints/directory';
import { CliUsageError } from '../cli';
import { run as train } from '../commands/train';
import { parseProgressLine, TrainJobConfig, trainArgv } from './config';
import type { HostMessage, WorkerMessage } from './types';

type JobData = {
  job: { job_id: string; config: unknown };
  /** Where run folders go and where blobs live (the server's data folder layout). */
  runsDir: string;
  blobsDir: string;
  /** The checkpoint id "latest" resolves to, looked up by the host before the thread started. */
  latestCheckpointId: string | null;
};

const data = workerData as { job: JobData['job'] } & Partial<JobData>;
const post = (message: WorkerMessage) => parentPort?.postMessage(message);

// A stop ends the trainer after its current step; it saves (and this thread publishes) a final
// checkpoint, then the thread reports done. The host terminates the thread if that takes too long.
const stopping = new AbortController();
parentPort?.on('message', (message: HostMessage) => {
  if (message.type === 'stop') stopping.abort();
});

async function main(): Promise<void> {
  const config = TrainJobConfig.parse(data.job.config);
  const blobs = new DirectoryBlobStorage(data.blobsDir as string);
  const out = join(data.runsDir as string, data.job.job_id);
  await mkdir(out, { recursive: true });

  let init: string | undefined;
  if (config.init) {
    const id = config.init === 'latest' ? data.latestCheckpointId : config.init;
    if (!id) throw new Error('init "latest": no policy checkpoint has been published yet');
    init = join(out, 'init');
    await writeCheckpointDirectory(init, await loadCheckpoint(blobs, id));
  }

  // Everything the trainer prints becomes a message; checkpoint lines become published blobs.
  let publishing = Promise.resolve();
  console.log = (...args: unknown[]) => {
    const line = format(...args);
    const metrics = parseProgressLine(line);
    post(metrics ? { type: 'metrics', metrics } : { type: 'log', message: line });
  };
  console.error = (...args: unknown[]) => {
    const line = format(...args);
    post({ type: 'log', message: line });
    const saved = /^checkpoint (.+) \([0-9a-f]{12}\)$/.exec(line);
    if (!saved) return;
    const dir = saved[1] as string;
    const step = Number(/step-(\d+)$/.exec(dir)?.[1] ?? 0);
    publishing = publishing.then(async () => {
      const { checkpoint } = await readCheckpointDirectory(dir);
      const checkpointId = await saveCheckpoint(blobs, checkpoint);
      post({ type: 'checkpoint', step, checkpoint_id: checkpointId });
    });
  };

  const code = await train(trainArgv(config, { out, init }), { signal: stopping.signal });
  await publishing;
  if (code !== 0) throw new Error(`the trainer exited with code ${code}`);
}

main().then(
  () => post({ type: 'done' }),
  (error: unknown) => {
    const message = error instanceof CliUsageError || error instanceof Error ? error.message : String(error);
    post({ type: 'error', message });
  },
);
