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

/** Validates a rule set's shape (parsed JSON), with a readable error naming the offending field. */
function parseRuleSet(data: unknown): RuleSet {
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

/** Rule sets whose patterns passed the linear-time check; only these are compiled. */
const vetted = new WeakSet<RuleSet>();

/**
 * Validates a rule set and refuses any pattern that can take super-linear time on long input
 * (regex-guard.ts), naming each with its path and why: the way a user's rule set reaches the pipeline.
 * Asynchronous because the analyser (scslre: ~110 ms to load, ~400 ms on its first patterns) is loaded
 * only when a rule set is; the built-in set is checked by a test instead of at every start-up.
 */
export async function loadRuleSet(data: unknown): Promise<RuleSet> {
  const ruleSet = parseRuleSet(data);
  const { patternRisk } = await import('./regex-guard');
  const risks: string[] = [];
  const check = (path: string, sources: string[]) => {
    for (const [i, source] of sources.entries()) {
      const risk = patternRisk(source);
      if (risk) risks.push(`${path}.${i}: ${risk.complexity} time: ${risk.reason} (${source})`);
    }
  };
  for (const [i, rule] of ruleSet.rules.entries()) {
    check(`rules.${i}.patterns`, rule.patterns);
    check(`rules.${i}.exemptWhenSentenceMatches`, rule.exemptWhenSentenceMatches);
  }
  for (const [i, b] of ruleSet.boundaries.entries()) check(`boundaries.${i}.patterns`, b.patterns);
  if (risks.length > 0)
    throw new RuleSetError(`invalid rule set: a pattern can stall on long input: ${risks.join('; ')}`);
  vetted.add(ruleSet);
  return ruleSet;
}

/**
 * The built-in rule set: inst_016, inst_017, inst_018 and the four values boundaries. Its patterns are
 * checked with the same analyser by test/unit/governance/rules.test.ts.
 */
export const DEFAULT_RULE_SET: RuleSet = parseRuleSet(tractatusV1);
vetted.add(DEFAULT_RULE_SET);

function matchersOf(rule: { terms: string[]; patterns: string[] }): RegExp[] {
  const matchers = rule.patterns.map((p) => new RegExp(p, 'giu'));
  const terms = termsPattern(rule.terms);
  return terms ? [terms, ...matchers] : matchers;
}

const compiledCache = new WeakMap<RuleSet, CompiledRuleSet>();

export function compileRuleSet(ruleSet: RuleSet): CompiledRuleSet {
  const cached = compiledCache.get(ruleSet);
  if (cached) return cached;
  if (!vetted.has(ruleSet))
    throw new RuleSetError(`rule set '${ruleSet.id}' was not checked: load it with loadRuleSet`);
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
