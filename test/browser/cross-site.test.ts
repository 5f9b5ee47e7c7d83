// Issue 19 from a real Chromium: a page on another origin (a second loopback server) sends the
// "simple" requests a browser sends without a CORS preflight to an edgelight server in its default
// mode (loopback, no token), and a page on a rebound name (attacker.example resolved to 127.0.0.1, as
// DNS rebinding would) reads and writes same-origin. The store must be unchanged by all of them.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { listen, type RunningServer } from '../../server/listen';
import { SqliteLightningStore } from '../../server/store/sqlite';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/browser';

const ENQUEUE = '/v1/agl/queues/rollouts/enqueue';
const BODY = JSON.stringify({ rollouts: [{ input: { task: 'forged by a website' } }] });

describe('cross-site requests from a real Chromium page', () => {
  let dir: string;
  let store: SqliteLightningStore;
  let api: RunningServer;
  let site: Server;
  let siteUrl: string;
  let browser: Browser;
  /** What reached the API: method, path, Origin and the status it answered. */
  const seen: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgelight-cross-site-'));
    store = new SqliteLightningStore({ path: join(dir, 'store.sqlite') });
    const app = createApp({ store, sync: store });
    const counted = {
      fetch: async (request: Request, env: unknown) => {
        const response = await app.fetch(request, env);
        const path = new URL(request.url).pathname;
        seen.push(`${request.method} ${path} ${request.headers.get('origin')} ${response.status}`);
        return response;
      },
    };
    api = await listen(counted as unknown as Hono);
    site = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>another site</title>');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://localhost:${(site.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      // attacker.example resolves to this machine, as after a DNS rebinding.
      args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP attacker.example 127.0.0.1'],
      headless: true,
    });
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await new Promise((resolve) => site?.close(resolve));
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a page on another origin cannot enqueue rollouts with simple POSTs', async () => {
    const before = await store.currentSeq();
    const page = await browser.newPage();
    await page.goto(siteUrl);
    const results = await page.evaluate(
      async ({ target, body }) => {
        const attempts: RequestInit[] = [
          { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body },
          { method: 'POST', headers: { 'content-type': 'text/plain' }, body },
        ];
        const out: string[] = [];
        for (const init of attempts) {
          try {
            const res = await fetch(target, init);
            out.push(`${res.type} ${res.status}`);
          } catch (error) {
            out.push(`error ${String(error)}`);
          }
        }
        return out;
      },
      { target: `${api.url}${ENQUEUE}`, body: BODY },
    );
    await page.close();
    // The no-cors response is opaque and the CORS one fails to read: the page learns nothing either way.
    expect(results[0]).toBe('opaque 0');
    expect(results[1]).toMatch(/^error /);
    // Both requests reached the server, carrying the page's Origin, and were refused before the store.
    expect(seen.filter((s) => s.startsWith(`POST ${ENQUEUE}`))).toEqual([
      `POST ${ENQUEUE} ${siteUrl} 403`,
      `POST ${ENQUEUE} ${siteUrl} 403`,
    ]);
    expect(await store.currentSeq()).toBe(before);
    expect((await store.statistics()).total_rollouts).toBe(0);
  });

  it('a page on a rebound name can neither read nor write the store', async () => {
    await store.startRollout({ input: 'secret task' });
    const before = await store.currentSeq();
    const page = await browser.newPage();
    // Same origin as the API from the page's point of view: http://attacker.example:<api port>.
    await page.goto(`http://attacker.example:${api.port}/v1/health`);
    const results = await page.evaluate(async (body) => {
      const read = await fetch('/v1/agl/rollouts');
      const write = await fetch('/v1/agl/queues/rollouts/enqueue', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return { read: read.status, readText: await read.text(), write: write.status };
    }, BODY);
    await page.close();
    expect(results.read).toBe(403);
    expect(results.readText).not.toContain('secret task');
    expect(results.write).toBe(403);
    expect(await store.currentSeq()).toBe(before);
  });
});
