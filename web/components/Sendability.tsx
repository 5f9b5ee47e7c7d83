import { QUALITY_CHECK_DESCRIPTIONS, type QualityCheck } from '../../shared/agent/quality/checks';

// Whether a reply is one a person could send (it passed every check of shared/agent/quality), and if not,
// which checks it failed and what each found. Each check's description is its tooltip.

export function checkDescription(check: string): string {
  return QUALITY_CHECK_DESCRIPTIONS[check as QualityCheck] ?? check;
}

/** What `check` found, from findings written "check: detail", each once. */
export function findingsOf(check: string, findings: readonly string[]): string[] {
  const prefix = `${check}: `;
  return [...new Set(findings.filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length)))];
}

/** "sendable" or "not sendable", as a badge. */
export function SendableBadge({ sendable }: { sendable: boolean }) {
  return (
    <span
      class={`badge ${sendable ? 'decision-allow' : 'decision-review'}`}
      data-testid="sendable"
      data-sendable={String(sendable)}
      title={
        sendable
          ? 'passed every sendability check (its wording and shape; the governance decision is apart)'
          : 'failed a sendability check: a person would not send it as written'
      }
    >
      {sendable ? 'sendable' : 'not sendable'}
    </span>
  );
}

/** The failed checks, one per line, each with what it found ("are are"); nothing when none failed. */
export function FailedChecks({ failedChecks, findings }: { failedChecks: string[]; findings: string[] }) {
  if (failedChecks.length === 0) return null;
  return (
    <ul class="failed-checks" data-testid="failed-checks" aria-label="failed sendability checks">
      {failedChecks.map((check) => {
        const found = findingsOf(check, findings);
        return (
          <li key={check} data-check={check} title={checkDescription(check)}>
            <strong>{check}</strong>
            {found.length > 0 ? `: ${found.join(' · ')}` : ''}
          </li>
        );
      })}
    </ul>
  );
}

/** A share as a whole percentage. */
export function percent(share: number): string {
  return `${Math.round(share * 100)} %`;
}

/** The checks most often failed, most first: "stutter 50 % · spelling 25 %" (at most `top`). */
export function TopFailingChecks({
  shares,
  top = 3,
}: {
  shares: Partial<Record<string, number>>;
  top?: number;
}) {
  const ranked = Object.entries(shares)
    .filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  if (ranked.length === 0) return <span class="muted">none</span>;
  return (
    <span data-testid="top-failing-checks">
      {ranked.map(([check, share], i) => (
        <span key={check} title={checkDescription(check)}>
          {i > 0 ? ' · ' : ''}
          {check} {percent(share)}
        </span>
      ))}
    </span>
  );
}
