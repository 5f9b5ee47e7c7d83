import type { HfProgress } from '../lab/hf-types';
import { formatBytes, type ImportJob } from '../lab/hf';

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

/** An import's state below its form: the progress while it runs, then what it made or why it failed. */
export function ImportStatus(props: {
  job: ImportJob | null;
  progress: HfProgress | null;
  message: string;
  error: string;
}) {
  const { job, progress, message, error } = props;
  return (
    <>
      {job && progress && <ImportProgress progress={progress} onCancel={() => job.cancel()} />}
      {message && (
        <p class="muted" role="status" data-testid="import-done">
          {message}
        </p>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </>
  );
}
