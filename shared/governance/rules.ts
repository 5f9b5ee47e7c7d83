import tractatusV1 from './rules/tractatus.v1.json';
import { termsPattern } from './text';
import { type BoundaryRule, type ComplianceRule, RuleSet } from './types';

// Rule sets are JSON data validated by zod; compiling them into regexes happens once per rule set.

export type CompiledRule = {
  rule: ComplianceRule;
  matchers: RegExp[];
  exemptions: RegExp[];
};

export type CompiledBoundary = { rule: BoundaryRule; matchers: RegExp[] };

export type CompiledRuleSet = {
  ruleSet: RuleSet;
  rules: CompiledRule[];
  boundaries: CompiledBoundary[];
  /** Single-word negation cues. */
  negationCues: Set<string>;
  /** Negation cues of several words ("far from"), as their words. */
  phraseCues: string[][];
};

export class RuleSetError extends Error {}

/** Validates a rule set (parsed JSON), with a readable error naming the offending field. */
export function loadRuleSet(data: unknown): RuleSet {
  const parsed = RuleSet.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new RuleSetError(`invalid rule set: ${issues.join('; ')}`);
  }
  const ids = parsed.data.rules.map((r) => r.id);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate) throw new RuleSetError(`invalid rule set: duplicate rule id '${duplicate}'`);
  return parsed.data;
}

/** The built-in rule set: inst_016, inst_017, inst_018 and the four values boundaries. */
export const DEFAULT_RULE_SET: RuleSet = loadRuleSet(tractatusV1);

function matchersOf(rule: { terms: string[]; patterns: string[] }): RegExp[] {
  const matchers = rule.patterns.map((p) => new RegExp(p, 'giu'));
  const terms = termsPattern(rule.terms);
  return terms ? [terms, ...matchers] : matchers;
}

const compiledCache = new WeakMap<RuleSet, CompiledRuleSet>();

export function compileRuleSet(ruleSet: RuleSet): CompiledRuleSet {
  const cached = compiledCache.get(ruleSet);
  if (cached) return cached;
  const cues = ruleSet.negationCues.map((c) =>
    c.toLowerCase().replace(/’/g, "'").trim().replace(/\s+/g, ' '),
  );
  const compiled: CompiledRuleSet = {
    ruleSet,
    rules: ruleSet.rules.map((rule) => ({
      rule,
      matchers: matchersOf(rule),
      exemptions: rule.exemptWhenSentenceMatches.map((p) => new RegExp(p, 'iu')),
    })),
    boundaries: ruleSet.boundaries.map((rule) => ({ rule, matchers: matchersOf(rule) })),
    negationCues: new Set(cues.filter((c) => !c.includes(' '))),
    phraseCues: cues.filter((c) => c.includes(' ')).map((c) => c.split(' ')),
  };
  compiledCache.set(ruleSet, compiled);
  return compiled;
}
