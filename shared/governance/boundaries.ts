import { RuleTimer } from './budget';
import type { RuleCheckOptions } from './compliance';
import { isNegated } from './negation';
import { compileRuleSet, DEFAULT_RULE_SET } from './rules';
import { indexText, nonEmptyMatches, sentenceAt } from './text';
import type { BoundaryFinding, RuleSet } from './types';

// The Tractatus values boundaries: feedback asking the system to decide values, purpose, meaning
// or someone's life choices is answered by a person. One finding per boundary (the first match).

export function checkBoundaries(
  text: string,
  ruleSet: RuleSet = DEFAULT_RULE_SET,
  options: RuleCheckOptions = {},
): BoundaryFinding[] {
  const compiled = compileRuleSet(ruleSet);
  const indexed = options.indexed ?? indexText(text);
  const findings: BoundaryFinding[] = [];
  for (const { rule, matchers } of compiled.boundaries) {
    const timer = new RuleTimer(options.budget, `boundary ${rule.boundary}`);
    let first: { start: number; match: string } | undefined;
    for (const matcher of matchers) {
      if (timer.stopped) break;
      for (const m of nonEmptyMatches(matcher, text)) {
        if (timer.spent()) break;
        // "I'm not asking you to decide our mission" does not cross the boundary.
        if (isNegated(indexed, sentenceAt(indexed.sentences, m.index), m.index, compiled)) continue;
        if (!first || m.index < first.start) first = { start: m.index, match: m[0] };
        break;
      }
    }
    timer.finish();
    if (first) findings.push({ boundary: rule.boundary, match: first.match });
  }
  return findings;
}
