import { Hono } from 'hono';
import { z } from 'zod';
import type { LightningStore } from '../../shared/store/store';
import {
  AttemptQuery,
  AttemptUpdate,
  DequeueRequest,
  EnqueueRolloutRequest,
  NamedResources,
  ResourcesQuery,
  RolloutQuery,
  RolloutRequest,
  RolloutUpdate,
  SpanInput,
  SpanQuery,
  StoreId,
  WaitForRolloutsRequest,
  WorkerQuery,
  WorkerUpdate,
} from '../../shared/store/types';
import { readJson, readPathId, readQuery } from '../middleware/validate';

// Agent Lightning v0.3's store API (test/fixtures/agl-store-openapi-v0.3.0.json), route for route:
// same paths, methods, field names and status codes (201 on create, 422 on a body of the wrong
// shape). Lookups of a missing id answer 200 with `null`, as Agent Lightning's server does;
// updates of a missing id answer 404.

/** Longest a `POST /waits/rollouts` blocks, whatever its timeout (null included): clients poll again. */
export const MAX_WAIT_SECONDS = 30;

const EnqueueManyRequest = z.object({ rollouts: z.array(EnqueueRolloutRequest).max(10_000) });
const SpanBatchRequest = z.object({ spans: z.array(SpanInput).max(10_000) });
const NextSequenceIdRequest = z.object({ rollout_id: StoreId, attempt_id: StoreId });
const StartAttemptRequest = z.object({ worker_id: StoreId.nullable().optional() }).nullable();

/** Query strings carry text; pagination fields are integers in the schemas. */
function integerParams<S extends z.ZodObject>(schema: S) {
  return z.preprocess((raw) => {
    if (!raw || typeof raw !== 'object') return raw;
    const out: Record<string, unknown> = { ...raw };
    for (const key of ['limit', 'offset'])
      if (typeof out[key] === 'string' && /^-?\d+$/.test(out[key] as string)) out[key] = Number(out[key]);
    return out;
  }, schema);
}

const RolloutQueryParams = integerParams(RolloutQuery);
const AttemptQueryParams = integerParams(AttemptQuery);
const WorkerQueryParams = integerParams(WorkerQuery);
const ResourcesQueryParams = integerParams(ResourcesQuery);
const SpanQueryParams = integerParams(SpanQuery);

export function aglRoutes(store: LightningStore, options: { maxWaitSeconds?: number } = {}) {
  const maxWait = options.maxWaitSeconds ?? MAX_WAIT_SECONDS;
  const app = new Hono();

  app.post('/queues/rollouts/enqueue', async (c) => {
    const { rollouts } = await readJson(c, EnqueueManyRequest);
    return c.json(await store.enqueueRollouts(rollouts), 201);
  });
  app.post('/queues/rollouts/dequeue', async (c) => {
    const request = await readJson(c, DequeueRequest.nullable());
    return c.json(await store.dequeueRollouts(request ?? {}));
  });

  app.post('/rollouts', async (c) =>
    c.json(await store.startRollout(await readJson(c, RolloutRequest)), 201),
  );
  app.get('/rollouts', async (c) =>
    c.json(await store.queryRollouts(readQuery(c, RolloutQueryParams, ['status_in', 'rollout_id_in']))),
  );
  app.post('/rollouts/search', async (c) =>
    c.json(await store.queryRollouts(await readJson(c, RolloutQuery))),
  );
  app.get('/rollouts/:rollout_id', async (c) =>
    c.json(await store.getRolloutById(readPathId(c, 'rollout_id'))),
  );
  app.post('/rollouts/:rollout_id', async (c) => {
    const rolloutId = readPathId(c, 'rollout_id');
    return c.json(await store.updateRollout(rolloutId, await readJson(c, RolloutUpdate)));
  });

  app.post('/rollouts/:rollout_id/attempts', async (c) => {
    const rolloutId = readPathId(c, 'rollout_id');
    const request = await readJson(c, StartAttemptRequest);
    return c.json(await store.startAttempt(rolloutId, request ?? {}), 201);
  });
  app.get('/rollouts/:rollout_id/attempts', async (c) => {
    const rolloutId = readPathId(c, 'rollout_id');
    return c.json(await store.queryAttempts(rolloutId, readQuery(c, AttemptQueryParams)));
  });
  app.post('/rollouts/:rollout_id/attempts/search', async (c) => {
    const rolloutId = readPathId(c, 'rollout_id');
    return c.json(await store.queryAttempts(rolloutId, await readJson(c, AttemptQuery)));
  });
  app.get('/rollouts/:rollout_id/attempts/latest', async (c) =>
    c.json(await store.getLatestAttempt(readPathId(c, 'rollout_id'))),
  );
  app.post('/rollouts/:rollout_id/attempts/:attempt_id', async (c) => {
    const rolloutId = readPathId(c, 'rollout_id');
    const attemptId = readPathId(c, 'attempt_id');
    return c.json(await store.updateAttempt(rolloutId, attemptId, await readJson(c, AttemptUpdate)));
  });

  app.get('/workers', async (c) =>
    c.json(await store.queryWorkers(readQuery(c, WorkerQueryParams, ['status_in']))),
  );
  app.post('/workers/search', async (c) => c.json(await store.queryWorkers(await readJson(c, WorkerQuery))));
  app.get('/workers/:worker_id', async (c) => c.json(await store.getWorkerById(readPathId(c, 'worker_id'))));
  app.post('/workers/:worker_id', async (c) => {
    const workerId = readPathId(c, 'worker_id');
    const update = await readJson(c, WorkerUpdate.nullable());
    return c.json(await store.updateWorker(workerId, update ?? {}));
  });

  app.get('/statistics', async (c) => c.json(await store.statistics()));

  app.get('/resources', async (c) => c.json(await store.queryResources(readQuery(c, ResourcesQueryParams))));
  app.post('/resources', async (c) =>
    c.json(await store.addResources(await readJson(c, NamedResources)), 201),
  );
  app.get('/resources/latest', async (c) => c.json(await store.getLatestResources()));
  app.get('/resources/:resources_id', async (c) =>
    c.json(await store.getResourcesById(readPathId(c, 'resources_id'))),
  );
  app.post('/resources/:resources_id', async (c) => {
    const resourcesId = readPathId(c, 'resources_id');
    return c.json(await store.updateResources(resourcesId, await readJson(c, NamedResources)));
  });

  app.post('/spans', async (c) => c.json(await store.addSpan(await readJson(c, SpanInput)), 201));
  // edgelight's addition (not in Agent Lightning's API): many spans in one transaction.
  app.post('/spans/batch', async (c) => {
    const { spans } = await readJson(c, SpanBatchRequest);
    return c.json(await store.addSpans(spans), 201);
  });
  app.get('/spans', async (c) => c.json(await store.querySpans(readQuery(c, SpanQueryParams))));
  app.post('/spans/search', async (c) => c.json(await store.querySpans(await readJson(c, SpanQuery))));
  app.post('/spans/next', async (c) => {
    const { rollout_id, attempt_id } = await readJson(c, NextSequenceIdRequest);
    return c.json({ sequence_id: await store.getNextSpanSequenceId(rollout_id, attempt_id) });
  });

  app.post('/waits/rollouts', async (c) => {
    const request = await readJson(c, WaitForRolloutsRequest);
    // Bounded twice: never longer than maxWait, and not after the client has gone (the request's signal
    // aborts when its connection closes).
    const timeout = Math.min(request.timeout ?? maxWait, maxWait);
    return c.json(await store.waitForRollouts({ ...request, timeout }, { signal: c.req.raw.signal }));
  });

  return app;
}
