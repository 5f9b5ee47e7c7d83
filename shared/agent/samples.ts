import type { Span } from '../store/types';
import { REPLY_ATTR, REPLY_OBJECT_TYPE } from './feedback-agent';
import { AGL_OBJECT, AGL_REWARD, ATTR, readReward } from './semconv';

// Rebuilds (prompt, completion, logprobs, reward) samples from a rollout's spans, as Agent
// Lightning's adapters rebuild triplets from traces. The RL algorithm reads the store through this,
// never through the agent: the reply span carries tokens and log-probabilities, the reward span with
// the same reply index carries the reward.

export interface ReplySample {
  rolloutId: string;
  attemptId: string;
  index: number;
  prompt: string;
  text: string;
  redacted: boolean;
  policyId: string | null;
  promptTokenIds: number[] | null;
  tokenIds: number[] | null;
  logprobs: number[] | null;
  /** `{ primary, length, tone, ... }`, or null when the reward span is missing. */
  reward: Record<string, number> | null;
}

const numbers = (v: unknown): number[] | null =>
  Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : null;

/** Samples of one attempt's spans, ordered by reply index. */
export function extractReplySamples(spans: readonly Span[]): ReplySample[] {
  const rewards = new Map<string, Record<string, number>>();
  for (const span of spans) {
    if (span.name !== AGL_REWARD) continue;
    const index = span.attributes[REPLY_ATTR.index];
    const reward = readReward(span);
    if (typeof index === 'number' && reward) rewards.set(`${span.attempt_id}:${index}`, reward);
  }
  const samples: ReplySample[] = [];
  for (const span of spans) {
    if (span.name !== AGL_OBJECT || span.attributes[ATTR.objectType] !== REPLY_OBJECT_TYPE) continue;
    const a = span.attributes;
    const index = a[REPLY_ATTR.index];
    if (typeof index !== 'number') continue;
    samples.push({
      rolloutId: span.rollout_id,
      attemptId: span.attempt_id,
      index,
      prompt: String(a[REPLY_ATTR.prompt] ?? ''),
      text: String(a[REPLY_ATTR.text] ?? ''),
      redacted: a[REPLY_ATTR.redacted] === true,
      policyId: typeof a[REPLY_ATTR.policyId] === 'string' ? (a[REPLY_ATTR.policyId] as string) : null,
      promptTokenIds: numbers(a[ATTR.promptTokenIds]),
      tokenIds: numbers(a[ATTR.responseTokenIds]),
      logprobs: numbers(a[ATTR.responseLogprobs]),
      reward: rewards.get(`${span.attempt_id}:${index}`) ?? null,
    });
  }
  return samples.sort((x, y) => x.attemptId.localeCompare(y.attemptId) || x.index - y.index);
}
