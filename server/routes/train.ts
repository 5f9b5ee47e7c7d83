import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { z } from 'zod';
import { assertJobFits, JobTooLargeError } from '../jobs/estimate';
import { JobConflictError, type TrainJobManager } from '../jobs/manager';
import type { TrainJobEvent } from '../jobs/types';
import { ApiError } from '../middleware/errors';
import { readJson, readPathId } from '../middleware/validate';

/**
 * `/v1/train/jobs`: start a training run inside the server (a worker thread), watch it, stop it.
 * `configSchema` is the same schema `edgelight train` validates its flags with. A new policy larger
 * than `limits` (parameters, estimated memory: jobs/estimate.ts) is a 422 with the estimate.
 */
export function trainRoutes(
  jobs: TrainJobManager,
  configSchema: z.ZodType<Record<string, unknown>>,
  limits: { maxParameters?: number; maxMemoryBytes?: number } = {},
) {
  const app = new Hono();

  app.post('/jobs', async (c) => {
    const config = await readJson(c, configSchema);
    try {
      assertJobFits(config, limits);
      return c.json(jobs.start(config), 201);
    } catch (error) {
      if (error instanceof JobTooLargeError)
        throw new ApiError(422, 'job_too_large', error.message, { estimate: error.estimate });
      if (error instanceof JobConflictError) throw new ApiError(409, 'conflict', error.message);
      throw error;
    }
  });

  app.get('/jobs', (c) => c.json({ items: jobs.list() }));

  app.get('/jobs/:job_id', (c) => {
    const id = readPathId(c, 'job_id');
    const job = jobs.get(id);
    if (!job) throw new ApiError(404, 'not_found', `no training job ${id}`);
    return c.json(job);
  });

  app.delete('/jobs/:job_id', async (c) => {
    const id = readPathId(c, 'job_id');
    const job = await jobs.stop(id);
    if (!job) throw new ApiError(404, 'not_found', `no training job ${id}`);
    return c.json(job);
  });

  // Server-sent events: `job` (the snapshot on connect), then `metrics`, `checkpoint`, `log`,
  // and a final `status` after which the stream ends.
  app.get('/jobs/:job_id/events', (c) => {
    const id = readPathId(c, 'job_id');
    const snapshot = jobs.get(id);
    if (!snapshot) throw new ApiError(404, 'not_found', `no training job ${id}`);
    return streamSSE(c, async (stream) => {
      await stream.writeSSE({ event: 'job', data: JSON.stringify(snapshot) });
      if (snapshot.status !== 'running') return;
      const queue: TrainJobEvent[] = [];
      let wake: (() => void) | null = null;
      const unsubscribe = jobs.subscribe(id, (event) => {
        queue.push(event);
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe?.();
        wake?.();
      });
      // The job may have ended between the snapshot and the subscription.
      const current = jobs.get(id);
      if (current && current.status !== 'running') queue.push({ type: 'status', status: current.status });
      for (;;) {
        while (queue.length > 0) {
          const event = queue.shift() as TrainJobEvent;
          await stream.writeSSE({ event: event.type, data: JSON.stringify(event) });
          if (event.type === 'status') {
            unsubscribe?.();
            return;
          }
        }
        if (stream.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
    });
  });

  return app;
}
