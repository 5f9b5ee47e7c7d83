// The governance pipeline's public surface. Other areas import from here only.
export { checkBoundaries } from './boundaries';
export { type ComplianceFinding, checkCompliance, toViolations } from './compliance';
export { createGovernancePipeline, type PipelineConfig } from './pipeline';
export {
  DEFAULT_MIN_SCORE,
  DEFAULT_PHONE_REGIONS,
  type DetectPiiOptions,
  detectPii,
  resolveOverlaps,
} from './pii';
export { applyRedaction, type RedactOptions, redact } from './redact';
export { compileRuleSet, DEFAULT_RULE_SET, loadRuleSet, RuleSetError } from './rules';
export { analyzeSentiment, sentimentFromScore } from './sentiment';
export * from './types';
