import { type RuleBudget, RuleTimer } from './budget';
import { isNegated } from './negation';
import { type CompiledRuleSet, compileRuleSet, DEFAULT_RULE_SET } from './rules';
import { type IndexedText, indexText, nonEmptyMatches, type Span, sentenceAt } from './text';
import type { RuleSet, Violation } from './types';

// Compliance rules (inst_016 statistics, inst_017 absolute assurance, inst_018 maturity claims)
// find their terms and patterns; a match is lifted when its sentence carries an exemption (a
// citation) or a negation cue precedes it in the same clause. The verdict's `violations` keep
// the contract shape; the extra fields here feed reasons and suggestions.

export type ComplianceFinding = Violation & {
  severity: 'low' | 'medium' | 'high';
  description: string;
  alternatives: string[];
};

function isTaken(taken: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (taken[i]) return true;
  return false;
}

export type RuleCheckOptions = {
  /** The text's index when the caller already built it (the pipeline shares one across stages). */
  indexed?: IndexedText;
  /** A time budget per rule; without one, every rule reads the whole text. */
  budget?: RuleBudget;
};

export function checkCompliance(
  text: string,
  ruleSet: RuleSet = DEFAULT_RULE_SET,
  options: RuleCheckOptions = {},
): ComplianceFinding[] {
  const compiled: CompiledRuleSet = compileRuleSet(ruleSet);
  const indexed = options.indexed ?? indexText(text);
  const findings: ComplianceFinding[] = [];
  for (const { rule, matchers, exemptions } of compiled.rules) {
    const timer = new RuleTimer(options.budget, `rule ${rule.id}`);
    // Characters already taken by this rule's findings (matchers may overlap), and whether each sentence
    // is exempt, tested once per sentence: both were rescans per match (quadratic on a long sentence).
    const taken = new Uint8Array(text.length);
    const exempt = new Map<Span, boolean>();
    for (const matcher of matchers) {
      if (timer.stopped) break;
      for (const m of nonEmptyMatches(matcher, text)) {
        if (timer.spent()) break;
        const start = m.index;
        const end = start + m[0].length;
        if (isTaken(taken, start, end)) continue;
        const sentence = sentenceAt(indexed.sentences, start);
        let isExempt = exempt.get(sentence);
        if (isExempt === undefined) {
          const sentenceText = text.slice(sentence.start, sentence.end);
          isExempt = exemptions.some((e) => e.test(sentenceText));
          exempt.set(sentence, isExempt);
        }
        if (isExempt) continue;
        if (rule.negatable && isNegated(indexed, sentence, start, compiled)) continue;
        taken.fill(1, start, end);
        findings.push({
          rule: rule.id,
          match: m[0],
          start,
          end,
          severity: rule.severity,
          description: rule.description,
          alternatives: rule.alternatives,
        });
      }
    }
    timer.finish();
  }
  return findings.sort((a, b) => a.start - b.start || a.rule.localeCompare(b.rule));
}

/** The contract shape (`{rule, match, start, end}`) of compliance findings. */
export function toViolations(findings: ComplianceFinding[]): Violation[] {
  return findings.map(({ rule, match, start, end }) => ({ rule, match, start, end }));
}
