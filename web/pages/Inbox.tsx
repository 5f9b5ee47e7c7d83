import { batch, useSignal } from '@preact/signals';
import type { ComponentChild, RefObject } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type {
  DecideRequest,
  InboxDecisionView,
  InboxDelivery,
  InboxDraft,
  InboxFilter,
  InboxItem,
  InboxRow,
  InboxState,
} from '../../worker/lab/protocol';
import { AgreementPanel } from '../components/AgreementPanel';
import { RewardBars } from '../components/RewardBars';
import { FailedChecks, SendableBadge } from '../components/Sendability';
import { errorMessage, lab, onLabEvent } from '../lab/client';

// The reviewer's Inbox: feedback items synced from the server, their drafts best first, and one decision
// per item, all from the keyboard. Everything shown comes from the lab's local store and every action
// writes there (the worker's worker/lab/inbox.ts), so it works offline; the next sync sends decisions
// and brings back the server's outcome and delivery log.

type Action = DecideRequest['action'];

type Composer = {
  action: Action;
  /** The reply (edit, write). */
  text: string;
  /** Why (reject: required; spam and the others: optional). */
  reason: string;
  /** Governance's findings from the last refused try; null before any try. */
  findings: string[] | null;
  override: boolean;
  overrideReason: string;
};

const ACTION_TITLES: Record<Action, string> = {
  approve: 'Approve the draft',
  edit: 'Edit the draft, then approve',
  write: 'Write a reply',
  reject: 'Reject all drafts',
  spam: 'Mark as spam',
};

const KEYS: Array<[string, string]> = [
  ['j / k', 'next / previous item'],
  ['1–9', 'pick a draft'],
  ['a', 'approve the picked draft'],
  ['e', 'edit the picked draft, then approve'],
  ['w', 'write a reply'],
  ['r', 'reject all drafts (with a reason)'],
  ['s', 'mark as spam'],
  ['Enter', 'confirm (Ctrl+Enter in the reply box)'],
  ['Esc', 'cancel'],
];

const STATE_LABELS: Record<InboxState, string> = {
  open: 'open',
  waiting: 'waiting for the server',
  won: 'your decision counts',
  lost: 'another reviewer first',
  settled: 'decided elsewhere',
};

function when(seconds: number | null): string {
  return seconds === null ? '—' : new Date(seconds * 1000).toLocaleString();
}

function isTyping(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLElement && (target.isContentEditable || !!target.closest('textarea, input, select'))
  );
}

