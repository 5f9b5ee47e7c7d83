import { TrainConfigFields } from '../../shared/train/config';

/** The run's LoRA settings, as TrainConfig names them (shared/train/config.ts). */
export type LoraSettings = {
  loraRank?: number;
  loraAlpha?: number;
  loraDropout?: number;
  loraTargets?: string;
};

// Help text and defaults are the schema's own descriptions: the UI leaves a blank field unset, so the
// trainer fills the default (alpha = rank, dropout 0, the model family's PEFT targets).
const fields = TrainConfigFields.shape;
/** A field's description without the "LoRA: " its command-line help begins with. */
const described = (field: { description?: string }) => (field.description ?? '').replace(/^LoRA: /, '');
const help = {
  rank: described(fields.loraRank),
  alpha: described(fields.loraAlpha),
  dropout: described(fields.loraDropout),
  targets: described(fields.loraTargets),
};

/** Why `targets` would be refused, in the schema's words, or ''. */
function targetsError(targets: string | undefined): string {
  if (targets === undefined) return '';
  const parsed = fields.loraTargets.safeParse(targets);
  return parsed.success ? '' : (parsed.error.issues[0]?.message ?? 'not valid');
}

/**
 * Rank (blank: off, full fine-tuning), alpha, dropout and target modules. Without a rank the other three
 * are off and cleared: they only set up an adapter.
 */
export function LoraFields({
  value,
  onChange,
}: {
  value: LoraSettings;
  onChange: (next: LoraSettings) => void;
}) {
  const on = value.loraRank !== undefined;
  const numberOrUnset = (e: Event) => {
    const v = (e.currentTarget as HTMLInputElement).value;
    return v === '' ? undefined : Number(v);
  };
  const badTargets = targetsError(value.loraTargets);
  return (
    <fieldset class="lora" data-testid="lora-fields">
      <legend>LoRA</legend>
      <div class="fields">
        <label title={help.rank}>
          LoRA rank
          <input
            type="number"
            min={1}
            max={1024}
            step={1}
            placeholder="off: full fine-tuning"
            value={value.loraRank ?? ''}
            onInput={(e) => {
              const rank = numberOrUnset(e);
              onChange(rank === undefined ? {} : { ...value, loraRank: rank });
            }}
          />
        </label>
        <label title={help.alpha}>
          LoRA alpha
          <input
            type="number"
            min={0.001}
            step="any"
            placeholder={on ? 'default' : 'off'}
            disabled={!on}
            value={value.loraAlpha ?? ''}
            onInput={(e) => onChange({ ...value, loraAlpha: numberOrUnset(e) })}
          />
        </label>
        <label title={help.dropout}>
          LoRA dropout
          <input
            type="number"
            min={0}
            max={0.99}
            step={0.01}
            placeholder={on ? 'default' : 'off'}
            disabled={!on}
            value={value.loraDropout ?? ''}
            onInput={(e) => onChange({ ...value, loraDropout: numberOrUnset(e) })}
          />
        </label>
        <label title={help.targets} class="wide">
          LoRA target modules
          <input
            type="text"
            spellcheck={false}
            placeholder={on ? 'default for the model' : 'off'}
            disabled={!on}
            value={value.loraTargets ?? ''}
            aria-invalid={badTargets ? true : undefined}
            onInput={(e) => {
              const v = (e.currentTarget as HTMLInputElement).value.replace(/\s+/g, '');
              onChange({ ...value, loraTargets: v === '' ? undefined : v });
            }}
          />
        </label>
      </div>
      {on ? (
        <ul class="muted lora-help" data-testid="lora-help">
          <li>Alpha: {help.alpha}.</li>
          <li>Dropout: {help.dropout}.</li>
          <li>Target modules: {help.targets}.</li>
        </ul>
      ) : (
        <p class="muted" data-testid="lora-help">
          Rank: {help.rank}.
        </p>
      )}
      {badTargets && (
        <p role="alert" class="error">
          Target modules: {badTargets}
        </p>
      )}
    </fieldset>
  );
}
