// `npm run bench -- chat [--quick] [--presets=tiny,small] [--tokens=32]`
//
// /v1/chat/completions on the wasm backend, through the official `openai` client against a server in
// its own process (bench/_chat.ts): time to first token and completion tokens/s, for one client and for
// 8 concurrent clients, non-streaming and streaming. `tiny` is the shipped starter policy; `small` is a
// randomly initialised small-preset model (speed only). Per scenario:
//   ttft_ms     time from sending to the first content token (streaming), or to the whole answer
//               (non-streaming, where the first token arrives with the last): median and p90 over requests
//   tokens_per_s        completion tokens of all requests ÷ wall seconds of the scenario
//   tokens_per_cpu_s    the same ÷ the server process's CPU seconds (steadier on a shared machine)
// Generation is serialized per policy (a queue), so 8 clients share one decoder: throughput stays about
// that of one client while each client's wait grows with the queue.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';

const here = fileURLToPath(new URL('.', import.meta.url));

function flag(flags: string[], name: string): string | undefined {
  return flags.find((f) => f.startsWith(`--${name}=`))?.split('=')[1];
}

type ServerProcess = {
  url: string;
  model: string;
  cpuMicros: () => Promise<number>;
  stop: () => Promise<void>;
};

function startServer(dataDir: string, preset: string): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      [join(here, '../bin/tsx.mjs'), join(here, '_chat.ts'), dataDir, preset],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    child.once('exit', (code) => reject(new Error(`bench chat server exited with ${code}`)));
    let cpuWaiter: ((micros: number) => void) | null = null;
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      const cpu = /cpu (\d+)/.exec(text);
      if (cpu && cpuWaiter) cpuWaiter(Number(cpu[1]));
      const match = /listening (\S+) (\S+)/.exec(text);
      if (!match) return;
      resolve({
        url: match[1] as string,
        model: match[2] as string,
        cpuMicros: () =>
          new Promise<number>((done) => {
            cpuWaiter = done;
            child.stdin?.write('cpu\n');
          }),
        stop: () =>
          new Promise<void>((done) => {
            child.removeAllListeners('exit');
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

const FEEDBACK = [
  'The contact form spins forever after I press send.',
  'Thanks, the new getting-started guide is great!',
  'Search returns nothing for "pricing".',
  'Could you add a dark mode to the docs?',
  'The menu overlaps the logo on my phone.',
  'Your checkout page times out on mobile.',
  'Is there an API for exporting my data?',
  'The video on the home page does not play in Firefox.',
];

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** One request: its time to first token (ms) and completion tokens. */
async function request(client: OpenAI, model: string, i: number, maxTokens: number, stream: boolean) {
  const body = {
    model,
    messages: [{ role: 'user' as const, content: FEEDBACK[i % FEEDBACK.length] }],
    max_tokens: maxTokens,
    seed: i,
  };
  const start = performance.now();
  if (!stream) {
    const completion = await client.chat.completions.create(body);
    return { ttft: performance.now() - start, tokens: completion.usage?.completion_tokens ?? 0 };
  }
  let ttft = -1;
  let tokens = 0;
  const chunks = await client.chat.completions.create({
    ...body,
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const chunk of chunks) {
    if (ttft < 0 && chunk.choices.some((c) => c.delta.content)) ttft = performance.now() - start;
    if (chunk.usage) tokens = chunk.usage.completion_tokens;
  }
  return { ttft: ttft < 0 ? performance.now() - start : ttft, tokens };
}

async function scenario(
  server: ServerProcess,
  client: OpenAI,
  clients: number,
  perClient: number,
  maxTokens: number,
  stream: boolean,
) {
  const cpuBefore = await server.cpuMicros();
  const start = performance.now();
  const results = (
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const out = [];
        for (let r = 0; r < perClient; r++)
          out.push(await request(client, server.model, c * perClient + r, maxTokens, stream));
        return out;
      }),
    )
  ).flat();
  const wall = (performance.now() - start) / 1000;
  const cpu = ((await server.cpuMicros()) - cpuBefore) / 1e6;
  const tokens = results.reduce((n, r) => n + r.tokens, 0);
  const ttfts = results.map((r) => r.ttft);
  return {
    clients,
    stream,
    requests: results.length,
    completion_tokens: tokens,
    ttft_ms_p50: round(quantile(ttfts, 0.5)),
    ttft_ms_p90: round(quantile(ttfts, 0.9)),
    wall_s: round(wall, 2),
    server_cpu_s: round(cpu, 2),
    tokens_per_s: round(tokens / wall),
    tokens_per_cpu_s: round(tokens / cpu),
  };
}

export async function run(flags: string[]) {
  const quick = flags.includes('--quick');
  const presets = (flag(flags, 'presets') ?? 'tiny,small').split(',');
  const maxTokens = Number(flag(flags, 'tokens') ?? 32);
  const perClientSingle = quick ? 3 : 8;
  const perClientConcurrent = quick ? 1 : 2;
  const out: Record<string, unknown> = {
    backend: 'wasm',
    max_tokens: maxTokens,
    cores: cpus().length,
    loadavg: loadavg().map((l) => round(l, 2)),
    notes:
      'tiny: the shipped starter policy; small: randomly initialised (speed only). ttft of a non-streaming request is its whole latency.',
  };
  for (const preset of presets) {
    const dataDir = mkdtempSync(join(tmpdir(), `edgelight-bench-chat-${preset}-`));
    const server = await startServer(dataDir, preset);
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      await request(client, server.model, 0, 4, false); // warm: governance models, kernels
      const rows = [];
      for (const stream of [false, true]) {
        rows.push(await scenario(server, client, 1, perClientSingle, maxTokens, stream));
        rows.push(await scenario(server, client, 8, perClientConcurrent, maxTokens, stream));
      }
      out[preset] = { model: server.model, scenarios: rows };
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return out;
}
