// `npm run bench -- intake`: the public feedback intake (issue 20) over real HTTP on loopback, the
// server in its own process (bench/_intake.ts) over SQLite:
//   intake        submissions/s and p50/p99 of the 202 with governance, drafting off (server CPU per post)
//   drafting      items drafted/s by the served starter policy (tiny, wasm, G replies), wall and CPU
//                 seconds, and the intake's latency while the drafter works beside it
//   past_capacity a burst past the drafting backlog: 202 vs 429 (with Retry-After), and that every
//                 accepted item is stored and drafted (nothing lost)
// Flags: --quick (smaller counts), --posts=N, --concurrency=C, --items=N (drafting), --group=G,
// --max-tokens=T, --burst=N, --burst-concurrency=C and --backlog=N (past capacity), --phases=intake,drafting,past_capacity.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateFeedback } from '../shared/data/generator';
import { flagValue } from './_store';

/** `x` to `digits` decimals. */
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

const KEY = 'bench-key-0123456789abcdef';
const here = fileURLToPath(new URL('.', import.meta.url));
const tsx = fileURLToPath(new URL('../bin/tsx.mjs', import.meta.url));

type Server = {
  url: string;
  child: ChildProcess;
  dir: string;
  ask(command: string, answer: string): Promise<string>;
};

async function startServer(options: Record<string, unknown>): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'edgelight-bench-intake-'));
  const child = spawn(process.execPath, [tsx, join(here, '_intake.ts'), dir, JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: { prefix: string; resolve: (line: string) => void }[] = [];
  let buffer = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (text: string) => {
    buffer += text;
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const line of parts) {
      const i = waiters.findIndex((w) => line.startsWith(w.prefix));
      if (i >= 0) waiters.splice(i, 1)[0].resolve(line);
      else lines.push(line);
    }
  });
  const next = (prefix: string) =>
    new Promise<string>((resolve) => {
      const i = lines.findIndex((l) => l.startsWith(prefix));
      if (i >= 0) resolve(lines.splice(i, 1)[0]);
      else waiters.push({ prefix, resolve });
    });
  const url = (await next('listening ')).slice('listening '.length);
  return {
    url,
    child,
    dir,
    ask: (command, answer) => {
      child.stdin?.write(`${command}\n`);
      return next(`${answer} `).then((line) => line.slice(answer.length + 1));
    },
  };
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
  rmSync(server.dir, { recursive: true, force: true });
}

const cpuMs = async (server: Server) => Number(await server.ask('cpu', 'cpu')) / 1000;

type Answer = { status: number; ms: number; id?: string; retryAfter?: number };

async function postFeedback(url: string, text: string, idempotencyKey: string): Promise<Answer> {
  const started = performance.now();
  // A pooled keep-alive socket the server closed while idle resets once; the retry reuses the
  // idempotency key, as a website's widget does, so it cannot file the feedback twice.
  const send = () =>
    fetch(`${url}/v1/feedback`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-edgelight-intake-key': KEY,
        origin: 'https://site.example',
        'idempotency-key': idempotencyKey,
      },
      body: JSON.stringify({ text, locale: 'en' }),
    });
  const res = await send().catch(() => send());
  const body = (await res.json()) as { id?: string };
  const ms = performance.now() - started;
  const retry = res.headers.get('retry-after');
  return { status: res.status, ms, id: body.id, retryAfter: retry === null ? undefined : Number(retry) };
}

/** Posts `texts` with `concurrency` clients; answers in order. */
async function postAll(url: string, texts: string[], concurrency: number, tag: string): Promise<Answer[]> {
  const answers: Answer[] = new Array(texts.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < texts.length; i = next++)
        answers[i] = await postFeedback(url, texts[i], `${tag}-${i}`);
    }),
  );
  return answers;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function latency(answers: Answer[]) {
  const ms = answers.map((a) => a.ms).sort((a, b) => a - b);
  return {
    p50_ms: round(percentile(ms, 50), 2),
    p99_ms: round(percentile(ms, 99), 2),
    max_ms: round(ms.at(-1) ?? 0, 2),
  };
}

const statuses = (answers: Answer[]) =>
  answers.reduce<Record<string, number>>((acc, a) => {
    acc[a.status] = (acc[a.status] ?? 0) + 1;
    return acc;
  }, {});

/** Feedback as visitors write it, a third with e-mail addresses, phone numbers or names (seeded). */
function feedbackTexts(count: number, offset = 0): string[] {
  const items = generateFeedback({ count: count + offset, piiShare: 0.35, seed: 20 });
  return items.slice(offset).map((item) => item.text.slice(0, 5000));
}

