import { describe, expect, it } from 'vitest';
import { createGovernancePipeline, DEFAULT_RULE_SET, loadRuleSet } from '../../../shared/governance';

// Time budgets with a stepped clock: each read of the clock advances it by `step` ms, so what is over
// budget is decided by how much work was done, not by how fast this machine is today.
function steppedClock(step: number) {
  let now = 0;
  return () => {
    now += step;
    return now;
  };
}

describe('governance time budgets', () => {
  it('a rule that spends its budget stops, is reported, and holds the item for review', () => {
    const pipeline = createGovernancePipeline({ clock: steppedClock(1), ruleBudgetMs: 5 });
    const verdict = pipeline.govern('5% '.repeat(2000), 'feedback');
    const stopped = verdict.overruns.find((o) => o.stage === 'rule inst_016');
    expect(stopped).toMatchObject({ finished: false, budgetMs: 5 });
    // It stopped early: far fewer than the 2,000 figures were reported, and the item waits for a person.
    expect(verdict.violations.length).toBeGreaterThan(0);
    expect(verdict.violations.length).toBeLessThan(2000);
    expect(verdict.decision).toBe('review');
    expect(verdict.reasons.join('\n')).toMatch(
      /rule inst_016 stopped at its time budget before the end of the text \(\d+(\.\d)? ms of 5 ms\); held for review/,
    );
  });

  it('an item slower than its budget is held for review even when every rule finished', () => {
    const pipeline = createGovernancePipeline({
      clock: steppedClock(100),
      itemBudgetMs: 150,
      ruleBudgetMs: 1000,
    });
    const verdict = pipeline.govern('Thanks, the new search works well.', 'feedback');
    expect(verdict.overruns).toEqual([
      expect.objectContaining({ stage: 'governance', finished: true, budgetMs: 150 }),
    ]);
    expect(verdict.decision).toBe('review');
  });

  it('a response over budget is never allowed, and a blocked one stays blocked', () => {
    const slow = createGovernancePipeline({
      clock: steppedClock(100),
      itemBudgetMs: 150,
      ruleBudgetMs: 1000,
    });
    expect(slow.govern('Thank you for the report.', 'response').decision).toBe('review');
    expect(slow.govern('It is guaranteed to work.', 'response').decision).toBe('block');
  });

  it('within budget nothing is reported', () => {
    const pipeline = createGovernancePipeline({ clock: steppedClock(0.001) });
    const verdict = pipeline.govern('5% '.repeat(2000), 'feedback');
    expect(verdict.overruns).toEqual([]);
    expect(verdict.violations).toHaveLength(2000);
    expect(verdict.decision).toBe('allow');
    // Reasons name three matches and count the rest, not 2,000 lines.
    expect(verdict.reasons.filter((r) => r.startsWith('inst_016'))).toEqual([
      "inst_016 reported for '5%' (feedback: not blocking)",
      "inst_016 reported for '5%' (feedback: not blocking)",
      "inst_016 reported for '5%' (feedback: not blocking)",
      'inst_016: 1997 more matches',
    ]);
  });

  it('boundaries have the same budget', async () => {
    const ruleSet = await loadRuleSet({ ...DEFAULT_RULE_SET, rules: [] });
    const pipeline = createGovernancePipeline({ ruleSet, clock: steppedClock(1), ruleBudgetMs: 5 });
    const verdict = pipeline.govern('I am not asking you to decide our mission. '.repeat(500), 'feedback');
    expect(verdict.overruns.map((o) => o.stage)).toContain('boundary PURPOSE');
    expect(verdict.decision).toBe('review');
  });

  it('a rule set that did not pass loadRuleSet is refused when the pipeline is built', () => {
    const unchecked = { ...DEFAULT_RULE_SET, id: 'raw' };
    expect(() => createGovernancePipeline({ ruleSet: unchecked })).toThrow(/'raw' was not checked/);
  });
});
