import { describe, expect, it } from 'vitest';
import { createGovernancePipeline } from '../../../shared/governance';
import { Verdict } from '../../../shared/governance/types';

const pipeline = createGovernancePipeline();

describe('governance pipeline', () => {
  it('returns a verdict that matches the schema', () => {
    const verdict = pipeline.govern('Hello there.');
    expect(Verdict.parse(verdict)).toEqual(verdict);
    expect(verdict).toMatchObject({
      kind: 'feedback',
      decision: 'allow',
      pii: [],
      violations: [],
      boundaries: [],
    });
  });
  it('allows feedback with PII but redacts it', () => {
    const v = pipeline.govern('Reach me at kai@example.com, the app is slow.');
    expect(v.decision).toBe('allow');
    expect(v.redacted).toBe('Reach me at <EMAIL_1>, the app is slow.');
    expect(v.reasons.join(' ')).toMatch(/PII redacted \(EMAIL\)/);
  });
  it('reports rule matches on feedback without blocking', () => {
    const v = pipeline.govern('Your site promised it is guaranteed to work.', 'feedback');
    expect(v.decision).toBe('allow');
    expect(v.violations.map((x) => x.rule)).toEqual(['inst_017']);
  });
  it('blocks a response with a violation or with PII', () => {
    expect(pipeline.govern('This release is battle-tested.', 'response').decision).toBe('block');
    expect(pipeline.govern('Contact our engineer at kai@example.com.', 'response').decision).toBe('block');
    expect(
      pipeline.govern('We cannot promise a date yet; thanks for the patience.', 'response').decision,
    ).toBe('allow');
  });
  it('sends boundary requests to a human', () => {
    const v = pipeline.govern('Please decide our mission for us.');
    expect(v.decision).toBe('review');
    expect(v.boundaries[0].boundary).toBe('PURPOSE');
  });
  it('validates options', () => {
    expect(() => createGovernancePipeline({ operator: 'shred' as 'mask' })).toThrow();
    expect(() => createGovernancePipeline({ phoneRegions: ['XX'] })).toThrow(/unknown phone region\(s\): XX/);
    const gbOnly = createGovernancePipeline({ phoneRegions: ['gb'] });
    expect(gbOnly.govern('Call 020 7946 0321 or (212) 555-0187.').pii.map((p) => p.type)).toEqual(['PHONE']);
    expect(createGovernancePipeline({ operator: 'mask' }).govern('kai@example.com').redacted).toBe(
      '*'.repeat(15),
    );
  });
});
