import { Hono } from 'hono';
import { z } from 'zod';
import { CHECKPOINT_ID } from '../../shared/policy/checkpoint';
import { ApiError } from '../middleware/errors';
import { readJson, readPathId } from '../middleware/validate';
import {
  PromotionBusyError,
  type PromotionManager,
  type PromotionRecord,
  UnknownCheckpointError,
} from '../serving/promote';
import { servedHistory } from '../serving/served';

/** The longest a POST waits for its gate before answering 202 (proxies drop idle requests near 60 s). */
export const MAX_PROMOTION_WAIT_SECONDS = 30;

export const PromoteBody = z.strictObject({
  checkpoint_id: z.string().regex(CHECKPOINT_ID, 'a checkpoint id (64 lowercase hex)'),
  /** Promote even if the gate refuses; the reason is recorded with the figures. */
  override: z
    .strictObject({
      reason: z.string().trim().min(1, 'an override needs a reason').max(2000),
    })
    .optional(),
  /** Who asks (the lab sends its client name); recorded in the served update. */
  requested_by: z.string().trim().min(1).max(200).optional(),
  /** How long to wait for the gate before answering 202 with the promotion to poll (default 30). */
  wait_seconds: z.number().min(0).max(MAX_PROMOTION_WAIT_SECONDS).optional(),
});
export type PromoteBody = z.infer<typeof PromoteBody>;

const statusUrl = (id: string) => `/v1/served/promotions/${id}`;

/** A finished promotion as an answer: 200 promoted, 409 refused (both sets of figures), 422 failed. */
function finishedAnswer(record: PromotionRecord): { status: 200 | 202; body: unknown } {
  if (record.status === 'promoted') return { status: 200, body: { promotion: record } };
  if (record.status === 'running')
    return { status: 202, body: { promotion: record, status_url: statusUrl(record.promotion_id) } };
  if (record.status === 'refused')
    throw new ApiError(
      409,
      'conflict',
      `the promotion gate refused ${record.checkpoint_id}: ${record.gate?.reasons.join('; ')}. Send override: {reason} to promote it anyway.`,
      { promotion: record },
    );
  throw new ApiError(422, 'bad_request', `the promotion gate could not run: ${record.error}`, {
    promotion: record,
  });
}

/**
 * `/v1/served`: which checkpoint the server serves, its promotion history, and promotion through the
 * gate (serving/promote.ts). POST waits up to `wait_seconds` for the gate, then answers as it stands:
 * 200 promoted, 409 refused with the figures, or 202 with `status_url` to poll.
 */
export function servedRoutes(promotions: PromotionManager) {
  const app = new Hono();
  const store = promotions.options.store;

  app.get('/', async (c) => {
    const served = await promotions.served();
    return c.json({
      served,
      history: await servedHistory(store),
      promotions: promotions.list(),
      gate: promotions.settings,
    });
  });

  app.post('/', async (c) => {
    const body = await readJson(c, PromoteBody);
    let started: PromotionRecord;
    try {
      started = await promotions.start({
        checkpointId: body.checkpoint_id,
        override: body.override,
        requestedBy: body.requested_by ?? 'api',
      });
    } catch (error) {
      if (error instanceof UnknownCheckpointError)
        throw new ApiError(404, 'not_found', `${error.message}; upload or sync it first`, {
          checkpoint_id: body.checkpoint_id,
        });
      if (error instanceof PromotionBusyError)
        throw new ApiError(409, 'conflict', error.message, { running: error.running });
      throw error;
    }
    const record =
      (await promotions.wait(started.promotion_id, body.wait_seconds ?? MAX_PROMOTION_WAIT_SECONDS)) ??
      started;
    const answer = finishedAnswer(record);
    if (answer.status === 202) c.header('Location', statusUrl(record.promotion_id));
    return c.json(answer.body as Record<string, unknown>, answer.status);
  });

  app.get('/promotions/:promotion_id', (c) => {
    const id = readPathId(c, 'promotion_id');
    const record = promotions.get(id);
    if (!record) throw new ApiError(404, 'not_found', `no promotion ${id} (the server keeps the last 100)`);
    return c.json({ promotion: record });
  });

  return app;
}
