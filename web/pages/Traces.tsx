import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import type { Span } from '../../shared/store/types';
import type { TraceDetail } from '../../worker/lab/traces';
import type { TraceFilter, TraceRow } from '../../worker/lab/protocol';
import { usePagedRows } from '../components/paged';
import { RewardBars, rewardTerms } from '../components/RewardBars';
import { VirtualList } from '../components/VirtualList';
import { errorMessage, lab } from '../lab/client';
import { waterfall } from './traces-tree';

const ROW_HEIGHT = 30;

function time(seconds: number | null): string {
  return seconds === null ? '—' : new Date(seconds * 1000).toLocaleTimeString();
}

function numberOrUndefined(value: string): number | undefined {
  return value.trim() === '' || Number.isNaN(Number(value)) ? undefined : Number(value);
}

export default function TracesPage() {
  const filter = useSignal<TraceFilter>({});
  const facets = useSignal<{ statuses: string[]; modes: string[]; total: number }>({
    statuses: [],
    modes: [],
    total: 0,
  });
  const revision = useSignal(0);
  const selected = useSignal<number | undefined>(undefined);
  const detail = useSignal<TraceDetail | null>(null);
  const error = useSignal('');
  const refreshing = useSignal(false);

  const rows = usePagedRows<TraceRow>(`${JSON.stringify(filter.value)}#${revision.value}`, (offset, limit) =>
    lab().queryTraces(filter.value, offset, limit),
  );

  async function refresh() {
    refreshing.value = true;
    try {
      const changed = await lab().refreshTraces();
      facets.value = await lab().traceFacets();
      if (changed > 0 || revision.value === 0) revision.value++;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      refreshing.value = false;
    }
  }

  useEffect(() => {
    void refresh();
    // New rollouts arrive while training runs; keep the list current without a reload.
    const timer = setInterval(() => void refresh(), 4000);
    return () => clearInterval(timer);
  }, []);

  async function open(index: number) {
    try {
      // A row scrolled into view may not be fetched yet: ask for exactly that one.
      const row = rows.row(index) ?? (await lab().queryTraces(filter.value, index, 1)).rows[0];
      if (!row) return;
      detail.value = await lab().traceDetail(row.rollout_id);
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  function set(patch: Partial<TraceFilter>) {
    filter.value = { ...filter.value, ...patch };
    selected.value = undefined;
  }

  return (
    <section aria-labelledby="traces-title">
      <h1 id="traces-title">Traces</h1>
      <p class="lede">
        Rollouts in this browser's LightningStore, newest first: {facets.value.total} in all.
        {refreshing.value && ' Refreshing…'}
      </p>
      <fieldset class="row filters">
        <legend class="sr-only">Filters</legend>
        <label class="row">
          Status
          <select
            value={filter.value.status ?? ''}
            onChange={(e) => set({ status: (e.currentTarget as HTMLSelectElement).value || undefined })}
          >
            <option value="">all</option>
            {facets.value.statuses.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label class="row">
          Mode
          <select
            value={filter.value.mode ?? ''}
            onChange={(e) => set({ mode: (e.currentTarget as HTMLSelectElement).value || undefined })}
          >
            <option value="">all</option>
            {facets.value.modes.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label class="row">
          Reward ≥
          <input
            type="number"
            step="0.1"
            size={6}
            onChange={(e) =>
              set({ minReward: numberOrUndefined((e.currentTarget as HTMLInputElement).value) })
            }
          />
        </label>
        <label class="row">
          Reward ≤
          <input
            type="number"
            step="0.1"
            size={6}
            onChange={(e) =>
              set({ maxReward: numberOrUndefined((e.currentTarget as HTMLInputElement).value) })
            }
          />
        </label>
        <label class="row">
          Search
          <input
            type="search"
            onChange={(e) => set({ search: (e.currentTarget as HTMLInputElement).value || undefined })}
          />
        </label>
        <span class="muted" data-testid="traces-count">
          {rows.total} matching
        </span>
      </fieldset>
      {(error.value || rows.error) && (
        <p role="alert" class="error">
          {error.value || rows.error}
        </p>
      )}
      <VirtualList
        label="Rollouts"
        count={rows.total}
        rowHeight={ROW_HEIGHT}
        height={320}
        columns="7rem 5rem 5rem 6rem 3rem 1fr"
        selected={selected.value}
        onSelect={(i) => {
          selected.value = i;
        }}
        onOpen={(i) => void open(i)}
        onRange={rows.onRange}
        renderRow={(i) => {
          const r = rows.row(i);
          if (!r) return <span class="muted">…</span>;
          return (
            <>
              <span>{r.status}</span>
              <span>{r.mode}</span>
              <span class="num">{r.reward === null ? '—' : r.reward.toFixed(3)}</span>
              <span>{time(r.start_time)}</span>
              <span title="attempts">×{r.attempts}</span>
              <span title={r.preview}>{r.preview || r.rollout_id}</span>
            </>
          );
        }}
      />
      <p class="muted">Arrow keys move through the list; Enter opens a rollout.</p>
      {detail.value && <RolloutDetail detail={detail.value} />}
    </section>
  );
}

function RolloutDetail({ detail }: { detail: TraceDetail }) {
  const chosen = useSignal(detail.attempts.length - 1);
  useEffect(() => {
    chosen.value = detail.attempts.length - 1;
  }, [detail]);
  const attempt = detail.attempts[chosen.value] ?? detail.attempts.at(-1);
  const { rollout } = detail;
  return (
    <div class="detail" data-testid="trace-detail">
      <h2>Rollout {rollout.rollout_id}</h2>
      <p class="muted">
        status {rollout.status} · mode {rollout.mode ?? '—'} · started {time(rollout.start_time)} · ended{' '}
        {time(rollout.end_time)} · resources {rollout.resources_id ?? '—'}
      </p>
      {detail.attempts.length > 1 && (
        <fieldset class="row filters">
          <legend class="sr-only">Attempts</legend>
          {detail.attempts.map((a, i) => (
            <button
              type="button"
              key={a.attempt.attempt_id}
              class={i === chosen.value ? '' : 'secondary'}
              aria-pressed={i === chosen.value}
              onClick={() => {
                chosen.value = i;
              }}
            >
              attempt {a.attempt.sequence_id}: {a.attempt.status}
            </button>
          ))}
        </fieldset>
      )}
      {attempt ? (
        <>
          <p class="muted">
            attempt {attempt.attempt.sequence_id} ({attempt.attempt.attempt_id}) · {attempt.attempt.status} ·
            worker {attempt.attempt.worker_id ?? '—'} · {attempt.spans.length} spans
          </p>
          <Waterfall spans={attempt.spans} />
        </>
      ) : (
        <p class="muted">No attempt yet (the rollout is queued).</p>
      )}
    </div>
  );
}

function shortName(name: string): string {
  return name.replace(/^agentlightning\./, '');
}

/** What a span is about, in a few words: the operation, the reply, the reward, the error. */
function spanLabel(span: Span): string {
  const a = span.attributes;
  const name = a['agentlightning.operation.name'];
  if (typeof name === 'string') return name;
  const primary = a['agentlightning.reward.0.value'];
  if (typeof primary === 'number') return `primary ${primary.toFixed(3)}`;
  const error = a['exception.type'];
  if (typeof error === 'string') return error;
  const reply = a['edgelight.reply.index'];
  const type = a['agentlightning.object.type'];
  if (typeof type === 'string') return typeof reply === 'number' ? `${type} #${reply}` : type;
  const body = a['agentlightning.message.body'];
  return typeof body === 'string' ? body.slice(0, 60) : '';
}

function Waterfall({ spans }: { spans: Span[] }) {
  const rows = waterfall(spans);
  return (
    <ol class="waterfall" aria-label="Span tree">
      {rows.map(({ span, depth, offset, width }) => (
        <li
          key={span.span_id}
          class={`span span-${shortName(span.name)}`}
          style={{ paddingLeft: `${depth * 1.25}rem` }}
        >
          <details>
            <summary>
              <span class="span-name">{shortName(span.name)}</span>
              <span class="span-label">{spanLabel(span)}</span>
              <span>
                {span.status.status_code === 'ERROR' && <span class="badge decision-block">error</span>}
              </span>
              <span class="span-track" aria-hidden="true">
                <span
                  class="span-bar"
                  style={{ left: `${offset * 100}%`, width: `max(2px, ${width * 100}%)` }}
                />
              </span>
            </summary>
            <SpanBody span={span} />
          </details>
        </li>
      ))}
    </ol>
  );
}

function SpanBody({ span }: { span: Span }) {
  const a = span.attributes;
  const message = a['agentlightning.message.body'];
  const exception = a['exception.message'];
  const terms = rewardTerms(a);
  const rest = Object.entries(a).filter(
    ([k]) => !k.startsWith('agentlightning.reward.') && k !== 'agentlightning.message.body',
  );
  return (
    <div class="span-body">
      {typeof message === 'string' && <p class="highlighted">{message}</p>}
      {terms && <RewardBars terms={terms} />}
      {typeof exception === 'string' && (
        <div class="error">
          <strong>{String(a['exception.type'] ?? 'Error')}</strong>: {exception}
          {typeof a['exception.stacktrace'] === 'string' && <pre>{a['exception.stacktrace']}</pre>}
        </div>
      )}
      {rest.length > 0 && (
        <table>
          <caption class="sr-only">attributes</caption>
          <tbody>
            {rest.map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td>
                  {Array.isArray(v)
                    ? `[${v.length}] ${v.slice(0, 12).join(', ')}${v.length > 12 ? ', …' : ''}`
                    : String(v)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
