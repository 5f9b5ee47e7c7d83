import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import type { CheckpointRow, Comparison } from '../../worker/lab/protocol';
import { HfExportPanel } from '../components/HfExportPanel';
import { PromotePanel } from '../components/PromotePanel';
import { RewardBars } from '../components/RewardBars';
import { FailedChecks, percent, SendableBadge, TopFailingChecks } from '../components/Sendability';
import { errorMessage, lab, onLabEvent } from '../lab/client';
import { hfModelNames } from '../lab/hf';
import { training } from '../lab/training';

const SHOWN_METRICS: Array<[string, string]> = [
  ['rewardMean', 'reward'],
  ['loss', 'loss'],
  ['kl', 'KL'],
  ['entropy', 'entropy'],
  ['violationRate', 'violations'],
  ['sendableRate', 'sendable'],
];

/** The `failed.<check>` metrics saved with a checkpoint: the share of the last step's replies failing each. */
function failedShares(metrics: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(metrics)) if (key.startsWith('failed.')) out[key.slice(7)] = v;
  return out;
}

/** Three decimals, or an exponent for values too small to show that way. */
function figure(v: number): string {
  return v !== 0 && Math.abs(v) < 0.001 ? v.toExponential(2) : v.toFixed(3);
}

function short(id: string): string {
  return `${id.slice(0, 10)}…`;
}

