// How a (prompt, reply) pair becomes token ids, in ONE place, so SFT, sampling and the RL loss all see
// exactly the same context:
//
//   <|bos|> prompt-tokens          (the prompt ends with "\nReply:")
//   " reply"-tokens <|eos|>        (the completion; the loss covers it and nothing else)
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

/** `[bos, ...prompt]`, cut from the middle to at most `maxTokens` tokens. */
export function encodePrompt(tokenizer: PolicyTokenizer, prompt: string, maxTokens: number): number[] {
  const ids = [tokenizer.bosId, ...tokenizer.encode(prompt)];
  if (ids.length <= maxTokens) return ids;
  // Keep a quarter from the start (bos, category, sentiment, opening words) and the rest from the end.
  const head = Math.floor(maxTokens / 4);
  return [...ids.slice(0, head), ...ids.slice(ids.length - (maxTokens - head))];
}

/** The completion tokens of `reply`: a leading space (the prompt ends with "Reply:") and eos. */
export function encodeReply(tokenizer: PolicyTokenizer, reply: string): number[] {
  return [...tokenizer.encode(` ${reply.trim()}`), tokenizer.eosId];
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
