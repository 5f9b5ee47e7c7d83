import { z } from 'zod';

// The governance verdict: one schema shared by the worker, the CLI (`edgelight govern`), the
// agent, the reward and the tests. Offsets are UTF-16 code-unit offsets into the input text
// (JavaScript string indices), end exclusive.

export const TextKind = z.enum(['feedback', 'response']);
export type TextKind = z.infer<typeof TextKind>;

export const PiiType = z.enum([
  'EMAIL',
  'PHONE',
  'CREDIT_CARD',
  'IBAN',
  'IP_ADDRESS',
  'US_SSN',
  'PERSON',
  'STREET_ADDRESS',
  'UK_NINO',
  'IN_AADHAAR',
  'CA_SIN',
  'ES_NIF',
  'ES_NIE',
  'IT_FISCAL_CODE',
  'FR_NIR',
  'PASSPORT',
  'DATE_OF_BIRTH',
]);
export type PiiType = z.infer<typeof PiiType>;

export const PiiFinding = z.object({
  type: PiiType,
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
  score: z.number().min(0).max(1),
});
export type PiiFinding = z.infer<typeof PiiFinding>;

export const Sentiment = z.object({
  label: z.enum(['negative', 'neutral', 'positive']),
  score: z.number().min(-1).max(1),
});
export type Sentiment = z.infer<typeof Sentiment>;

export const Violation = z.object({
  rule: z.string(),
  match: z.string(),
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
});
export type Violation = z.infer<typeof Violation>;

export const BoundaryFinding = z.object({
  boundary: z.string(),
  match: z.string(),
});
export type BoundaryFinding = z.infer<typeof BoundaryFinding>;

export const Decision = z.enum(['allow', 'review', 'block']);
export type Decision = z.infer<typeof Decision>;

/**
 * A stage or rule that ran over its time budget (budget.ts). `finished: false`: a rule stopped before it
 * had read the whole text. Any overrun holds the item for review.
 */
export const Overrun = z.object({
  stage: z.string(),
  ms: z.number().nonnegative(),
  budgetMs: z.number().positive(),
  finished: z.boolean(),
});
export type Overrun = z.infer<typeof Overrun>;

export const Verdict = z.object({
  kind: TextKind,
  decision: Decision,
  pii: z.array(PiiFinding),
  redacted: z.string(),
  sentiment: Sentiment,
  violations: z.array(Violation),
  boundaries: z.array(BoundaryFinding),
  reasons: z.array(z.string()),
  /** Time budgets overrun while governing this item; empty when all ran within them. */
  overruns: z.array(Overrun).default([]),
});
export type Verdict = z.infer<typeof Verdict>;

/** What `edgelight govern` reads per line. */
export const GovernInput = z.object({
  id: z.string(),
  text: z.string(),
  kind: TextKind.default('feedback'),
});
export type GovernInput = z.infer<typeof GovernInput>;

/**
 * The pipeline's public face. `createGovernancePipeline(options?)` in shared/governance/index.ts
 * returns one; it is synchronous after construction so a worker, the CLI and the reward can call it
 * in tight loops.
 */
export interface GovernancePipeline {
  govern(text: string, kind?: TextKind): Verdict;
}

/** How `redact` replaces a PII span: `<EMAIL_1>`, `*****`, or `<EMAIL_3fa9c2d1e0b4>` (HMAC-SHA-256 keyed with the salt). */
export const RedactionOperator = z.enum(['placeholder', 'mask', 'hash']);
export type RedactionOperator = z.infer<typeof RedactionOperator>;

/**
 * A redaction placeholder in redacted text: `<EMAIL_1>`, `<EMAIL_3fa9c2d1e0b4>`, or an unnumbered
 * `<EMAIL>` / `[PHONE]`. Not content: no keyword, no quote, nothing a reply should repeat.
 */
export const REDACTION_PLACEHOLDER = /[<[][A-Z_]+(?:_[0-9a-f]+)?[>\]]/;

/** A regular expression given as source text in a rule set; compiled with the `giu` flags. */
export const RegexSource = z.string().refine(
  (source) => {
    try {
      new RegExp(source, 'giu');
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);

/** One compliance rule (inst_016, ...): literal terms and/or patterns, each match a violation. */
export const ComplianceRule = z
  .object({
    id: z.string().min(1),
    description: z.string().min(1),
    severity: z.enum(['low', 'medium', 'high']),
    /** Phrases matched case-insensitively on word boundaries; a space or hyphen matches either. */
    terms: z.array(z.string().min(1)).default([]),
    patterns: z.array(RegexSource).default([]),
    /** A match is not a violation when its sentence matches one of these (a citation, a marker). */
    exemptWhenSentenceMatches: z.array(RegexSource).default([]),
    /** Whether a negation cue shortly before the match ("we cannot guarantee") lifts it. */
    negatable: z.boolean().default(true),
    /** Honest wording to suggest instead. */
    alternatives: z.array(z.string()).default([]),
  })
  .refine((rule) => rule.terms.length + rule.patterns.length > 0, {
    message: 'a rule needs terms or patterns',
  });
export type ComplianceRule = z.infer<typeof ComplianceRule>;

/** A values boundary (Tractatus): requests a human must answer. Applies to feedback. */
export const BoundaryRule = z
  .object({
    boundary: z.string().min(1),
    description: z.string().min(1),
    terms: z.array(z.string().min(1)).default([]),
    patterns: z.array(RegexSource).default([]),
  })
  .refine((rule) => rule.terms.length + rule.patterns.length > 0, {
    message: 'a boundary needs terms or patterns',
  });
export type BoundaryRule = z.infer<typeof BoundaryRule>;

/** A versioned rule set: data a user can extend without code (shared/governance/rules/*.json). */
export const RuleSet = z.object({
  id: z.string().min(1),
  version: z.string().regex(/^\d+\.\d+\.\d+$/, 'version must be MAJOR.MINOR.PATCH'),
  description: z.string().default(''),
  /** Words that negate or disclaim what follows within `negationWindow` words in the same clause. */
  negationCues: z.array(z.string().min(1)),
  negationWindow: z.number().int().positive().default(6),
  rules: z.array(ComplianceRule),
  boundaries: z.array(BoundaryRule).default([]),
});
export type RuleSet = z.infer<typeof RuleSet>;
export type RuleSetInput = z.input<typeof RuleSet>;

/** Options of `createGovernancePipeline`. */
export const GovernanceOptions = z.object({
  operator: RedactionOperator.default('placeholder'),
  /** Key of the `hash` operator's HMAC; keep it secret, or pseudonyms of short values can be guessed. */
  salt: z.string().default('edgelight'),
  minScore: z.number().min(0).max(1).default(0.5),
  phoneRegions: z.array(z.string().length(2)).min(1).optional(),
  /** Wall-clock budget for one item through every stage, ms; an item over it is held for review. */
  itemBudgetMs: z.number().positive().default(250),
  /** Budget per compliance rule or boundary for one item, ms; a rule over it stops, and the item is held. */
  ruleBudgetMs: z.number().positive().default(50),
});
export type GovernanceOptions = z.input<typeof GovernanceOptions>;
