import { getSupportedRegionCodes } from 'awesome-phonenumber';
import { checkBoundaries } from './boundaries';
import { checkCompliance, toViolations } from './compliance';
import { detectPii } from './pii';
import { applyRedaction, redact } from './redact';
import { DEFAULT_RULE_SET } from './rules';
import { analyzeSentiment } from './sentiment';
import {
  type BoundaryFinding,
  type Decision,
  type GovernancePipeline,
  GovernanceOptions,
  type PiiFinding,
  type RuleSet,
  type TextKind,
  type Verdict,
} from './types';

// The pipeline: PII → redaction → sentiment → compliance → boundaries → decision. Construction
// validates options and loads nothing: the NLP models are module-level and load on first use.

export type PipelineConfig = GovernanceOptions & { ruleSet?: RuleSet };

function decide(
  kind: TextKind,
  pii: PiiFinding[],
  violations: ReturnType<typeof checkCompliance>,
  boundaries: BoundaryFinding[],
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
  for (const v of violations) {
    const suggestion =
      v.alternatives.length > 0 ? `; instead: ${v.alternatives.slice(0, 2).join(' / ')}` : '';
    reasons.push(
      kind === 'response'
        ? `${v.rule} violated by '${v.match}'${suggestion}`
        : `${v.rule} reported for '${v.match}' (feedback: not blocking)`,
    );
    if (kind === 'response') decision = 'block';
  }
  for (const b of boundaries) {
    reasons.push(`${b.boundary} boundary: '${b.match}' asks for a human decision`);
    if (decision === 'allow') decision = 'review';
  }
  if (reasons.length === 0) reasons.push('no PII, rule violations or boundary requests found');
  return { decision, reasons };
}

export function createGovernancePipeline(config: PipelineConfig = {}): GovernancePipeline {
  const { ruleSet = DEFAULT_RULE_SET, ...rest } = config;
  const options = GovernanceOptions.parse(rest);
  const phoneRegions = options.phoneRegions?.map((r) => r.toUpperCase());
  const supported = new Set(getSupportedRegionCodes());
  const unknown = phoneRegions?.filter((r) => !supported.has(r)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown phone region(s): ${unknown.join(', ')}`);
  const detectOptions = { minScore: options.minScore, phoneRegions };
  const redactOptions = { operator: options.operator, salt: options.salt };
  return {
    govern(text: string, kind: TextKind = 'feedback'): Verdict {
      const pii = detectPii(text, detectOptions);
      // The first pass reuses the findings; `redact` then re-checks the result to a fixed point.
      const firstPass = pii.length > 0 ? applyRedaction(text, pii, redactOptions) : text;
      const redacted = pii.length > 0 ? redact(firstPass, { ...detectOptions, ...redactOptions }) : text;
      const compliance = checkCompliance(text, ruleSet);
      const boundaries = kind === 'feedback' ? checkBoundaries(text, ruleSet) : [];
      const { decision, reasons } = decide(kind, pii, compliance, boundaries);
      return {
        kind,
        decision,
        pii,
        redacted,
        sentiment: analyzeSentiment(text),
        violations: toViolations(compliance),
        boundaries,
        reasons,
      };
    },
  };
}