export default function InboxPage() {
  const filter = useSignal<InboxFilter>('open');
  const rows = useSignal<InboxRow[]>([]);
  const loaded = useSignal(false);
  const selected = useSignal<string | null>(null);
  const item = useSignal<InboxItem | null>(null);
  /** Position of the picked draft in the item's best-first list. */
  const picked = useSignal(0);
  const reviewer = useSignal('');
  const reviewerLoaded = useSignal(false);
  const reviewerInput = useSignal('');
  const composer = useSignal<Composer | null>(null);
  const busy = useSignal(false);
  const error = useSignal('');
  const message = useSignal('');
  const reviewerField = useRef<HTMLInputElement>(null);
  const composerForm = useRef<HTMLFormElement>(null);
  /** Bumped by every refresh (a decision, a sync), so the agreement panel reads the decisions again. */
  const agreementKey = useSignal(0);

  async function loadItem(rolloutId: string | null) {
    const loadedItem = rolloutId ? await lab().inboxItem(rolloutId) : null;
    if (selected.value !== rolloutId) return; // another item was picked meanwhile
    item.value = loadedItem;
    if (picked.value >= (item.value?.draftList.length ?? 0)) picked.value = 0;
  }

  // Refreshes overlap (a filter change, a sync ending, a decision): only the latest may write, or an
  // older answer for another filter could replace the list the page now asks for.
  const latestRefresh = useRef(0);
  async function refresh() {
    const ticket = ++latestRefresh.current;
    const list = await lab().inboxList(filter.value);
    const keep = list.some((r) => r.rolloutId === selected.value);
    const next = keep ? selected.value : (list[0]?.rolloutId ?? null);
    const nextItem = next ? await lab().inboxItem(next) : null;
    if (ticket !== latestRefresh.current) return;
    // List, selection and detail change in one render: a key pressed in between must never act on the
    // item just decided (still shown) while the list already moved on.
    batch(() => {
      rows.value = list;
      loaded.value = true;
      if (!keep) {
        selected.value = next;
        picked.value = 0;
        composer.value = null;
      }
      item.value = nextItem;
      if (picked.value >= (nextItem?.draftList.length ?? 0)) picked.value = 0;
      agreementKey.value++;
    });
  }

  const report = (e: unknown) => {
    error.value = errorMessage(e);
  };

  useEffect(() => {
    void lab()
      .inboxReviewer()
      .then((name) => {
        reviewer.value = name;
        reviewerInput.value = name;
        reviewerLoaded.value = true;
      })
      .catch(report);
  }, []);
  useEffect(() => {
    refresh().catch(report);
  }, [filter.value]);
  // Items, outcomes and deliveries arrive by sync: show them as soon as a pass ends.
  useEffect(
    () =>
      onLabEvent((event) => {
        if (event.type === 'sync' && !event.state.running) refresh().catch(report);
      }),
    [],
  );

  function select(rolloutId: string) {
    if (selected.value === rolloutId) return;
    selected.value = rolloutId;
    picked.value = 0;
    composer.value = null;
    error.value = '';
    loadItem(rolloutId).catch(report);
  }

  function move(step: number) {
    const list = rows.value;
    if (list.length === 0) return;
    const at = list.findIndex((r) => r.rolloutId === selected.value);
    const next = Math.max(0, Math.min(list.length - 1, at < 0 ? 0 : at + step));
    select(list[next].rolloutId);
    document.getElementById(`inbox-option-${list[next].rolloutId}`)?.scrollIntoView({ block: 'nearest' });
  }

  function open(action: Action) {
    const current = item.value;
    // While a decision is saved and the list refreshed, the item shown is the one just decided.
    if (!current || busy.value) return;
    error.value = '';
    message.value = '';
    if (!reviewer.value) {
      error.value = 'Set your reviewer name first.';
      reviewerField.current?.focus();
      return;
    }
    if (current.state !== 'open') {
      error.value = 'This item is decided already.';
      return;
    }
    const draft = current.draftList[picked.value];
    if ((action === 'approve' || action === 'edit') && !draft) {
      error.value = 'This item has no drafts: write a reply (w) instead.';
      return;
    }
    composer.value = {
      action,
      // The draft's text for approve too: it is what the findings preview governs.
      text: action === 'edit' || action === 'approve' ? draft.text : '',
      reason: '',
      findings: null,
      override: false,
      overrideReason: '',
    };
    // Focus the composer's first field (or its Confirm button) once it is rendered.
    setTimeout(() => {
      const form = composerForm.current;
      (
        form?.querySelector<HTMLElement>('textarea, input[type="text"]') ?? form?.querySelector('button')
      )?.focus();
    });
  }

  function cancel() {
    composer.value = null;
    error.value = '';
    document.getElementById('inbox-list')?.focus();
  }

  async function confirm() {
    const c = composer.value;
    const current = item.value;
    if (!c || !current || busy.value) return;
    error.value = '';
    if (c.action === 'reject' && !c.reason.trim()) {
      error.value = 'A rejection needs a reason.';
      return;
    }
    if ((c.action === 'edit' || c.action === 'write') && !c.text.trim()) {
      error.value = 'The reply is empty.';
      return;
    }
    if (c.override && !c.overrideReason.trim()) {
      error.value = 'Sending despite the findings needs a reason.';
      return;
    }
    const draft = current.draftList[picked.value];
    const request: DecideRequest = {
      rolloutId: current.rolloutId,
      action: c.action,
      ...(c.action === 'approve' || c.action === 'edit' ? { draftIndex: draft?.index } : {}),
      ...(c.action === 'edit' || c.action === 'write' ? { reply: c.text } : {}),
      ...(c.reason.trim() ? { reason: c.reason.trim() } : {}),
      ...(c.override ? { override: c.overrideReason.trim() } : {}),
    };
    busy.value = true;
    try {
      const result = await lab().inboxDecide(request);
      if (result.status === 'refused') {
        composer.value = { ...c, findings: result.findings };
        error.value = `Not sent: governance found ${result.findings.join(', ')} in the reply. Change it, or tick the override and say why.`;
        return;
      }
      composer.value = null;
      message.value = `${ACTION_TITLES[c.action]}: saved. It goes to the server with the next sync.`;
      await refresh();
      document.getElementById('inbox-list')?.focus();
    } catch (e) {
      report(e);
    } finally {
      busy.value = false;
    }
  }

  // Findings before confirming: the reply is governed (in the worker) once typing pauses. Only a preview:
  // the worker governs the reply again when the decision is made, and refuses it there.
  const previewText =
    composer.value && composer.value.action !== 'reject' && composer.value.action !== 'spam'
      ? composer.value.text.trim()
      : '';
  useEffect(() => {
    if (!previewText) return;
    const timer = setTimeout(() => {
      lab()
        .inboxCheckReply(previewText)
        .then((check) => {
          const c = composer.value;
          if (c && c.text.trim() === previewText) composer.value = { ...c, findings: check.findings };
        })
        .catch(report);
    }, 400);
    return () => clearTimeout(timer);
  }, [previewText]);

  // The page's keys. Inside a text field only Esc and Ctrl+Enter act, so typing never triggers an action.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        if (composer.value) {
          event.preventDefault();
          cancel();
        }
        return;
      }
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        if (composer.value) {
          event.preventDefault();
          void confirm();
        }
        return;
      }
      if (isTyping(event.target) || event.altKey || event.ctrlKey || event.metaKey) return;
      if (composer.value) {
        // A focused button answers Enter itself.
        if (event.key === 'Enter' && !(event.target instanceof HTMLButtonElement)) {
          event.preventDefault();
          void confirm();
        }
        return;
      }
      const actions: Record<string, Action> = { a: 'approve', e: 'edit', w: 'write', r: 'reject', s: 'spam' };
      if (event.key === 'j' || event.key === 'k') {
        event.preventDefault();
        move(event.key === 'j' ? 1 : -1);
      } else if (/^[1-9]$/.test(event.key)) {
        const at = Number(event.key) - 1;
        if (item.value && at < item.value.draftList.length) {
          event.preventDefault();
          picked.value = at;
        }
      } else if (actions[event.key]) {
        event.preventDefault();
        open(actions[event.key]);
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  async function saveReviewer(event: Event) {
    event.preventDefault();
    error.value = '';
    try {
      reviewer.value = await lab().setInboxReviewer(reviewerInput.value);
      message.value = `Reviewing as ${reviewer.value}.`;
    } catch (e) {
      report(e);
    }
  }

  const current = item.value;
  return (
    <section aria-labelledby="inbox-title">
      <h1 id="inbox-title">Inbox</h1>
      <p class="lede">
        Visitors' feedback synced from the server, redacted at intake, with the served policy's drafts. Pick a
        draft and approve it, edit it, write your own, reject all or mark spam; each decision is kept in this
        lab and goes to the server with the next sync, which decides whose decision counts and delivers the
        reply.
      </p>
      <dl class="row" data-testid="inbox-keys" aria-label="Keyboard shortcuts">
        {KEYS.map(([key, what]) => (
          <div key={key}>
            <dt style={{ display: 'inline' }}>
              <kbd>{key}</kbd>
            </dt>{' '}
            <dd style={{ display: 'inline', margin: 0 }}>{what}</dd>
          </div>
        ))}
      </dl>
      {reviewerLoaded.value && (
        <form class="row" onSubmit={saveReviewer} data-testid="inbox-reviewer">
          <label class="row">
            Reviewer name
            <input
              ref={reviewerField}
              type="text"
              maxLength={200}
              value={reviewerInput.value}
              onInput={(e) => {
                reviewerInput.value = (e.currentTarget as HTMLInputElement).value;
              }}
            />
          </label>
          <button type="submit" class={reviewer.value ? 'secondary' : ''}>
            {reviewer.value ? 'Change name' : 'Save name'}
          </button>
          {!reviewer.value && <span class="muted">Asked once: your decisions carry this name.</span>}
        </form>
      )}
      <div class="row">
        <label class="row">
          Show
          <select
            data-testid="inbox-filter"
            value={filter.value}
            onChange={(e) => {
              filter.value = (e.currentTarget as HTMLSelectElement).value as InboxFilter;
            }}
          >
            <option value="open">open</option>
            <option value="decided">decided</option>
            <option value="all">all</option>
          </select>
        </label>
        <span data-testid="inbox-count">{loaded.value ? `${rows.value.length} items` : 'loading…'}</span>
        <span class="muted" role="status" data-testid="inbox-message">
          {busy.value ? 'Saving…' : message.value}
        </span>
      </div>
      <AgreementPanel refreshKey={agreementKey.value} />
      {error.value && (
        <p role="alert" class="error" data-testid="inbox-error">
          {error.value}
        </p>
      )}
      <div
        style={{
          display: 'grid',
          gridTemplateColumns: 'minmax(260px, 2fr) 3fr',
          gap: '1rem',
          alignItems: 'start',
        }}
      >
        <ItemList rows={rows.value} selected={selected.value} onSelect={select} onMove={move} />
        {current ? (
          <ItemDetail
            item={current}
            picked={picked.value}
            onPick={(at) => {
              picked.value = at;
            }}
            composer={
              composer.value && (
                <ComposerForm
                  formRef={composerForm}
                  composer={composer.value}
                  draft={current.draftList[picked.value]}
                  busy={busy.value}
                  onChange={(patch) => {
                    if (composer.value) composer.value = { ...composer.value, ...patch };
                  }}
                  onConfirm={() => void confirm()}
                  onCancel={cancel}
                />
              )
            }
          />
        ) : (
          <p class="muted">
            {loaded.value && rows.value.length === 0
              ? filter.value === 'open'
                ? 'Nothing to review: new feedback arrives with a sync (Sync page).'
                : 'No items here.'
              : ''}
          </p>
        )}
      </div>
    </section>
  );
}

