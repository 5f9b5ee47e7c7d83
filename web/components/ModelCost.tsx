import type { ModelCheck } from '../lab/hf-types';
import { formatBytes, formatCount } from '../lab/hf';

/** What a Hub model costs before downloading it (shared/hf/inspect.ts), and whether the policy runs it. */
export function ModelCost({ check }: { check: ModelCheck }) {
  const { cost, supported } = check;
  const dtypes = Object.entries(cost.dtypes)
    .sort(([, a], [, b]) => b - a)
    .map(([dtype, n]) => `${dtype} (${formatCount(n)})`)
    .join(', ');
  return (
    <dl class="model-cost" data-testid="model-cost">
      <dt>Architecture</dt>
      <dd>
        {cost.architecture ?? cost.modelType ?? 'not named in config.json'}{' '}
        {supported.ok ? (
          <span class="badge decision-allow" data-testid="model-supported">
            the policy runs it
          </span>
        ) : (
          <span class="badge decision-block" data-testid="model-unsupported" title={supported.reason}>
            not supported: {supported.reason}
          </span>
        )}
      </dd>
      <dt>Parameters</dt>
      <dd data-testid="model-parameters" data-count={cost.parameterCount}>
        {formatCount(cost.parameterCount)} ({cost.parameterCount.toLocaleString('en')})
      </dd>
      <dt>Stored as</dt>
      <dd>{dtypes || '—'}</dd>
      <dt>Download</dt>
      <dd data-testid="model-download-bytes" data-bytes={cost.downloadBytes}>
        {formatBytes(cost.downloadBytes)} of weights in {cost.files.length} file
        {cost.files.length === 1 ? '' : 's'} (config and tokenizer files on top)
      </dd>
      <dt>Memory as float32</dt>
      <dd data-testid="model-float32-bytes">{formatBytes(cost.float32Bytes)}</dd>
    </dl>
  );
}
