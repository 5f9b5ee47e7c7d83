import type { DraftedReply, DraftOptions, ReplyPolicy } from './policy';

// A ReplyPolicy over an OpenAI-compatible chat endpoint (llama.cpp's server, Ollama, vLLM), for users
// who want to trace a local model through the same agent. It is not trainable: no token ids come
// back, so its rollouts serve evaluation and data collection, not the RL update.

export interface LlmPolicyOptions {
  /** Base URL, e.g. http://127.0.0.1:8080/v1 (the `/chat/completions` path is appended). */
  endpoint: string;
  model: string;
  apiKey?: string | null;
  /** Injected so tests and workers can supply their own; defaults to the global fetch. */
  fetch?: typeof fetch;
  systemPrompt?: string;
}

const DEFAULT_SYSTEM_PROMPT =
  'You answer visitor feedback for a research project. Reply in 50 to 150 words, acknowledge the specific ' +
  'feedback, match its tone, be honest that the project is a research prototype, and never promise or ' +
  'overstate anything.';

export function createLlmPolicy(options: LlmPolicyOptions): ReplyPolicy {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const url = `${options.endpoint.replace(/\/+$/, '')}/chat/completions`;
  return {
    id: `llm:${options.model}`,
    async draft(prompts: string[], samplesPerPrompt: number, draftOptions: DraftOptions = {}) {
      const one = async (prompt: string, index: number): Promise<DraftedReply> => {
        const response = await doFetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
          },
          body: JSON.stringify({
            model: options.model,
            messages: [
              { role: 'system', content: options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT },
              { role: 'user', content: prompt },
            ],
            temperature: draftOptions.temperature ?? 0.8,
            max_tokens: draftOptions.maxTokens ?? 256,
            ...(draftOptions.seed !== undefined ? { seed: draftOptions.seed + index } : {}),
          }),
          signal: draftOptions.signal,
        });
        if (!response.ok) {
          throw new Error(`LLM endpoint ${url} answered ${response.status} ${response.statusText}`);
        }
        const body = (await response.json()) as { choices?: { message?: { content?: unknown } }[] };
        const content = body.choices?.[0]?.message?.content;
        if (typeof content !== 'string') throw new Error(`LLM endpoint ${url} returned no message content`);
        return { text: content.trim() };
      };
      return Promise.all(
        prompts.map((prompt) =>
          Promise.all(Array.from({ length: samplesPerPrompt }, (_, g) => one(prompt, g))),
        ),
      );
    },
  };
}
