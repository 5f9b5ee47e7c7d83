import { describe, expect, it } from 'vitest';
import {
  checkCompliance,
  compileRuleSet,
  DEFAULT_RULE_SET,
  loadRuleSet,
  RuleSetError,
} from '../../../shared/governance';
import { patternRisk } from '../../../shared/governance/regex-guard';

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
  it('rejects invalid regexes, missing fields, bad versions and duplicate ids with a readable message', async () => {
    const base = { id: 'x', version: '1.0.0', negationCues: ['not'], rules: [] };
    const rule = { id: 'r1', description: 'd', severity: 'low', terms: ['a'] };
    await expect(loadRuleSet({ ...base, rules: [{ ...rule, patterns: ['(unclosed'] }] })).rejects.toThrow(
      /rules\.0\.patterns\.0: not a valid regular expression/,
    );
    await expect(loadRuleSet({ ...base, version: 'one' })).rejects.toThrow(RuleSetError);
    await expect(loadRuleSet({ ...base, rules: [{ ...rule, terms: [] }] })).rejects.toThrow(
      /needs terms or patterns/,
    );
    await expect(loadRuleSet({ ...base, rules: [rule, rule] })).rejects.toThrow(/duplicate rule id 'r1'/);
    await expect(loadRuleSet(null)).rejects.toThrow(RuleSetError);
  });

  it('refuses patterns that can take super-linear time, naming the pattern and why', async () => {
    const base = { id: 'x', version: '1.0.0', negationCues: ['not'] };
    const withPattern = (pattern: string, field = 'patterns') =>
      loadRuleSet({
        ...base,
        rules: [{ id: 'r1', description: 'd', severity: 'low', terms: ['a'], [field]: [pattern] }],
      });
    await expect(withPattern('(a+)+$')).rejects.toThrow(
      /rules\.0\.patterns\.0: exponential time: .*\(a\+\)\+/,
    );
    await expect(withPattern('(\\d+\\s?)+%')).rejects.toThrow(/exponential time/);
    await expect(withPattern('\\w+\\d+x')).rejects.toThrow(/polynomial time: .*trade/);
    await expect(withPattern('(?:a|b)*c')).rejects.toThrow(/polynomial time: .*every start position/);
    await expect(withPattern('(x+x+)+y', 'exemptWhenSentenceMatches')).rejects.toThrow(
      /rules\.0\.exemptWhenSentenceMatches\.0: exponential/,
    );
    // Ordinary patterns pass and are applied.
    const ok = await withPattern('\\b(?:will|shall) never (?:fail|break)\\b');
    expect(checkCompliance('It will never fail.', ok).map((v) => v.match)).toEqual(['will never fail']);
  });

  it('the built-in patterns all run in linear time', () => {
    const sources = [
      ...DEFAULT_RULE_SET.rules.flatMap((r) => [...r.patterns, ...r.exemptWhenSentenceMatches]),
      ...DEFAULT_RULE_SET.boundaries.flatMap((b) => b.patterns),
    ];
    expect(sources.length).toBeGreaterThan(20);
    expect(sources.map((s) => patternRisk(s)).filter(Boolean)).toEqual([]);
  });

  it('a rule set that did not pass loadRuleSet is not compiled', () => {
    const unchecked = {
      ...DEFAULT_RULE_SET,
      rules: [{ ...DEFAULT_RULE_SET.rules[0], patterns: ['(a+)+$'] }],
    };
    expect(() => compileRuleSet(unchecked)).toThrow(/was not checked: load it with loadRuleSet/);
  });

  it('fills defaults for optional fields', async () => {
    const set = await loadRuleSet({
      id: 'x',
      version: '0.1.0',
      negationCues: ['not'],
      rules: [{ id: 'r1', description: 'd', severity: 'low', terms: ['a'] }],
    });
    expect(set.rules[0]).toMatchObject({ patterns: [], negatable: true, alternatives: [] });
    expect(set.negationWindow).toBe(6);
  });
});
