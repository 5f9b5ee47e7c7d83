import { signal } from '@preact/signals';
import type { TrainSnapshot } from '../../worker/lab/protocol';
import { emptySnapshot } from '../../worker/lab/snapshot';
import { lab, onLabEvent } from './client';

// The page's view of the worker's training run. It is module state, not component state, so it
// survives navigation between pages: the run lives in the worker, this only mirrors it.

export const EMPTY_SNAPSHOT: TrainSnapshot = emptySnapshot();

export const training = signal<TrainSnapshot>(EMPTY_SNAPSHOT);

const MAX_SAMPLES = 50;
let started = false;

/** Starts mirroring (once): a full snapshot first, then the worker's incremental events. */
export function watchTraining(): void {
  if (started) return;
  started = true;
  onLabEvent((event) => {
    const current = training.value;
    if (event.type === 'train-status') {
      training.value = { ...current, ...event.status };
    } else if (event.type === 'train-step') {
      if (event.runId !== current.runId) return;
      training.value = {
        ...current,
        metrics: [...current.metrics, event.point],
        samples: [...event.samples, ...current.samples].slice(0, MAX_SAMPLES),
      };
    } else if (event.type === 'train-reset') {
      training.value = event.snapshot;
    }
  });
  void lab()
    .trainSnapshot()
    .then((snapshot) => {
      training.value = snapshot;
    });
}

export const isActive = (s: TrainSnapshot) =>
  s.status === 'loading' ||
  s.status === 'compiling' ||
  s.status === 'running' ||
  s.status === 'pausing' ||
  s.status === 'paused' ||
  s.status === 'stopping';
