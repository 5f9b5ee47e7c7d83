import { useSignal } from '@preact/signals';
import { DEFAULT_REVISION } from '../../shared/hf/hub';
import type { CheckpointRow } from '../../worker/lab/protocol';
import {
  hf,
  hubErrorMessage,
  type ImportJob,
  importHfModel,
  isCancel,
  saveHubEndpoint,
  savedHubEndpoint,
} from '../lab/hf';
import type { HfProgress, ModelCheck } from '../lab/hf-types';
import { HubCacheUsage } from './HubCacheUsage';
import { ImportStatus } from './ImportProgress';
import { ModelCost } from './ModelCost';

/**
 * A Hugging Face Hub model as the base: its id, what it costs (read from its headers, before any weight is
 * downloaded), then a download into this browser's Hub cache with progress and Cancel, and its import as a
 * checkpoint of the lab. A cancelled download keeps what arrived; the next download continues it.
 */
export function HubImport({ onImported }: { onImported: (row: CheckpointRow, label: string) => void }) {
  const repo = useSignal('');
  const endpoint = useSignal(savedHubEndpoint());
  const revision = useSignal(DEFAULT_REVISION);
  const token = useSignal('');
  const check = useSignal<ModelCheck | null>(null);
  const checking = useSignal(false);
  const job = useSignal<ImportJob | null>(null);
  const progress = useSignal<HfProgress | null>(null);
  const error = useSignal('');
  const message = useSignal('');

  const target = () => ({
    repo: repo.value.trim(),
    endpoint: endpoint.value.trim(),
    revision: revision.value.trim() || DEFAULT_REVISION,
    ...(token.value ? { token: token.value } : {}),
  });
  // A changed id, Hub or revision needs a new look before its download.
  const changed = (update: () => void) => {
    update();
    check.value = null;
    message.value = '';
  };

  async function inspect(event: Event) {
    event.preventDefault();
    const t = target();
    if (!t.repo) {
      error.value = 'give a model id, e.g. HuggingFaceTB/SmolLM2-135M';
      return;
    }
    error.value = '';
    message.value = '';
    checking.value = true;
    try {
      check.value = await hf().inspect(t);
      saveHubEndpoint(t.endpoint);
    } catch (e) {
      check.value = null;
      error.value = hubErrorMessage(e, t.endpoint);
    } finally {
      checking.value = false;
    }
  }

  async function download() {
    const t = target();
    error.value = '';
    message.value = '';
    progress.value = { phase: 'download', file: '', bytes: 0, total: null };
    const started = importHfModel({ hub: t }, t.repo, (p) => {
      progress.value = p;
    });
    job.value = started;
    try {
      const row = await started.done;
      message.value = `Imported ${t.repo} as checkpoint ${row.id.slice(0, 10)}…`;
      onImported(row, t.repo);
    } catch (e) {
      error.value = isCancel(e)
        ? 'Cancelled. What was downloaded is kept in this browser: Download continues from there.'
        : hubErrorMessage(e, t.endpoint);
    } finally {
      job.value = null;
      progress.value = null;
    }
  }

  const busy = checking.value || job.value !== null;
  const blocked = check.value && !check.value.supported.ok;
  return (
    <div class="hub-import" data-testid="hub-import">
      <form class="row" onSubmit={inspect}>
        <label>
          Hub model id{' '}
          <input
            type="text"
            placeholder="owner/name"
            spellcheck={false}
            value={repo.value}
            disabled={busy}
            onInput={(e) => changed(() => (repo.value = (e.currentTarget as HTMLInputElement).value))}
          />
        </label>
        <button type="submit" disabled={busy}>
          {checking.value ? 'Reading its headers…' : 'Check size'}
        </button>
      </form>
      <details class="hub-settings">
        <summary>Hub settings</summary>
        <div class="fields">
          <label title="A mirror's URL, or https://huggingface.co; files are asked for at {Hub}/{id}/resolve/{revision}/{file}">
            Hub URL
            <input
              type="url"
              value={endpoint.value}
              disabled={busy}
              onInput={(e) => changed(() => (endpoint.value = (e.currentTarget as HTMLInputElement).value))}
            />
          </label>
          <label>
            Revision
            <input
              type="text"
              value={revision.value}
              disabled={busy}
              onInput={(e) => changed(() => (revision.value = (e.currentTarget as HTMLInputElement).value))}
            />
          </label>
          <label title="For gated or private models; sent to the Hub only, never stored">
            Access token
            <input
              type="password"
              autocomplete="off"
              value={token.value}
              disabled={busy}
              onInput={(e) => changed(() => (token.value = (e.currentTarget as HTMLInputElement).value))}
            />
          </label>
        </div>
        <HubCacheUsage refreshKey={`${job.value === null}`} />
      </details>
      {check.value && <ModelCost check={check.value} />}
      {check.value && !job.value && (
        <p class="row">
          <button
            type="button"
            disabled={busy || !!blocked}
            title={blocked ? 'the policy does not run this architecture' : undefined}
            onClick={() => void download()}
          >
            Download and import
          </button>
        </p>
      )}
      <ImportStatus job={job.value} progress={progress.value} message={message.value} error={error.value} />
    </div>
  );
}
