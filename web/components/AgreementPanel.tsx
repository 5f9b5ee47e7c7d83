import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import type { AgreementExample, AgreementReport } from '../../shared/review/agreement';
import { errorMessage, lab } from '../lab/client';

// "Can the heuristic reward be trusted for your feedback?": how often it ranks the draft reviewers chose
// first, per term, and where it disagrees, read in the worker from this lab's store by the one measure
// shared/review/agreement.ts decides (the same `edgelight eval --reviews` prints). Collapsed by default:
// it reads every item's spans, so it loads when opened and again when `refreshKey` changes while open
// (the Inbox bumps it after a decision or a sync). Self-contained, so the Train page can include it.

const TERM_TITLES: Record<string, string> = {
  primary: 'the reward itself: the weighted terms × quality',
  quality: 'the sendability factor (× 0.5 per failed check)',
};

/** A share as a bar on [0, 1] with a tick where a random pick (or a coin) would land. */
function ShareBar(props: { value: number | null; baseline: number | null; label: string }) {
  if (props.value === null) return <span class="muted">—</span>;
  return (
    <span class="row" style={{ gap: '0.4rem', flexWrap: 'nowrap' }}>
      <span class="num" style={{ minWidth: '3rem', textAlign: 'right' }}>
        {props.value.toFixed(2)}
      </span>
      <span
        class="bar-axis"
        role="img"
        aria-label={`${props.label} ${props.value.toFixed(2)}`}
        style={{ minWidth: '8rem', flex: 1 }}
      >
        <span class="bar" style={{ left: 0, width: `${Math.min(1, props.value) * 100}%` }} />
        {props.baseline !== null && (
          <span
            title={`chance ${props.baseline.toFixed(2)}`}
            style={{
              position: 'absolute',
              top: '-2px',
              bottom: '-2px',
              left: `${props.baseline * 100}%`,
              borderLeft: '2px dashed #6b7280',
            }}
          />
        )}
      </span>
    </span>
  );
}

