import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import type { DatasetFilter, DatasetRow, DatasetSummary, LineError } from '../../worker/lab/protocol';
import { usePagedRows } from '../components/paged';
import { VirtualList } from '../components/VirtualList';
import { errorMessage, lab } from '../lab/client';

const ROW_HEIGHT = 30;

function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

export default function DatasetPage() {
  const seed = useSignal(1);
  const size = useSignal(200);
  const badShare = useSignal(0.3);
  const busy = useSignal('');
  const message = useSignal('');
  const error = useSignal('');
  const lineErrors = useSignal<LineError[]>([]);
  const summary = useSignal<DatasetSummary | null>(null);
  const filter = useSignal<DatasetFilter>({});
  const selected = useSignal<number | undefined>(undefined);
  const revision = useSignal(0);

  const rows = usePagedRows<DatasetRow>(
    `${JSON.stringify(filter.value)}#${revision.value}`,
    (offset, limit) => lab().queryDataset(filter.value, offset, limit),
  );

  async function refresh() {
    summary.value = await lab().datasetSummary();
    revision.value++;
  }
  useEffect(() => {
    refresh().catch((e) => {
      error.value = errorMessage(e);
    });
  }, []);

  async function act(label: string, work: () => Promise<string>) {
    busy.value = label;
    error.value = '';
    message.value = '';
    try {
      message.value = await work();
      await refresh();
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      busy.value = '';
    }
  }

  const generate = (event: Event) => {
    event.preventDefault();
    void act('Generating…', async () => {
      const result = await lab().generateDataset({
        seed: seed.value,
        size: size.value,
        badHabitShare: badShare.value,
      });
      lineErrors.value = [];
      return `Generated ${result.added} examples.`;
    });
  };

  const importFile = (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    void act('Importing…', async () => {
      const result = await lab().importDataset(await file.text());
      lineErrors.value = result.errors;
      input.value = '';
      return `Imported ${result.added} examples from ${file.name}; ${result.errors.length} lines rejected.`;
    });
  };

  const exportFile = () =>
    void act('Exporting…', async () => {
      const text = await lab().exportDataset(filter.value);
      download('edgelight-dataset.jsonl', text, 'application/x-ndjson');
      return `Exported ${text ? text.trimEnd().split('\n').length : 0} examples.`;
    });

  const clear = () =>
    void act('Clearing…', async () => {
      await lab().clearDataset();
      selected.value = undefined;
      return 'Dataset cleared.';
    });

  const s = summary.value;
  const current = selected.value === undefined ? undefined : rows.row(selected.value);

  function setFilter(key: keyof DatasetFilter, value: string) {
    filter.value = { ...filter.value, [key]: value || undefined };
    selected.value = undefined;
  }

  return (
    <section aria-labelledby="dataset-title">
      <h1 id="dataset-title">Dataset</h1>
      <p class="lede">
        Feedback examples the agent trains and is evaluated on, kept in this browser (IndexedDB).
        {s &&
          ` ${s.total} examples: ${
            Object.entries(s.bySplit)
              .map(([k, v]) => `${v} ${k}`)
              .join(', ') || 'none yet'
          }.`}
      </p>
      <div class="columns">
        <form class="stack" onSubmit={generate}>
          <fieldset>
            <legend>Generate</legend>
            <div class="fields">
              <label>
                Seed
                <input
                  type="number"
                  min={0}
                  step={1}
                  value={seed.value}
                  onInput={(e) => {
                    seed.value = Number((e.currentTarget as HTMLInputElement).value);
                  }}
                />
              </label>
              <label>
                Size
                <input
                  type="number"
                  min={1}
                  max={100000}
                  value={size.value}
                  onInput={(e) => {
                    size.value = Number((e.currentTarget as HTMLInputElement).value);
                  }}
                />
              </label>
              <label>
                Bad-habit share
                <input
                  type="number"
                  min={0}
                  max={1}
                  step={0.05}
                  value={badShare.value}
                  onInput={(e) => {
                    badShare.value = Number((e.currentTarget as HTMLInputElement).value);
                  }}
                />
              </label>
            </div>
            <p class="row">
              <button type="submit" disabled={!!busy.value}>
                Generate
              </button>
              <span class="muted">replaces the current dataset; the share applies to its SFT corpus</span>
            </p>
          </fieldset>
        </form>
        <fieldset>
          <legend>Files (JSON Lines)</legend>
          <div class="row">
            <label>
              Import
              <input
                type="file"
                accept=".jsonl,.ndjson,.json,application/x-ndjson,text/plain"
                onChange={importFile}
                disabled={!!busy.value}
              />
            </label>
          </div>
          <p class="row">
            <button type="button" class="secondary" onClick={exportFile} disabled={!!busy.value}>
              Export (current filter)
            </button>
            <button type="button" class="secondary" onClick={clear} disabled={!!busy.value}>
              Clear all
            </button>
          </p>
        </fieldset>
      </div>
      <p aria-live="polite" class="muted">
        {busy.value || message.value}
      </p>
      {error.value && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      {lineErrors.value.length > 0 && (
        <table data-testid="line-errors">
          <caption>Rejected lines ({lineErrors.value.length})</caption>
          <thead>
            <tr>
              <th scope="col" class="num">
                line
              </th>
              <th scope="col">error</th>
            </tr>
          </thead>
          <tbody>
            {lineErrors.value.slice(0, 200).map((e) => (
              <tr key={e.line}>
                <td class="num">{e.line}</td>
                <td>{e.error}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Browse</h2>
      <fieldset class="row filters">
        <legend class="sr-only">Filters</legend>
        <FilterSelect
          label="Split"
          value={filter.value.split}
          options={s?.splits ?? []}
          onChange={(v) => setFilter('split', v)}
        />
        <FilterSelect
          label="Category"
          value={filter.value.category}
          options={s?.categories ?? []}
          onChange={(v) => setFilter('category', v)}
        />
        <FilterSelect
          label="Sentiment"
          value={filter.value.sentiment}
          options={s?.sentiments ?? []}
          onChange={(v) => setFilter('sentiment', v)}
        />
        <span class="muted" data-testid="dataset-count">
          {rows.total} matching
        </span>
      </fieldset>
      {rows.error && (
        <p role="alert" class="error">
          {rows.error}
        </p>
      )}
      <VirtualList
        label="Examples"
        count={rows.total}
        rowHeight={ROW_HEIGHT}
        height={360}
        columns="5rem 9rem 6rem 1fr"
        selected={selected.value}
        onSelect={(i) => {
          selected.value = i;
        }}
        onRange={rows.onRange}
        renderRow={(i) => {
          const r = rows.row(i);
          if (!r) return <span class="muted">…</span>;
          return (
            <>
              <span>{r.split}</span>
              <span>{r.category ?? '—'}</span>
              <span>{r.sentiment ?? '—'}</span>
              <span title={r.text}>{r.text}</span>
            </>
          );
        }}
      />
      {current && (
        <div class="detail" data-testid="dataset-detail">
          <h2>Example {current.id}</h2>
          <p class="highlighted">{current.text}</p>
          <p class="muted">
            split {current.split} · category {current.category ?? '—'} · sentiment {current.sentiment ?? '—'}
            {current.tags.length > 0 && ` · ${current.tags.join(', ')}`}
          </p>
        </div>
      )}
    </section>
  );
}

function FilterSelect(props: {
  label: string;
  value: string | undefined;
  options: string[];
  onChange: (value: string) => void;
}) {
  return (
    <label class="row">
      {props.label}
      <select
        value={props.value ?? ''}
        onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}
      >
        <option value="">all</option>
        {props.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}
