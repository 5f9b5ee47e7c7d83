// Promotion through the gate, against a real server: SQLite store and blob folder in a temp dir, the
// shipped starter policy served (ensureServed), the real app on a loopback port with a token.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { BlobStore } from '../../server/blobs/blob-store';
import { DirectoryBlobStorage } from '../../server/checkpoints/directory';
import { listen, type RunningServer } from '../../server/listen';
import { PromotionManager } from '../../server/serving/promote';
import { readServed, servedHistory } from '../../server/serving/served';
import { openSqliteStore } from '../../server/store/sqlite';
import { loadCheckpoint, saveCheckpoint } from '../../shared/policy/checkpoint';
import { checkpointFromPolicy, policyFromCheckpoint } from '../../shared/policy/checkpoint-policy';
import { createPolicy } from '../../shared/policy/model';
import type { PromotionRecord } from '../../shared/sync/promotion';
import { runCli } from '../helpers/cli';

const TOKEN = 'promote-test-token';
// Small enough for a test (8 items × 2 replies a policy), the margins at their defaults.
const GATE = { items: 8, samples: 2 };

describe('POST /v1/served: promotion through the gate', () => {
  let dir: string;
  let store: ReturnType<typeof openSqliteStore>;
  let blobs: DirectoryBlobStorage;
  let server: RunningServer;
  let starterId: string;
  let randomId: string;
  /** Another random policy, evaluated by no earlier gate (so its gate takes seconds, not a cache hit). */
  let otherId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-promote-'));
    store = openSqliteStore(join(dir, 'store.sqlite'));
    const blobStore = new BlobStore(join(dir, 'blobs'), 1 << 30);
    await blobStore.init();
    blobs = new DirectoryBlobStorage(join(dir, 'blobs'));
    const promotions = new PromotionManager({ store, blobs, settings: GATE });
    starterId = (await promotions.served()).checkpointId;
    // A deliberately worse candidate: the starter's shape and tokenizer, random weights.
    const starter = policyFromCheckpoint(await loadCheckpoint(blobs, starterId));
    const random = createPolicy(starter.policy.config, { seed: 12345 });
    randomId = await saveCheckpoint(blobs, await checkpointFromPolicy(random, starter.tokenizer));
    random.dispose();
    const other = createPolicy(starter.policy.config, { seed: 999 });
    otherId = await saveCheckpoint(blobs, await checkpointFromPolicy(other, starter.tokenizer));
    other.dispose();
    starter.policy.dispose();
    server = await listen(
      createApp({ token: TOKEN, store, blobs: blobStore, promotions, maxJsonBytes: 64 * 1024 }),
    );
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const request = (
    path: string,
    init: { method?: string; body?: unknown; raw?: string; token?: string } = {},
  ) =>
    fetch(`${server.url}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${init.token ?? TOKEN}`,
        ...(init.body !== undefined || init.raw !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.raw !== undefined
        ? { body: init.raw }
        : init.body !== undefined
          ? { body: JSON.stringify(init.body) }
          : {}),
    });

  it('GET /v1/served names the starter on a fresh server, with the gate settings; the token is required', async () => {
    const response = await request('/v1/served');
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.served.checkpointId).toBe(starterId);
    expect(body.served.metadata.source).toBe('starter');
    expect(body.history).toHaveLength(1);
    expect(body.gate).toMatchObject({ items: 8, samples: 2, maxViolationRise: 0.05, maxRewardDrop: 0.05 });
    expect((await request('/v1/served', { token: 'wrong-token-x' })).status).toBe(401);
    expect(
      (await request('/v1/served', { method: 'POST', body: { checkpoint_id: randomId }, token: 'nope-nope' }))
        .status,
    ).toBe(401);
  });

  it.each([
    ['no body', { raw: '' }, 422],
    ['invalid JSON', { raw: '{"checkpoint_id":' }, 400],
    ['a malformed id', { body: { checkpoint_id: 'abc' } }, 422],
    ['an unknown field', { body: { checkpoint_id: 'a'.repeat(64), force: true } }, 422],
    [
      'an override without a reason',
      { body: { checkpoint_id: 'a'.repeat(64), override: { reason: '  ' } } },
      422,
    ],
    ['an override that is not an object', { body: { checkpoint_id: 'a'.repeat(64), override: 'yes' } }, 422],
    ['a wait past the limit', { body: { checkpoint_id: 'a'.repeat(64), wait_seconds: 600 } }, 422],
  ])('refuses %s and changes nothing', async (_name, init, status) => {
    const response = await request('/v1/served', { method: 'POST', ...init });
    expect(response.status).toBe(status);
    expect((await response.json()).error.code).toBeTypeOf('string');
    expect((await readServed(store))?.checkpointId).toBe(starterId);
  });

  it('refuses what is not a small JSON body (415, 413, 400, 422) before touching the store', async () => {
    const seq = await store.currentSeq();
    const post = (body: BodyInit, contentType: string) =>
      fetch(`${server.url}/v1/served`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType },
        body,
      });
    expect((await post(JSON.stringify({ checkpoint_id: randomId }), 'text/plain')).status).toBe(415);
    expect(
      (await post(JSON.stringify({ checkpoint_id: randomId, pad: 'x'.repeat(100_000) }), 'application/json'))
        .status,
    ).toBe(413);
    expect((await post(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'application/json')).status).toBe(400);
    expect((await post(`${'['.repeat(200)}${']'.repeat(200)}`, 'application/json')).status).toBe(422);
    expect((await post(JSON.stringify([randomId]), 'application/json')).status).toBe(422);
    expect((await request('/v1/served/promotions/..%2F..%2Fetc')).status).toBeGreaterThanOrEqual(400);
    expect(await store.currentSeq()).toBe(seq);
    expect((await readServed(store))?.checkpointId).toBe(starterId);
  });

  it('404 for a checkpoint the blob folder does not have', async () => {
    const response = await request('/v1/served', { method: 'POST', body: { checkpoint_id: 'f'.repeat(64) } });
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe('not_found');
    expect((await request('/v1/served/promotions/promo-nothing')).status).toBe(404);
  });

  it('promotes the same starter again (no regression), recording the figures', async () => {
    const response = await request('/v1/served', {
      method: 'POST',
      body: { checkpoint_id: starterId, requested_by: 'test' },
    });
    expect(response.status).toBe(200);
    const { promotion } = (await response.json()) as { promotion: PromotionRecord };
    expect(promotion.status).toBe('promoted');
    expect(promotion.gate?.passed).toBe(true);
    expect(promotion.gate?.violation_rise).toBe(0);
    expect(promotion.gate?.reward_drop).toBe(0);
    expect(promotion.gate?.candidate.replies).toBe(16);
    const served = await readServed(store);
    expect(served?.resourcesId).toBe(promotion.served?.resourcesId);
    expect(served?.metadata).toMatchObject({ source: 'promotion', promoted_by: 'test', previous: starterId });
    expect(served?.metadata.gate).toMatchObject({ passed: true });
    expect(served?.metadata.override).toBeUndefined();
  }, 120_000);

  let refused: PromotionRecord;
  it('refuses a randomly initialised policy with both sets of figures (409), serving the starter still', async () => {
    const response = await request('/v1/served', { method: 'POST', body: { checkpoint_id: randomId } });
    expect(response.status).toBe(409);
    const body = await response.json();
    expect(body.error.code).toBe('conflict');
    refused = body.error.details.promotion;
    expect(refused.status).toBe('refused');
    expect(refused.gate?.passed).toBe(false);
    expect(refused.gate?.reasons.length).toBeGreaterThan(0);
    expect(refused.gate?.candidate.checkpoint_id).toBe(randomId);
    expect(refused.gate?.served.checkpoint_id).toBe(starterId);
    expect(refused.gate?.candidate.reward_mean).toBeLessThan(refused.gate!.served.reward_mean - 0.05);
    expect((await readServed(store))?.checkpointId).toBe(starterId);
    // The refusal stays readable by id.
    const status = await request(`/v1/served/promotions/${refused.promotion_id}`);
    expect((await status.json()).promotion.status).toBe('refused');
    // eslint-disable-next-line no-console
    console.log('gate figures (random vs starter):', JSON.stringify(refused.gate));
  }, 120_000);

  it('wait_seconds 0: 202 with a status URL to poll; a second gate meanwhile is a 409', async () => {
    const response = await request('/v1/served', {
      method: 'POST',
      body: { checkpoint_id: otherId, wait_seconds: 0 },
    });
    expect(response.status).toBe(202);
    const { promotion, status_url } = await response.json();
    expect(promotion.status).toBe('running');
    expect(response.headers.get('location')).toBe(status_url);
    const busy = await request('/v1/served', { method: 'POST', body: { checkpoint_id: starterId } });
    expect(busy.status).toBe(409);
    expect((await busy.json()).error.details.running.promotion_id).toBe(promotion.promotion_id);
    let status = 'running';
    for (let i = 0; i < 600 && status === 'running'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await (await request(status_url)).json()).promotion.status;
    }
    expect(status).toBe('refused');
  }, 120_000);

  it('an override with a reason promotes it anyway and records who, why and the figures', async () => {
    const response = await request('/v1/served', {
      method: 'POST',
      body: {
        checkpoint_id: randomId,
        override: { reason: 'testing the override path' },
        requested_by: 'ana',
      },
    });
    expect(response.status).toBe(200);
    const { promotion } = await response.json();
    expect(promotion.status).toBe('promoted');
    const served = await readServed(store);
    expect(served?.checkpointId).toBe(randomId);
    expect(served?.metadata.override).toEqual({
      reason: 'testing the override path',
      by: 'ana',
      gate_passed: false,
    });
    expect(served?.metadata.gate).toMatchObject({
      candidate: { reward_mean: refused.gate?.candidate.reward_mean },
    });
    const history = await servedHistory(store);
    expect(history.map((h) => h.checkpointId)).toEqual([randomId, starterId, starterId]);
  }, 120_000);

  it('edgelight promote: the starter back through the CLI, and --show', async () => {
    // Back to the starter is itself gated: nonsense breaks no rule, so the starter's violation rate is
    // higher than the random policy's, and the way back needs an override too.
    const gated = await runCli(
      'promote',
      '--server',
      server.url,
      '--token',
      TOKEN,
      '--checkpoint',
      starterId,
    );
    expect(gated.code).toBe(1);
    expect(gated.stderr).toContain('violation rate rose');
    const back = await runCli(
      'promote',
      '--server',
      server.url,
      '--token',
      TOKEN,
      '--checkpoint',
      starterId,
      '--override-reason',
      'back to the starter',
      '--by',
      'cli-test',
    );
    expect(back.stderr).toContain('promoted');
    expect(back.code).toBe(0);
    expect(JSON.parse(back.stdout).status).toBe('promoted');
    expect((await readServed(store))?.checkpointId).toBe(starterId);
    const worse = await runCli('promote', '--server', server.url, '--token', TOKEN, '--checkpoint', randomId);
    expect(worse.code).toBe(1);
    expect(worse.stderr).toContain('gate refused');
    const show = await runCli('promote', '--server', server.url, '--token', TOKEN, '--show');
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout).served.checkpointId).toBe(starterId);
    expect((await runCli('promote', '--server', server.url, '--checkpoint', 'xyz')).code).toBe(2);
  }, 120_000);
});
