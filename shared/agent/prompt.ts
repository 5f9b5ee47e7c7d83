import type { Verdict } from '../governance/types';
import type { FeedbackTask } from './task';

// The one prompt format. The SFT corpus, the RL rollouts and evaluation all build prompts here, so
// the policy is trained and sampled on identical contexts. It is plain text on purpose: the policy's
// tokenizer is a small byte-level BPE trained on this very corpus, and markup would only spend tokens.
//
// The feedback text is the governance pipeline's REDACTED text: the policy never sees PII, so it can
// never learn to copy it.

/** Everything after this marker is the reply; a trainer computes its loss from here on. */
export const REPLY_MARKER = '\nReply:';

export function buildFeedbackPrompt(task: FeedbackTask, verdict: Verdict): string {
  const category = task.category ?? 'unknown';
  const text = verdict.redacted.replace(/\s+/g, ' ').trim();
  return `Category: ${category}\nSentiment: ${verdict.sentiment.label}\nFeedback: ${text}${REPLY_MARKER}`;
}
