import type { TrainSnapshot } from './protocol';

// The state of "no training run", shared by the worker's run controller and the page's mirror of it.
// Kept apart from protocol.ts so the main-thread bundle imports this value without zod.
export function emptySnapshot(): TrainSnapshot {
  return {
    runId: null,
    status: 'idle',
    request: null,
    backend: null,
    step: 0,
    totalSteps: 0,
    startedAt: null,
    etaSeconds: null,
    message: '',
    error: '',
    metrics: [],
    samples: [],
    lastCheckpoint: null,
    resumable: false,
    phase: '',
  };
}
