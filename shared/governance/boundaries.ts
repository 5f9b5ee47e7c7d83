import { isNegated } from './negation';
import { compileRuleSet, DEFAULT_RULE_SET } from './rules';
import { indexText, nonEmptyMatches, sentenceAt } from './text';
import type { BoundaryFinding, RuleSet } from './types';

// The Tractatus values boundaries: feedback asking the system to decide values, purpose, meaning
// or someone's life choices is answered by a person. One finding per boundary (the first match).

export function checkBoundaries(text: string, ruleSet: RuleSet = DEFAULT_RULE_SET): BoundaryFinding[] {
  const compiled = compileRuleSet(ruleSet);
  const indexed = indexText(text);
  const findings: BoundaryFinding[] = [];
  for (const { rule, matchers } of compiled.boundaries) {
    let first: { start: number; match: string } | undefined;
    for (const matcher of matchers) {
      for (const m of nonEmptyMatches(matcher, text)) {
        // "I'm not asking you to decide our mission" does not cross the boundary.
        if (isNegated(indexed, sentenceAt(indexed.sentences, m.index), m.index, compiled)) continue;
        if (!first || m.index < first.start) first = { start: m.index, match: m[0] };
        break;
      }
    }
    if (first) findings.push({ boundary: rule.boundary, match: first.match });
  }
  return findings;
}
