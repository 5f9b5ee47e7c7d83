import type { HfProgress } from '../lab/hf-types';
import { formatBytes } from '../lab/hf';

const PHASE_TEXT: Record<HfProgress['phase'], string> = {
  download: 'downloading',
  convert: 'reading the weights',
  save: 'saving the checkpoint',
};

/** A model import's progress bar, with the file it is on and a Cancel button. */
export function ImportProgress({ progress, onCancel }: { progress: HfProgress; onCancel: () => void }) {
  const { phase, file, bytes, total } = progress;
  const known = total !== null && total > 0;
  return (
    <div class="row import-progress" data-testid="import-progress" data-phase={phase}>
      <progress
        max={known ? total : undefined}
        value={known ? Math.min(bytes, total) : undefined}
        aria-label={`${PHASE_TEXT[phase]} progress`}
      />
      <span aria-live="polite">
        {PHASE_TEXT[phase]}
        {file && ` ${file}`}
        {known && `: ${formatBytes(bytes)} of ${formatBytes(total)}`}
        {phase === 'save' && '…'}
      </span>
      <button type="button" class="secondary" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}
