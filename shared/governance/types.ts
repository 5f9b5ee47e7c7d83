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

export const Verdict = z.object({
  kind: TextKind,
  decision: Decision,
  pii: z.array(PiiFinding),
  redacted: z.string(),
  sentiment: Sentiment,
  violations: z.array(Violation),
  boundaries: z.array(BoundaryFinding),
  reasons: z.array(z.string()),
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
