import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp } from '../../server/app';
import { InMemoryLightningStore } from '../../shared/store/memory';

// The routes are checked against Agent Lightning's own OpenAPI document: every path and method it
// lists exists here, and a sample flow's responses validate against the document's schemas.

type Operation = { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> };
type OpenApi = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

const specPath = fileURLToPath(new URL('../fixtures/agl-store-openapi-v0.3.0.json', import.meta.url));
const spec = JSON.parse(readFileSync(specPath, 'utf8')) as OpenApi;

/** The JSON schema of an operation's response for one status, with the document's components as $defs. */
function responseSchema(path: string, method: string, status: number): z.ZodType {
  const op = spec.paths[path]?.[method];
  if (!op) throw new Error(`spec has no ${method.toUpperCase()} ${path}`);
  const schema = op.responses[String(status)]?.content?.['application/json']?.schema;
  if (schema === undefined)
    throw new Error(`spec has no ${status} response for ${method.toUpperCase()} ${path}`);
  const json = JSON.stringify({ ...(schema as object), $defs: spec.components.schemas }).replaceAll(
    '#/components/schemas/',
    '#/$defs/',
  );
  return z.fromJSONSchema(JSON.parse(json));
}

/** `/v1/agl/rollouts/{rollout_id}` with sample ids filled in. */
function concretePath(path: string): string {
  return path
    .replace('{rollout_id}', 'ro-missing')
    .replace('{attempt_id}', 'at-missing')
    .replace('{worker_id}', 'worker-missing')
    .replace('{resources_id}', 'rs-missing');
}

