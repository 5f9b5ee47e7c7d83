import type { PiiFinding, PiiType } from '../types';

// Presidio's shape: a recognizer proposes typed spans with a confidence; words near a span that
// speak to its type ("call", "email", "IBAN") raise the confidence; a resolver picks among overlaps.

/** `claimed`: findings of the recognizers that ran before (checksum-validated types run first). */
export type Recognizer = {
  type: PiiType;
  find: (text: string, claimed: readonly PiiFinding[]) => PiiFinding[];
};

/** How far before a span context words are looked for, in characters. */
const CONTEXT_WINDOW = 48;
/** Presidio's default context boost. */
export const CONTEXT_BOOST = 0.35;

/** The lower-cased words within CONTEXT_WINDOW characters before `start`. */
export function wordsBefore(text: string, start: number, window = CONTEXT_WINDOW): string[] {
  const slice = text.slice(Math.max(0, start - window), start).toLowerCase();
  return slice.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

/** Raises `score` by CONTEXT_BOOST when one of `contextWords` appears shortly before the span. */
export function withContext(
  text: string,
  start: number,
  score: number,
  contextWords: ReadonlySet<string>,
): number {
  const boosted = wordsBefore(text, start).some((w) => contextWords.has(w));
  return boosted ? Math.min(1, score + CONTEXT_BOOST) : score;
}

export function finding(type: PiiType, start: number, end: number, score: number): PiiFinding {
  return { type, start, end, score: Math.round(score * 100) / 100 };
}

/** True when the character is a letter or digit (used for hand-rolled word boundaries). */
export function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[\p{L}\p{N}_]/u.test(ch);
}
