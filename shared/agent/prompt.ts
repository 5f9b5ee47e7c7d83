import type { Verdict } from '../governance/types';
import { feedbackKeywords } from './reward';
import type { FeedbackTask } from './task';

// The one prompt format. The SFT corpus, the RL rollouts and evaluation all build prompts here, so
// the policy is trained and sampled on identical contexts. It is plain text on purpose: the policy's
// tokenizer is a small byte-level BPE trained on this very corpus, and markup would only spend tokens.
//
//   Category: website-bug
//   Sentiment: negative
//   Feedback: Your contact form just spins forever after I press send. …
//   Key words: contact, form, spins
//   Reply:
//
// The feedback text is the governance pipeline's REDACTED text: the policy never sees PII, so it can
// never learn to copy it.
//
// Why a key-words line: a reply should name what the visitor wrote about, in their words. A small
// policy does not find those words inside free text it was never trained on (it names subjects it
// memorised instead); given them on a line of their own, in a fixed place, it copies them (with the
// copy head; docs/training.md, "Key words in the prompt"). They are the first content words the
// reward's acknowledgement term looks for, so the line adds no knowledge the reward does not have.

/** Everything after this marker is the reply; a trainer computes its loss from here on. */
export const REPLY_MARKER = '\nReply:';
/** Introduces the key-words line; an SFT corpus without it was built for an older prompt format. */
export const KEYWORDS_MARKER = '\nKey words:';
/** How many key words the prompt lists (the acknowledgement term pays in full for three). */
export const PROMPT_KEYWORDS = 3;

/** The key words of (redacted) feedback, in order of appearance: the first content words. */
export function promptKeywords(redactedFeedback: string): string[] {
  return feedbackKeywords(redactedFeedback).slice(0, PROMPT_KEYWORDS);
}

export function buildFeedbackPrompt(task: FeedbackTask, verdict: Verdict): string {
  const category = task.category ?? 'unknown';
  const text = verdict.redacted.replace(/\s+/g, ' ').trim();
  const keywords = promptKeywords(verdict.redacted).join(', ');
  return `Category: ${category}\nSentiment: ${verdict.sentiment.label}\nFeedback: ${text}${KEYWORDS_MARKER} ${keywords}${REPLY_MARKER}`;
}
