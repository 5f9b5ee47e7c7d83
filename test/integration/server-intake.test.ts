// The public feedback intake (issue 20): POST /v1/feedback with an intake key instead of the server's
// token, its origin allow-list, rate limit, body limits and idempotency keys; governance before storing
// (the submitted e-mail and phone number never reach the data folder); the status URL; and that the
// intake key opens nothing else. Real Hono app over a real SQLite store in a temporary folder.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { DirectoryBlobStorage } from '../../server/checkpoints/directory';
import { FeedbackIntake } from '../../server/intake/intake';
import { readServed } from '../../server/serving/served';
import { openSqliteStore, type SqliteLightningStore } from '../../server/store/sqlite';
import {
  DECISION_SPAN,
  decisionAttributes,
  FEEDBACK_ITEM_KIND,
  FeedbackItemInput,
  type ReviewDecision,
} from '../../shared/review/contract';
import { runCli } from '../helpers/cli';
import { filesContaining, VISITOR_EMAIL, VISITOR_PHONE, VISITOR_SECRETS } from '../helpers/data-scan';

const KEY = 'site-key-0123456789abcdef';
const SITE = 'https://shop.example';
const TOKEN = 'server-token-0123456789';
const EMAIL = VISITOR_EMAIL;
const PHONE = VISITOR_PHONE;
const TEXT = `The checkout page crashes when I pay. Write to me at ${EMAIL} or call ${PHONE}.`;

