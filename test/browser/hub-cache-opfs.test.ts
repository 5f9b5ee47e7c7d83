// OpfsHubCache (shared/hf/hub-cache.ts) in Chromium's real origin-private file system: partials appended
// chunk by chunk, completed, read back by range, kept apart per endpoint and revision, and still there for
// a new instance; then downloadFile into it, cancelled part-way and resumed with a range request, the
// SHA-256 checked across both parts, and read back through hubCacheFileSource.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserHarness, openHarness } from '../helpers/browser';

type HubCacheModule = typeof import('../../shared/hf/hub-cache');
type HubModule = typeof import('../../shared/hf/hub');

describe('OpfsHubCache in Chromium (real OPFS)', () => {
  let h: BrowserHarness;
  beforeAll(async () => {
    h = await openHarness();
  });
  afterAll(async () => h?.close());

  it('appends partials, completes them, reads ranges, keeps keys apart and survives a new instance', async () => {
    const out = await h.page.evaluate(async () => {
      const { OpfsHubCache } = (await window.importModule('/shared/hf/hub-cache.ts')) as HubCacheModule;
      const key = {
        endpoint: 'https://hub.example',
        repo: 'owner/model',
        revision: 'main',
        file: 'sub/w.bin',
      };
      const other = { ...key, revision: 'v2' };
      const mirror = { ...key, endpoint: 'http://127.0.0.1:9' };
      const cache = new OpfsHubCache();
      const before = {
        size: await cache.completeSize(key),
        partial: await cache.partialLength(key),
        empty: (await cache.readPartial(key)).length,
      };
      await cache.appendPartial(key, new Uint8Array([1, 2, 3]));
      await cache.appendPartial(key, new Uint8Array([4, 5]));
      await cache.appendPartial(other, new Uint8Array([9]));
      const partial = {
        length: await cache.partialLength(key),
        bytes: Array.from(await cache.readPartial(key)),
        completeSize: await cache.completeSize(key),
      };
      await cache.complete(key);
      const reopened = new OpfsHubCache();
      const after = {
        size: await reopened.completeSize(key),
        whole: Array.from(await reopened.readComplete(key)),
        range: Array.from(await reopened.readComplete(key, 1, 4)),
        partialGone: await reopened.partialLength(key),
        otherPartial: await reopened.partialLength(other),
        otherComplete: await reopened.completeSize(other),
        mirror: await reopened.completeSize(mirror),
      };
      await reopened.discardPartial(other);
      await reopened.discardPartial(mirror); // nothing there: no error
      const discarded = await reopened.partialLength(other);
      const missing = await reopened.readComplete(mirror).then(
        () => 'read',
        (e: Error) => e.message,
      );
      const unsafe = await reopened.completeSize({ ...key, file: '../escape' }).then(
        () => 'accepted',
        (e: Error) => e.message,
      );
      return { before, partial, after, discarded, missing, unsafe };
    });
    expect(out.before).toEqual({ size: null, partial: 0, empty: 0 });
    expect(out.partial).toEqual({ length: 5, bytes: [1, 2, 3, 4, 5], completeSize: null });
    expect(out.after).toEqual({
      size: 5,
      whole: [1, 2, 3, 4, 5],
      range: [2, 3, 4],
      partialGone: 0,
      otherPartial: 1,
      otherComplete: null,
      mirror: null,
    });
    expect(out.discarded).toBe(0);
    expect(out.missing).toContain('no complete owner/model/sub/w.bin');
    expect(out.unsafe).toContain('".."');
    expect(h.errors).toEqual([]);
  });

  it('downloadFile into OPFS: cancelled part-way, resumed with a range, SHA-256 checked', async () => {
    const out = await h.page.evaluate(async () => {
      const { OpfsHubCache } = (await window.importModule('/shared/hf/hub-cache.ts')) as HubCacheModule;
      const hub = (await window.importModule('/shared/hf/hub.ts')) as HubModule;
      const body = new Uint8Array(100_000).map((_, i) => (i * 31) % 251);
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body));
      const etag = `"${Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')}"`;
      const ranges: string[] = [];
      // A Hub that sends the file in 10,000-byte chunks, honouring `Range: bytes=N-`.
      const fakeFetch = (async (_url: string, init?: RequestInit) => {
        const range = new Headers(init?.headers).get('range');
        ranges.push(range ?? '');
        const start = range ? Number(/bytes=(\d+)-/.exec(range)?.[1]) : 0;
        const signal = init?.signal ?? undefined;
        let offset = start;
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (signal?.aborted) return controller.error(new DOMException('aborted', 'AbortError'));
            if (offset >= body.length) return controller.close();
            controller.enqueue(body.slice(offset, offset + 10_000));
            offset += 10_000;
          },
        });
        const headers: Record<string, string> = { etag, 'content-length': String(body.length - start) };
        if (range) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
        return new Response(stream, { status: range ? 206 : 200, headers });
      }) as typeof fetch;

      const cache = new OpfsHubCache();
      const options = { endpoint: 'https://hub.example', fetch: fakeFetch, cache };
      const controller = new AbortController();
      const cancelled = await hub
        .downloadFile('owner/resumable', 'model.safetensors', {
          ...options,
          signal: controller.signal,
          onProgress: (p) => {
            if (p.bytes >= 30_000) controller.abort();
          },
        })
        .then(
          () => 'finished',
          (e: Error) => e.name,
        );
      const key = hub.hubFileKey('owner/resumable', 'model.safetensors', options);
      const kept = await cache.partialLength(key);
      const done = await hub.downloadFile('owner/resumable', 'model.safetensors', options);
      const source = hub.hubCacheFileSource(cache, 'owner/resumable', options);
      const back = await source.read('model.safetensors');
      const again = await hub.downloadFile('owner/resumable', 'model.safetensors', options);
      return {
        cancelled,
        kept,
        ranges,
        verified: done.verifiedSha256 === etag.slice(1, -1),
        size: done.size,
        same: back.length === body.length && back.every((b, i) => b === body[i]),
        partialAfter: await cache.partialLength(key),
        fromCache: again.fromCache,
        requests: ranges.length,
      };
    });
    expect(out.cancelled).toBe('AbortError');
    expect(out.kept).toBe(30_000);
    expect(out.ranges).toEqual(['', 'bytes=30000-']);
    expect(out).toMatchObject({
      verified: true,
      size: 100_000,
      same: true,
      partialAfter: 0,
      fromCache: true,
    });
    expect(out.requests).toBe(2);
    expect(h.errors).toEqual([]);
  });
});
