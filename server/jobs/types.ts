import { z } from 'zod';
import type { StepRecord } from '../../shared/train/session';
import type { TrainAlgo } from '../../shared/train/config';

export const TrainJobStatus = z.enum(['running', 'succeeded', 'failed', 'cancelled']);
export type TrainJobStatus = z.infer<typeof TrainJobStatus>;

/** What a training run reports while it runs; the SSE stream sends these as they come. */
export type TrainJobEvent =
  | { type: 'metrics'; metrics: StepRecord }
  | { type: 'phase'; phase: TrainAlgo; step: number }
  | { type: 'checkpoint'; step: number; checkpoint_id: string; resources_id: string; version: number }
  | { type: 'log'; message: string }
  | { type: 'status'; status: TrainJobStatus; error?: string };

/** A job as `GET /v1/train/jobs/:id` shows it. */
export type TrainJob = {
  job_id: string;
  status: TrainJobStatus;
  config: Record<string, unknown>;
  created_at: number;
  ended_at: number | null;
  /** The latest step's record (the objects of the run folder's metrics.jsonl). */
  latest_metrics: StepRecord | null;
  checkpoints: Array<{ step: number; checkpoint_id: string; resources_id: string; version: number }>;
  error: string | null;
};

/** Messages from the training worker thread to the server. */
export type WorkerMessage =
  | { type: 'metrics'; metrics: StepRecord }
  | { type: 'phase'; phase: TrainAlgo; step: number }
  | { type: 'checkpoint'; step: number; checkpoint_id: string }
  | { type: 'log'; message: string }
  | { type: 'done' }
  | { type: 'error'; message: string };

/** Messages from the server to the training worker thread. */
export type HostMessage = { type: 'stop' };

/**
 * Runs one training job to its end. `emit` forwards progress; `signal` asks it to stop (it should
 * finish the current step, save, and resolve). Rejects when training fails.
 */
export type JobRunner = (
  job: { job_id: string; config: Record<string, unknown> },
  emit: (message: Exclude<WorkerMessage, { type: 'done' } | { type: 'error' }>) => void,
  signal: AbortSignal,
) => Promise<void>;