describe('the REST API against agl-store-openapi-v0.3.0.json', () => {
  let store: InMemoryLightningStore;
  let app: ReturnType<typeof createApp>;
  beforeAll(() => {
    store = new InMemoryLightningStore();
    app = createApp({ store });
  });
  afterAll(() => store.close());

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };

  /** Calls the route and checks status and body against the spec. */
  const expectSpec = async (
    method: 'get' | 'post',
    path: string,
    concrete: string,
    status: number,
    body?: unknown,
  ) => {
    const res = await call(method.toUpperCase(), concrete, body);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    const parsed = responseSchema(path, method, status).safeParse(res.body);
    expect(parsed.success, `${method.toUpperCase()} ${path}: ${parsed.error?.message}`).toBe(true);
    // biome-ignore lint/suspicious/noExplicitAny: each call site reads the fields its route returns.
    return res.body as any;
  };

  it('has every path and method of the document (none answers 404/405 for an unknown route)', async () => {
    const missing: string[] = [];
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const method of Object.keys(methods)) {
        const res = await app.request(concretePath(path), {
          method: method.toUpperCase(),
          headers: { 'content-type': 'application/json' },
          body: method === 'get' ? undefined : '{}',
        });
        const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
        if ((res.status === 404 && body?.error?.message?.startsWith('no route')) || res.status === 405)
          missing.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('runs the queue flow with responses that validate against the document', async () => {
    await expectSpec('get', '/v1/agl/health', '/v1/agl/health', 200);
    const resources = await expectSpec('post', '/v1/agl/resources', '/v1/agl/resources', 201, {
      main_llm: {
        resource_type: 'llm',
        endpoint: 'http://127.0.0.1:9/v1',
        model: 'tiny',
        sampling_parameters: {},
      },
      prompt: { resource_type: 'prompt_template', template: 'Reply to {feedback}', engine: 'f-string' },
    });
    const resourcesId = (resources as { resources_id: string }).resources_id;
    await expectSpec('get', '/v1/agl/resources/latest', '/v1/agl/resources/latest', 200);
    await expectSpec('get', '/v1/agl/resources/{resources_id}', `/v1/agl/resources/${resourcesId}`, 200);
    await expectSpec('post', '/v1/agl/resources/{resources_id}', `/v1/agl/resources/${resourcesId}`, 200, {
      prompt: { resource_type: 'prompt_template', template: 'Answer {feedback}', engine: 'f-string' },
    });
    await expectSpec('get', '/v1/agl/resources', '/v1/agl/resources?limit=5&offset=0', 200);

    const enqueued = await expectSpec(
      'post',
      '/v1/agl/queues/rollouts/enqueue',
      '/v1/agl/queues/rollouts/enqueue',
      201,
      {
        rollouts: [{ input: { feedback: 'slow shipping' }, mode: 'train' }, { input: { feedback: 'great' } }],
      },
    );
    expect((enqueued as unknown[]).length).toBe(2);
    const [dequeued] = await expectSpec(
      'post',
      '/v1/agl/queues/rollouts/dequeue',
      '/v1/agl/queues/rollouts/dequeue',
      200,
      { limit: 1, worker_id: 'runner-1' },
    );
    const { rollout_id, attempt } = dequeued as { rollout_id: string; attempt: { attempt_id: string } };

    const { sequence_id } = await expectSpec('post', '/v1/agl/spans/next', '/v1/agl/spans/next', 200, {
      rollout_id,
      attempt_id: attempt.attempt_id,
    });
    await expectSpec('post', '/v1/agl/spans', '/v1/agl/spans', 201, {
      rollout_id,
      attempt_id: attempt.attempt_id,
      sequence_id,
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      span_id: 'b7ad6b7169203331',
      parent_id: null,
      name: 'agentlightning.reward',
      status: { status_code: 'OK', description: null },
      attributes: { 'agentlightning.reward.0.value': 0.75 },
      events: [],
      links: [],
      start_time: 1_700_000_000,
      end_time: 1_700_000_001,
      context: null,
      parent: null,
      resource: { attributes: {}, schema_url: '' },
    });
    await expectSpec('get', '/v1/agl/spans', `/v1/agl/spans?rollout_id=${rollout_id}&limit=10`, 200);
    await expectSpec('post', '/v1/agl/spans/search', '/v1/agl/spans/search', 200, {
      rollout_id,
      attempt_id: 'latest',
    });

    await expectSpec(
      'post',
      '/v1/agl/rollouts/{rollout_id}/attempts/{attempt_id}',
      `/v1/agl/rollouts/${rollout_id}/attempts/${attempt.attempt_id}`,
      200,
      { status: 'succeeded' },
    );
    const waited = await expectSpec('post', '/v1/agl/waits/rollouts', '/v1/agl/waits/rollouts', 200, {
      rollout_ids: [rollout_id],
      timeout: 0,
    });
    expect((waited as { status: string }[])[0]?.status).toBe('succeeded');

    await expectSpec('get', '/v1/agl/rollouts/{rollout_id}', `/v1/agl/rollouts/${rollout_id}`, 200);
    await expectSpec(
      'get',
      '/v1/agl/rollouts',
      '/v1/agl/rollouts?status_in=succeeded&status_in=queuing&limit=10&offset=0',
      200,
    );
    await expectSpec('post', '/v1/agl/rollouts/search', '/v1/agl/rollouts/search', 200, {
      status_in: ['queuing'],
    });
    await expectSpec(
      'get',
      '/v1/agl/rollouts/{rollout_id}/attempts',
      `/v1/agl/rollouts/${rollout_id}/attempts`,
      200,
    );
    await expectSpec(
      'post',
      '/v1/agl/rollouts/{rollout_id}/attempts/search',
      `/v1/agl/rollouts/${rollout_id}/attempts/search`,
      200,
      {},
    );
    await expectSpec(
      'get',
      '/v1/agl/rollouts/{rollout_id}/attempts/latest',
      `/v1/agl/rollouts/${rollout_id}/attempts/latest`,
      200,
    );
    await expectSpec(
      'post',
      '/v1/agl/rollouts/{rollout_id}/attempts',
      `/v1/agl/rollouts/${rollout_id}/attempts`,
      201,
    );
    await expectSpec('post', '/v1/agl/rollouts/{rollout_id}', `/v1/agl/rollouts/${rollout_id}`, 200, {
      status: 'cancelled',
    });

    const started = await expectSpec('post', '/v1/agl/rollouts', '/v1/agl/rollouts', 201, {
      input: { feedback: 'wrong item' },
      worker_id: 'runner-2',
    });
    expect((started as { attempt: { worker_id: string } }).attempt.worker_id).toBe('runner-2');

    await expectSpec('post', '/v1/agl/workers/{worker_id}', '/v1/agl/workers/runner-1', 200, {
      heartbeat_stats: { queue: 0 },
    });
    await expectSpec('get', '/v1/agl/workers/{worker_id}', '/v1/agl/workers/runner-1', 200);
    await expectSpec('get', '/v1/agl/workers', '/v1/agl/workers?limit=-1', 200);
    await expectSpec('post', '/v1/agl/workers/search', '/v1/agl/workers/search', 200, {
      worker_id_contains: 'runner',
    });
    await expectSpec('get', '/v1/agl/statistics', '/v1/agl/statistics', 200);
  });

  it('answers 422 with the document HTTPValidationError shape for a body of the wrong shape', async () => {
    const res = await call('POST', '/v1/agl/queues/rollouts/enqueue', { rollouts: [{ mode: 'nonsense' }] });
    expect(res.status).toBe(422);
    const parsed = responseSchema('/v1/agl/queues/rollouts/enqueue', 'post', 422).safeParse(res.body);
    expect(parsed.success).toBe(true);
    expect((res.body as { error: { code: string } }).error.code).toBe('validation_failed');
  });

  it('answers null for lookups of ids it does not know, as Agent Lightning does', async () => {
    for (const path of [
      '/v1/agl/workers/nobody',
      '/v1/agl/resources/rs-nothing',
      '/v1/agl/rollouts/ro-nothing',
    ]) {
      const res = await call('GET', path);
      expect(res).toEqual({ status: 200, body: null });
    }
  });
});
