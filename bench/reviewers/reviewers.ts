// Simulated reviewers, for MEASUREMENT ONLY (issue 21): each has a hidden preference written as plain
// code over the reply text, so a bench can produce reviews of drafts (approve / edit / reject) and judge
// held-out win rates without a person. The product never imports this folder (a test checks it): a
// policy trained on these reviews must learn the preference from the decisions, not from this code.
//
// Each reviewer is deterministic and pure: `score(reply, feedback)` (higher is better, 0–1), the
// `threshold` a draft must reach to be approved as it is, an optional `edit` (the reviewer's own fix,
// which applies its preference), and the reason it gives when it rejects every draft. The three
// preferences are deliberately different from each other and from the heuristic reward's terms
// (shared/agent/reward.ts), which they do not read.

export interface SimulatedReviewer {
  name: string;
  /** The hidden preference, in words (for reports, never shown to a policy). */
  preference: string;
  /** Higher is better, in [0, 1]. `feedback` is the (redacted) feedback the reply answers. */
  score(reply: string, feedback: string): number;
  /** A draft is approved as it is only when its score reaches this. */
  threshold: number;
  /** The reviewer's edit of a draft that applies its preference, or null when it has none to make. */
  edit(reply: string, feedback: string): string | null;
  /** Why it rejects an item none of whose drafts (nor its edit) is good enough. */
  rejectReason: string;
}

const WORD = /[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu;
export const words = (text: string): string[] => text.match(WORD) ?? [];

/** Sentences: split after . ! ? (and line breaks); empty pieces dropped. */
export function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim())
    .filter((s) => words(s).length > 0);
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

// ── 1. Wants a concrete next step ─────────────────────────────────────────────────────────────────────

/**
 * Someone commits to something ahead: "we will", "I'll", "I have" (passed it on), "next", "by Friday".
 * "We have added this to a list" is what was done, not what happens next, so a bare "we have" is not one.
 */
const COMMITMENT =
  /\b(we will|we'll|i will|i'll|i have|i've|we are going to|our team will|will be|next|by (monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|tonight|the end of|end of|next week))\b/i;
/** ... to do something concrete. */
const ACTION_VERB =
  /\b(fix(ed|ing)?|send|sent|look(ed|ing)? into|investigat\w*|check(ed|ing)?|updat\w*|review(ed|ing)?|contact(ed|ing)?|follow(ed|ing)? up|repl(y|ied)|shar(e|ed|ing)|add(ed|ing)?|chang(e|ed|ing)|forward(ed|ing)?|pass(ed|ing)? (it |this )?on|escalat\w*|test(ed|ing)?|releas\w*|ship(ped|ping)?|refund(ed|ing)?|call(ed|ing)?|email(ed|ing)?|writ(e|ing)|restor\w*|resolv\w*|correct(ed|ing)?|remov(e|ed|ing)|repair(ed|ing)?)\b/i;

export function nextStepSentences(reply: string): string[] {
  return sentences(reply).filter((s) => COMMITMENT.test(s) && ACTION_VERB.test(s));
}

export const nextStepReviewer: SimulatedReviewer = {
  name: 'next-step',
  preference:
    'wants a concrete next step: a sentence where someone commits ("we will", "I have", "next", "by Friday") to an action (fix, send, look into, update, ...)',
  score(reply) {
    if (words(reply).length < 5) return 0;
    if (nextStepSentences(reply).length > 0) return 1;
    // A promise without an action ("we will be in touch") is half a next step.
    return sentences(reply).some((s) => COMMITMENT.test(s)) ? 0.5 : 0.2;
  },
  threshold: 1,
  edit(reply) {
    if (nextStepSentences(reply).length > 0 || words(reply).length < 5) return null;
    return `${reply.trim()} We will look into this and send you an update by Friday.`;
  },
  rejectReason: 'no draft says what happens next',
};

// ── 2. Wants it short ──────────────────────────────────────────────────────────────────────────────────

export const BRIEF_LIMIT = 90;
/** At or under this many words a reply is as short as this reviewer cares about. */
export const BRIEF_SHORT = 40;

export const briefReviewer: SimulatedReviewer = {
  name: 'brief',
  preference: `wants no more than ~${BRIEF_LIMIT} words and, among those, the shorter (down to ${BRIEF_SHORT}); every word beyond ${BRIEF_LIMIT} costs more, and a reply of a few words says nothing`,
  score(reply) {
    const n = words(reply).length;
    if (n < 8) return (n / 8) * 0.5;
    if (n <= BRIEF_SHORT) return 1;
    // 1 at BRIEF_SHORT words, 0.8 at the limit: a gentle preference for the shorter of two fine replies ...
    if (n <= BRIEF_LIMIT) return 1 - (0.2 * (n - BRIEF_SHORT)) / (BRIEF_LIMIT - BRIEF_SHORT);
    // ... and a steep one past the limit: 0 at 60 words over.
    return clamp01(0.8 * (1 - (n - BRIEF_LIMIT) / 60));
  },
  threshold: 0.8,
  edit(reply) {
    if (words(reply).length <= BRIEF_LIMIT) return null;
    // Keep whole sentences while they fit.
    const kept: string[] = [];
    let n = 0;
    for (const s of sentences(reply)) {
      const w = words(s).length;
      if (n + w > BRIEF_LIMIT) break;
      kept.push(s);
      n += w;
    }
    return n >= 8 ? kept.join(' ') : null;
  },
  rejectReason: 'every draft is too long',
};

// ── 3. Dislikes hedging piled on hedging ───────────────────────────────────────────────────────────────

/** Hedge words and the hedging phrases a small policy repeats ("preliminary", "we cannot promise"). */
const HEDGE =
  /\b(might|perhaps|possibly|maybe|may|could|probably|seems?|somewhat|likely|preliminary|unclear|cannot promise|can't promise|not sure|we think|we believe|as far as we know|it is possible)\b/gi;
export const hedges = (sentence: string): number => sentence.match(HEDGE)?.length ?? 0;

export const plainSpokenReviewer: SimulatedReviewer = {
  name: 'plain-spoken',
  preference:
    'dislikes hedging piled on hedging: a sentence with two or more of "might", "perhaps", "possibly", "may", "could", "preliminary", "we cannot promise", ... costs a lot, each hedge a little',
  score(reply) {
    const all = sentences(reply);
    if (all.length === 0 || words(reply).length < 5) return 0;
    const counts = all.map(hedges);
    const piled = counts.filter((c) => c >= 2).length;
    const total = counts.reduce((a, b) => a + b, 0);
    return clamp01(1 - 0.5 * piled - 0.1 * total);
  },
  threshold: 0.8,
  edit(reply) {
    const all = sentences(reply);
    const kept = all.filter((s) => hedges(s) < 2);
    if (kept.length === all.length || words(kept.join(' ')).length < 5) return null;
    return kept.join(' ');
  },
  rejectReason: 'the drafts hedge instead of saying anything',
};

export const REVIEWERS: readonly SimulatedReviewer[] = [nextStepReviewer, briefReviewer, plainSpokenReviewer];
