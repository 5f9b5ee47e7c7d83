// The review loop end to end on the server: decisions in real SQLite, ruled on in server order,
// delivered by signed webhook to a real receiver on loopback, retried, survived across restarts,
// exported, and decided over the API. Short backoffs (20 ms base) keep it quick.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { listen, type RunningServer } from '../../server/listen';
import { backoffMs, DEFAULT_RETRY_POLICY } from '../../server/review/outbox';
import { ReviewService } from '../../server/review/service';
import {
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  signatureHeader,
  verifySignature,
  type WebhookBody,
} from '../../server/review/webhook';
import { SqliteLightningStore } from '../../server/store/sqlite';
import { REPLY_ATTR, REPLY_OBJECT_TYPE } from '../../shared/agent/feedback-agent';
import { AGL_OBJECT, ATTR, rewardAttributes } from '../../shared/agent/semconv';
import { createGovernancePipeline } from '../../shared/governance';
import {
  DECISION_SPAN,
  DELIVERY_ATTR,
  DELIVERY_SPAN,
  decisionAttributes,
  FEEDBACK_ITEM_KIND,
  type FeedbackItemInput,
  OUTCOME_ATTR,
  OUTCOME_SPAN,
  type ReviewDecision,
} from '../../shared/review/contract';
import type { Span, SpanInput } from '../../shared/store/types';

const SECRET = 'whsec-test-secret-0123456789';
const TOKEN = 'review-test-token';
const governance = createGovernancePipeline();

// ── A webhook receiver on loopback that verifies every signature ──────────────────────────────────

type Received = { body: string; parsed: WebhookBody; delivery: string; attempt: string; verified: boolean };

class Receiver {
  readonly received: Received[] = [];
  /** Status per request in order; past the end, 200. */
  script: Array<number | { status: number; retryAfter: string }> = [];
  private server: Server | null = null;
  url = '';