function ItemList(props: {
  rows: InboxRow[];
  selected: string | null;
  onSelect: (rolloutId: string) => void;
  onMove: (step: number) => void;
}) {
  return (
    <div
      id="inbox-list"
      role="listbox"
      aria-label="Feedback items"
      data-testid="inbox-list"
      tabIndex={0}
      aria-activedescendant={props.selected ? `inbox-option-${props.selected}` : undefined}
      style={{
        listStyle: 'none',
        margin: 0,
        padding: 0,
        border: '1px solid var(--line)',
        borderRadius: '4px',
      }}
      onKeyDown={(e) => {
        if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
          e.preventDefault();
          props.onMove(e.key === 'ArrowDown' ? 1 : -1);
        }
      }}
    >
      {props.rows.map((r) => (
        // biome-ignore lint/a11y/useKeyWithClickEvents: the listbox container and the page's j/k keys handle the keyboard
        <div
          key={r.rolloutId}
          id={`inbox-option-${r.rolloutId}`}
          role="option"
          tabIndex={-1}
          aria-selected={r.rolloutId === props.selected}
          data-testid="inbox-item"
          data-rollout-id={r.rolloutId}
          data-item-id={r.itemId}
          data-state={r.state}
          onClick={() => props.onSelect(r.rolloutId)}
          style={{
            padding: '0.4rem 0.6rem',
            borderBottom: '1px solid var(--line)',
            cursor: 'pointer',
            background: r.rolloutId === props.selected ? '#e0ecfa' : undefined,
          }}
        >
          <div class="row" style={{ gap: '0.4rem', fontSize: '0.85rem' }}>
            <span class="muted">{when(r.submittedAt)}</span>
            {r.category && <span class="badge soft">{r.category}</span>}
            <span class="badge soft">{r.sentiment}</span>
            {r.boundaries.map((b) => (
              <span key={b} class="badge soft" title="boundary">
                {b}
              </span>
            ))}
            {r.pii.length > 0 && (
              <span class="muted" data-testid="inbox-item-pii">
                redacted {r.pii.join(', ')}
              </span>
            )}
            <span class="muted" data-testid="inbox-item-status">
              {STATE_LABELS[r.state]}
              {r.delivery ? ` · ${r.delivery}` : ''}
            </span>
          </div>
          <div data-testid="inbox-item-text">{r.text.length > 160 ? `${r.text.slice(0, 160)}…` : r.text}</div>
        </div>
      ))}
    </div>
  );
}

