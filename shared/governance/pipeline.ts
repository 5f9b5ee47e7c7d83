import { getSupportedRegionCodes } from 'awesome-phonenumber';
import { checkBoundaries } from './boundaries';
import { type ElapsedClock, overrun, performanceClock } from './budget';
import { checkCompliance, toViolations } from './compliance';
import { detectPii } from './pii';
import { applyRedaction, redact } from './redact';
import { compileRuleSet, DEFAULT_RULE_SET } from './rules';
import { analyzeSentiment } from './sentiment';
import { indexText } from './text';
import {
  type BoundaryFinding,
  type Decision,
  type GovernancePipeline,
  GovernanceOptions,
  type Overrun,
  type PiiFinding,
  type RuleSet,
  type TextKind,
  type Verdict,
} from './types';

// The pipeline: PII → redaction → sentiment → compliance → boundaries → decision. Construction
// validates options and loads nothing: the NLP models are module-level and load on first use.

export type PipelineConfig = GovernanceOptions & {
  /** A rule set from `loadRuleSet` (its patterns checked for linear time); the built-in one by default. */
  ruleSet?: RuleSet;
  /** The clock time budgets are read from (tests step it); `performance.now` by default. */
  clock?: ElapsedClock;
};

let modelsLoaded = false;

/**
 * The NLP models are module-level and load on first use (hundreds of ms); that load is not an item's
 * time, or the first item of every process would run over its budget.
 */
function loadModels(): void {
  if (modelsLoaded) return;
  detectPii('Loading the models: Anna Berg, anna@example.com.');
  analyzeSentiment('Loading the models.');
  modelsLoaded = true;
}

/** Reasons name at most this many matches of one rule; a text full of matches gets one line for the rest. */
const REASONS_PER_RULE = 3;

function decide(
  kind: TextKind,
  pii: PiiFinding[],
  violations: ReturnType<typeof checkCompliance>,
  boundaries: BoundaryFinding[],
  overruns: Overrun[],
): { decision: Decision; reasons: string[] } {
  const reasons: string[] = [];
  let decision: Decision = 'allow';
  if (pii.length > 0) {
    const types = [...new Set(pii.map((p) => p.type))].join(', ');
    reasons.push(
      kind === 'response'
        ? `response contains PII (${types})`
        : `PII redacted (${types}); later stages see only the redacted text`,
    );
    if (kind === 'response') decision = 'block';
  }
  const perRule = new Map<string, number>();
  for (const v of violations) {
    const seen = (perRule.get(v.rule) ?? 0) + 1;
    perRule.set(v.rule, seen);
    if (kind === 'response') decision = 'block';
    if (seen > REASONS_PER_RULE) continue;
    const suggestion =
      v.alternatives.length > 0 ? `; instead: ${v.alternatives.slice(0, 2).join(' / ')}` : '';
    reasons.push(
      kind === 'response'
        ? `${v.rule} violated by '${v.match}'${suggestion}`
        : `${v.rule} reported for '${v.match}' (feedback: not blocking)`,
    );
  }
  for (const [rule, count] of perRule)
    if (count > REASONS_PER_RULE) reasons.push(`${rule}: ${count - REASONS_PER_RULE} more matches`);
  for (const b of boundaries) {
    reasons.push(`${b.boundary} boundary: '${b.match}' asks for a human decision`);
    if (decision === 'allow') decision = 'review';
  }
  // Never passed unchecked: a rule that stopped early, or an item slower than its budget, waits for a person.
  for (const o of overruns) {
    const what = o.finished
      ? 'ran over its time budget'
      : 'stopped at its time budget before the end of the text';
    reasons.push(`${o.stage} ${what} (${o.ms} ms of ${o.budgetMs} ms); held for review`);
    if (decision === 'allow') decision = 'review';
  }
  if (reasons.length === 0) reasons.push('no PII, rule violations or boundary requests found');
  return { decision, reasons };
}

export function createGovernancePipeline(config: PipelineConfig = {}): GovernancePipeline {
  const { ruleSet = DEFAULT_RULE_SET, clock = performanceClock, ...rest } = config;
  const options = GovernanceOptions.parse(rest);
  compileRuleSet(ruleSet); // an unchecked rule set fails here, not on the first item
  const phoneRegions = options.phoneRegions?.map((r) => r.toUpperCase());
  const supported = new Set(getSupportedRegionCodes());
  const unknown = phoneRegions?.filter((r) => !supported.has(r)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown phone region(s): ${unknown.join(', ')}`);
  const detectOptions = { minScore: options.minScore, phoneRegions };
  const redactOptions = { operator: options.operator, salt: options.salt };
  return {
    govern(text: string, kind: TextKind = 'feedback'): Verdict {
      loadModels();
      const started = clock();
      const overruns: Overrun[] = [];
      const pii = detectPii(text, detectOptions);
      // The first pass reuses the findings; `redact` then re-checks the result to a fixed point.
      const firstPass = pii.length > 0 ? applyRedaction(text, pii, redactOptions) : text;
      const redacted = pii.length > 0 ? redact(firstPass, { ...detectOptions, ...redactOptions }) : text;
      const sentiment = analyzeSentiment(text);
      // One index of sentences, clauses and words serves both rule stages.
      const ruleOptions = { indexed: indexText(text), budget: { clock, ms: options.ruleBudgetMs, overruns } };
      const compliance = checkCompliance(text, ruleSet, ruleOptions);
      const boundaries = kind === 'feedback' ? checkBoundaries(text, ruleSet, ruleOptions) : [];
      const elapsed = clock() - started;
      if (elapsed > options.itemBudgetMs)
        overruns.push(overrun('governance', elapsed, options.itemBudgetMs, true));
      const { decision, reasons } = decide(kind, pii, compliance, boundaries, overruns);
      return {
        kind,
        decision,
        pii,
        redacted,
        sentiment,
        violations: toViolations(compliance),
        boundaries,
        reasons,
        overruns,
      };
    },
  };
}
