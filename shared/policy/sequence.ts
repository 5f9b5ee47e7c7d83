// How a (prompt, reply) pair becomes token ids, in ONE place, so SFT, sampling and the RL loss all see
// exactly the same context. A tokenizer without a chat template (edgelight's own, GPT-2's):
//
//   <|bos|> prompt-tokens          (the prompt ends with "\nReply:"; no bos when the model has none)
//   " reply"-tokens <|eos|>        (the completion; the loss covers it and nothing else)
//
// With a chat template (a pretrained chat model's), the prompt is the template rendered for one user
// message with the assistant turn opened, and the reply ends with the token that closes that turn:
//
//   template([{user: prompt}], add_generation_prompt)-tokens     e.g. "<|im_start|>user\n…<|im_end|>\n<|im_start|>assistant\n"
//   reply-tokens <turn end>                                      e.g. "…<|im_end|>"
//
// Long feedback is cut from the middle of the prompt: the header (category, sentiment) and the end
// ("…\nReply:") are what the reply depends on most, and the completion must keep room to be written.
import type { PolicyTokenizer } from './tokenizer';

/** The completion budget the policy is sampled with; prompts get the rest of the context. */
export const DEFAULT_MAX_NEW_TOKENS = 160;
/** A prompt is never cut below this many tokens, even if that shortens the completion budget. */
const MIN_PROMPT_TOKENS = 32;

export function promptBudget(blockSize: number, maxNewTokens: number): number {
  return Math.max(MIN_PROMPT_TOKENS, blockSize - maxNewTokens);
}

/** The prompt's tokens (above), cut from the middle to at most `maxTokens` tokens. */
export function encodePrompt(tokenizer: PolicyTokenizer, prompt: string, maxTokens: number): number[] {
  const ids = tokenizer.chatTemplate
    ? tokenizer.encode(
        tokenizer.applyChatTemplate([{ role: 'user', content: prompt }], { addGenerationPrompt: true }),
      )
    : [...(tokenizer.bosId === null ? [] : [tokenizer.bosId]), ...tokenizer.encode(prompt)];
  if (ids.length <= maxTokens) return ids;
  // Keep a quarter from the start (bos, category, sentiment, opening words) and the rest from the end.
  const head = Math.floor(maxTokens / 4);
  return [...ids.slice(0, head), ...ids.slice(ids.length - (maxTokens - head))];
}

/** The completion tokens of `reply` and the token that ends it; a leading space after "Reply:". */
export function encodeReply(tokenizer: PolicyTokenizer, reply: string): number[] {
  const text = tokenizer.chatTemplate ? reply.trim() : ` ${reply.trim()}`;
  return [...tokenizer.encode(text), tokenizer.eosId];
}

/** The reply text of sampled completion ids: up to eos, special tokens dropped, the leading space trimmed. */
export function decodeReply(tokenizer: PolicyTokenizer, completion: readonly number[]): string {
  const end = completion.indexOf(tokenizer.eosId);
  return tokenizer
    .decode(end < 0 ? completion : completion.slice(0, end), { skipSpecialTokens: true })
    .trim();
}

/**
 * A supervised pair within `blockSize + 1` tokens: the prompt cut to its budget, then the reply (cut
 * at the end if it still does not fit, in which case it has no eos: a too-long reply teaches nothing
 * about stopping). The shape matches shared/train/batch.ts `SequencePair`.
 */
export function encodeSftPair(
  tokenizer: PolicyTokenizer,
  prompt: string,
  reply: string,
  blockSize: number,
  maxNewTokens = DEFAULT_MAX_NEW_TOKENS,
): { promptIds: number[]; completionIds: number[] } {
  const promptIds = encodePrompt(tokenizer, prompt, promptBudget(blockSize, maxNewTokens));
  const completionIds = encodeReply(tokenizer, reply).slice(0, blockSize + 1 - promptIds.length);
  return { promptIds, completionIds };
}