export default function CheckpointsPage() {
  const rows = useSignal<CheckpointRow[]>([]);
  const a = useSignal('');
  const b = useSignal('');
  const prompts = useSignal(4);
  const replyTokens = useSignal(64);
  const comparison = useSignal<Comparison | null>(null);
  const busy = useSignal('');
  const error = useSignal('');
  const message = useSignal('');
  /** The Sync page's server (promotion runs there) and the checkpoint it serves. */
  const server = useSignal('');
  const served = useSignal<string | null>(null);
  const promoting = useSignal<string | null>(null);
  /** The checkpoint whose Hugging Face export panel is open. */
  const exportingHf = useSignal<string | null>(null);
  const hfNames = hfModelNames.value;

  async function refreshServed() {
    server.value = (await lab().syncState()).settings.url;
    served.value = server.value ? await lab().servedCheckpoint() : null;
  }

  async function refresh() {
    void refreshServed().catch(() => {
      served.value = null; // the server is unreachable: promotion will say so when asked
    });
    rows.value = await lab().listCheckpoints();
    if (!a.value && rows.value[1]) a.value = rows.value[1].id;
    if (!b.value && rows.value[0]) b.value = rows.value[0].id;
  }
  // A checkpoint saved, or pulled by a sync, while this page is open appears without a reload.
  const lastSaved = training.value.lastCheckpoint?.id;
  useEffect(() => {
    refresh().catch((e) => {
      error.value = errorMessage(e);
    });
  }, [lastSaved]);
  useEffect(
    () =>
      onLabEvent((event) => {
        if (event.type !== 'sync' || event.state.running) return;
        refresh().catch((e) => {
          error.value = errorMessage(e);
        });
      }),
    [],
  );

  async function act(label: string, work: () => Promise<string | undefined>) {
    busy.value = label;
    error.value = '';
    message.value = '';
    try {
      message.value = (await work()) ?? '';
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      busy.value = '';
    }
  }

  const exportOne = (id: string) =>
    act('Exporting…', async () => {
      const bundle = await lab().exportCheckpoint(id);
      const url = URL.createObjectURL(
        new Blob([bundle.bytes as Uint8Array<ArrayBuffer>], { type: 'application/x-tar' }),
      );
      const link = document.createElement('a');
      link.href = url;
      link.download = bundle.name;
      link.click();
      URL.revokeObjectURL(url);
      return `Exported ${bundle.name}.`;
    });

  const importFile = (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    void act('Importing…', async () => {
      const row = await lab().importCheckpoint(new Uint8Array(await file.arrayBuffer()));
      input.value = '';
      await refresh();
      return `Imported checkpoint ${short(row.id)}`;
    });
  };

  const compare = (event: Event) => {
    event.preventDefault();
    void act('Sampling both checkpoints…', async () => {
      comparison.value = await lab().compareCheckpoints({
        a: a.value,
        b: b.value,
        prompts: prompts.value,
        maxNewTokens: replyTokens.value,
      });
      return undefined;
    });
  };

  const options = rows.value.map((r) => (
    <option key={r.id} value={r.id}>
      step {r.step} · {r.algorithm} · {short(r.id)}
    </option>
  ));

  return (
    <section aria-labelledby="checkpoints-title">
      <h1 id="checkpoints-title">Checkpoints</h1>
      <p class="lede">
        Policy versions saved by training, imported, or pulled from a server. A bundle is a .tar of the
        checkpoint's files (model.safetensors, config.json, tokenizer.json, optimizer and trainer state).
      </p>
      <div class="row">
        <label>
          Import a bundle (.tar){' '}
          <input type="file" accept=".tar,application/x-tar" onChange={importFile} disabled={!!busy.value} />
        </label>
        <span class="muted" aria-live="polite">
          {busy.value || message.value}
        </span>
      </div>
      {error.value && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      <table data-testid="checkpoints">
        <caption>Versions ({rows.value.length})</caption>
        <thead>
          <tr>
            <th scope="col">saved</th>
            <th scope="col" class="num">
              step
            </th>
            <th scope="col">algorithm</th>
            <th scope="col">preset</th>
            {SHOWN_METRICS.map(([, label]) => (
              <th scope="col" class="num" key={label}>
                {label}
              </th>
            ))}
            <th scope="col">top failing checks</th>
            <th scope="col">source</th>
            <th scope="col">id</th>
            <th scope="col">
              <span class="sr-only">actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.value.map((r) => (
            <tr key={r.id} data-testid="checkpoint-row">
              <td>{new Date(r.createdAt).toLocaleString()}</td>
              <td class="num">{r.step}</td>
              <td>{r.algorithm}</td>
              <td>{r.preset}</td>
              {SHOWN_METRICS.map(([key]) => (
                <td class="num" key={key}>
                  {r.metrics[key] === undefined ? '—' : figure(r.metrics[key])}
                </td>
              ))}
              <td data-testid="checkpoint-failing">
                {r.metrics.sendableRate === undefined ? (
                  '—'
                ) : (
                  <TopFailingChecks shares={failedShares(r.metrics)} />
                )}
              </td>
              <td>
                {r.name
                  ? `${r.name} (${r.source})`
                  : hfNames[r.id]
                    ? `${hfNames[r.id]} (Hugging Face)`
                    : r.source}
                {served.value === r.id && (
                  <>
                    {' '}
                    <span class="badge" data-testid="served-badge">
                      served
                    </span>
                  </>
                )}
              </td>
              <td title={r.id}>
                <code>{short(r.id)}</code>
              </td>
              <td>
                <button
                  type="button"
                  class="secondary"
                  onClick={() => void exportOne(r.id)}
                  disabled={!!busy.value}
                >
                  Export
                </button>{' '}
                <button
                  type="button"
                  class="secondary"
                  onClick={() => {
                    exportingHf.value = r.id;
                  }}
                  disabled={!!busy.value}
                  title="the PEFT adapter (LoRA runs) or the merged model, as Hugging Face files"
                >
                  Hugging Face…
                </button>{' '}
                <button
                  type="button"
                  class="secondary"
                  onClick={() => {
                    promoting.value = r.id;
                  }}
                  disabled={!!busy.value || !server.value || served.value === r.id}
                  title={server.value ? `promote on ${server.value}` : 'set a server on the Sync page first'}
                >
                  Promote to served
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {promoting.value && (
        <PromotePanel
          key={promoting.value}
          checkpointId={promoting.value}
          onClose={() => {
            promoting.value = null;
          }}
          onPromoted={() => void refreshServed().catch(() => undefined)}
        />
      )}
      {exportingHf.value && (
        <HfExportPanel
          key={exportingHf.value}
          checkpointId={exportingHf.value}
          baseModel={hfNames[exportingHf.value]}
          onClose={() => {
            exportingHf.value = null;
          }}
        />
      )}
      {rows.value.length === 0 && (
        <p class="muted">No checkpoints yet: train on the Train page or import one.</p>
      )}
      <h2>Compare</h2>
      <form class="row" onSubmit={compare}>
        <label class="row">
          A
          <select value={a.value} onChange={(e) => (a.value = (e.currentTarget as HTMLSelectElement).value)}>
            {options}
          </select>
        </label>
        <label class="row">
          B
          <select value={b.value} onChange={(e) => (b.value = (e.currentTarget as HTMLSelectElement).value)}>
            {options}
          </select>
        </label>
        <label class="row">
          Prompts
          <input
            type="number"
            min={1}
            max={32}
            value={prompts.value}
            onInput={(e) => {
              prompts.value = Number((e.currentTarget as HTMLInputElement).value);
            }}
          />
        </label>
        <label class="row">
          Reply tokens
          <input
            type="number"
            min={8}
            max={256}
            value={replyTokens.value}
            onInput={(e) => {
              replyTokens.value = Number((e.currentTarget as HTMLInputElement).value);
            }}
          />
        </label>
        <button type="submit" disabled={!a.value || !b.value || !!busy.value}>
          Compare on the same prompts
        </button>
      </form>
      {comparison.value && <ComparisonView c={comparison.value} />}
    </section>
  );
}

function ComparisonView({ c }: { c: Comparison }) {
  return (
    <table class="comparison" data-testid="comparison">
      <caption>
        Mean reward: A {c.mean[0].toFixed(3)} · B {c.mean[1].toFixed(3)}
        <span data-testid="comparison-sendable">
          {' '}
          · Sendable: A {percent(c.sendable[0])} · B {percent(c.sendable[1])}
        </span>
      </caption>
      <thead>
        <tr>
          <th scope="col">feedback (redacted)</th>
          <th scope="col">A {short(c.a)}</th>
          <th scope="col">B {short(c.b)}</th>
        </tr>
      </thead>
      <tbody>
        {c.rows.map((row) => (
          <tr key={row.taskId}>
            <td>{row.feedback}</td>
            {row.replies.map((reply, i) => (
              <td key={i === 0 ? 'a' : 'b'}>
                <p>
                  <span class={`badge decision-${reply.decision}`}>{reply.decision}</span>{' '}
                  <SendableBadge sendable={reply.sendable} /> <strong>{reply.reward.toFixed(3)}</strong>
                </p>
                <p>{reply.text || <span class="muted">(empty reply)</span>}</p>
                <FailedChecks failedChecks={reply.failedChecks} findings={reply.findings} />
                <RewardBars terms={reply.terms} />
              </td>
            ))}
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr data-testid="comparison-summary">
          <th scope="row">sendable · top failing checks</th>
          {c.sendable.map((rate, i) => (
            <td key={i === 0 ? 'a' : 'b'}>
              <strong>{percent(rate)}</strong> sendable · <TopFailingChecks shares={c.failedChecks[i]} />
            </td>
          ))}
        </tr>
      </tfoot>
    </table>
  );
}