export async function run(flags: string[]) {
  const quick = flags.includes('--quick');
  const num = (name: string, fallback: number) => Number(flagValue(flags, name) ?? fallback);
  const posts = num('posts', quick ? 200 : 1000);
  const concurrency = num('concurrency', 8);
  const items = num('items', quick ? 6 : 20);
  const group = num('group', 4);
  const maxTokens = num('max-tokens', 48);
  const burst = num('burst', quick ? 40 : 100);
  const backlog = num('backlog', 8);
  // More clients in flight than the backlog holds: a closed loop of C clients never has more than C
  // posts outstanding, so with C ≤ backlog a full drafter would show only as slower answers.
  const burstConcurrency = num('burst-concurrency', 32);
  const phases = new Set((flagValue(flags, 'phases') ?? 'intake,drafting,past_capacity').split(','));

  // 1. The intake alone: governance + two SQLite writes per post, drafting off.
  const intake = !phases.has('intake')
    ? null
    : await (async () => {
        const server = await startServer({ drafting: false });
        try {
          await postAll(server.url, feedbackTexts(50, posts), concurrency, 'warm'); // JIT and models
          const cpu0 = await cpuMs(server);
          const t0 = performance.now();
          const answers = await postAll(server.url, feedbackTexts(posts), concurrency, 'post');
          const wall = (performance.now() - t0) / 1000;
          const cpu = (await cpuMs(server)) - cpu0;
          return {
            posts,
            concurrency,
            statuses: statuses(answers),
            submissions_per_s: round(posts / wall, 1),
            ...latency(answers),
            wall_s: round(wall, 2),
            server_cpu_s: round(cpu / 1000, 2),
            server_cpu_ms_per_post: round(cpu / posts, 2),
          };
        } finally {
          await stopServer(server);
        }
      })();

  // 2. Drafting: the served starter policy drafts G replies per item, one item at a time.
  const drafting = !phases.has('drafting')
    ? null
    : await (async () => {
        const server = await startServer({ drafting: true, group, maxTokens, backlog: 100_000 });
        try {
          // The first item loads tfjs's wasm backend, the policy and the spelling dictionaries.
          const warm0 = performance.now();
          await postAll(server.url, feedbackTexts(1, 900), 1, 'warm');
          await server.ask('idle', 'idle');
          const firstItemS = (performance.now() - warm0) / 1000;
          const cpu0 = await cpuMs(server);
          const t0 = performance.now();
          const answers = await postAll(server.url, feedbackTexts(items, 500), 2, 'draft');
          const accepted = performance.now();
          const drafted = Number(await server.ask('idle', 'idle')) - 1;
          const wall = (performance.now() - t0) / 1000;
          const cpu = (await cpuMs(server)) - cpu0;
          return {
            items,
            group,
            max_tokens: maxTokens,
            first_item_s: round(firstItemS, 2),
            statuses: statuses(answers),
            intake_while_drafting: { ...latency(answers), accept_all_s: round((accepted - t0) / 1000, 2) },
            drafted,
            items_per_s: round(drafted / wall, 3),
            replies_per_s: round((drafted * group) / wall, 2),
            wall_s: round(wall, 2),
            server_cpu_s: round(cpu / 1000, 2),
          };
        } finally {
          await stopServer(server);
        }
      })();

  // 3. Past capacity: a burst far beyond the drafting backlog. Accepted items are all drafted; the
  // rest are refused with 429 + Retry-After before anything is stored. Then every refused client
  // retries after its Retry-After (with jitter, the same idempotency key) until it is accepted, as
  // the widget's visitor would: each submission ends up filed once and drafted, none lost or doubled.
  const pastCapacity = !phases.has('past_capacity')
    ? null
    : await (async () => {
        const server = await startServer({ drafting: true, group, maxTokens, backlog });
        try {
          await postAll(server.url, feedbackTexts(1, 900), 1, 'warm');
          await server.ask('idle', 'idle');
          const texts = feedbackTexts(burst, 1000);
          const t0 = performance.now();
          const answers = await postAll(server.url, texts, burstConcurrency, 'burst');
          // Snapshot of the burst itself, before the retries change anything.
          const burstStatuses = statuses(answers);
          let posts = answers.length;
          const final = [...answers];
          await Promise.all(
            final.map(async (_answer, i) => {
              while (final[i].status === 429) {
                const wait = (final[i].retryAfter ?? 1) * (1 + Math.random() * 0.5);
                await new Promise((resolve) => setTimeout(resolve, wait * 1000));
                final[i] = await postFeedback(server.url, texts[i], `burst-${i}`);
                posts++;
              }
            }),
          );
          const allAcceptedS = (performance.now() - t0) / 1000;
          await server.ask('idle', 'idle');
          const everyView = await Promise.all(
            final.map(async (a) => {
              const res = await fetch(`${server.url}/v1/feedback/${a.id}/status`);
              return ((await res.json()) as { status?: string }).status;
            }),
          );
          const accepted = answers.filter((a) => a.status === 202);
          const refused = answers.filter((a) => a.status === 429);
          const views = await Promise.all(
            accepted.map(async (a) => {
              const res = await fetch(`${server.url}/v1/feedback/${a.id}/status`);
              return ((await res.json()) as { status?: string }).status;
            }),
          );
          const retry = refused.map((a) => a.retryAfter ?? Number.NaN);
          return {
            burst,
            concurrency: burstConcurrency,
            backlog,
            statuses: burstStatuses,
            accepted: accepted.length,
            refused_429: refused.length,
            refused_without_retry_after: retry.filter((r) => !(r >= 1)).length,
            retry_after_s: refused.length ? { min: Math.min(...retry), max: Math.max(...retry) } : null,
            accepted_then_drafted: views.filter((s) => s === 'awaiting review').length,
            lost: accepted.length - views.filter((s) => s !== undefined).length,
            other: answers.length - accepted.length - refused.length,
            retried_until_accepted: {
              posts,
              all_accepted_s: round(allAcceptedS, 1),
              final_statuses: statuses(final),
              distinct_items: new Set(final.map((a) => a.id)).size,
              drafted: everyView.filter((s) => s === 'awaiting review').length,
            },
          };
        } finally {
          await stopServer(server);
        }
      })();

  return {
    machine: { cpus: cpus().length, loadavg_1m: round(loadavg()[0], 2), node: process.version },
    intake,
    drafting,
    past_capacity: pastCapacity,
  };
}
