import type { CompiledRuleSet } from './rules';
import { clauseStart, type IndexedText, type Span, wordAt, wordsBetween } from './text';

/**
 * True when the words shortly before `start`, within the same clause, negate or disclaim what
 * follows: "we cannot guarantee", "it is not production-ready", "no system is 100% secure".
 * A word ending in n't counts as a cue as well; cues of several words match as phrases.
 * Words come from the text's word index and each word is classified once per text, so a check costs
 * the same however many matches a text has.
 */
export function isNegated(
  indexed: IndexedText,
  sentence: Span,
  start: number,
  compiled: CompiledRuleSet,
): boolean {
  const from = clauseStart(indexed, sentence, start);
  const [first, end] = wordsBetween(indexed, from, start);
  const windowStart = Math.max(first, end - compiled.ruleSet.negationWindow);
  // The word just before `start` may run past it (a pattern without a word boundary): read it cut.
  const cut = end > windowStart && indexed.words.ends[end - 1] > start;
  const whole = cut ? end - 1 : end;
  const cues = cueFlags(indexed, compiled);
  for (let i = windowStart; i < whole; i++) {
    const flag = cueFlag(cues, indexed, compiled, i);
    if (flag === CUE) return true;
    // A phrase cue ("far from") must end before `start`.
    if (flag > CUE && i + flag - CUE <= whole) return true;
  }
  if (cut) {
    const w = wordAt(indexed, end - 1, start);
    if (compiled.negationCues.has(w) || w.endsWith("n't")) return true;
  }
  return false;
}

/** Per word: 0 not yet classified, NONE, CUE, or CUE + n for a phrase cue of n words starting there. */
const NONE = 1;
const CUE = 2;

const flagsByText = new WeakMap<IndexedText, { compiled: CompiledRuleSet; flags: Uint8Array }>();

function cueFlags(indexed: IndexedText, compiled: CompiledRuleSet): Uint8Array {
  let entry = flagsByText.get(indexed);
  if (!entry || entry.compiled !== compiled) {
    entry = { compiled, flags: new Uint8Array(indexed.words.starts.length) };
    flagsByText.set(indexed, entry);
  }
  return entry.flags;
}

function cueFlag(flags: Uint8Array, indexed: IndexedText, compiled: CompiledRuleSet, i: number): number {
  if (flags[i] === 0) flags[i] = classify(indexed, compiled, i);
  return flags[i];
}

function classify(indexed: IndexedText, compiled: CompiledRuleSet, i: number): number {
  const w = wordAt(indexed, i);
  if (compiled.negationCues.has(w) || w.endsWith("n't")) return CUE;
  for (const cue of compiled.phraseCues) if (phraseAt(indexed, i, cue)) return CUE + cue.length;
  return NONE;
}

function phraseAt(indexed: IndexedText, i: number, cue: string[]): boolean {
  if (i + cue.length > indexed.words.starts.length) return false;
  for (let k = 0; k < cue.length; k++) if (wordAt(indexed, i + k) !== cue[k]) return false;
  return true;
}
