import { describe, expect, it } from 'vitest';
import { DEFAULT_RULE_SET, loadRuleSet, RuleSetError } from '../../../shared/governance';

describe('rule set', () => {
  it('the built-in set is versioned and holds the three Tractatus rules and four boundaries', () => {
    expect(DEFAULT_RULE_SET.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(DEFAULT_RULE_SET.rules.map((r) => r.id)).toEqual(['inst_016', 'inst_017', 'inst_018']);
    expect(DEFAULT_RULE_SET.boundaries.map((b) => b.boundary)).toEqual([
      'VALUES',
      'PURPOSE',
      'MEANING',
      'AGENCY',
    ]);
  });
  it('rejects invalid regexes, missing fields, bad versions and duplicate ids with a readable message', () => {
    const base = { id: 'x', version: '1.0.0', negationCues: ['not'], rules: [] };
    const rule = { id: 'r1', description: 'd', severity: 'low', terms: ['a'] };
    expect(() => loadRuleSet({ ...base, rules: [{ ...rule, patterns: ['(unclosed'] }] })).toThrow(
      /rules\.0\.patterns\.0: not a valid regular expression/,
    );
    expect(() => loadRuleSet({ ...base, version: 'one' })).toThrow(RuleSetError);
    expect(() => loadRuleSet({ ...base, rules: [{ ...rule, terms: [] }] })).toThrow(
      /needs terms or patterns/,
    );
    expect(() => loadRuleSet({ ...base, rules: [rule, rule] })).toThrow(/duplicate rule id 'r1'/);
    expect(() => loadRuleSet(null)).toThrow(RuleSetError);
  });
  it('fills defaults for optional fields', () => {
    const set = loadRuleSet({
      id: 'x',
      version: '0.1.0',
      negationCues: ['not'],
      rules: [{ id: 'r1', description: 'd', severity: 'low', terms: ['a'] }],
    });
    expect(set.rules[0]).toMatchObject({ patterns: [], negatable: true, alternatives: [] });
    expect(set.negationWindow).toBe(6);
  });
});
