import { useSignal } from '@preact/signals';
import type { CheckpointRow } from '../../worker/lab/protocol';
import { errorMessage } from '../lab/client';
import { type ImportJob, importHfModel, isCancel, pickedFiles } from '../lab/hf';
import type { HfProgress, PickedFile } from '../lab/hf-types';
import { ImportStatus } from './ImportProgress';

/** The folder's name: the first segment of a picked file's relative path, else a neutral label. */
function folderName(files: File[]): string {
  const relative = files[0]?.webkitRelativePath ?? '';
  return relative.includes('/') ? relative.slice(0, relative.indexOf('/')) : 'local model';
}

/**
 * A Hugging Face model folder on this computer as the base (config.json, tokenizer.json, model.safetensors
 * or its shards): picked with the folder chooser or dropped here, read and imported as a lab checkpoint.
 */
export function FolderImport({ onImported }: { onImported: (row: CheckpointRow, label: string) => void }) {
  const job = useSignal<ImportJob | null>(null);
  const progress = useSignal<HfProgress | null>(null);
  const error = useSignal('');
  const message = useSignal('');
  const over = useSignal(false);

  async function start(files: PickedFile[], label: string) {
    if (files.length === 0) return;
    error.value = '';
    message.value = '';
    progress.value = { phase: 'convert', file: '', bytes: 0, total: null };
    const started = importHfModel({ files }, label, (p) => {
      progress.value = p;
    });
    job.value = started;
    try {
      const row = await started.done;
      message.value = `Imported ${label} as checkpoint ${row.id.slice(0, 10)}…`;
      onImported(row, label);
    } catch (e) {
      error.value = isCancel(e) ? 'Cancelled; nothing was imported.' : errorMessage(e);
    } finally {
      job.value = null;
      progress.value = null;
    }
  }

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a drop zone; the folder chooser inside is the keyboard's way in
    <div
      class={`folder-import${over.value ? ' drop-over' : ''}`}
      data-testid="folder-import"
      onDragOver={(e) => {
        e.preventDefault();
        over.value = true;
      }}
      onDragLeave={() => {
        over.value = false;
      }}
      onDrop={(e) => {
        e.preventDefault();
        over.value = false;
        // A drop of the folder's files (select them inside the folder): their plain names.
        const files = [...(e.dataTransfer?.files ?? [])];
        void start(pickedFiles(files), 'dropped model');
      }}
    >
      <label>
        Model folder{' '}
        <input
          type="file"
          // @ts-expect-error webkitdirectory is not in Preact's typings; every current browser supports it
          webkitdirectory
          multiple
          disabled={job.value !== null}
          onChange={(e) => {
            const input = e.currentTarget as HTMLInputElement;
            const files = [...(input.files ?? [])];
            input.value = '';
            void start(pickedFiles(files), folderName(files));
          }}
        />
      </label>
      <p class="muted">
        A Hugging Face model folder: config.json, tokenizer.json and model.safetensors (or its shards with
        model.safetensors.index.json). Or drop the folder's files here.
      </p>
      <ImportStatus job={job.value} progress={progress.value} message={message.value} error={error.value} />
    </div>
  );
}
