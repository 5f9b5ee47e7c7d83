// A one-line progress report on stderr for the long commands (eval, rollouts, data generate): items
// done / total, rate and ETA, redrawn in place with \r. Only on a terminal: when stderr is a pipe or a
// file (tests, scripts, CI logs) nothing is written, so what those read stays byte for byte the same.

/** Where progress goes: process.stderr, or a fake in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  /** Terminal width; a longer line is cut so that \r redraws it in place. */
  columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** How many items there are in all. */
  total: number;
  /** What is counted, shown before the numbers: "eval", "rollouts", "data generate: SFT replies". */
  label: string;
  /** The unit after the rate (default "items"): "12.5 items/s". */
  unit?: string;
  /** Default process.stderr. Progress is written only when `stream.isTTY` is true. */
  stream?: ProgressStream;
  /** Least time between redraws, in ms (default 100); the last item and done() always draw. */
  intervalMs?: number;
  /** Clock in ms (default performance.now); for tests. */
  now?: () => number;
}

export interface Progress {
  /** `n` more items done (default 1). */
  tick(n?: number): void;
  /** `done` items done in all (for callers that report a count rather than steps). */
  update(done: number): void;
  /** Erases the line, so that a message printed next starts at the left; the next tick redraws it. */
  clear(): void;
  /** Draws the final line and ends it with a newline; later calls do nothing. */
  done(): void;
}

const noProgress: Progress = { tick() {}, update() {}, clear() {}, done() {} };

/** Seconds as '42s', '1m05s' or '2h03m'; '?' for a negative or non-finite value (an unknown ETA). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '?';
  return perSecond >= 100 ? String(Math.round(perSecond)) : perSecond.toFixed(1);
}

/** A progress line on `stream` when it is a terminal; otherwise a reporter that writes nothing. */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (stream.isTTY !== true) return noProgress;
  const { label, total } = options;
  const unit = options.unit ?? 'items';
  const interval = options.intervalMs ?? 100;
  const now = options.now ?? (() => performance.now());
  const started = now();
  let count = 0;
  let drawnAt = Number.NEGATIVE_INFINITY;
  let drawnCount = -1;
  let finished = false;

  const line = (final: boolean): string => {
    const seconds = (now() - started) / 1000;
    const rate = seconds > 0 && count > 0 ? count / seconds : Number.NaN;
    const percent = total > 0 ? ` (${Math.floor((100 * Math.min(count, total)) / total)}%)` : '';
    const timing = final
      ? `in ${formatDuration(seconds)}`
      : `ETA ${count > 0 ? formatDuration(Math.max(0, total - count) / rate) : '?'}`;
    return `${label}: ${count}/${total}${percent}  ${formatRate(rate)} ${unit}/s  ${timing}`;
  };
  const draw = (final: boolean) => {
    drawnAt = now();
    drawnCount = count;
    let text = line(final);
    // A line wider than the terminal wraps, and \r would then redraw only its last row.
    if (stream.columns && text.length >= stream.columns) text = text.slice(0, stream.columns - 1);
    stream.write(`\r${text}\x1b[K${final ? '\n' : ''}`);
  };
  const changed = () => {
    if (finished) return;
    const reachedTotal = count >= total && drawnCount < total;
    if (reachedTotal || now() - drawnAt >= interval) draw(false);
  };

  draw(false);
  return {
    tick(n = 1) {
      count += n;
      changed();
    },
    update(done) {
      if (done === count) return;
      count = done;
      changed();
    },
    clear() {
      if (finished) return;
      stream.write('\r\x1b[K');
      drawnAt = Number.NEGATIVE_INFINITY;
    },
    done() {
      if (finished) return;
      finished = true;
      draw(true);
    },
  };
}
