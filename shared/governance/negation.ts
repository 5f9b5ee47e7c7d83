import type { CompiledRuleSet } from './rules';
import { clauseStart, type IndexedText, lastWords, type Span } from './text';

/**
 * True when the words shortly before `start`, within the same clause, negate or disclaim what
 * follows: "we cannot guarantee", "it is not production-ready", "no system is 100% secure".
 * A word ending in n't counts as a cue as well; cues of several words match as phrases.
 */
export function isNegated(
  indexed: IndexedText,
  sentence: Span,
  start: number,
  compiled: CompiledRuleSet,
): boolean {
  const from = clauseStart(indexed, sentence, start);
  const words = lastWords(indexed.text, compiled.ruleSet.negationWindow, from, start);
  if (words.some((w) => compiled.negationCues.has(w) || w.endsWith("n't"))) return true;
  // Multi-word cues ("far from", "yet to") match as phrases within the same window.
  const window = ` ${words.join(' ')} `;
  for (const cue of compiled.phraseCues) if (window.includes(` ${cue} `)) return true;
  return false;
}
