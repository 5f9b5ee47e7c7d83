import { Worker } from 'node:worker_threads';
import type { HostMessage, JobRunner, WorkerMessage } from './types';

const bootstrap = new URL('./worker-bootstrap.mjs', import.meta.url);

/**
 * Runs each job in its own worker thread, so training never blocks the server's event loop.
 * `entry` is a module (TypeScript is fine) whose top level reads `workerData` and talks to the
 * host through `parentPort` with WorkerMessage / HostMessage; `data` adds fields to its workerData. Stopping asks the worker to stop
 * and terminates it if it has not ended after `graceMs`.
 */
export function workerThreadRunner(
  entry: URL,
  options: { graceMs?: number; data?: (job: { job_id: string }) => Promise<Record<string, unknown>> } = {},
): JobRunner {
  const graceMs = options.graceMs ?? 30_000;
  return async (job, emit, signal) => {
    const extra = options.data ? await options.data(job) : {};
    return new Promise<void>((resolve, reject) => {
      const worker = new Worker(bootstrap, { workerData: { ...extra, entry: entry.href, job } });
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve();
      };
      const onAbort = () => {
        worker.postMessage({ type: 'stop' } satisfies HostMessage);
        setTimeout(() => void worker.terminate(), graceMs).unref();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'done') settle();
        else if (message.type === 'error') settle(new Error(message.message));
        else emit(message);
      });
      worker.on('error', (error) => settle(error));
      worker.on('exit', (code) => {
        if (signal.aborted) settle();
        else settle(code === 0 ? undefined : new Error(`training worker exited with code ${code}`));
      });
    });
  };
}