describe('POST /v1/feedback', () => {
  let dir: string;
  let store: SqliteLightningStore;
  let intake: FeedbackIntake;
  let app: ReturnType<typeof createApp>;
  const accessLog: string[] = [];
  let client = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-intake-'));
    store = openSqliteStore(join(dir, 'store.sqlite'));
    intake = await FeedbackIntake.open({
      store,
      checkpoints: new DirectoryBlobStorage(join(dir, 'blobs')),
      keys: [
        { name: 'shop', key: KEY, origins: [SITE] },
        { name: 'backend', key: 'backend-key-0123456789', origins: [] },
      ],
      limits: { perSecond: 1000, burst: 1000 },
    });
    app = createApp({
      store,
      sync: store,
      token: TOKEN,
      intake,
      rateLimitPerSecond: 0,
      accessLog: (line) => accessLog.push(line),
      // Each test is its own client unless it says otherwise, so rate limits do not leak between tests.
      clientAddress: (request) => request.headers.get('x-test-client') ?? 'test',
    });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    app.request('http://edgelight.example/v1/feedback', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-edgelight-intake-key': KEY,
        origin: SITE,
        'x-test-client': `client-${++client}`,
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const postForm = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    app.request('http://edgelight.example/v1/feedback', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: SITE,
        'x-test-client': `client-${++client}`,
        ...headers,
      },
      body: new URLSearchParams(fields).toString(),
    });

  const itemCount = async () =>
    (await store.queryRollouts({})).items.filter(
      (r) => (r.input as { kind?: string } | null)?.kind === FEEDBACK_ITEM_KIND,
    ).length;

  it('accepts JSON: 202 {id, status_url}, stores the redacted text, PII types and verdict', async () => {
    const res = await post({
      text: TEXT,
      category: 'website-bug',
      page: `${SITE}/checkout?email=${EMAIL}`,
      locale: 'en-GB',
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('access-control-allow-origin')).toBe(SITE);
    const body = (await res.json()) as { id: string; status_url: string };
    expect(Object.keys(body).sort()).toEqual(['id', 'status_url']);
    expect(body.status_url).toBe(`/v1/feedback/${body.id}/status`);

    const rollout = await store.getRolloutById(body.id);
    const input = FeedbackItemInput.parse(rollout?.input);
    expect(input.id).toBe(body.id);
    expect(input.kind).toBe(FEEDBACK_ITEM_KIND);
    expect(input.text).not.toContain(EMAIL);
    expect(input.text).not.toContain('7946');
    expect(input.text).toContain('checkout page crashes');
    expect(input.category).toBe('website-bug');
    expect(input.locale).toBe('en-GB');
    expect(input.metadata.page).toBe(`${SITE}/checkout`); // no query string
    expect(input.metadata.source).toBe('api');
    expect(input.metadata.intake).toBe('shop');
    expect(input.metadata.verdict.pii).toEqual(expect.arrayContaining(['EMAIL', 'PHONE']));
    // Drafted by the served policy (the starter on a fresh server), through its own attempt.
    expect(rollout?.resources_id).toBe((await readServed(store))?.resourcesId);
    expect(rollout?.status).toBe('preparing');
  });

  it('accepts a plain form post with a thank-you page, or a 303 to an allowed redirect', async () => {
    const page = await postForm({ text: 'Love the new search!', intake_key: KEY, category: '' });
    expect(page.status).toBe(202);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('Thank you');

    const redirected = await postForm({
      text: 'The FAQ is missing prices.',
      intake_key: KEY,
      redirect: `${SITE}/thanks`,
    });
    expect(redirected.status).toBe(303);
    const location = new URL(redirected.headers.get('location') ?? '');
    expect(location.origin + location.pathname).toBe(`${SITE}/thanks`);
    const id = location.searchParams.get('edgelight_item') ?? '';
    const input = FeedbackItemInput.parse((await store.getRolloutById(id))?.input);
    expect(input.metadata.source).toBe('form');

    const before = await itemCount();
    const elsewhere = await postForm({ text: 'hello', intake_key: KEY, redirect: 'https://evil.example/x' });
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.headers.get('content-type')).toContain('text/html');
    expect(await itemCount()).toBe(before);
  });

  it('refuses a missing or wrong key (401), a browser on an unlisted origin (403)', async () => {
    const before = await itemCount();
    expect((await post({ text: 'hi' }, { 'x-edgelight-intake-key': '' })).status).toBe(401);
    expect((await post({ text: 'hi' }, { 'x-edgelight-intake-key': 'wrong-key-0123456789' })).status).toBe(
      401,
    );
    // The server's bearer token is not an intake key.
    expect((await post({ text: 'hi' }, { 'x-edgelight-intake-key': TOKEN })).status).toBe(401);
    expect((await post({ text: 'hi' }, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ text: 'hi' }, { origin: 'null' })).status).toBe(403);
    const hidden = await app.request('http://edgelight.example/v1/feedback', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-edgelight-intake-key': KEY,
        'sec-fetch-site': 'cross-site',
      },
      body: JSON.stringify({ text: 'hi' }),
    });
    expect(hidden.status).toBe(403);
    // A key without origins is for server-side posts only.
    expect((await post({ text: 'hi' }, { 'x-edgelight-intake-key': 'backend-key-0123456789' })).status).toBe(
      403,
    );
    const serverSide = await app.request('http://edgelight.example/v1/feedback', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-edgelight-intake-key': 'backend-key-0123456789' },
      body: JSON.stringify({ text: 'Sent by the shop backend.' }),
    });
    expect(serverSide.status).toBe(202);
    expect(await itemCount()).toBe(before + 1);
  });

  it('answers CORS preflights for listed origins only', async () => {
    const preflight = (origin: string) =>
      app.request('http://edgelight.example/v1/feedback', {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-edgelight-intake-key,idempotency-key',
        },
      });
    const ok = await preflight(SITE);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(SITE);
    expect(ok.headers.get('access-control-allow-headers')).toContain('X-Edgelight-Intake-Key');
    const evil = await preflight('https://evil.example');
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('rejects bad bodies with clear 4xx and stores nothing', async () => {
    const before = await itemCount();
    const oversize = await post({ text: 'x'.repeat(20 * 1024) });
    expect(oversize.status).toBe(413);
    expect((await post('{"text": "unterminated')).status).toBe(400);
    const tooLong = await post({ text: 'a'.repeat(5001) });
    expect(tooLong.status).toBe(422);
    expect(JSON.stringify(await tooLong.json())).toContain('5000');
    expect((await post({ text: '   ' })).status).toBe(422);
    expect((await post({ text: 'hi', email: EMAIL })).status).toBe(422);
    expect((await post({ text: 'hi', category: 'nonsense' })).status).toBe(422);
    expect((await post([{ text: 'hi' }])).status).toBe(422);
    expect((await post('text=hi', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post('x', { 'content-type': 'multipart/form-data; boundary=x' })).status).toBe(415);
    expect((await post({ text: 'hi' }, { 'idempotency-key': 'has spaces in it' })).status).toBe(422);
    expect(await itemCount()).toBe(before);
  });

  it('replays an idempotency key with the same body and refuses it with another (409)', async () => {
    const before = await itemCount();
    const headers = { 'idempotency-key': 'b3b1f0a4-retry-1', 'x-test-client': 'idem' };
    const first = await post({ text: 'Please add dark mode.' }, headers);
    const again = await post({ text: 'Please add dark mode.' }, headers);
    expect([first.status, again.status]).toEqual([202, 202]);
    const a = (await first.json()) as { id: string };
    const b = (await again.json()) as { id: string };
    expect(b.id).toBe(a.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    // Concurrent retries of one submission file it once too.
    const together = await Promise.all(
      [1, 2, 3].map(() => post({ text: 'Search is slow.' }, { 'idempotency-key': 'together-1' })),
    );
    const ids = new Set(
      await Promise.all(together.map(async (r) => ((await r.json()) as { id: string }).id)),
    );
    expect(ids.size).toBe(1);
    const conflict = await post({ text: 'Something else entirely.' }, headers);
    expect(conflict.status).toBe(409);
    expect(await itemCount()).toBe(before + 2);
    // Only hashes are kept: neither the key nor the text is in the rollout's metadata.
    const stored = JSON.stringify(await store.getRolloutById(a.id));
    expect(stored).not.toContain('b3b1f0a4-retry-1');
  });

  it('rate-limits per client address and key with Retry-After', async () => {
    const limited = await FeedbackIntake.open({
      store,
      checkpoints: new DirectoryBlobStorage(join(dir, 'blobs')),
      keys: [{ name: 'shop', key: KEY, origins: [SITE] }],
      limits: { perSecond: 1, burst: 2 },
    });
    const strict = createApp({ store, intake: limited, clientAddress: () => '198.51.100.4' });
    const send = () =>
      strict.request('http://edgelight.example/v1/feedback', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-edgelight-intake-key': KEY },
        body: JSON.stringify({ text: 'Too many posts from one place.' }),
      });
    const statuses = [(await send()).status, (await send()).status];
    const third = await send();
    expect(statuses).toEqual([202, 202]);
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Guessing keys is limited per address as well.
    const guesses = await Promise.all(
      [1, 2, 3].map(() =>
        strict.request('http://edgelight.example/v1/feedback', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-edgelight-intake-key': 'guess-0123456789abcd' },
          body: '{"text":"x"}',
        }),
      ),
    );
    expect(guesses.map((r) => r.status).sort()).toEqual([401, 401, 429]);
  });

  it('answers the status URL with {id, status, received_at} only, and only for feedback items', async () => {
    const res = await post({ text: `Call me on ${PHONE}, the app logs me out.` });
    const { id, status_url } = (await res.json()) as { id: string; status_url: string };
    const status = await app.request(`http://edgelight.example${status_url}`, { headers: { origin: SITE } });
    expect(status.status).toBe(200);
    const view = (await status.json()) as Record<string, unknown>;
    expect(Object.keys(view).sort()).toEqual(['id', 'received_at', 'status']);
    expect(view).toMatchObject({ id, status: 'received' });
    expect(Number.isNaN(Date.parse(view.received_at as string))).toBe(false);
    expect(status.headers.get('access-control-allow-origin')).toBe(SITE);

    // A rollout that is not a feedback item (a training rollout) is not found through it.
    const training = await store.enqueueRollout({
      input: { id: 't1', text: 'training task' },
      mode: 'train',
    });
    expect(
      (await app.request(`http://edgelight.example/v1/feedback/${training.rollout_id}/status`)).status,
    ).toBe(404);
    expect((await app.request('http://edgelight.example/v1/feedback/..%2Fagl/status')).status).toBe(400);
  });

  it('says replied or rejected once a reviewer decided (the first decision in server order)', async () => {
    const decide = async (
      id: string,
      decision: Omit<ReviewDecision, 'id' | 'reviewer' | 'decidedAt' | 'findings'>,
    ) => {
      const rollout = await store.getRolloutById(id);
      const full = {
        id: crypto.randomUUID(),
        reviewer: 'ana',
        decidedAt: Date.now() / 1000,
        findings: [],
        ...decision,
      };
      await store.addSpan({
        rollout_id: id,
        attempt_id: rollout?.attempt?.attempt_id ?? 'none',
        trace_id: `decision-${full.id}`,
        span_id: full.id.slice(0, 16),
        name: DECISION_SPAN,
        attributes: decisionAttributes(full),
      });
    };
    const statusOf = async (id: string) =>
      (
        (await (await app.request(`http://edgelight.example/v1/feedback/${id}/status`)).json()) as {
          status: string;
        }
      ).status;
    const replied = ((await (await post({ text: 'Where is my order?' })).json()) as { id: string }).id;
    const rejected = ((await (await post({ text: 'Buy cheap watches now' })).json()) as { id: string }).id;
    await decide(replied, { action: 'approve', draftIndex: 0, reply: 'It ships today.' });
    await decide(replied, { action: 'spam' }); // a second reviewer, later: does not count
    await decide(rejected, { action: 'spam' });
    expect(await statusOf(replied)).toBe('replied');
    expect(await statusOf(rejected)).toBe('rejected');
  });

  it('keeps idempotency keys across a restart (the ledger is rebuilt from the store)', async () => {
    const headers = { 'idempotency-key': 'survives-restart-1' };
    const first = (await (await post({ text: 'Filed before the restart.' }, headers)).json()) as {
      id: string;
    };
    const restarted = await FeedbackIntake.open({
      store,
      checkpoints: new DirectoryBlobStorage(join(dir, 'blobs')),
      keys: [{ name: 'shop', key: KEY, origins: [SITE] }],
    });
    const again = createApp({ store, intake: restarted });
    const send = (text: string) =>
      again.request('http://edgelight.example/v1/feedback', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-edgelight-intake-key': KEY, ...headers },
        body: JSON.stringify({ text }),
      });
    const replay = await send('Filed before the restart.');
    expect(replay.status).toBe(202);
    expect(((await replay.json()) as { id: string }).id).toBe(first.id);
    expect((await send('Another text with the same key.')).status).toBe(409);
  });

  it('serve refuses bad intake flags before it touches the disk', async () => {
    const data = join(dir, 'never-created');
    const cases: [string[], RegExp][] = [
      [['--intake-key', 'shop=short'], /16-256/],
      [
        ['--intake-key', 'shop=shop-key-0123456789', '--intake-origin', 'blog=https://b.example'],
        /--intake-key/,
      ],
      [['--intake-origin', 'shop=https://b.example'], /needs an --intake-key/],
      [['--intake-key', 'shop=shop-key-0123456789', '--drafting', 'maybe'], /on or off/],
      [['--intake-key', 'shop=shop-key-0123456789', '--draft-group', '0'], /draft-group/],
      [['--intake-key', 'shop=@/nonexistent/key'], /cannot read/],
    ];
    for (const [flags, message] of cases) {
      const result = await runCli('serve', '--data', data, '--port', '0', ...flags);
      expect(result.code, flags.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(existsSync(data)).toBe(false);
  });

  it('opens no other route: the intake key is not a token, other methods stay guarded', async () => {
    const asIntake = { 'x-edgelight-intake-key': KEY, authorization: `Bearer ${KEY}`, origin: SITE };
    for (const path of [
      '/v1/agl/rollouts',
      '/v1/agl/spans?rollout_id=x',
      '/v1/sync/changes',
      '/v1/agl/resources/latest',
    ]) {
      const res = await app.request(`http://127.0.0.1${path}`, { headers: asIntake });
      expect(res.status, path).toBe(401);
    }
    const enqueue = await app.request('http://127.0.0.1/v1/agl/queues/rollouts/enqueue', {
      method: 'POST',
      headers: { ...asIntake, 'content-type': 'application/json' },
      body: JSON.stringify({ rollouts: [{ input: { task: 'x' } }] }),
    });
    // The origin guard refuses the cross-site write before the token check would.
    expect([401, 403]).toContain(enqueue.status);
    // Only POST /v1/feedback, its preflight and the status GET are public.
    expect((await app.request('http://127.0.0.1/v1/feedback', { headers: asIntake })).status).toBe(401);
    const { origin: _origin, ...noOrigin } = asIntake;
    expect(
      (await app.request('http://127.0.0.1/v1/feedback/', { method: 'POST', headers: noOrigin })).status,
    ).toBe(401);
    expect(
      (await app.request('http://127.0.0.1/v1/feedback/x/status', { method: 'DELETE', headers: noOrigin }))
        .status,
    ).toBe(401);
    expect(
      (await app.request('http://127.0.0.1/v1/feedback', { method: 'PUT', headers: noOrigin })).status,
    ).toBe(401);
  });

  it('serves the widget as JavaScript; without an intake the routes do not exist', async () => {
    const widget = await app.request('http://edgelight.example/widget.js');
    expect(widget.status).toBe(200);
    expect(widget.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(widget.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await widget.text()).toContain('/v1/feedback');

    const none = createApp({ store });
    expect((await none.request('http://127.0.0.1/v1/feedback', { method: 'POST', body: '{}' })).status).toBe(
      404,
    );
    expect((await none.request('http://127.0.0.1/widget.js')).status).toBe(404);
  });

  it('never writes the submitted e-mail or phone number to the data folder or the access log', async () => {
    await store.close();
    expect(filesContaining(dir, VISITOR_SECRETS)).toEqual([]);
    expect(accessLog.join('\n')).not.toContain('jane.roe');
    expect(accessLog.join('\n')).not.toContain('7946');
    store = openSqliteStore(join(dir, 'store.sqlite'));
  });
});
