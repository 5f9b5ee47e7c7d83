import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import type { SyncSettings, SyncState } from '../../worker/lab/protocol';
import { errorMessage, lab, onLabEvent } from '../lab/client';

function when(ms: number | null): string {
  return ms === null ? 'never' : new Date(ms).toLocaleString();
}

export default function SyncPage() {
  const state = useSignal<SyncState | null>(null);
  const draft = useSignal<SyncSettings>({ url: '', token: '', auto: false });
  const error = useSignal('');
  const saved = useSignal('');
  const touched = useSignal(false);

  useEffect(() => {
    void lab()
      .syncState()
      .then((s) => {
        state.value = s;
        // The worker may answer after the person started typing: never overwrite their input.
        if (!touched.value) draft.value = s.settings;
      });
    const off = onLabEvent((event) => {
      if (event.type === 'sync') state.value = event.state;
    });
    // The pending count grows while training writes; poll it gently while the page is open.
    const timer = setInterval(() => {
      void lab()
        .syncState()
        .then((s) => {
          state.value = s;
        });
    }, 3000);
    return () => {
      off();
      clearInterval(timer);
    };
  }, []);

  async function save(event: Event) {
    event.preventDefault();
    error.value = '';
    saved.value = '';
    try {
      state.value = await lab().configureSync(draft.value);
      saved.value = draft.value.url ? 'Saved.' : 'Saved: sync is off (no server URL).';
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  async function syncNow() {
    error.value = '';
    try {
      state.value = await lab().syncNow();
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  const s = state.value;
  const set = (patch: Partial<SyncSettings>) => {
    touched.value = true;
    draft.value = { ...draft.value, ...patch };
  };
  return (
    <section aria-labelledby="sync-title">
      <h1 id="sync-title">Sync</h1>
      <p class="lede">
        Everything works offline. With a server, traces and checkpoints are pushed to it and new checkpoints
        are pulled from it.
      </p>
      <form class="stack" onSubmit={save}>
        <fieldset>
          <legend>Server</legend>
          <div class="fields">
            <label class="wide">
              Server URL
              <input
                type="url"
                placeholder="http://127.0.0.1:8787"
                value={draft.value.url}
                onInput={(e) => set({ url: (e.currentTarget as HTMLInputElement).value.trim() })}
              />
            </label>
            <label>
              Token (optional)
              <input
                type="password"
                autocomplete="off"
                value={draft.value.token}
                onInput={(e) => set({ token: (e.currentTarget as HTMLInputElement).value })}
              />
            </label>
            <label class="checkbox">
              <input
                type="checkbox"
                checked={draft.value.auto}
                onChange={(e) => set({ auto: (e.currentTarget as HTMLInputElement).checked })}
              />
              Sync every 30 s
            </label>
          </div>
          <p class="row">
            <button type="submit">Save</button>
            <button
              type="button"
              class="secondary"
              disabled={!s?.settings.url || s.running}
              onClick={syncNow}
            >
              {s?.running ? 'Syncing…' : 'Sync now'}
            </button>
            <span class="muted" aria-live="polite">
              {saved.value}
            </span>
          </p>
        </fieldset>
      </form>
      {error.value && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      {s && (
        <table data-testid="sync-state">
          <caption>State</caption>
          <tbody>
            <tr>
              <th scope="row">server</th>
              <td>{s.settings.url || 'none (offline)'}</td>
            </tr>
            <tr>
              <th scope="row">pending changes</th>
              <td data-testid="sync-pending">{s.pending}</td>
            </tr>
            <tr>
              <th scope="row">pull cursor</th>
              <td data-testid="sync-cursor">{s.cursor}</td>
            </tr>
            <tr>
              <th scope="row">last sync</th>
              <td data-testid="sync-last">{when(s.lastSyncAt)}</td>
            </tr>
            {s.lastReport && (
              <tr>
                <th scope="row">last pass</th>
                <td data-testid="sync-report">
                  pushed {s.lastReport.pushedRows} rows ({s.lastReport.pushedWritten} new on the server),
                  pulled {s.lastReport.pulledRows}; server sequence {s.lastReport.serverSeq}
                  {s.lastReport.missingCheckpoints.length > 0 &&
                    `; checkpoints held by neither side: ${s.lastReport.missingCheckpoints.join(', ')}`}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      {s && s.errors.length > 0 && (
        <>
          <h2>Errors</h2>
          <ul class="errors" data-testid="sync-errors">
            {s.errors.map((e) => (
              <li key={e.at}>
                {when(e.at)}: {e.message}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
