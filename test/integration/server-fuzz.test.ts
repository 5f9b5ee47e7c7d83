import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { BlobStore } from '../../server/blobs/blob-store';
import { SqliteLightningStore } from '../../server/store/sqlite';
import { ReviewService } from '../../server/review/service';
import { DirectoryBlobStorage } from '../../server/checkpoints/directory';
import { FeedbackIntake } from '../../server/intake/intake';
import { createRng } from '../../shared/random';

// A bounded, seeded fuzz run over every route the app registers (issue 19): malformed, oversized,
// deeply nested and non-UTF-8 bodies, wrong content types, forged origins and hosts, bad ids. No
// answer may be a 5xx (501 for the OTLP stubs aside), none may hang past the wait cap, and no refused
// request may change the store or the blob folder. FUZZ_REQUESTS=10000 for the full run (issue 19's
// goal; ~6 s here: 10 % 2xx, 31 % 401, 38 % 403, the rest 400/404/413/415/422/501), FUZZ_HISTOGRAM=1
// prints the statuses; the suite runs 1,500.

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 1500);
const TOKEN = 'fuzz-token-123';
const INTAKE_KEY = 'fuzz-intake-key-0123456789';

describe('fuzzing every route', () => {
  let dir: string;
  let store: SqliteLightningStore;
  let review: ReviewService;
  let app: ReturnType<typeof createApp>;
  let known: { rollout: string; attempt: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-fuzz-'));
    store = new SqliteLightningStore({ path: join(dir, 'store.sqlite') });
    const blobs = new BlobStore(join(dir, 'blobs'), 4096);
    await blobs.init();
    // The review routes (/v1/items, /v1/replies/export), without a webhook or the background loop.
    review = new ReviewService({ store, path: join(dir, 'review.sqlite') });
    // The public intake (POST /v1/feedback, its status URL, /widget.js) with its own key; its
    // checkpoints (the served starter) outside the blob folder the snapshot compares.
    const intake = await FeedbackIntake.open({
      store,
      checkpoints: new DirectoryBlobStorage(join(dir, 'checkpoints')),
      keys: [{ name: 'site', key: INTAKE_KEY, origins: ['https://site.example'] }],
      limits: { perSecond: 1e6, burst: 1e6 },
    });
    app = createApp({
      intake,
      review,
      store,
      sync: store,
      blobs,
      token: TOKEN,
      maxJsonBytes: 16 * 1024,
      maxWaitSeconds: 0.05,
      rateLimitPerSecond: 0,
      log: () => {},
    });
    const started = await store.startRollout({ input: 'known' });
    known = { rollout: started.rollout_id, attempt: started.attempt.attempt_id };
  });
  afterAll(async () => {
    await review.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const snapshot = async () =>
    JSON.stringify({
      seq: await store.currentSeq(),
      stats: { ...(await store.statistics()), uptime: 0 },
      blobs: readdirSync(join(dir, 'blobs')).sort(),
    });

  it(`answers ${REQUESTS} fuzzed requests without a 5xx, a hang or a change from a refused one`, async () => {
    const rng = createRng(19);
    const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)] as T;
    const routes = app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => ({ method: r.method, path: r.path }));
    expect(routes.length).toBeGreaterThan(30);
    const ids = () =>
      pick([
        known.rollout,
        known.attempt,
        'ro-missing',
        '..%2F..',
        'a'.repeat(300),
        '%00',
        'latest',
        '0'.repeat(64),
      ]);
    const bodies: Array<() => { body?: BodyInit; type?: string }> = [
      () => ({}),
      () => ({ body: '{"input": ', type: 'application/json' }),
      () => ({ body: '{"rollouts": [{"input": "x"}]}', type: 'text/plain;charset=UTF-8' }),
      () => ({ body: `${'['.repeat(3000)}${']'.repeat(3000)}`, type: 'application/json' }),
      () => ({ body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), type: 'application/json' }),
      () => ({ body: JSON.stringify({ input: 'x'.repeat(20_000) }), type: 'application/json' }),
      () => ({
        body: JSON.stringify({ rollout_ids: [known.rollout], timeout: null }),
        type: 'application/json',
      }),
      () => ({
        body: JSON.stringify(pick([null, 1, 'x', [], {}, { limit: -5 }, { spans: 'many' }])),
        type: 'application/json',
      }),
      () => ({ body: 'a=1&b=2', type: 'application/x-www-form-urlencoded' }),
      () => ({ body: new Uint8Array(rng.int(64)).map(() => rng.int(256)), type: 'application/octet-stream' }),
    ];
    const headerSets: Array<() => Record<string, string>> = [
      () => ({ authorization: `Bearer ${TOKEN}` }),
      () => ({ authorization: `Bearer ${TOKEN}`, origin: 'https://attacker.example' }),
      () => ({ authorization: `Bearer ${TOKEN}`, origin: 'null', 'sec-fetch-site': 'cross-site' }),
      () => ({ authorization: `Bearer ${TOKEN}`, host: 'attacker.example' }),
      () => ({ authorization: 'Bearer wrong' }),
      () => ({
        'x-edgelight-intake-key': INTAKE_KEY,
        origin: pick(['https://site.example', 'https://attacker.example']),
      }),
      () => ({}),
    ];
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (let n = 0; n < REQUESTS; n++) {
      const route = pick(routes);
      const method = pick([route.method, route.method, route.method, 'POST', 'PUT', 'DELETE', 'GET']);
      const path =
        route.path.replace(/:[a-z_]+/g, () => ids()) +
        pick(['', '?limit=-1', '?status_in=x&offset=abc', '?limit=99999999999']);
      const { body, type } = pick(bodies)();
      const headers = pick(headerSets)();
      if (type) headers['content-type'] = type;
      const before = await snapshot();
      const hasBody = body !== undefined && method !== 'GET' && method !== 'HEAD';
      const answer = await Promise.race([
        app.request(`http://127.0.0.1:8787${path}`, { method, headers, body: hasBody ? body : undefined }),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000)),
      ]);
      if (answer === null) {
        failures.push(`${method} ${path}: no answer in 10 s`);
        continue;
      }
      await answer.arrayBuffer();
      if (process.env.FUZZ_HISTOGRAM) statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (answer.status >= 500 && answer.status !== 501) failures.push(`${method} ${path}: ${answer.status}`);
      if (answer.status >= 400 && (await snapshot()) !== before)
        failures.push(`${method} ${path}: refused with ${answer.status} but the store or blobs changed`);
      if (failures.length >= 10) break;
    }
    if (process.env.FUZZ_HISTOGRAM)
      console.log(JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0]))));
    expect(failures).toEqual([]);
  }, 300_000);
});
