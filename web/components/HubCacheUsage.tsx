import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { errorMessage } from '../lab/client';
import { clearHubCache, formatBytes, hubCacheBytes } from '../lab/hf';

/**
 * How much room downloaded Hub files take in this browser, and a way to free it: the imported
 * checkpoints stay (they live in the lab's store); a later download of the same model fetches it again.
 */
export function HubCacheUsage({ refreshKey }: { refreshKey: unknown }) {
  const bytes = useSignal<number | null>(null);
  const error = useSignal('');
  const refresh = () =>
    hubCacheBytes().then(
      (n) => {
        bytes.value = n;
      },
      (e) => {
        error.value = errorMessage(e);
      },
    );
  useEffect(() => {
    void refresh();
  }, [refreshKey]);

  async function clear() {
    error.value = '';
    try {
      await clearHubCache();
    } catch (e) {
      error.value = errorMessage(e);
    }
    await refresh();
  }

  return (
    <p class="row" data-testid="hub-cache-usage" data-bytes={bytes.value ?? undefined}>
      <span class="muted">
        Downloaded files in this browser: {bytes.value === null ? '…' : formatBytes(bytes.value)} (imported
        checkpoints are kept apart)
      </span>
      <button type="button" class="secondary" disabled={!bytes.value} onClick={() => void clear()}>
        Delete downloaded files
      </button>
      {error.value && (
        <span role="alert" class="error">
          {error.value}
        </span>
      )}
    </p>
  );
}
