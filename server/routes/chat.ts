// The OpenAI-compatible routes (mounted under /v1, behind the server's token like every /v1 route):
//   POST /chat/completions               a completion, or SSE chunks with `stream: true`
//   POST /chat/completions/{id}/reward   a reward for one choice of a recorded completion
//   GET  /models, GET /models/{model}    `served` and the checkpoints a client may name
// Errors leave in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, so OpenAI clients
// raise them with the message; a malformed body is a 400 (OpenAI's status for it), never a 500.
import type { Context } from 'hono';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { z } from 'zod';
import {
  type ChatChoice,
  type ChatCompletion,
  ChatCompletionRequest,
  ChatError,
  ChatRewardRequest,
  ChatService,
  type ChatServingOptions,
  type TokenLogprob,
} from '../serving/chat';
import { ApiError } from '../middleware/errors';
import { readJson } from '../middleware/validate';

/** readJson, with its refusals turned into OpenAI's shape (a wrong shape is a 400 naming the field). */
async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  try {
    return await readJson(c, schema);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const issue = Array.isArray(error.details)
      ? (error.details[0] as { loc?: (string | number)[] } | undefined)
      : undefined;
    const param = issue?.loc ? issue.loc.slice(1).join('.') || null : null;
    throw new ChatError(error.status === 415 ? 415 : 400, error.message, param, error.code);
  }
}

function answerError(c: Context, error: unknown): Response {
  if (error instanceof ChatError) return c.json(error.toJSON(), error.status);
  throw error;
}

type Chunk = {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: Array<{
    index: number;
    delta: { role?: 'assistant'; content?: string };
    logprobs: { content: TokenLogprob[]; refusal: null } | null;
    finish_reason: ChatChoice['finish_reason'] | null;
  }>;
  usage?: ChatCompletion['usage'] | null;
};

/**
 * A streamed completion: the status is decided before the first byte (a bad model or body is a JSON
 * error), then `data: {chunk}` lines as the policy decodes, the finish reasons once the call is
 * recorded, the usage when asked, and `data: [DONE]`.
 */
async function streamCompletion(c: Context, service: ChatService, body: ChatCompletionRequest) {
  const lines: string[] = [];
  let wake: () => void = () => undefined;
  let finished = false;
  const push = (line: string) => {
    lines.push(line);
    wake();
  };
  const n = body.n ?? 1;
  const includeUsage = body.stream_options?.include_usage === true;
  let head: Omit<Chunk, 'choices' | 'usage'> | null = null;
  const chunk = (choices: Chunk['choices'], usage?: Chunk['usage']): string =>
    JSON.stringify({
      ...(head as Omit<Chunk, 'choices' | 'usage'>),
      choices,
      ...(includeUsage ? { usage: usage ?? null } : {}),
    } satisfies Chunk);

  const started = new Promise<void>((resolveStart, rejectStart) => {
    const completion = service.complete(body, {
      onStart: ({ id, model, created }) => {
        head = {
          id,
          object: 'chat.completion.chunk',
          created,
          model,
          system_fingerprint: `edgelight-${model.slice(0, 12)}`,
        };
        for (let index = 0; index < n; index++)
          push(
            chunk([
              { index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
            ]),
          );
        resolveStart();
      },
      onDelta: (index, content, logprobs) =>
        push(
          chunk([
            {
              index,
              delta: { content },
              logprobs: logprobs ? { content: logprobs, refusal: null } : null,
              finish_reason: null,
            },
          ]),
        ),
    });
    completion.then(
      (done) => {
        for (const choice of done.choices)
          push(
            chunk([{ index: choice.index, delta: {}, logprobs: null, finish_reason: choice.finish_reason }]),
          );
        if (includeUsage) push(chunk([], done.usage));
        push('[DONE]');
        finished = true;
        wake();
      },
      (error: unknown) => {
        rejectStart(error);
        // After the first chunk the status is sent: the error goes down the stream, as OpenAI's does.
        const shaped =
          error instanceof ChatError
            ? error
            : new ChatError(503, 'the completion failed; it was not recorded');
        if (head && !(error instanceof ChatError))
          console.error(`edgelight: chat completion ${head.id} failed: ${String(error)}`);
        push(JSON.stringify(shaped.toJSON()));
        finished = true;
        wake();
      },
    );
  });
  await started;

  return streamSSE(c, async (stream) => {
    for (;;) {
      const line = lines.shift();
      if (line !== undefined) {
        await stream.writeSSE({ data: line });
        continue;
      }
      if (finished) return;
      await new Promise<void>((resolveWake) => {
        wake = resolveWake;
      });
    }
  });
}

export function chatRoutes(options: ChatServingOptions): Hono {
  const service = new ChatService(options);
  const app = new Hono();

  app.post('/chat/completions', async (c) => {
    try {
      const body = await readBody(c, ChatCompletionRequest);
      if (body.stream) return await streamCompletion(c, service, body);
      return c.json(await service.complete(body));
    } catch (error) {
      return answerError(c, error);
    }
  });

  app.post('/chat/completions/:id/reward', async (c) => {
    try {
      const body = await readBody(c, ChatRewardRequest);
      return c.json(await service.attachReward(c.req.param('id'), body));
    } catch (error) {
      return answerError(c, error);
    }
  });

  app.get('/models', async (c) => c.json({ object: 'list', data: await service.listModels() }));

  app.get('/models/:model', async (c) => {
    try {
      const id = c.req.param('model');
      const model = (await service.listModels()).find((m) => m.id === id);
      if (model) return c.json(model);
      await service.resolveModel(id); // a checkpoint in the blob folder the store never published
      return c.json({ id, object: 'model', created: 0, owned_by: 'edgelight' });
    } catch (error) {
      return answerError(c, error);
    }
  });

  return app;
}
