import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFeedbackAgent, type ScoredReply } from '../../../shared/agent/feedback-agent';
import { createLlmPolicy } from '../../../shared/agent/llm-policy';
import { Runner } from '../../../shared/agent/runner';
import { createGovernancePipeline } from '../../../shared/governance';
import { InMemoryLightningStore } from '../../../shared/store/memory';

// llama.cpp / Ollama do not run here, so a loopback server speaks the one endpoint the policy uses
// (POST /v1/chat/completions) and records what it was sent; the HTTP path itself is real.

const REPLY =
  'Thank you for asking about the glossary. The glossary page currently explains each term, and you can ' +
  'search it from the menu. Tractatus is a research prototype, so the glossary is preliminary and still ' +
  'growing; we have added your question to the documentation backlog so the next revision covers it. ' +
  'If a specific term is missing, telling us which one would help. Thanks again for writing.';

let server: Server;
let url: string;
const requests: { auth: string | undefined; body: Record<string, unknown> }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => {
      if (req.url !== '/v1/chat/completions') {
        res.writeHead(404).end('{}');
        return;
      }
      const body = JSON.parse(raw);
      requests.push({ auth: req.headers.authorization, body });
      if (body.model === 'broken') {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: ` ${REPLY} ` } }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('OpenAI-compatible LLM policy', () => {
  it('sends one chat completion per sample with the prompt, model, key and sampling settings', async () => {
    requests.length = 0;
    const policy = createLlmPolicy({ endpoint: `${url}/`, model: 'local-model', apiKey: 'k' });
    const out = await policy.draft(['prompt A', 'prompt B'], 2, { temperature: 0.3, maxTokens: 64, seed: 5 });
    expect(policy.id).toBe('llm:local-model');
    expect(out.map((g) => g.map((r) => r.text))).toEqual([
      [REPLY, REPLY],
      [REPLY, REPLY],
    ]);
    expect(requests).toHaveLength(4);
    expect(requests[0].auth).toBe('Bearer k');
    expect(requests[0].body).toMatchObject({ model: 'local-model', temperature: 0.3, max_tokens: 64 });
    const users = requests.map((r) => (r.body.messages as { role: string; content: string }[])[1].content);
    expect(users.sort()).toEqual(['prompt A', 'prompt A', 'prompt B', 'prompt B']);
  });

  it('reports a failing endpoint with its status', async () => {
    const policy = createLlmPolicy({ endpoint: url, model: 'broken' });
    await expect(policy.draft(['p'], 1)).rejects.toThrow(/answered 500/);
  });

  it('serves the feedback agent through an `llm` resource', async () => {
    const store = new InMemoryLightningStore();
    await store.addResources({ llm: { resource_type: 'llm', endpoint: url, model: 'local-model' } });
    await store.enqueueRollouts([
      { input: { id: 'q', text: 'Where is the glossary?', category: 'content-gap' } },
    ]);
    const scored: ScoredReply[] = [];
    const agent = createFeedbackAgent({
      governance: createGovernancePipeline(),
      group: 2,
      onReply: (s) => scored.push(s),
    });
    const stats = await new Runner({ store, agent, stopWhenEmpty: true }).run();
    expect(stats.succeeded).toBe(1);
    expect(scored.map((s) => s.storedText)).toEqual([REPLY, REPLY]);
    expect(scored[0].reward.primary).toBeGreaterThan(0.8);
  });
});
