import { AgreementPanel } from '../components/AgreementPanel';
import { type BaseChoice, BaseModelPicker } from '../components/BaseModelPicker';
import { LoraFields, type LoraSettings } from '../components/LoraFields';
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import type {
  MetricPoint,
  ReviewDataSummary,
  ReviewRun,
  TrainRequest,
  TrainSnapshot,
} from '../../worker/lab/protocol';
import { algoDefaults, TRAIN_DEFAULTS } from '../../shared/train/config-defaults';
import { STARTER_POLICY } from '../../shared/train/starter-policy';
import type { StarterPolicyStatus } from '../../worker/lab/starter';
import { Chart, type ChartSeries } from '../components/Chart';
import { checkDescription, findingsOf } from '../components/Sendability';
import { errorMessage, lab, onLabEvent } from '../lab/client';
import { hfModelNames } from '../lab/hf';
import { isActive, training, watchTraining } from '../lab/training';

// The form starts from TrainConfig's own defaults (shared/train/config-defaults.ts): the same run the
// command line and a server job would make. The page charts every step, so it reads metrics back each step.
const DEFAULT_REQUEST: TrainRequest = { ...TRAIN_DEFAULTS, algo: 'grpo', steps: 20, logEvery: 1 };

/**
 * One line on what the chosen start gives and roughly when (CPU figures: docs/training.md, the starter
 * recipe at ~1 s a step on 2 cores; RL steps of 4 × 8 replies at 10–20 s).
 */
function runHint(o: {
  rl: boolean;
  /** dpo or kto: learn from the reviews' preferences, against a frozen copy of the start. */
  preference: string | null;
  useStarter: boolean;
  starterFits: boolean;
  continues: string | null;
  sftSteps: number;
}): string {
  const { step } = STARTER_POLICY;
  if (o.preference) {
    const start = o.useStarter
      ? `the starter policy (${step} SFT steps)`
      : o.continues
        ? `the newest ${o.continues} checkpoint in this lab`
        : null;
    if (!start)
      return `${o.preference} refines a trained policy, and this model has no checkpoint in the lab yet: train one with SFT first (or use the tiny model, which can start from the starter policy).`;
    return `${o.preference} from ${start}, on the reviews in this lab: replies reviewers chose become more likely than those they passed over, measured against a frozen copy of the start (β scales that implicit reward).`;
  }
  if (o.useStarter && o.rl)
    return `Starts from the starter policy (${step} SFT steps), which already drafts mostly sendable replies: RL refines them from its first step (roughly 10–20 s a step on a CPU, a few seconds on a GPU).`;
  if (o.useStarter)
    return `Continues SFT from the starter policy's weights (${step} steps in) with a fresh optimizer.`;
  if (o.rl && o.continues)
    return `Continues from the newest ${o.continues} checkpoint in this lab (its weights).`;
  const instead = o.starterFits ? '; the starter policy skips that' : '';
  if (o.rl)
    return `From scratch: after the ${o.sftSteps}-step SFT warm-up replies are still byte-level noise, and they read as text only after a couple of hundred SFT steps (roughly 15–30 minutes on a CPU)${instead}.`;
  return `From scratch, replies stay byte-level noise for the first couple of hundred steps (roughly 15–30 minutes on a CPU); the starter policy is ${step} steps of the default recipe.`;
}

/** The request's LoRA settings. */
function loraOf(r: TrainRequest): LoraSettings {
  return {
    loraRank: r.loraRank,
    loraAlpha: r.loraAlpha,
    loraDropout: r.loraDropout,
    loraTargets: r.loraTargets,
  };
}

const TERM_COLORS = ['#b45309', '#7c3aed', '#0f766e', '#be185d', '#4d7c0f', '#1d4ed8', '#9f1239'];

function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const STATUS_TEXT: Record<TrainSnapshot['status'], string> = {
  idle: 'idle',
  loading: 'loading the model and data…',
  compiling: 'compiling shaders (the first step takes a while)…',
  running: 'training',
  pausing: 'pausing after this step…',
  paused: 'paused',
  stopping: 'stopping after this step…',
  stopped: 'stopped',
  finished: 'finished',
  failed: 'failed',
};

