// Drafting of intake items on the server (issue 20): the SERVED policy (the shipped starter, tiny, on
// wasm) drafts G replies per accepted item through the feedback agent, on the attempt the intake
// opened, with the usual reply and reward spans; past the drafting backlog the intake answers 429 with
// Retry-After and stores nothing; items a stopped server left undrafted are picked up again; and the
// data folder never holds the visitor's e-mail or phone number, drafts included.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { DirectoryBlobStorage } from '../../server/checkpoints/directory';
import { FeedbackDrafter } from '../../server/intake/drafter';
import { DRAFTING_METADATA, FeedbackIntake } from '../../server/intake/intake';
import { readServed } from '../../server/serving/served';
import { openSqliteStore, type SqliteLightningStore } from '../../server/store/sqlite';
import { REPLY_ATTR, REPLY_OBJECT_TYPE } from '../../shared/agent/feedback-agent';
import { AGL_OBJECT, AGL_REWARD, ATTR } from '../../shared/agent/semconv';
import { createGovernancePipeline } from '../../shared/governance';
import { loadNameData } from '../../shared/governance/pii/names';
import type { GovernancePipeline } from '../../shared/governance/types';
import { FeedbackItemInput } from '../../shared/review/contract';
import { filesContaining, VISITOR_EMAIL, VISITOR_PHONE, VISITOR_SECRETS } from '../helpers/data-scan';

const KEY = 'site-key-0123456789abcdef';
const GROUP = 4;
const TEXT = `Your checkout page froze twice today. Email me at ${VISITOR_EMAIL} or ring ${VISITOR_PHONE}.`;