function ItemDetail(props: {
  item: InboxItem;
  picked: number;
  onPick: (at: number) => void;
  composer: ComponentChild;
}) {
  const it = props.item;
  return (
    <article
      data-testid="inbox-detail"
      data-rollout-id={it.rolloutId}
      data-state={it.state}
      aria-label="Selected item"
    >
      <p data-testid="inbox-detail-text" class="redacted">
        {it.text}
      </p>
      <dl class="row" style={{ gap: '0.4rem 1rem' }}>
        <div>
          <dt style={{ display: 'inline' }}>category</dt>{' '}
          <dd style={{ display: 'inline', margin: 0 }} data-testid="inbox-category">
            {it.category ?? '—'}
          </dd>
        </div>
        <div>
          <dt style={{ display: 'inline' }}>sentiment</dt>{' '}
          <dd style={{ display: 'inline', margin: 0 }} data-testid="inbox-sentiment">
            {it.sentiment} ({it.sentimentScore.toFixed(2)})
          </dd>
        </div>
        <div>
          <dt style={{ display: 'inline' }}>boundaries</dt>{' '}
          <dd style={{ display: 'inline', margin: 0 }} data-testid="inbox-boundaries">
            {it.boundaries.length ? it.boundaries.join(', ') : 'none'}
          </dd>
        </div>
        <div>
          <dt style={{ display: 'inline' }}>redacted</dt>{' '}
          <dd style={{ display: 'inline', margin: 0 }} data-testid="inbox-pii">
            {it.pii.length ? it.pii.join(', ') : 'no personal data'}
          </dd>
        </div>
        <div>
          <dt style={{ display: 'inline' }}>intake</dt>{' '}
          <dd style={{ display: 'inline', margin: 0 }}>
            <span class={`badge decision-${it.intakeDecision}`}>{it.intakeDecision}</span> via {it.source}
          </dd>
        </div>
      </dl>
      {it.state !== 'open' && <DecisionPanel item={it} />}
      {props.composer}
      <h2>Drafts ({it.draftList.length})</h2>
      {it.draftList.length === 0 && <p class="muted">No drafts yet for this item.</p>}
      <ol
        data-testid="inbox-drafts"
        aria-label="Drafts, best reward first"
        style={{ listStyle: 'none', paddingLeft: 0 }}
      >
        {it.draftList.map((d, at) => (
          <DraftView
            key={d.index}
            draft={d}
            at={at}
            picked={at === props.picked}
            onPick={() => props.onPick(at)}
          />
        ))}
      </ol>
    </article>
  );
}

