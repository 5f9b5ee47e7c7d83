import { Worker } from 'node:worker_threads';
import type { HostMessage, JobRunner, WorkerMessage } from './types';

const bootstrap = new URL('./worker-bootstrap.mjs', import.meta.url);

/**
 * Runs each job in its own worker thread, so training never blocks the server's event loop.
 * `entry` is a module (TypeScript is fine) whose top level reads `workerData` and talks to the
 * host through `parentPort` with WorkerMessage / HostMessage. Stopping asks the worker to stop
 * and terminates it if it has not ended after `graceMs`.
 */
export function workerThreadRunner(entry: URL, graceMs = 30_000): JobRunner {
  return (job, emit, signal) =>
    new Promise<void>((resolve, reject) => {
      const worker = new Worker(bootstrap, { workerData: { entry: entry.href, job } });
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
}