describe('drafting intake items with the served policy', () => {
  let dir: string;
  let store: SqliteLightningStore;
  let checkpoints: DirectoryBlobStorage;
  let governance: GovernancePipeline;
  let drafter: FeedbackDrafter;
  let app: ReturnType<typeof createApp>;

  const newDrafter = () =>
    new FeedbackDrafter({
      store,
      checkpoints,
      governance,
      group: GROUP,
      maxTokens: 12,
      log: () => undefined,
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-drafting-'));
    store = openSqliteStore(join(dir, 'store.sqlite'));
    checkpoints = new DirectoryBlobStorage(join(dir, 'blobs'));
    await loadNameData();
    governance = createGovernancePipeline();
    drafter = newDrafter();
    const intake = await FeedbackIntake.open({
      store,
      checkpoints,
      governance,
      drafter,
      keys: [{ name: 'shop', key: KEY, origins: [] }],
      limits: { perSecond: 1000, burst: 1000, maxBacklog: 1 },
    });
    app = createApp({ store, intake, token: 'server-token-0123456789' });
  });
  afterAll(async () => {
    await drafter.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (text: string) =>
    app.request('http://127.0.0.1/v1/feedback', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-edgelight-intake-key': KEY },
      body: JSON.stringify({ text, category: 'website-bug' }),
    });

  async function expectDrafted(id: string) {
    const served = await readServed(store);
    const rollout = await store.getRolloutById(id);
    expect(rollout?.status).toBe('succeeded');
    expect(rollout?.resources_id).toBe(served?.resourcesId);
    const spans = (await store.querySpans({ rollout_id: id, attempt_id: 'latest' })).items;
    const replies = spans.filter(
      (s) => s.name === AGL_OBJECT && s.attributes[ATTR.objectType] === REPLY_OBJECT_TYPE,
    );
    const rewards = spans.filter((s) => s.name === AGL_REWARD);
    expect(replies).toHaveLength(GROUP);
    expect(rewards).toHaveLength(GROUP);
    for (const reply of replies) {
      expect(reply.attributes[REPLY_ATTR.policyId]).toBe(served?.checkpointId);
      expect(reply.attributes[REPLY_ATTR.prompt]).not.toContain(VISITOR_EMAIL);
    }
    return spans;
  }

  it('drafts G replies with reward spans on the item rollout, by the served policy', async () => {
    const res = await post(TEXT);
    expect(res.status).toBe(202);
    const { id, status_url } = (await res.json()) as { id: string; status_url: string };
    await drafter.idle();
    await expectDrafted(id);
    expect(drafter.drafted).toBe(1);
    const status = (await (await app.request(`http://127.0.0.1${status_url}`)).json()) as { status: string };
    expect(status.status).toBe('awaiting review');
  });

  it('answers 429 with Retry-After past the drafting backlog, and loses nothing it accepted', async () => {
    const first = await post('The search box ignores accents.');
    const second = await post('The newsletter form rejects my address.');
    expect(first.status).toBe(202);
    expect(second.status).toBe(429);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await drafter.idle();
    const { id } = (await first.json()) as { id: string };
    await expectDrafted(id);
    const third = await post('The newsletter form rejects my address.');
    expect(third.status).toBe(202);
    await drafter.idle();
  });

  it('picks up items a stopped server left undrafted (preparing, or interrupted while running)', async () => {
    await drafter.stop();
    // Accepted while drafting is off: they wait as `preparing`.
    const offline = await FeedbackIntake.open({
      store,
      checkpoints,
      governance,
      keys: [{ name: 'shop', key: KEY, origins: [] }],
      limits: { perSecond: 1000, burst: 1000 },
    });
    const off = createApp({ store, intake: offline });
    const ids: string[] = [];
    for (const text of ['Prices are shown without VAT.', 'The map on the contact page is blank.']) {
      const res = await off.request('http://127.0.0.1/v1/feedback', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-edgelight-intake-key': KEY },
        body: JSON.stringify({ text }),
      });
      ids.push(((await res.json()) as { id: string }).id);
    }
    // The second was being drafted when the server stopped: its attempt is left `running`.
    const interrupted = await store.getRolloutById(ids[1]);
    await store.updateAttempt(ids[1], interrupted!.attempt!.attempt_id, { status: 'running' });

    drafter = newDrafter();
    expect(await drafter.resume()).toBe(2);
    await drafter.idle();
    await expectDrafted(ids[0]);
    await expectDrafted(ids[1]);
    expect((await store.queryAttempts(ids[1])).items).toHaveLength(2);
  });

  it('stores feedback governance blocks, redacted and marked, and does not draft it', async () => {
    // Today's rule set never blocks feedback (only replies); a deployment's own pipeline may. This one
    // is the real pipeline with one extra rule of that kind on top.
    const blocking: GovernancePipeline = {
      govern(text, kind) {
        const verdict = governance.govern(text, kind);
        return /cheap watches/i.test(text) ? { ...verdict, decision: 'block', reasons: ['spam'] } : verdict;
      },
    };
    const intake = await FeedbackIntake.open({
      store,
      checkpoints,
      governance: blocking,
      drafter,
      keys: [{ name: 'shop', key: KEY, origins: [] }],
      limits: { perSecond: 1000, burst: 1000 },
    });
    const spammy = createApp({ store, intake });
    const res = await spammy.request('http://127.0.0.1/v1/feedback', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-edgelight-intake-key': KEY },
      body: JSON.stringify({ text: `Cheap watches at ${VISITOR_EMAIL}!!!` }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await drafter.idle();
    const rollout = await store.getRolloutById(id);
    const input = FeedbackItemInput.parse(rollout?.input);
    expect(input.metadata.verdict.decision).toBe('block');
    expect(input.text).not.toContain(VISITOR_EMAIL);
    expect(rollout?.status).toBe('succeeded');
    expect(rollout?.metadata?.[DRAFTING_METADATA]).toMatch(/blocked/);
    const spans = (await store.querySpans({ rollout_id: id })).items;
    expect(spans.filter((s) => s.name === AGL_OBJECT || s.name === AGL_REWARD)).toEqual([]);
  });

  it('never writes the e-mail or phone number to the data folder, drafts included', async () => {
    await drafter.stop();
    await store.close();
    expect(filesContaining(dir, VISITOR_SECRETS)).toEqual([]);
    store = openSqliteStore(join(dir, 'store.sqlite'));
  });
});
