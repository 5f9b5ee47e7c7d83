import { useSignal } from '@preact/signals';
import { hfModelNames } from '../lab/hf';
import { FolderImport } from './FolderImport';
import { HubImport } from './HubImport';

/** What a run starts from: a built-in preset (the Run settings), or an imported model's checkpoint. */
export type BaseChoice = { kind: 'preset' } | { kind: 'checkpoint'; id: string; label: string };

type Mode = 'preset' | 'hub' | 'folder' | `checkpoint:${string}`;

/**
 * The Train page's base model: a preset, a Hugging Face Hub model (its cost shown before downloading) or
 * a local model folder. An imported model becomes a checkpoint of the lab (listed on the Checkpoints page)
 * and the run's `init`: its weights only.
 */
export function BaseModelPicker({
  base,
  onChange,
  checkpointIds,
  disabled,
}: {
  base: BaseChoice;
  onChange: (base: BaseChoice) => void;
  /** The lab's checkpoints: an imported model is offered while its checkpoint is there. */
  checkpointIds: string[];
  disabled: boolean;
}) {
  const importing = useSignal<'hub' | 'folder' | null>(null);
  const names = hfModelNames.value;
  const imported = checkpointIds.filter((id) => names[id]);
  const mode: Mode = importing.value ?? (base.kind === 'checkpoint' ? `checkpoint:${base.id}` : 'preset');

  const pick = (value: Mode) => {
    if (value === 'hub' || value === 'folder') {
      importing.value = value;
      return;
    }
    importing.value = null;
    if (value === 'preset') onChange({ kind: 'preset' });
    else {
      const id = value.slice('checkpoint:'.length);
      onChange({ kind: 'checkpoint', id, label: names[id] ?? id });
    }
  };
  const done = (row: { id: string }, label: string) => {
    importing.value = null;
    onChange({ kind: 'checkpoint', id: row.id, label });
  };

  return (
    <fieldset disabled={disabled} data-testid="base-model">
      <legend>Base model</legend>
      <label>
        Base model{' '}
        <select value={mode} onChange={(e) => pick((e.currentTarget as HTMLSelectElement).value as Mode)}>
          <option value="preset">a built-in preset (the Run settings below)</option>
          {imported.map((id) => (
            <option key={id} value={`checkpoint:${id}`}>
              {names[id]} (imported, {id.slice(0, 10)}…)
            </option>
          ))}
          <option value="hub">a Hugging Face Hub model…</option>
          <option value="folder">a model folder on this computer…</option>
        </select>
      </label>
      {mode === 'hub' && <HubImport onImported={done} />}
      {mode === 'folder' && <FolderImport onImported={done} />}
      {base.kind === 'checkpoint' && !importing.value && (
        <p class="muted" data-testid="base-model-chosen">
          Runs start from {base.label}'s weights (checkpoint {base.id.slice(0, 10)}…, listed on the
          Checkpoints page), with a fresh optimizer; its own shape and tokenizer replace the preset's.
        </p>
      )}
    </fieldset>
  );
}
