import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { listen, type RunningServer } from '../../server/listen';
import { SqliteLightningStore } from '../../server/store/sqlite';

// Waits are bounded (issue 19): `POST /v1/agl/waits/rollouts` blocks at most the server's maximum
// whatever the timeout asked (null and 3600 never answered before), and a wait whose client has gone
// ends instead of polling on. Before the fix each of these tests ran into vitest's timeout.

const json = { 'content-type': 'application/json' };

/** When the store's last wait settled: the real store, observed through a proxy. */
let waitSettled: number | undefined;
function observed(store: SqliteLightningStore): SqliteLightningStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key !== 'waitForRollouts') return Reflect.get(target, key, receiver);
      return (...args: Parameters<SqliteLightningStore['waitForRollouts']>) => {
        waitSettled = undefined;
        return target.waitForRollouts(...args).finally(() => {
          waitSettled = Date.now();
        });
      };
    },
  });
}

describe('bounded rollout waits', () => {
  let dir: string;
  let store: SqliteLightningStore;
  let rolloutId: string;
  let server: RunningServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-waits-'));
    store = new SqliteLightningStore({ path: join(dir, 'store.sqlite') });
    rolloutId = (await store.enqueueRollout({ input: 'never finishes' })).rollout_id;
    server = await listen(createApp({ store: observed(store), maxWaitSeconds: 0.3, rateLimitPerSecond: 0 }));
  });

  afterAll(async () => {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([null, 3600])(
    'answers a wait with timeout %s within the maximum, with what is finished',
    async (timeout) => {
      const res = await fetch(`${server.url}/v1/agl/waits/rollouts`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ rollout_ids: [rolloutId], timeout }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual([]);
    },
  );

  it('ends the wait when the client disconnects', async () => {
    const observedApp = await listen(
      createApp({ store: observed(store), maxWaitSeconds: 3600, rateLimitPerSecond: 0 }),
    );
    try {
      const client = new AbortController();
      const request = fetch(`${observedApp.url}/v1/agl/waits/rollouts`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ rollout_ids: [rolloutId], timeout: null }),
        signal: client.signal,
      }).catch((error: Error) => error.name);
      await new Promise((r) => setTimeout(r, 200));
      expect(waitSettled).toBeUndefined(); // still waiting: the rollout never finishes
      client.abort();
      expect(await request).toBe('AbortError');
      // The server's wait ends soon after the connection closes, not after an hour.
      for (let i = 0; i < 100 && waitSettled === undefined; i++) await new Promise((r) => setTimeout(r, 50));
      expect(waitSettled).toBeDefined();
    } finally {
      await observedApp.close();
    }
  });

  it('the store ends a wait without a timeout when its signal aborts', async () => {
    const signal = AbortSignal.timeout(100);
    expect(await store.waitForRollouts({ rollout_ids: [rolloutId], timeout: null }, { signal })).toEqual([]);
  });
});
