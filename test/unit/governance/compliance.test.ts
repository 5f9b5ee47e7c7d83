import { describe, expect, it } from 'vitest';
import { checkCompliance, DEFAULT_RULE_SET, loadRuleSet } from '../../../shared/governance';

const rulesIn = (text: string) => checkCompliance(text).map((v) => [v.rule, v.match]);

describe('inst_016 — statistics need a source', () => {
  it('flags uncited percentages, money, multipliers and ROI', () => {
    expect(
      rulesIn('Teams cut review time by 62%, save €4,500 per seat, ship 5x faster and see ROI in weeks.'),
    ).toEqual([
      ['inst_016', '62%'],
      ['inst_016', '€4,500'],
      ['inst_016', '5x'],
      ['inst_016', 'ROI'],
    ]);
  });
  it('accepts a URL, a (source: ...) note or the [NEEDS VERIFICATION] marker in the sentence', () => {
    expect(rulesIn('Review time fell 62% in the trial (https://example.org/trial).')).toEqual([]);
    expect(rulesIn('Review time fell 62% in the trial (source: 2025 pilot, n=14).')).toEqual([]);
    expect(rulesIn('It may pay for itself within 6 months [NEEDS VERIFICATION].')).toEqual([]);
  });
  it('a citation in one sentence does not cover another', () => {
    expect(rulesIn('Errors fell 30% (source: pilot). Costs fell 20%.')).toEqual([['inst_016', '20%']]);
  });
  it('does not treat versions, dates or resolutions as statistics', () => {
    expect(rulesIn('Version 2.4 shipped on 2025-03-01 with 1920x1080 support.')).toEqual([]);
  });
});

describe('inst_017 — no absolute assurance', () => {
  it('flags guarantees and absolutes', () => {
    expect(rulesIn('This guarantees privacy, is foolproof, and the filter never fails.')).toEqual([
      ['inst_017', 'guarantees'],
      ['inst_017', 'foolproof'],
      ['inst_017', 'never fails'],
    ]);
  });
  it('flags promises that something can never go wrong', () => {
    expect(rulesIn('Rest assured, it works every time and will never lose data.')).toEqual([
      ['inst_017', 'Rest assured'],
      ['inst_017', 'works every time'],
      ['inst_017', 'will never lose'],
    ]);
  });
  it('leaves negated or disclaimed uses alone', () => {
    expect(
      rulesIn("We can't guarantee a fix date. No filter is foolproof. Nothing here is 100% secure."),
    ).toEqual([]);
  });
  it('a promise to act is not an assurance', () => {
    expect(rulesIn('We promise to look into it this week.')).toEqual([]);
  });
  it('a negation in another clause does not lift the claim', () => {
    expect(rulesIn("Don't worry, delivery is guaranteed.")).toEqual([['inst_017', 'guaranteed']]);
  });
});

describe('inst_018 — no unearned maturity claims', () => {
  it('flags maturity claims, hyphenated or not', () => {
    expect(rulesIn('It is production ready, battle-tested and an industry standard.')).toEqual([
      ['inst_018', 'production ready'],
      ['inst_018', 'battle-tested'],
      ['inst_018', 'industry standard'],
    ]);
  });
  it('leaves honest statements alone', () => {
    expect(
      rulesIn('It is not production-ready and has not been field-tested; it is a research prototype.'),
    ).toEqual([]);
  });
});

describe('findings', () => {
  it('carry offsets, severity and suggested alternatives', () => {
    const text = 'We guarantee it.';
    const [v] = checkCompliance(text);
    expect(text.slice(v.start, v.end)).toBe('guarantee');
    expect(v.severity).toBe('high');
    expect(v.alternatives.length).toBeGreaterThan(0);
  });
  it('rules are data: a custom rule set is applied as given', async () => {
    const ruleSet = await loadRuleSet({
      ...DEFAULT_RULE_SET,
      rules: [{ ...DEFAULT_RULE_SET.rules[1], id: 'house_1', terms: ['seamless'], patterns: [] }],
    });
    expect(
      checkCompliance('A seamless, guaranteed upgrade.', ruleSet).map((v) => `${v.rule}:${v.match}`),
    ).toEqual(['house_1:seamless']);
  });
});
