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
//   Key words: contact, form, spins        (only with `keyWords`)
//   Reply:
//
// The feedback text is the governance pipeline's REDACTED text: the policy never sees PII, so it can
// never learn to copy it.
//
// Why an optional key-words line: a reply should name what the visitor wrote about, in their words. A
// small policy does not find those words inside free text it was never trained on (it names subjects it
// memorised instead); given them on a line of their own, in a fixed place, the copy head copies them
// (docs/training.md, "Key words in the prompt"). They are the first content words the reward's
// acknowledgement term looks for, so the line adds no knowledge the reward does not have. A policy is
// trained and sampled with or without it, never both: its config records which (`promptKeyWords`).

/** Everything after this marker is the reply; a trainer computes its loss from here on. */
export const REPLY_MARKER = '\nReply:';
/** Introduces the key-words line. */
export const KEYWORDS_MARKER = '\nKey words:';
/** How many key words the prompt lists (the acknowledgement term pays in full for three). */
export const PROMPT_KEYWORDS = 3;

export interface PromptFormat {
  /** Add the `Key words:` line (default false: the format every plain policy was trained on). */
  keyWords?: boolean;
}

/** The key words of (redacted) feedback, in order of appearance: its first content words. */
export function promptKeywords(redactedFeedback: string): string[] {
  return feedbackKeywords(redactedFeedback).slice(0, PROMPT_KEYWORDS);
}

export function buildFeedbackPrompt(task: FeedbackTask, verdict: Verdict, format: PromptFormat = {}): string {
  const category = task.category ?? 'unknown';
  const text = verdict.redacted.replace(/\s+/g, ' ').trim();
  const keyWords = format.keyWords ? `${KEYWORDS_MARKER} ${promptKeywords(verdict.redacted).join(', ')}` : '';
  return `Category: ${category}\nSentiment: ${verdict.sentiment.label}\nFeedback: ${text}${keyWords}${REPLY_MARKER}`;
}

/** Which format a corpus's prompts are in; mixed corpora are an error (a policy learns one format). */
export function promptFormatOf(prompts: readonly string[]): Required<PromptFormat> {
  const withKeyWords = prompts.filter((p) => p.includes(KEYWORDS_MARKER)).length;
  if (withKeyWords > 0 && withKeyWords < prompts.length)
    throw new Error(
      `${withKeyWords} of ${prompts.length} prompts have a "Key words:" line and the rest do not; ` +
        'a corpus must use one prompt format',
    );
  return { keyWords: prompts.length > 0 && withKeyWords === prompts.length };
}
