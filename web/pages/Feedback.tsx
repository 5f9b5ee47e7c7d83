import { useSignal } from '@preact/signals';
import type { TextKind, Verdict } from '../../shared/governance/types';
import type { DraftResult } from '../../worker/lab/protocol';
import { Highlighted } from '../components/Highlighted';
import { RewardBars } from '../components/RewardBars';
import { FailedChecks, SendableBadge } from '../components/Sendability';
import { type Mark, PII_GROUP_LABELS, PII_TYPE_INFO, type PiiGroup, piiClass } from '../components/highlight';
import { errorMessage, lab } from '../lab/client';

const EXAMPLE =
  'Your tool broke our release. Email me at dana.ortiz@example.org or call +1 415 555 0132 — and please just tell us what is right for our roadmap.';

function marksOf(verdict: Verdict): Mark[] {
  return [
    ...verdict.pii.map((p) => ({
      start: p.start,
      end: p.end,
      kind: 'pii' as const,
      label: `${PII_TYPE_INFO[p.type].label} (${p.type}) ${p.score.toFixed(2)}`,
      piiType: p.type,
    })),
    ...verdict.violations.map((v) => ({
      start: v.start,
      end: v.end,
      kind: 'violation' as const,
      label: `rule ${v.rule}`,
    })),
  ];
}

export default function FeedbackPage() {
  const text = useSignal('');
  const kind = useSignal<TextKind>('feedback');
  const verdict = useSignal<{ text: string; verdict: Verdict } | null>(null);
  const error = useSignal('');
  const busy = useSignal(false);

  async function check(event: Event) {
    event.preventDefault();
    busy.value = true;
    error.value = '';
    const submitted = text.value;
    try {
      verdict.value = { text: submitted, verdict: await lab().govern(submitted, kind.value) };
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      busy.value = false;
    }
  }

  return (
    <section aria-labelledby="feedback-title">
      <h1 id="feedback-title">Feedback</h1>
      <p class="lede">
        Paste feedback (or a drafted reply) to see what the governance pipeline finds before any agent sees
        it.
      </p>
      <form onSubmit={check} class="stack">
        <label for="feedback-text">Text</label>
        <textarea
          id="feedback-text"
          rows={6}
          value={text.value}
          onInput={(e) => {
            text.value = (e.currentTarget as HTMLTextAreaElement).value;
          }}
          placeholder={EXAMPLE}
        />
        <div class="row">
          <label for="feedback-kind">Kind</label>
          <select
            id="feedback-kind"
            value={kind.value}
            onChange={(e) => {
              kind.value = (e.currentTarget as HTMLSelectElement).value as TextKind;
            }}
          >
            <option value="feedback">feedback from a person</option>
            <option value="response">response drafted by the agent</option>
          </select>
          <button type="submit" disabled={busy.value || text.value.trim() === ''}>
            {busy.value ? 'Checking…' : 'Check'}
          </button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              text.value = EXAMPLE;
            }}
          >
            Use an example
          </button>
        </div>
      </form>
      {error.value && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      {verdict.value && <VerdictView text={verdict.value.text} verdict={verdict.value.verdict} />}
      {verdict.value && verdict.value.verdict.kind === 'feedback' && <Drafts text={verdict.value.text} />}
    </section>
  );
}