export default function TrainPage() {
  useEffect(watchTraining, []);
  const s = training.value;
  const draft = useSignal<TrainRequest>(s.request ?? DEFAULT_REQUEST);
  const error = useSignal('');
  const active = isActive(s);
  // What the form needs from the lab: a train split to train on, the starter policy, the checkpoints' models.
  const trainSplit = useSignal<number | null>(null);
  const starter = useSignal<StarterPolicyStatus | null>(null);
  const models = useSignal<string[]>([]);
  const checkpointIds = useSignal<string[]>([]);
  /** The base model: a preset, or an imported Hugging Face model's checkpoint (the run's init). */
  const startInit = s.request?.init;
  const base = useSignal<BaseChoice>(
    startInit && hfModelNames.value[startInit]
      ? { kind: 'checkpoint', id: startInit, label: hfModelNames.value[startInit] }
      : { kind: 'preset' },
  );
  const fromBase = base.value.kind === 'checkpoint' ? base.value : null;
  /** What the reviews in the lab's store give DPO, KTO and SFT (read with the rest of the lab's state). */
  const reviews = useSignal<ReviewDataSummary | null>(null);
  /** The user's choice of start; null: the default (RL and runs on reviews from the starter policy when there is one). */
  const fromStarter = useSignal<boolean | null>(null);
  const busy = useSignal('');

  async function refreshLab() {
    const [summary, status, rows, fromReviews] = await Promise.all([
      lab().datasetSummary(),
      lab().starterPolicy(),
      lab().listCheckpoints(),
      lab().reviewDataSummary(),
    ]);
    trainSplit.value = summary.bySplit.train ?? 0;
    starter.value = status;
    models.value = rows.map((r) => r.preset);
    checkpointIds.value = rows.map((r) => r.id);
    reviews.value = fromReviews;
  }
  useEffect(() => {
    refreshLab().catch((e) => {
      error.value = errorMessage(e);
    });
  }, [s.status]);
  // Decisions (and pulled checkpoints) arrive by sync: count them again when a pass ends.
  useEffect(
    () =>
      onLabEvent((event) => {
        if (event.type !== 'sync' || event.state.running) return;
        refreshLab().catch((e) => {
          error.value = errorMessage(e);
        });
      }),
    [],
  );

  async function call(work: () => Promise<unknown>) {
    error.value = '';
    try {
      await work();
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  function field<K extends keyof TrainRequest>(key: K, value: TrainRequest[K]) {
    draft.value = { ...draft.value, [key]: value };
  }
  /** Replaces the four LoRA settings at once (a cleared rank clears the others). */
  function setLora(next: LoraSettings) {
    const { loraRank: _r, loraAlpha: _a, loraDropout: _d, loraTargets: _t, ...rest } = draft.value;
    draft.value = { ...rest, ...next };
  }
  const num = (e: Event) => Number((e.currentTarget as HTMLInputElement).value);
  const str = (e: Event) => (e.currentTarget as HTMLSelectElement).value;
  type NumberKey = {
    [K in keyof TrainRequest]-?: Exclude<TrainRequest[K], undefined> extends number ? K : never;
  }[keyof TrainRequest];
  // Settings whose default depends on the algorithm show it as a placeholder until they are set.
  const placeholders: Partial<Record<NumberKey, number>> = algoDefaults(draft.value.algo);
  const { algo } = draft.value;
  const rl = algo !== 'sft';
  const preference = algo === 'dpo' || algo === 'kto';
  // DPO and KTO learn from reviews only; SFT from reviews when the Data choice says so.
  const reviewRun: ReviewRun | null = preference
    ? algo
    : algo === 'sft' && draft.value.data === 'reviews'
      ? 'sft'
      : null; // the Data choice is SFT's: it stays set when the algorithm changes
  const model = `${draft.value.preset ?? 'tiny'}${draft.value.copy ? '-copy' : ''}`;
  // The starter policy is one model (tiny, no copy head): it starts runs of that model only.
  const starterFits =
    !fromBase &&
    !!starter.value &&
    (starter.value.available || starter.value.imported) &&
    model === starter.value.model;
  // RL and reviews' runs refine the starter policy by default; SFT on the dataset starts a new model.
  const useStarter = starterFits && (fromStarter.value ?? (rl || reviewRun !== null));
  const noTrainSplit = trainSplit.value === 0;
  const continues = models.value.includes(model) ? model : null;
  /** Why Start is off for the data chosen (the reviews give it nothing; DPO / KTO with nothing to start from). */
  // GRPO / RLOO may add a reward model fitted from the reviews' pairs when the run opens.
  const learned = rl && !preference && draft.value.rewardModel === 'reviews';
  const blocked = learned
    ? reviews.value === null
      ? 'reading the reviews in this lab…'
      : reviews.value.pairs === 0
        ? 'a reward model from reviews needs preference pairs (a reply a reviewer sent beside a draft passed over), and the reviews give none'
        : noTrainSplit
          ? 'the dataset has no train split'
          : null
    : reviewRun
      ? reviews.value === null
        ? 'reading the reviews in this lab…'
        : (reviews.value.missing[reviewRun] ??
          (preference && !useStarter && !continues && !fromBase
            ? `${algo.toUpperCase()} needs a trained policy to start from: the starter policy or a ${model} checkpoint`
            : null))
      : noTrainSplit
        ? 'the dataset has no train split'
        : null;
  const hint = fromBase
    ? `Starts from ${fromBase.label} (imported): its weights, a fresh optimizer${rl && !preference ? ', no SFT warm-up' : ''}.`
    : runHint({
        rl,
        preference: preference ? algo.toUpperCase() : null,
        useStarter,
        starterFits,
        continues,
        sftSteps: draft.value.sftSteps ?? TRAIN_DEFAULTS.sftSteps,
      });

  function generateDefault() {
    void call(async () => {
      busy.value = 'generating the default dataset…';
      try {
        await lab().generateDefaultDataset();
        await refreshLab();
      } finally {
        busy.value = '';
      }
    });
  }
  /** A labelled number input bound to one numeric field of the request (plain JSX, not a component, so it never remounts). */
  const numberField = (
    key: NumberKey,
    label: string,
    limits: { min: number; max?: number; step?: number },
    title?: string,
  ) => (
    <label title={title}>
      {label}
      <input
        type="number"
        min={limits.min}
        max={limits.max}
        step={limits.step}
        value={draft.value[key] ?? ''}
        placeholder={placeholders[key] === undefined ? undefined : String(placeholders[key])}
        onInput={(e) => {
          const v = (e.currentTarget as HTMLInputElement).value;
          field(key, v === '' && key in placeholders ? undefined : num(e));
        }}
      />
    </label>
  );

  return (
    <section aria-labelledby="train-title">
      <h1 id="train-title">Train</h1>
      <p class="lede">
        Trains the reply policy in this browser's worker; it keeps running while you look at other pages. An
        RL run with no checkpoint of its preset begins with the SFT warm-up on the dataset's corpus.
      </p>
      {noTrainSplit && !reviewRun && (
        <div class="row" role="status" data-testid="no-train-split">
          <span>
            The lab has no dataset with a train split, which every run trains on. Generate the default dataset
            (2,400 synthetic feedback items, seed 7: the data the starter policy was trained on), or make your
            own on the <a href="#/dataset">Dataset</a> page.
          </span>
          <button type="button" disabled={active || !!busy.value} onClick={generateDefault}>
            Generate the default dataset
          </button>
        </div>
      )}
      <BaseModelPicker
        base={base.value}
        onChange={(next) => {
          base.value = next;
          void refreshLab().catch((e) => {
            error.value = errorMessage(e);
          });
        }}
        checkpointIds={checkpointIds.value}
        disabled={active}
      />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void call(async () => {
            // init is the starter policy when chosen (imported on first use); otherwise the worker picks.
            const { init: _init, data: _data, ...form } = draft.value;
            // The data choice is SFT's; DPO and KTO read reviews whatever it says, RL the dataset.
            const request: TrainRequest = reviewRun === 'sft' ? { ...form, data: 'reviews' } : form;
            if (fromBase) return lab().startTraining({ ...request, init: fromBase.id });
            if (!useStarter) return lab().startTraining(request);
            busy.value = 'loading the starter policy…';
            try {
              const record = await lab().importStarterPolicy();
              if (starter.value) starter.value = { ...starter.value, id: record.id, imported: true };
              await lab().startTraining({ ...request, init: record.id });
            } finally {
              busy.value = '';
            }
          });
        }}
      >
        <fieldset disabled={active}>
          <legend>Run</legend>
          <div class="fields">
            <label>
              Preset
              <select
                value={draft.value.preset}
                disabled={!!fromBase}
                title={fromBase ? 'the base model keeps its own shape' : undefined}
                onChange={(e) => field('preset', str(e) as TrainRequest['preset'])}
              >
                <option value="tiny">tiny (≈0.85 M parameters)</option>
                <option value="small">small (≈5.3 M parameters)</option>
              </select>
            </label>
            <label class="checkbox">
              <input
                type="checkbox"
                checked={draft.value.copy ?? false}
                disabled={!!fromBase}
                onChange={(e) => field('copy', (e.currentTarget as HTMLInputElement).checked)}
              />
              Copy head (new models: may repeat the feedback's own words)
            </label>
            <label>
              Algorithm
              <select
                value={draft.value.algo}
                onChange={(e) => field('algo', str(e) as TrainRequest['algo'])}
              >
                <option value="sft">SFT</option>
                <option value="grpo">GRPO</option>
                <option value="rloo">RLOO</option>
                <option value="dpo">DPO (from reviews)</option>
                <option value="kto">KTO (from reviews)</option>
              </select>
            </label>
            {algo === 'sft' && (
              <label>
                Data
                <select
                  value={draft.value.data ?? 'dataset'}
                  onChange={(e) => field('data', str(e) as TrainRequest['data'])}
                >
                  <option value="dataset">the dataset's SFT corpus</option>
                  <option value="reviews">replies reviewers sent (reviews)</option>
                </select>
              </label>
            )}
            {starterFits && (
              <label>
                Start from
                <select
                  value={useStarter ? 'starter' : 'auto'}
                  onChange={(e) => {
                    fromStarter.value = str(e) === 'starter';
                  }}
                >
                  <option value="starter">the starter policy</option>
                  <option value="auto">
                    {preference
                      ? 'the newest checkpoint of this model'
                      : rl
                        ? 'the newest checkpoint of this model, else an SFT warm-up'
                        : 'a new model'}
                  </option>
                </select>
              </label>
            )}
            {numberField('group', 'Group size', { min: 2, max: 64 })}
            {numberField('steps', 'Steps', { min: 1, max: 100000 })}
            <label>
              Minutes (optional)
              <input
                type="number"
                min={0}
                step={0.5}
                value={draft.value.minutes ?? ''}
                onInput={(e) => {
                  const v = (e.currentTarget as HTMLInputElement).value;
                  field('minutes', v === '' || Number(v) <= 0 ? undefined : Number(v));
                }}
              />
            </label>
            <label>
              Backend
              <select
                value={draft.value.backend}
                onChange={(e) => field('backend', str(e) as TrainRequest['backend'])}
              >
                <option value="auto">auto</option>
                <option value="webgpu">WebGPU</option>
                <option value="webgl">WebGL</option>
                <option value="wasm">WASM</option>
                <option value="cpu">CPU</option>
              </select>
            </label>
            {numberField('seed', 'Seed', { min: 0 })}
            {numberField('batch', 'Feedback per step', { min: 1, max: 1024 })}
            {numberField('maxNewTokens', 'Reply tokens (max)', { min: 1, max: 4096 })}
            {numberField('sftSteps', 'SFT warm-up steps', { min: 0, max: 100000 })}
            {numberField(
              'klReward',
              'KL in reward',
              { min: 0, max: 10, step: 0.05 },
              "Each reply's reward loses this × its drift (nats per token) from the policy RL started from",
            )}
            {numberField(
              'beta',
              'KL in loss (β)',
              { min: 0, max: 10, step: 0.05 },
              preference
                ? `${algo.toUpperCase()}: β of the implicit reward β·log π/π_ref against the policy the run started from (> 0)`
                : "β of the loss's per-token KL to the policy RL started from",
            )}
            {numberField(
              'mu',
              'Updates per batch (μ)',
              { min: 1, max: 16 },
              'Clipped optimizer steps per sampled batch (μ); 1 is faster per step on a slow backend',
            )}
            {algo === 'dpo' &&
              numberField(
                'labelSmoothing',
                'Label smoothing (ε)',
                { min: 0, max: 0.45, step: 0.05 },
                'DPO: the share of pairs taken to be mislabelled (a reviewer may have chosen either); 0 is plain DPO',
              )}
            {/* A number input's steps count from its min: with 0.05 and 0.05, 1 is a valid value (with a
                step of 0.1 it would not be, and the browser would refuse to submit the form). */}
            {algo === 'kto' &&
              numberField(
                'desirableWeight',
                'Weight of sent replies (λ_D)',
                { min: 0.05, max: 100, step: 0.05 },
                'KTO: the weight of a desirable reply’s loss (the replies reviewers sent); blank: balanced, λ_U × passed-over / sent replies',
              )}
            {algo === 'kto' &&
              numberField(
                'undesirableWeight',
                'Weight of passed-over replies (λ_U)',
                { min: 0.05, max: 100, step: 0.05 },
                'KTO: the weight of an undesirable reply’s loss (drafts passed over or rejected)',
              )}
            {rl && !preference && (
              <label
                class="checkbox"
                title="Fit a Bradley–Terry reward model to the reviews' preference pairs when the run opens and add its score to the reward as a term"
              >
                <input
                  type="checkbox"
                  data-testid="reward-model-reviews"
                  checked={draft.value.rewardModel === 'reviews'}
                  onChange={(e) =>
                    field(
                      'rewardModel',
                      (e.currentTarget as HTMLInputElement).checked ? 'reviews' : undefined,
                    )
                  }
                />
                Reward model from reviews (a learned term beside the heuristic ones)
              </label>
            )}
            {learned &&
              numberField(
                'rewardModelWeight',
                'Reward model weight',
                { min: 0, max: 100, step: 0.05 },
                'The learned term’s weight in the weighted mean; the five heuristic terms weigh 0.2 each',
              )}
            {numberField('saveEvery', 'Checkpoint every', { min: 1 })}
          </div>
          <LoraFields value={loraOf(draft.value)} onChange={setLora} />
        </fieldset>
        {(reviewRun || learned) && reviews.value && <ReviewCounts summary={reviews.value} />}
        <p class="muted" data-testid="train-hint">
          {busy.value || hint}
        </p>
        <p class="row">
          <button
            type="submit"
            disabled={active || !!blocked || !!busy.value}
            title={blocked ? `Start is off: ${blocked}` : undefined}
          >
            Start
          </button>
          <button
            type="button"
            class="secondary"
            disabled={s.status !== 'running' && s.status !== 'compiling'}
            onClick={() => void call(() => lab().pauseTraining())}
          >
            Pause
          </button>
          <button
            type="button"
            class="secondary"
            disabled={s.status !== 'paused' && !(s.resumable && !active)}
            onClick={() => void call(() => lab().resumeTraining())}
          >
            {s.status === 'paused' ? 'Resume' : 'Resume from checkpoint'}
          </button>
          <button
            type="button"
            class="secondary"
            disabled={!active || s.status === 'stopping'}
            onClick={() => void call(() => lab().stopTraining())}
          >
            Stop
          </button>
        </p>
        {blocked && !active && (reviewRun || learned) && (
          <p class="muted" role="status" data-testid="start-blocked">
            Start is off: {blocked}
          </p>
        )}
      </form>
      {(error.value || s.error) && (
        <p role="alert" class="error">
          {error.value || s.error}
        </p>
      )}
      <StatusLine s={s} />
      <Charts metrics={s.metrics} />
      <SamplesTable s={s} />
      <AgreementPanel refreshKey={reviews.value} />
    </section>
  );
}

/** What the reviews in the lab give, before a run from them starts. */
function ReviewCounts({ summary }: { summary: ReviewDataSummary }) {
  return (
    <p data-testid="review-counts">
      From reviews: <strong>{summary.pairs}</strong> pairs, <strong>{summary.labels}</strong> labels,{' '}
      <strong>{summary.sft}</strong> replies{' '}
      <span class="muted">
        ({summary.decided} of {summary.items} feedback items in this lab decided; the Inbox's decisions, with
        those sync pulled from the server)
      </span>
    </p>
  );
}

function StatusLine({ s }: { s: TrainSnapshot }) {
  const last = s.metrics.at(-1);
  return (
    <div class="row status-line" aria-live="polite" data-testid="train-status" data-status={s.status}>
      <span class={`badge status-${s.status}`}>{STATUS_TEXT[s.status]}</span>
      {s.backend && (
        <span class="badge soft" data-testid="backend-badge" title="the tfjs backend and its adapter">
          {s.backend.name} · {s.backend.adapter || 'unknown adapter'} ·{' '}
          {s.backend.name === 'wasm' || s.backend.name === 'cpu'
            ? 'CPU'
            : s.backend.software
              ? 'software adapter (CPU emulation)'
              : 'hardware GPU'}
        </span>
      )}
      {s.phase && <span class="badge soft">{s.phase.toUpperCase()}</span>}
      {s.request && (
        <span>
          step <strong data-testid="train-step">{s.step}</strong> / {s.totalSteps}
        </span>
      )}
      {last && <span>{Math.round(last.tokensPerSecond)} tokens/s</span>}
      {s.etaSeconds !== null && active(s) && <span>ETA {duration(s.etaSeconds)}</span>}
      {s.lastCheckpoint && (
        <span data-testid="last-checkpoint">
          checkpoint {s.lastCheckpoint.id.slice(0, 10)}… at step {s.lastCheckpoint.step}
        </span>
      )}
      {s.message && <span class="muted">{s.message}</span>}
    </div>
  );
}

const active = (s: TrainSnapshot) => isActive(s);

function column(
  metrics: MetricPoint[],
  pick: (m: MetricPoint) => number | null | undefined,
): (number | null)[] {
  return metrics.map((m) => {
    const v = pick(m);
    return v === undefined || v === null || !Number.isFinite(v) ? null : v;
  });
}

function Charts({ metrics }: { metrics: MetricPoint[] }) {
  const steps = metrics.map((m) => m.step);
  const termNames = [...new Set(metrics.flatMap((m) => Object.keys(m.terms)))].filter((n) => n !== 'primary');
  const termSeries = (name: string, i: number): ChartSeries[] => [
    {
      label: name,
      color: TERM_COLORS[i % TERM_COLORS.length],
      values: column(metrics, (m) => m.terms[name]),
      spread: column(metrics, (m) => m.termStd?.[name]),
    },
  ];
  return (
    <div class="charts">
      <Chart
        title="reward (mean ± std)"
        steps={steps}
        series={[
          {
            label: 'primary',
            color: '#0b5cad',
            values: column(metrics, (m) => m.rewardMean),
            spread: column(metrics, (m) => m.rewardStd),
          },
        ]}
      />
      <Chart
        title="loss"
        steps={steps}
        series={[{ label: 'loss', color: '#a4161a', values: column(metrics, (m) => m.loss) }]}
      />
      <Chart
        title="KL to reference"
        steps={steps}
        series={[{ label: 'KL', color: '#7c3aed', values: column(metrics, (m) => m.kl) }]}
      />
      <Chart
        title="entropy"
        steps={steps}
        series={[{ label: 'entropy', color: '#0f766e', values: column(metrics, (m) => m.entropy) }]}
      />
      <Chart
        title="violation rate"
        steps={steps}
        series={[{ label: 'violations', color: '#b45309', values: column(metrics, (m) => m.violationRate) }]}
      />
      <Chart
        title="sendable rate"
        steps={steps}
        series={[{ label: 'sendable', color: '#15803d', values: column(metrics, (m) => m.sendableRate) }]}
      />
      <Chart
        title="tokens per second"
        steps={steps}
        series={[{ label: 'tokens/s', color: '#374151', values: column(metrics, (m) => m.tokensPerSecond) }]}
      />
      {metrics.some((m) => m.preference) && (
        <>
          <Chart
            title="implicit reward (β·log π/π_ref)"
            steps={steps}
            series={[
              { label: 'chosen', color: '#15803d', values: column(metrics, (m) => m.preference?.chosen) },
              { label: 'rejected', color: '#a4161a', values: column(metrics, (m) => m.preference?.rejected) },
            ]}
          />
          <Chart
            title="pairs ranked right (DPO)"
            steps={steps}
            series={[
              { label: 'accuracy', color: '#0b5cad', values: column(metrics, (m) => m.preference?.accuracy) },
            ]}
          />
        </>
      )}
      {termNames.map((name, i) => (
        <Chart
          key={name}
          title={`term: ${name} (mean ± std)`}
          steps={steps}
          series={termSeries(name, i)}
          height={160}
        />
      ))}
    </div>
  );
}

function SamplesTable({ s }: { s: TrainSnapshot }) {
  if (s.samples.length === 0) return null;
  const terms = [...new Set(s.samples.flatMap((r) => Object.keys(r.terms)))].filter((t) => t !== 'primary');
  const shown = s.samples.slice(0, 12);
  // Samples recorded before sendability was checked have no failedChecks.
  const checked = shown.filter((r) => Array.isArray(r.failedChecks));
  const sendable = checked.filter((r) => r.failedChecks.length === 0).length;
  return (
    <table data-testid="samples">
      <caption>
        Recent sampled replies
        {checked.length > 0 && ` (${sendable} of ${checked.length} sendable)`}
      </caption>
      <thead>
        <tr>
          <th scope="col" class="num">
            step
          </th>
          <th scope="col">reply</th>
          <th scope="col">failed checks</th>
          <th scope="col" class="num">
            reward
          </th>
          {terms.map((t) => (
            <th scope="col" class="num" key={t}>
              {t}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {shown.map((r, i) => (
          <tr key={`${r.step}-${i}`}>
            <td class="num">{r.step}</td>
            <td title={r.prompt}>{r.reply || <span class="muted">(empty reply)</span>}</td>
            <td data-testid="sample-checks">
              <SampleChecks r={r} />
            </td>
            <td class="num">{r.reward.toFixed(3)}</td>
            {terms.map((t) => (
              <td class="num" key={t}>
                {r.terms[t]?.toFixed(2) ?? '—'}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A sampled reply's failed checks, each with its description and what it found as the tooltip. */
function SampleChecks({ r }: { r: TrainSnapshot['samples'][number] }) {
  if (!Array.isArray(r.failedChecks)) return <span class="muted">—</span>;
  if (r.failedChecks.length === 0) return <span class="muted">none (sendable)</span>;
  return (
    <>
      {r.failedChecks.map((check, j) => {
        const found = findingsOf(check, r.findings ?? []);
        const title = `${checkDescription(check)}${found.length > 0 ? ` — found: ${found.join(', ')}` : ''}`;
        return (
          <span key={check} title={title}>
            {j > 0 ? ', ' : ''}
            {check}
          </span>
        );
      })}
    </>
  );
}
