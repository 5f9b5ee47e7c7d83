import { analyse } from 'scslre';

// A rule set's patterns are written by users and run over every feedback item, so one careless
// pattern must not stall the pipeline. JavaScript's regex engine backtracks: `(a+)+$` takes
// exponential time on "aaaa…b", and `\w+\d+x` or `.*.*=` quadratic time on long runs. scslre
// (RunDevelopment, also behind eslint-plugin-regexp's no-super-linear-backtracking) finds these
// statically from the pattern: nested quantifiers over overlapping characters ("Self"), adjacent
// quantifiers that can trade characters ("Trade"), and a quantifier that rescans from every start
// position of a global search ("Move"). Patterns with any such report are refused when the rule set is
// compiled; what static analysis misses is caught by each rule's time budget (compliance.ts).

export type PatternRisk = { pattern: string; complexity: 'exponential' | 'polynomial'; reason: string };

function describe(report: ReturnType<typeof analyse>['reports'][number]): string {
  const on = `on repeated '${report.character.pick}'`;
  if (report.type === 'Self')
    return `the quantifier '${report.quant.raw}' sits inside '${report.parentQuant.raw}' and both can match the same characters ${on}`;
  if (report.type === 'Trade')
    return `'${report.startQuant.raw}' and '${report.endQuant.raw}' can trade the same characters ${on}`;
  return `'${report.quant.raw}' is retried from every start position ${on}`;
}

/**
 * The risk of super-linear matching time of `source` compiled with `flags`, or undefined when the
 * pattern runs in linear time on every input. Throws SyntaxError on an invalid pattern.
 */
export function patternRisk(source: string, flags = 'giu'): PatternRisk | undefined {
  // scslre reads flags from the literal; `g` changes nothing in the analysis (the Move report models it).
  const { reports } = analyse({ source, flags: flags.replace('g', '') }, { maxReports: 1 });
  const report = reports[0];
  if (!report) return undefined;
  return {
    pattern: source,
    complexity: report.exponential ? 'exponential' : 'polynomial',
    reason: describe(report),
  };
}