  async start(port = 0): Promise<this> {
    this.server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const verified = verifySignature({
          body,
          header: req.headers[SIGNATURE_HEADER.toLowerCase()] as string,
          secret: SECRET,
        }).ok;
        this.received.push({
          body,
          parsed: JSON.parse(body),
          delivery: req.headers[DELIVERY_HEADER.toLowerCase()] as string,
          attempt: req.headers['x-edgelight-attempt'] as string,
          verified,
        });
        const step = this.script[this.received.length - 1] ?? 200;
        const status = verified ? (typeof step === 'number' ? step : step.status) : 401;
        if (typeof step === 'object') res.setHeader('retry-after', step.retryAfter);
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/hook`;
    return this;
  }

  get delivered(): Received[] {
    return this.received.filter((_, i) => {
      const step = this.script[i] ?? 200;
      return (typeof step === 'number' ? step : step.status) === 200;
    });
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
  }
}

// ── Items, drafts and decisions ───────────────────────────────────────────────────────────────────────

const FEEDBACK = 'The checkout page crashes when I press pay. Reach me at <EMAIL_1>.';

function itemInput(id: string): FeedbackItemInput {
  return {
    kind: FEEDBACK_ITEM_KIND,
    id,
    text: FEEDBACK,
    category: 'website-bug',
    metadata: {
      submitted_at: Date.now() / 1000,
      source: 'api',
      intake: 'test',
      verdict: {
        decision: 'review',
        sentiment: 'negative',
        sentiment_score: -0.4,
        pii: ['EMAIL'],
        violations: [],
        boundaries: [],
      },
    },
  };
}

const DRAFTS = [
  'Thank you for reporting the checkout crash. We are looking into it and will fix it soon.',
  'Thanks for letting us know about the payment problem; our team is on it.',
];

/** A drafted feedback item: its rollout, attempt 1 with two reply spans and their rewards. */
async function draftedItem(store: SqliteLightningStore, id = `fb-${randomUUID()}`) {
  const rollout = await store.startRollout({ input: itemInput(id) });
  const attemptId = rollout.attempt.attempt_id;
  await store.addSpans(
    DRAFTS.flatMap((text, index): SpanInput[] => [
      {
        rollout_id: rollout.rollout_id,
        attempt_id: attemptId,
        trace_id: 'a'.repeat(32),
        span_id: `reply${index}`,
        name: AGL_OBJECT,
        attributes: {
          [ATTR.objectType]: REPLY_OBJECT_TYPE,
          [REPLY_ATTR.index]: index,
          [REPLY_ATTR.text]: text,
          [REPLY_ATTR.redacted]: false,
        },
      },
      {
        rollout_id: rollout.rollout_id,
        attempt_id: attemptId,
        trace_id: 'a'.repeat(32),
        span_id: `reward${index}`,
        name: 'agentlightning.reward',
        attributes: { [REPLY_ATTR.index]: index, ...rewardAttributes({ primary: 0.5 + index / 10 }) },
      },
    ]),
  );
  await store.updateAttempt(rollout.rollout_id, attemptId, { status: 'succeeded' });
  return { rolloutId: rollout.rollout_id, attemptId, itemId: id };
}

function decision(overrides: Partial<ReviewDecision> = {}): ReviewDecision {
  return {
    id: randomUUID(),
    action: 'approve',
    reviewer: 'ana',
    decidedAt: Date.now() / 1000,
    draftIndex: 0,
    reply: DRAFTS[0],
    findings: [],
    ...overrides,
  };
}

function decisionSpan(item: { rolloutId: string; attemptId: string }, d: ReviewDecision): Span {
  const now = Date.now() / 1000;
  return {
    rollout_id: item.rolloutId,
    attempt_id: item.attemptId,
    sequence_id: 100 + Math.floor(Math.random() * 1e6),
    trace_id: 'b'.repeat(32),
    span_id: `dec-${d.id.slice(0, 8)}`,
    parent_id: null,
    name: DECISION_SPAN,
    status: { status_code: 'OK' },
    attributes: decisionAttributes(d),
    events: [],
    links: [],
    start_time: now,
    end_time: now,
    context: null,
    parent: null,
    resource: { attributes: {}, schema_url: '' },
  };
}

async function spansNamed(store: SqliteLightningStore, rolloutId: string, name: string) {
  return (await store.querySpans({ rollout_id: rolloutId, name })).items;
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false> | T, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ── Tests ─────────────────────────────────────────────────────────────────────────────────────────────

describe('review loop: resolution, signed delivery, outbox', () => {
  let dir: string;
  let store: SqliteLightningStore;
  let receiver: Receiver;
  let service: ReviewService | null;

  const openService = (retry = { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 200 }, url = receiver.url) => {
    service = new ReviewService({
      store,
      path: join(dir, 'review.sqlite'),
      webhook: { url, secret: SECRET, timeoutMs: 2000 },
      retry,
      pollMs: 50,
      governance,
    });
    service.start();
    return service;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-review-'));
    store = new SqliteLightningStore({ path: join(dir, 'store.sqlite') });
    receiver = await new Receiver().start();
    service = null;
  });
  afterEach(async () => {
    await service?.stop();
    await store.close();
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('one approved decision → one signed delivery with the redacted feedback, an outcome span and a delivery span', async () => {
    const item = await draftedItem(store);
    const d = decision();
    await store.addSpan(decisionSpan(item, d));
    openService();
    await until('delivery', () => receiver.received.length === 1);
    const got = receiver.received[0];
    expect(got.verified).toBe(true);
    expect(got.parsed).toMatchObject({
      type: 'edgelight.reply',
      decision_id: d.id,
      item_id: item.itemId,
      rollout_id: item.rolloutId,
      action: 'approve',
      reply: DRAFTS[0],
      feedback: FEEDBACK,
      category: 'website-bug',
      reviewer: 'ana',
      decided_at: d.decidedAt,
    });
    expect(got.delivery).toBe(got.parsed.delivery_id);
    expect(got.attempt).toBe('1');

    const outcome = await spansNamed(store, item.rolloutId, OUTCOME_SPAN);
    expect(outcome).toHaveLength(1);
    expect(outcome[0].attributes[OUTCOME_ATTR.winner]).toBe(d.id);
    expect(outcome[0].attributes[OUTCOME_ATTR.winnerReviewer]).toBe('ana');
    expect(outcome[0].attributes[OUTCOME_ATTR.superseded]).toEqual([]);
    const deliveries = await until('delivery span', async () => {
      const s = await spansNamed(store, item.rolloutId, DELIVERY_SPAN);
      return s.length === 1 ? s : null;
    });
    expect(deliveries[0].attributes).toMatchObject({
      [DELIVERY_ATTR.decision]: d.id,
      [DELIVERY_ATTR.attempt]: 1,
      [DELIVERY_ATTR.status]: 'delivered',
      [DELIVERY_ATTR.httpStatus]: 200,
    });
    expect(service!.outbox.get(d.id)?.status).toBe('delivered');
  });

  it('a receiver that fails twice then succeeds → 3 attempt spans, delivered, one delivery id', async () => {
    receiver.script = [503, 500, 200];
    const item = await draftedItem(store);
    const d = decision();
    await store.addSpan(decisionSpan(item, d));
    openService();
    await until('delivered', () => service!.outbox.get(d.id)?.status === 'delivered');
    expect(receiver.received.map((r) => r.attempt)).toEqual(['1', '2', '3']);
    expect(new Set(receiver.received.map((r) => r.delivery)).size).toBe(1);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    const spans = await until('3 delivery spans', async () => {
      const s = await spansNamed(store, item.rolloutId, DELIVERY_SPAN);
      return s.length === 3 ? s : null;
    });
    const log = spans
      .map((s) => s.attributes)
      .sort((a, b) => (a[DELIVERY_ATTR.attempt] as number) - (b[DELIVERY_ATTR.attempt] as number));
    expect(log.map((a) => a[DELIVERY_ATTR.status])).toEqual(['retrying', 'retrying', 'delivered']);
    expect(log.map((a) => a[DELIVERY_ATTR.httpStatus])).toEqual([503, 500, 200]);
    expect(typeof log[0][DELIVERY_ATTR.nextAttemptAt]).toBe('number');
  });

  it('a receiver that is down → failed after the maximum attempts, each recorded', async () => {
    const down = await new Receiver().start();
    const url = down.url;
    await down.stop(); // nothing listens on that port now
    const item = await draftedItem(store);
    const d = decision();
    await store.addSpan(decisionSpan(item, d));
    openService(undefined, url);
    await until('failed', () => service!.outbox.get(d.id)?.status === 'failed');
    const row = service!.outbox.get(d.id)!;
    expect(row.attempts).toBe(3);
    expect(row.last_error).toMatch(/network error/);
    const spans = await until('3 delivery spans', async () => {
      const s = await spansNamed(store, item.rolloutId, DELIVERY_SPAN);
      return s.length === 3 ? s : null;
    });
    const statuses = spans.map((s) => [
      s.attributes[DELIVERY_ATTR.attempt],
      s.attributes[DELIVERY_ATTR.status],
    ]);
    expect(statuses.sort()).toEqual([
      [1, 'retrying'],
      [2, 'retrying'],
      [3, 'failed'],
    ]);
  });

  it('a permanent refusal (400) fails at once; a 429 Retry-After is waited for', async () => {
    receiver.script = [{ status: 429, retryAfter: '1' }, 400];
    const item = await draftedItem(store);
    const d = decision();
    await store.addSpan(decisionSpan(item, d));
    openService({ maxAttempts: 5, baseDelayMs: 20, maxDelayMs: 5000 });
    await until('failed', () => service!.outbox.get(d.id)?.status === 'failed');
    expect(receiver.received).toHaveLength(2);
    const spans = await spansNamed(store, item.rolloutId, DELIVERY_SPAN);
    const first = spans.find((s) => s.attributes[DELIVERY_ATTR.attempt] === 1)!;
    const second = spans.find((s) => s.attributes[DELIVERY_ATTR.attempt] === 2)!;
    // Retry-After: 1 outweighs a 10–30 ms backoff.
    expect(second.start_time! - first.end_time!).toBeGreaterThanOrEqual(0.95);
    expect(second.attributes[DELIVERY_ATTR.status]).toBe('failed');
  });

  it('a restart in the middle of retrying delivers once, not twice', async () => {
    receiver.script = [503];
    const item = await draftedItem(store);
    const d = decision();
    await store.addSpan(decisionSpan(item, d));
    // A long backoff, so the restart happens while the retry waits.
    openService({ maxAttempts: 5, baseDelayMs: 400, maxDelayMs: 400 });
    await until('first attempt', () => service!.outbox.get(d.id)?.status === 'retrying');
    await service!.stop();
    await store.close();

    store = new SqliteLightningStore({ path: join(dir, 'store.sqlite') });
    openService({ maxAttempts: 5, baseDelayMs: 400, maxDelayMs: 400 });
    await until('delivered', () => service!.outbox.get(d.id)?.status === 'delivered');
    await service!.stop();
    // Again, and the decision pushed a second time: nothing more goes out.
    await store.close();
    store = new SqliteLightningStore({ path: join(dir, 'store.sqlite') });
    await store.upsertMany({ spans: [{ ...decisionSpan(item, d), span_id: 'dec-again' }] });
    openService();
    await service!.runOnce();
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.received).toHaveLength(2);
    expect(receiver.delivered).toHaveLength(1);
    expect(service!.outbox.get(d.id)).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('reject and spam send nothing', async () => {
    const a = await draftedItem(store);
    const b = await draftedItem(store);
    await store.addSpan(
      decisionSpan(
        a,
        decision({ action: 'reject', reason: 'off topic', reply: undefined, draftIndex: undefined }),
      ),
    );
    await store.addSpan(
      decisionSpan(b, decision({ action: 'spam', reply: undefined, draftIndex: undefined })),
    );
    openService();
    await service!.runOnce();
    await new Promise((r) => setTimeout(r, 150));
    expect(receiver.received).toHaveLength(0);
    expect((await spansNamed(store, a.rolloutId, OUTCOME_SPAN)).length).toBe(1);
    expect(await spansNamed(store, a.rolloutId, DELIVERY_SPAN)).toEqual([]);
  });

  it('a synced winner whose reply has PII and no override is refused, never sent', async () => {
    const item = await draftedItem(store);
    const d = decision({
      action: 'write',
      draftIndex: undefined,
      reply: 'Call me on +44 20 7946 0958 or mail jo@example.com',
    });
    await store.addSpan(decisionSpan(item, d));
    openService();
    await service!.runOnce();
    expect(service!.outbox.get(d.id)).toMatchObject({ status: 'failed', attempts: 0 });
    expect(service!.outbox.get(d.id)!.last_error).toMatch(/pii:EMAIL/);
    const [span] = await spansNamed(store, item.rolloutId, DELIVERY_SPAN);
    expect(span.attributes[DELIVERY_ATTR.attempt]).toBe(0);
    expect(receiver.received).toHaveLength(0);
  });
});

describe('review routes: two reviewers over sync, the decision route, items, export', () => {
  let dir: string;
  let store: SqliteLightningStore;
  let receiver: Receiver;
  let service: ReviewService;
  let server: RunningServer;
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-review-routes-'));
    store = new SqliteLightningStore({ path: join(dir, 'store.sqlite') });
    receiver = await new Receiver().start();
    service = new ReviewService({
      store,
      path: join(dir, 'review.sqlite'),
      webhook: { url: receiver.url, secret: SECRET },
      retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 200 },
      pollMs: 50,
      governance,
    });
    service.start();
    server = await listen(createApp({ store, sync: store, review: service, token: TOKEN }));
  });
  afterAll(async () => {
    await server.close();
    await service.stop();
    await store.close();
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const push = (spans: Span[], batch = randomUUID()) =>
    fetch(`${server.url}/v1/sync/push`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'lab-1', batch_id: batch, records: { spans } }),
    });
  const decide = (rolloutId: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/v1/items/${rolloutId}/decisions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('two reviewers push decisions: the first the server received wins, the loser is named, only the winner is delivered', async () => {
    const item = await draftedItem(store);
    // Bea decided first on her own clock, but Ana's push reached the server first.
    const ana = decision({ reviewer: 'ana', decidedAt: 2000 });
    const bea = decision({ reviewer: 'bea', decidedAt: 1000, reply: DRAFTS[1], draftIndex: 1 });
    expect((await push([decisionSpan(item, ana)])).status).toBe(200);
    expect((await push([decisionSpan(item, bea)])).status).toBe(200);
    // A duplicate push of the winner changes nothing.
    const again = await push([decisionSpan(item, ana)]);
    expect(((await again.json()) as { skipped: number }).skipped).toBe(1);

    await until('delivery', () => receiver.received.some((r) => r.parsed.rollout_id === item.rolloutId));
    const outcomes = await until('second outcome', async () => {
      const s = await spansNamed(store, item.rolloutId, OUTCOME_SPAN);
      return s.length === 2 ? s : null;
    });
    const latest = outcomes.sort((a, b) => b.sequence_id - a.sequence_id)[0];
    expect(latest.attributes[OUTCOME_ATTR.winner]).toBe(ana.id);
    expect(latest.attributes[OUTCOME_ATTR.winnerReviewer]).toBe('ana');
    expect(latest.attributes[OUTCOME_ATTR.superseded]).toEqual([bea.id]);
    // The loser's lab learns it through sync: the outcome spans are in the pull feed.
    const pulled = (await (
      await fetch(`${server.url}/v1/sync/pull?after=0&limit=5000`, { headers: auth })
    ).json()) as {
      records: { spans: Span[] };
    };
    expect(
      pulled.records.spans.filter((s) => s.name === OUTCOME_SPAN && s.rollout_id === item.rolloutId),
    ).toHaveLength(2);

    await new Promise((r) => setTimeout(r, 150));
    const mine = receiver.received.filter((r) => r.parsed.rollout_id === item.rolloutId);
    expect(mine.map((r) => r.parsed.decision_id)).toEqual([ana.id]);
  });

  it('the decision route: bad bodies are 4xx, a reply with PII is 422 until overridden, a second decision is 409', async () => {
    const item = await draftedItem(store);
    expect((await decide(item.rolloutId, '{"action":')).status).toBe(400);
    expect((await decide(item.rolloutId, 'x', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await decide(item.rolloutId, { action: 'send', reviewer: 'ana' })).status).toBe(422);
    expect((await decide(item.rolloutId, { action: 'reject', reviewer: 'ana' })).status).toBe(422); // no reason
    expect((await decide(item.rolloutId, { action: 'write', reviewer: 'ana' })).status).toBe(422); // no reply
    expect((await decide(item.rolloutId, { action: 'approve', reviewer: 'ana', draftIndex: 7 })).status).toBe(
      422,
    );
    expect((await decide(item.rolloutId, { action: 'spam', reviewer: 'ana', reply: 'hi' })).status).toBe(422);
    expect((await decide('ro-nosuchitem', { action: 'spam', reviewer: 'ana' })).status).toBe(404);
    expect((await decide('bad%20id', { action: 'spam', reviewer: 'ana' })).status).toBe(400);
    expect(
      (await fetch(`${server.url}/v1/items/${item.rolloutId}/decisions`, { method: 'POST' })).status,
    ).toBe(401);

    const leaky = {
      action: 'write',
      reviewer: 'cy',
      reply: 'Sorry! Write to me at jo.bloggs@example.com about it.',
    };
    const refused = await decide(item.rolloutId, leaky);
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/pii:EMAIL/);
    // Nothing was stored by any refused request.
    expect(await spansNamed(store, item.rolloutId, DECISION_SPAN)).toEqual([]);

    const id = randomUUID();
    const ok = await decide(item.rolloutId, {
      ...leaky,
      id,
      override: 'the visitor asked us to reply to this address',
    });
    expect(ok.status).toBe(201);
    const answer = (await ok.json()) as { decision: ReviewDecision; outcome: { winner: string } };
    expect(answer.outcome.winner).toBe(id);
    expect(answer.decision.findings).toContain('pii:EMAIL');
    expect(answer.decision.override).toMatch(/visitor asked/);
    // The same decision again answers the same (a client retrying after a lost answer).
    expect((await decide(item.rolloutId, { ...leaky, id, override: 'x' })).status).toBe(200);

    const late = await decide(item.rolloutId, { action: 'approve', reviewer: 'dee', draftIndex: 1 });
    expect(late.status).toBe(409);
    const conflict = (await late.json()) as {
      error: { details: { winner: string; winner_reviewer: string } };
    };
    expect(conflict.error.details).toMatchObject({ winner: id, winner_reviewer: 'cy' });
    await until('overridden reply delivered', () =>
      receiver.received.some((r) => r.parsed.decision_id === id),
    );
  });

  it('approve over the API sends the draft as stored; edit records its diff', async () => {
    const a = await draftedItem(store);
    const res = await decide(a.rolloutId, { action: 'approve', reviewer: 'ana', draftIndex: 1 });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { decision: ReviewDecision }).decision.reply).toBe(DRAFTS[1]);
    const b = await draftedItem(store);
    const edited = await decide(b.rolloutId, {
      action: 'edit',
      reviewer: 'ana',
      draftIndex: 0,
      reply: `${DRAFTS[0]}\nSorry for the trouble.`,
    });
    expect(edited.status).toBe(201);
    expect(((await edited.json()) as { decision: ReviewDecision }).decision.diff).toContain(
      '+ Sorry for the trouble.',
    );
  });

  it('GET /v1/items lists open and decided items, redacted, drafts by reward', async () => {
    const open = await draftedItem(store);
    const res = await fetch(`${server.url}/v1/items?status=open&limit=200`, { headers: auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      items: { rollout_id: string; feedback: string; drafts: { index: number; reward: number }[] }[];
    };
    const listed = body.items.find((i) => i.rollout_id === open.rolloutId)!;
    expect(listed.feedback).toBe(FEEDBACK);
    expect(listed.drafts.map((d) => d.index)).toEqual([1, 0]); // 0.6 before 0.5
    const decided = (await (
      await fetch(`${server.url}/v1/items?status=decided&limit=200`, { headers: auth })
    ).json()) as {
      items: { rollout_id: string; decision: { winner: string } | null }[];
    };
    expect(decided.items.length).toBeGreaterThan(0);
    expect(decided.items.every((i) => i.decision !== null)).toBe(true);
    expect(decided.items.some((i) => i.rollout_id === open.rolloutId)).toBe(false);
    expect((await fetch(`${server.url}/v1/items?status=closed`, { headers: auth })).status).toBe(422);
  });

  it('exports decided items as JSON Lines, filtered by status and since', async () => {
    const item = await draftedItem(store);
    expect((await decide(item.rolloutId, { action: 'spam', reviewer: 'ana' })).status).toBe(201);
    await until('deliveries settled', () => {
      const rows = service.db
        .prepare(`SELECT COUNT(*) FROM outbox WHERE status IN ('pending','retrying')`)
        .pluck()
        .get();
      return rows === 0;
    });
    const res = await fetch(`${server.url}/v1/replies/export`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const lines = (await res.text())
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const spam = lines.find((l) => l.rollout_id === item.rolloutId);
    expect(spam).toMatchObject({ action: 'spam', reply: null, delivery_status: 'none', feedback: FEEDBACK });
    for (const line of lines)
      expect(Object.keys(line).sort()).toEqual(
        [
          'action',
          'category',
          'decided_at',
          'decision_id',
          'delivery_attempts',
          'delivery_status',
          'feedback',
          'item_id',
          'received_at',
          'reason',
          'reply',
          'reviewer',
          'rollout_id',
        ].sort(),
      );
    const delivered = (
      await (await fetch(`${server.url}/v1/replies/export?status=delivered`, { headers: auth })).text()
    )
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(delivered.length).toBeGreaterThan(0);
    expect(delivered.every((l) => l.delivery_status === 'delivered' && typeof l.reply === 'string')).toBe(
      true,
    );
    const future = await fetch(`${server.url}/v1/replies/export?since=2999-01-01`, { headers: auth });
    expect(await future.text()).toBe('');
    expect((await fetch(`${server.url}/v1/replies/export?status=sent`, { headers: auth })).status).toBe(422);
    expect((await fetch(`${server.url}/v1/replies/export`)).status).toBe(401);
  });
});

describe('webhook signatures and backoff', () => {
  const body = JSON.stringify({ type: 'edgelight.reply', reply: 'Thanks!' });
  const now = 1_780_000_000;

  it('verifies a good signature and rejects a tampered body, an old timestamp and a wrong secret', () => {
    const header = signatureHeader(SECRET, body, now);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature({ body, header, secret: SECRET, now })).toEqual({ ok: true, timestamp: now });
    expect(verifySignature({ body: body.replace('Thanks', 'Thank'), header, secret: SECRET, now }).ok).toBe(
      false,
    );
    const old = verifySignature({ body, header, secret: SECRET, now: now + 301 });
    expect(old).toMatchObject({ ok: false, reason: expect.stringMatching(/tolerance/) });
    expect(verifySignature({ body, header, secret: 'another-secret-entirely', now }).ok).toBe(false);
    expect(verifySignature({ body, header: undefined, secret: SECRET, now }).ok).toBe(false);
    expect(verifySignature({ body, header: `t=${now}`, secret: SECRET, now }).ok).toBe(false);
    // A rotated secret: either v1 may match.
    const both = `${header},v1=${signatureHeader('new-secret-0123456789', body, now).split('v1=')[1]}`;
    expect(verifySignature({ body, header: both, secret: 'new-secret-0123456789', now }).ok).toBe(true);
  });

  it('backs off exponentially with jitter, capped', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1000, maxDelayMs: 10_000 };
    const mid = () => 0.5; // no jitter
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, policy, mid))).toEqual([1000, 2000, 4000, 8000, 10_000]);
    expect(backoffMs(1, policy, () => 0)).toBe(500);
    expect(backoffMs(1, policy, () => 0.999)).toBeCloseTo(1499, 0);
  });
});

describe('review routes during shutdown', () => {
  it('answer 503 once the loop is stopped, and leave the other /v1 routes alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelight-review-stop-'));
    const store = new SqliteLightningStore({ path: join(dir, 'store.sqlite') });
    const service = new ReviewService({ store, path: join(dir, 'review.sqlite'), governance });
    const app = createApp({ store, sync: store, review: service });
    expect((await app.request('/v1/items')).status).toBe(200);
    await service.stop();
    expect((await app.request('/v1/items')).status).toBe(503);
    expect((await app.request('/v1/replies/export')).status).toBe(503);
    expect((await app.request('/v1/sync/pull?after=0')).status).toBe(200);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('a sync push wakes the loop', () => {
  it('delivers a pushed decision long before the next poll', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelight-review-wake-'));
    const store = new SqliteLightningStore({ path: join(dir, 'store.sqlite') });
    const receiver = await new Receiver().start();
    const service = new ReviewService({
      store,
      path: join(dir, 'review.sqlite'),
      webhook: { url: receiver.url, secret: SECRET },
      pollMs: 60_000,
      governance,
    });
    service.start();
    const server = await listen(createApp({ store, sync: store, review: service }));
    try {
      await new Promise((r) => setTimeout(r, 300)); // the first pass is over; the next poll is a minute away
      const item = await draftedItem(store);
      const started = Date.now();
      const res = await fetch(`${server.url}/v1/sync/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_id: 'lab',
          batch_id: 'b1',
          records: { spans: [decisionSpan(item, decision())] },
        }),
      });
      expect(res.status).toBe(200);
      await until('delivery', () => receiver.received.length === 1, 5000);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await server.close();
      await service.stop();
      await store.close();
      await receiver.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