function DraftView(props: { draft: InboxDraft; at: number; picked: boolean; onPick: () => void }) {
  const d = props.draft;
  return (
    <li
      data-testid="inbox-draft"
      data-index={d.index}
      data-picked={String(props.picked)}
      aria-current={props.picked ? 'true' : undefined}
      style={{
        marginBottom: '0.75rem',
        padding: '0.4rem',
        border: props.picked ? '2px solid var(--accent)' : '1px solid var(--line)',
        borderRadius: '4px',
      }}
    >
      <div class="row" style={{ gap: '0.5rem' }}>
        <button type="button" class="secondary" onClick={props.onPick} aria-pressed={props.picked}>
          {props.at < 9 ? `${props.at + 1}` : 'pick'}
          <span class="sr-only"> pick draft {props.at + 1}</span>
        </button>
        <strong data-testid="inbox-draft-reward">
          {d.reward === null ? 'no reward' : d.reward.toFixed(3)}
        </strong>
        <span class={`badge decision-${d.decision}`}>{d.decision}</span>
        <SendableBadge sendable={d.failedChecks.length === 0} />
        {d.violations.length > 0 && (
          <span class="badge decision-block" data-testid="inbox-draft-violations">
            violates {d.violations.join(', ')}
          </span>
        )}
        {d.redacted && <span class="badge soft">stored redacted</span>}
      </div>
      <p data-testid="inbox-draft-text" style={{ whiteSpace: 'pre-wrap' }}>
        {d.text || <span class="muted">(empty reply)</span>}
      </p>
      <FailedChecks failedChecks={d.failedChecks} findings={d.findings} />
      {Object.keys(d.terms).length > 0 && <RewardBars terms={d.terms} />}
    </li>
  );
}

