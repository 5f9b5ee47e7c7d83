import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { errorMessage, lab } from '../lab/client';
import { hf, saveFiles } from '../lab/hf';

/**
 * A checkpoint's export for Python (shared/hf/peft.ts, as `edgelight export` writes it): the PEFT adapter
 * (adapter_config.json + adapter_model.safetensors; only when the checkpoint carries a LoRA adapter) and the
 * merged model as a Hugging Face folder (config.json, model.safetensors, tokenizer files). Each file is
 * saved as a download under its own name: put them in one folder for `from_pretrained`.
 */
export function HfExportPanel({
  checkpointId,
  baseModel,
  onClose,
}: {
  checkpointId: string;
  /** The Hugging Face model it came from, if known: written into adapter_config.json. */
  baseModel?: string;
  onClose: () => void;
}) {
  const bundle = useSignal<Uint8Array | null>(null);
  const lora = useSignal<boolean | null>(null);
  const busy = useSignal('reading the checkpoint…');
  const error = useSignal('');
  const saved = useSignal<string[]>([]);

  useEffect(() => {
    let live = true;
    (async () => {
      const { bytes } = await lab().exportCheckpoint(checkpointId);
      const described = await hf().describeBundle(bytes);
      if (!live) return;
      bundle.value = bytes;
      lora.value = described.lora;
    })()
      .catch((e) => {
        if (live) error.value = errorMessage(e);
      })
      .finally(() => {
        if (live) busy.value = '';
      });
    return () => {
      live = false;
    };
  }, [checkpointId]);

  async function save(kind: 'adapter' | 'merged') {
    if (!bundle.value) return;
    busy.value = kind === 'adapter' ? 'writing the adapter…' : 'merging and writing the model…';
    error.value = '';
    saved.value = [];
    try {
      saved.value = saveFiles(await hf().exportBundle(bundle.value, kind, baseModel));
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      busy.value = '';
    }
  }

  return (
    <section class="hf-export" aria-label="Export for Hugging Face" data-testid="hf-export">
      <h2>Export {checkpointId.slice(0, 10)}… for Hugging Face</h2>
      <p class="row">
        {lora.value && (
          <button type="button" disabled={!!busy.value} onClick={() => void save('adapter')}>
            PEFT adapter
          </button>
        )}
        <button type="button" disabled={!!busy.value || !bundle.value} onClick={() => void save('merged')}>
          {lora.value ? 'Merged model' : 'Model (Hugging Face format)'}
        </button>
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
        <span class="muted" aria-live="polite">
          {busy.value}
        </span>
      </p>
      {lora.value === false && (
        <p class="muted" data-testid="hf-export-no-lora">
          This checkpoint has no LoRA adapter (a full fine-tune or an imported model): it exports as a whole
          model.
        </p>
      )}
      {saved.value.length > 0 && (
        <p role="status" data-testid="hf-export-saved">
          Saved {saved.value.join(', ')}: put them in one folder and load it with{' '}
          {saved.value.includes('adapter_config.json')
            ? 'PeftModel.from_pretrained(base, folder)'
            : 'AutoModelForCausalLM.from_pretrained(folder)'}
          .
        </p>
      )}
      {error.value && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
    </section>
  );
}