function TermTable({ report }: { report: AgreementReport }) {
  const rows: Array<[string, number | null, number | null]> = [
    ['primary', report.top1.primary, report.pairwise.primary],
    ...Object.entries(report.top1.terms).map(([t, v]): [string, number | null, number | null] => [
      t,
      v,
      report.pairwise.terms[t as keyof typeof report.pairwise.terms],
    ]),
  ];
  return (
    <table class="reward-bars" data-testid="agreement-terms" style={{ maxWidth: '720px' }}>
      <thead>
        <tr>
          <th scope="col">reward</th>
          <th scope="col" title="share of items where the reviewer's draft ranks first (dashed: chance)">
            ranked first
          </th>
          <th scope="col" title="the chosen draft against each draft passed over (dashed: a coin)">
            pairwise
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([name, top1, pairwise]) => (
          <tr key={name} title={TERM_TITLES[name]} data-testid="agreement-term" data-term={name}>
            <th scope="row">{name}</th>
            <td class="bar-cell">
              <ShareBar value={top1} baseline={report.chance} label={`${name} ranked first`} />
            </td>
            <td class="bar-cell">
              <ShareBar value={pairwise} baseline={0.5} label={`${name} pairwise`} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

// The feedback is clipped (the Inbox shows it whole); drafts are short and shown whole, being the point.
const clip = (text: string, n = 240) => (text.length > n ? `${text.slice(0, n)}…` : text);

function Example({ example }: { example: AgreementExample }) {
  const by = (side: 'chosen' | 'top') =>
    Object.entries(example.terms)
      .filter(([, who]) => who === side)
      .map(([t]) => t);
  const chosenTerms = by('chosen');
  const topTerms = by('top');
  return (
    <li data-testid="agreement-example" data-item-id={example.itemId} style={{ marginBottom: '0.75rem' }}>
      <div class="muted">
        {example.itemId} · {example.action === 'edit' ? 'edited' : 'approved'}: “{clip(example.feedback, 160)}
        ”
      </div>
      <div>
        <strong>Reviewer's pick</strong> (reward {(example.chosen.reward.primary ?? 0).toFixed(2)}):{' '}
        <span data-testid="agreement-example-chosen">{example.chosen.text}</span>
      </div>
      <div>
        <strong>Reward's pick</strong> (reward {(example.top.reward.primary ?? 0).toFixed(2)}):{' '}
        <span data-testid="agreement-example-top">{example.top.text}</span>
      </div>
      <div class="muted">
        terms for the reviewer's pick: {chosenTerms.length ? chosenTerms.join(', ') : 'none'}; for the
        reward's pick: {topTerms.length ? topTerms.join(', ') : 'none'}
      </div>
    </li>
  );
}

function Counts({ report }: { report: AgreementReport }) {
  const d = report.decisions;
  const parts = [
    `${report.decided} decided of ${report.items} items (approve ${d.approve}, edit ${d.edit}, write ${d.write}, reject ${d.reject}, spam ${d.spam})`,
  ];
  if (report.unscored > 0) parts.push(`${report.unscored} chosen drafts without a reward left out`);
  const r = report.rejected;
  if (r.count > 0 && r.bestPrimaryMean !== null && r.chosenPrimaryMean !== null)
    parts.push(
      `rejected items' best draft scores ${r.bestPrimaryMean.toFixed(2)} on average against ${r.chosenPrimaryMean.toFixed(2)} for chosen drafts`,
    );
  const w = report.written;
  if (w.count > 0)
    parts.push(
      w.pairwise?.primary != null
        ? `written replies score above the drafts they replaced ${w.pairwise.primary.toFixed(2)} of the time`
        : `${w.count} written replies (not scored)`,
    );
  const e = report.edited;
  if (e.aboveDraft !== null)
    parts.push(`edits score above the draft they started from ${e.aboveDraft.toFixed(2)} of the time`);
  return (
    <p class="muted" data-testid="agreement-counts">
      {parts.join('; ')}.
    </p>
  );
}

export function AgreementPanel(props: { refreshKey?: unknown }) {
  const open = useSignal(false);
  const loading = useSignal(false);
  const data = useSignal<{ report: AgreementReport; summary: string } | null>(null);
  const error = useSignal('');
  const latest = useRef(0);

  useEffect(() => {
    if (!open.value) return;
    // Loads overlap (a decision, then a sync): only the latest answer is shown.
    const ticket = ++latest.current;
    loading.value = true;
    lab()
      .reviewAgreement(3)
      .then((answer) => {
        if (ticket !== latest.current) return;
        data.value = answer;
        error.value = '';
      })
      .catch((e) => {
        if (ticket === latest.current) error.value = errorMessage(e);
      })
      .finally(() => {
        if (ticket === latest.current) loading.value = false;
      });
  }, [open.value, props.refreshKey]);

  const report = data.value?.report;
  return (
    <details
      data-testid="agreement-panel"
      onToggle={(e) => {
        open.value = (e.currentTarget as HTMLDetailsElement).open;
      }}
      style={{
        margin: '0.5rem 0',
        border: '1px solid var(--line)',
        borderRadius: '4px',
        padding: '0.4rem 0.6rem',
      }}
    >
      <summary style={{ cursor: 'pointer', fontWeight: 600 }}>
        Agreement with reviewers: can the heuristic reward be trusted for this feedback?
      </summary>
      {error.value && (
        <p role="alert" class="error" data-testid="agreement-error">
          {error.value}
        </p>
      )}
      {!data.value ? (
        <p class="muted">{loading.value ? 'Reading the decisions…' : ''}</p>
      ) : (
        <div aria-busy={loading.value}>
          <p data-testid="agreement-headline">{data.value.summary}</p>
          {report && report.compared > 0 && (
            <>
              <TermTable report={report} />
              <Counts report={report} />
              {report.examples.length > 0 && (
                <>
                  <h3 style={{ fontSize: '0.95rem' }}>Where the reward disagrees most</h3>
                  <ol data-testid="agreement-examples">
                    {report.examples.slice(0, 3).map((example) => (
                      <Example key={example.itemId} example={example} />
                    ))}
                  </ol>
                </>
              )}
            </>
          )}
          {report && report.compared === 0 && <Counts report={report} />}
        </div>
      )}
    </details>
  );
}
