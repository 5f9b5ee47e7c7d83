// `edgelight serve` with a webhook: the flags, the background loop in a real server process, and a
// clean stop on SIGTERM that a restart resumes from without sending anything twice.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, verifySignature } from '../../server/review/webhook';
import { REPLY_ATTR, REPLY_OBJECT_TYPE } from '../../shared/agent/feedback-agent';
import { AGL_OBJECT, ATTR } from '../../shared/agent/semconv';
import { DELIVERY_SPAN, FEEDBACK_ITEM_KIND } from '../../shared/review/contract';
import { HttpLightningStore } from '../../shared/store/http';
import { runCli } from '../helpers/cli';

const CLI = fileURLToPath(new URL('../../bin/edgelight.mjs', import.meta.url));
const TOKEN = 'review-serve-token';
const SECRET = 'serve-webhook-secret-0123';

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
  });

describe('edgelight serve --webhook-url', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelight-review-serve-'));
  const children: ChildProcess[] = [];
  let receiver: Server | null = null;
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    receiver?.closeAllConnections();
    await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a webhook URL without a secret, a short secret and a non-http URL', async () => {
    const data = join(dir, 'refused');
    const noSecret = await runCli('serve', '--data', data, '--webhook-url', 'http://127.0.0.1:9/hook');
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/without a secret/);
    const short = await runCli(
      'serve',
      '--data',
      data,
      '--webhook-url',
      'http://127.0.0.1:9/h',
      '--webhook-secret',
      'short',
    );
    expect(short.code).toBe(2);
    const ftp = await runCli(
      'serve',
      '--data',
      data,
      '--webhook-url',
      'ftp://x/',
      '--webhook-secret',
      SECRET,
    );
    expect(ftp.code).toBe(2);
    const attempts = await runCli('serve', '--data', data, '--webhook-max-attempts', '1.5');
    expect(attempts.code).toBe(2);
  });

  it('delivers a decision made over the API, stops cleanly on SIGTERM, and sends nothing again after a restart', async () => {
    const got: { body: string; ok: boolean }[] = [];
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const header = req.headers[SIGNATURE_HEADER.toLowerCase()] as string;
        got.push({ body, ok: verifySignature({ body, header, secret: SECRET }).ok });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', () => r()));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const data = join(dir, 'data');

    const spawnWith = async () => {
      const s = await new Promise<{ child: ChildProcess; url: string }>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            CLI,
            'serve',
            '--port',
            '0',
            '--data',
            data,
            '--token',
            TOKEN,
            '--access-log',
            'off',
            '--webhook-url',
            hook,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, EDGELIGHT_WEBHOOK_SECRET: SECRET } },
        );
        let out = '';
        const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
          if (match) {
            clearTimeout(timer);
            resolve({ child, url: match[1] as string });
          }
        });
        child.stderr?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
        });
        child.once('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
      });
      children.push(s.child);
      return s;
    };

    let server = await spawnWith();
    const client = new HttpLightningStore({ baseUrl: server.url, token: TOKEN, retryDelaysMs: [] });
    const rollout = await client.startRollout({
      input: {
        kind: FEEDBACK_ITEM_KIND,
        id: 'fb-serve-1',
        text: 'The search box returns nothing for "pricing".',
        category: 'website-bug',
        metadata: {
          submitted_at: Date.now() / 1000,
          source: 'form',
          intake: 'site',
          verdict: {
            decision: 'allow',
            sentiment: 'negative',
            sentiment_score: -0.2,
            pii: [],
            violations: [],
            boundaries: [],
          },
        },
      },
    });
    await client.addSpan({
      rollout_id: rollout.rollout_id,
      attempt_id: rollout.attempt.attempt_id,
      trace_id: 'c'.repeat(32),
      span_id: 'reply0',
      name: AGL_OBJECT,
      attributes: {
        [ATTR.objectType]: REPLY_OBJECT_TYPE,
        [REPLY_ATTR.index]: 0,
        [REPLY_ATTR.text]: 'Thanks for telling us about search. We are fixing it this week.',
      },
    });
    const res = await fetch(`${server.url}/v1/items/${rollout.rollout_id}/decisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'approve', reviewer: 'ops', draftIndex: 0 }),
    });
    expect(res.status).toBe(201);
    const deadline = Date.now() + 15_000;
    while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(got).toHaveLength(1);
    expect(got[0].ok).toBe(true);
    expect(JSON.parse(got[0].body)).toMatchObject({ item_id: 'fb-serve-1', reviewer: 'ops' });
    // The delivery log reaches the store (and so the labs, by sync).
    let logged = 0;
    while (logged === 0 && Date.now() < deadline) {
      logged = (await client.querySpans({ rollout_id: rollout.rollout_id, name: DELIVERY_SPAN })).items
        .length;
      if (!logged) await new Promise((r) => setTimeout(r, 50));
    }
    expect(logged).toBe(1);
    expect(statSync(join(data, 'review.sqlite')).mode & 0o777).toBe(0o600);

    server.child.kill('SIGTERM');
    expect(await exited(server.child)).toBe(0);

    server = await spawnWith();
    await new Promise((r) => setTimeout(r, 1500)); // a full poll of the restarted loop
    expect(got).toHaveLength(1);
    server.child.kill('SIGTERM');
    expect(await exited(server.child)).toBe(0);
  });
});