function ComposerForm(props: {
  formRef: RefObject<HTMLFormElement>;
  composer: Composer;
  draft: InboxDraft | undefined;
  busy: boolean;
  onChange: (patch: Partial<Composer>) => void;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const c = props.composer;
  const findings = c.findings ?? [];
  return (
    <form
      ref={props.formRef}
      data-testid="inbox-composer"
      data-action={c.action}
      aria-label={ACTION_TITLES[c.action]}
      class="stack"
      style={{
        border: '2px solid var(--accent)',
        borderRadius: '6px',
        padding: '0.75rem',
        margin: '0.75rem 0',
      }}
      onSubmit={(e) => {
        e.preventDefault();
        props.onConfirm();
      }}
    >
      <strong>{ACTION_TITLES[c.action]}</strong>
      {c.action === 'approve' && props.draft && (
        <p data-testid="inbox-composer-reply" style={{ whiteSpace: 'pre-wrap' }}>
          {props.draft.text}
        </p>
      )}
      {(c.action === 'edit' || c.action === 'write') && (
        <label class="stack">
          Reply
          <textarea
            rows={5}
            value={c.text}
            onInput={(e) => props.onChange({ text: (e.currentTarget as HTMLTextAreaElement).value })}
          />
        </label>
      )}
      <label class="stack">
        {c.action === 'reject' ? 'Reason' : 'Reason (optional)'}
        <input
          type="text"
          maxLength={2000}
          value={c.reason}
          onInput={(e) => props.onChange({ reason: (e.currentTarget as HTMLInputElement).value })}
        />
      </label>
      {findings.length > 0 && (
        <div data-testid="inbox-findings" class="error">
          <p>Governance found in this reply:</p>
          <ul>
            {findings.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
          <label class="row">
            <input
              type="checkbox"
              checked={c.override}
              onChange={(e) => props.onChange({ override: (e.currentTarget as HTMLInputElement).checked })}
            />
            Send anyway (override, logged with the decision)
          </label>
          {c.override && (
            <label class="stack">
              Override reason
              <input
                type="text"
                maxLength={2000}
                value={c.overrideReason}
                onInput={(e) =>
                  props.onChange({ overrideReason: (e.currentTarget as HTMLInputElement).value })
                }
              />
            </label>
          )}
        </div>
      )}
      <div class="row">
        <button type="submit" disabled={props.busy}>
          Confirm
        </button>
        <button type="button" class="secondary" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function DecisionPanel({ item }: { item: InboxItem }) {
  const outcome = item.outcome;
  const winner = outcome ? item.decisions.find((d) => d.id === outcome.winner) : undefined;
  const winnerName = outcome?.winnerReviewer ?? winner?.reviewer ?? 'Another reviewer';
  return (
    <section data-testid="inbox-decided" aria-label="Decision">
      {item.state === 'waiting' && (
        <p data-testid="inbox-waiting" class="muted">
          Decided: waiting for the server.
        </p>
      )}
      {item.state === 'won' && <p data-testid="inbox-won">The server counts your decision.</p>}
      {item.state === 'lost' && (
        <p data-testid="inbox-lost" class="error">
          {winnerName} decided first; your decision was not sent.
        </p>
      )}
      {item.state === 'settled' && <p data-testid="inbox-settled">{winnerName} decided this item.</p>}
      {item.decisions.map((d) => (
        <DecisionView key={d.id} decision={d} counts={outcome ? outcome.winner === d.id : null} />
      ))}
      <DeliveryLog deliveries={item.deliveries} />
    </section>
  );
}

function DecisionView({ decision: d, counts }: { decision: InboxDecisionView; counts: boolean | null }) {
  return (
    <div data-testid="inbox-decision" data-decision-id={d.id} data-action={d.action} class="stack">
      <p class="row">
        <span class="badge soft">{d.action}</span>
        <span>
          by {d.reviewer}
          {d.mine ? ' (this lab)' : ''} · {when(d.decidedAt)}
        </span>
        {counts !== null && <span class="muted">{counts ? 'counts' : 'superseded'}</span>}
      </p>
      {d.reply && (
        <p data-testid="inbox-decision-reply" style={{ whiteSpace: 'pre-wrap' }}>
          {d.reply}
        </p>
      )}
      {d.diff && (
        <pre
          data-testid="inbox-decision-diff"
          title="the edit as a line diff of the draft"
          style={{ whiteSpace: 'pre-wrap' }}
        >
          {d.diff}
        </pre>
      )}
      {d.reason && <p>Reason: {d.reason}</p>}
      {d.findings.length > 0 && (
        <p data-testid="inbox-decision-override">
          Sent despite {d.findings.join(', ')}: {d.override}
        </p>
      )}
    </div>
  );
}

function DeliveryLog({ deliveries }: { deliveries: InboxDelivery[] }) {
  if (deliveries.length === 0) return <p class="muted">No delivery attempts yet.</p>;
  return (
    <table data-testid="inbox-deliveries">
      <caption>Delivery log</caption>
      <thead>
        <tr>
          <th scope="col" class="num">
            attempt
          </th>
          <th scope="col">status</th>
          <th scope="col" class="num">
            HTTP
          </th>
          <th scope="col">error</th>
          <th scope="col">next attempt</th>
          <th scope="col">at</th>
        </tr>
      </thead>
      <tbody>
        {deliveries.map((d) => (
          <tr key={`${d.decision}:${d.attempt}`} data-testid="inbox-delivery" data-status={d.status}>
            <td class="num">{d.attempt}</td>
            <td>{d.status}</td>
            <td class="num">{d.httpStatus ?? '—'}</td>
            <td>{d.error ?? ''}</td>
            <td>{d.nextAttemptAt === null ? '—' : when(d.nextAttemptAt)}</td>
            <td>{when(d.at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
