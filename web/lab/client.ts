import { signal } from '@preact/signals';
import * as Comlink from 'comlink';
import type { LabApi, LabEvent } from '../../worker/lab.worker';

// The one lab worker of the page: governance, the IndexedDB store, the agent, the trainer and sync
// all live there, so the main thread only renders. It is created on first use and lives as long as
// the page, which is why training survives navigation between the app's pages.

let remote: Comlink.Remote<LabApi> | undefined;

/** Set when the worker itself fails (it could not load, or it crashed): the app shows it. */
export const workerFailure = signal('');

export function lab(): Comlink.Remote<LabApi> {
  if (!remote) {
    const worker = new Worker(new URL('../../worker/lab.worker.ts', import.meta.url), {
      type: 'module',
      name: 'edgelight-lab',
    });
    worker.addEventListener('error', (event) => {
      workerFailure.value = event.message || 'the lab worker stopped with an error';
    });
    remote = Comlink.wrap<LabApi>(worker);
  }
  return remote;
}

/** Subscribes to the worker's event stream; returns the unsubscribe function. */
export function onLabEvent(listener: (event: LabEvent) => void): () => void {
  let id: number | undefined;
  let cancelled = false;
  void lab()
    .subscribe(Comlink.proxy(listener))
    .then((subscription) => {
      id = subscription;
      if (cancelled) void lab().unsubscribe(subscription);
    });
  return () => {
    cancelled = true;
    if (id !== undefined) void lab().unsubscribe(id);
  };
}

/** A worker error arrives as a plain Error over comlink; show its message, never a stack. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