function Drafts({ text }: { text: string }) {
  const result = useSignal<DraftResult | null>(null);
  const busy = useSignal(false);
  const error = useSignal('');
  async function draft() {
    busy.value = true;
    error.value = '';
    try {
      result.value = await lab().draftReplies({ text, group: 4 });
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      busy.value = false;
    }
  }
  const r = result.value;
  return (
    <div class="drafts">
      <h2>Agent replies</h2>
      <p class="row">
        <button type="button" onClick={draft} disabled={busy.value}>
          {busy.value ? 'Drafting…' : 'Draft replies'}
        </button>
        <span class="muted">
          The agent sees only the redacted text; each reply is governed, checked for whether a person could
          send it as written, and scored, term by term.
        </span>
      </p>
      {error.value && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      {r && (
        <>
          <p class="muted" data-testid="draft-policy">
            policy{' '}
            {r.policyKind === 'baseline'
              ? 'baseline (samples the SFT corpus; no checkpoint yet)'
              : r.policyId}
            {' · '}rollout {r.rolloutId}
          </p>
          <ol class="replies">
            {r.replies.map((reply) => (
              <li key={reply.index} data-testid="draft-reply">
                <div class="row">
                  <span class={`badge decision-${reply.decision}`}>{reply.decision}</span>
                  <SendableBadge sendable={reply.sendable} />
                  <strong>reward {reply.reward.toFixed(3)}</strong>
                  {reply.hardZero && <span class="muted">forced to 0: {reply.hardZero}</span>}
                  {reply.violations.length > 0 && (
                    <span class="muted">violations: {reply.violations.join(', ')}</span>
                  )}
                </div>
                <p class="highlighted">{reply.text}</p>
                <FailedChecks failedChecks={reply.failedChecks} findings={reply.findings} />
                <RewardBars terms={reply.terms} />
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}

function VerdictView({ text, verdict }: { text: string; verdict: Verdict }) {
  const sentimentPercent = Math.round(((verdict.sentiment.score + 1) / 2) * 100);
  return (
    <div class="verdict" aria-live="polite" data-testid="verdict">
      <div class="row">
        <span class={`badge decision-${verdict.decision}`} data-testid="decision">
          {verdict.decision}
        </span>
        <span class="muted">
          sentiment <strong data-testid="sentiment">{verdict.sentiment.label}</strong> (
          {verdict.sentiment.score.toFixed(2)})
        </span>
        <meter
          min={0}
          max={100}
          low={35}
          high={65}
          optimum={100}
          value={sentimentPercent}
          aria-label="sentiment score"
        />
      </div>
      {verdict.reasons.length > 0 && (
        <ul class="reasons" aria-label="reasons">
          {verdict.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
      <h2>Findings</h2>
      <p class="legend">
        {(Object.keys(PII_GROUP_LABELS) as PiiGroup[]).map((group) => (
          <span key={group}>
            <mark class={`mark-pii pii-${group}`}>{PII_GROUP_LABELS[group]}</mark>{' '}
          </span>
        ))}
        <mark class="mark-violation">rule violation</mark>
      </p>
      <Highlighted text={text} marks={marksOf(verdict)} />
      <h2>Redacted</h2>
      <p class="redacted" data-testid="redacted">
        {verdict.redacted}
      </p>
      <div class="columns">
        <table>
          <caption>Personal data ({verdict.pii.length})</caption>
          <thead>
            <tr>
              <th scope="col">type</th>
              <th scope="col">value</th>
              <th scope="col">score</th>
            </tr>
          </thead>
          <tbody>
            {verdict.pii.map((p) => (
              <tr key={`${p.start}-${p.end}`} data-pii-type={p.type}>
                <td>
                  <mark class={`mark-pii ${piiClass(p.type)}`}>{PII_TYPE_INFO[p.type].label}</mark>{' '}
                  <code>{p.type}</code>
                </td>
                <td>{text.slice(p.start, p.end)}</td>
                <td>{p.score.toFixed(2)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <table>
          <caption>Rule violations ({verdict.violations.length})</caption>
          <thead>
            <tr>
              <th scope="col">rule</th>
              <th scope="col">match</th>
            </tr>
          </thead>
          <tbody>
            {verdict.violations.map((v) => (
              <tr key={`${v.rule}-${v.start}`}>
                <td>{v.rule}</td>
                <td>{v.match}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {verdict.boundaries.length > 0 && (
        <>
          <h2>Boundaries</h2>
          <ul>
            {verdict.boundaries.map((b) => (
              <li key={`${b.boundary}-${b.match}`}>
                <strong>{b.boundary}</strong>: “{b.match}” — a person must answer this.
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
