import { useSignal } from '@preact/signals';
import type { GateFigures } from '../../shared/sync/promotion';
import type { PromotionOutcome } from '../../worker/lab/protocol';
import { errorMessage, lab } from '../lab/client';
import { percent } from './Sendability';

// "Promote to served" for one checkpoint: the server (the Sync page's) evaluates it against the policy
// it serves and promotes it or refuses with the figures; a refusal can be overridden with a reason,
// which the server records beside the figures (docs/promotion.md).

export function PromotePanel(props: { checkpointId: string; onClose: () => void; onPromoted: () => void }) {
  const override = useSignal(false);
  const reason = useSignal('');
  const busy = useSignal(false);
  const outcome = useSignal<PromotionOutcome | null>(null);
  const error = useSignal('');

  const submit = async (event: Event) => {
    event.preventDefault();
    busy.value = true;
    error.value = '';
    try {
      outcome.value = await lab().promoteCheckpoint({
        checkpointId: props.checkpointId,
        ...(override.value ? { overrideReason: reason.value } : {}),
      });
      if (outcome.value.status === 'promoted') props.onPromoted();
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      busy.value = false;
    }
  };
  const gate = outcome.value?.promotion?.gate;

  return (
    <form class="promote" data-testid="promote-panel" onSubmit={submit} aria-labelledby="promote-title">
      <h2 id="promote-title">Promote {props.checkpointId.slice(0, 10)}… to served</h2>
      <p class="muted">
        The server drafts replies to its held-out feedback with this checkpoint and with the policy it serves,
        and refuses a rise in violations or a fall in reward past its margins.
      </p>
      <label class="checkbox">
        <input
          type="checkbox"
          checked={override.value}
          onChange={(e) => {
            override.value = (e.currentTarget as HTMLInputElement).checked;
          }}
        />{' '}
        Override a refusal
      </label>
      {override.value && (
        <label>
          Reason (recorded with the figures){' '}
          <input
            type="text"
            required
            maxLength={2000}
            value={reason.value}
            onInput={(e) => {
              reason.value = (e.currentTarget as HTMLInputElement).value;
            }}
          />
        </label>
      )}
      <p class="row">
        <button type="submit" disabled={busy.value || (override.value && reason.value.trim() === '')}>
          {busy.value ? 'Evaluating…' : 'Promote'}
        </button>
        <button type="button" class="secondary" onClick={props.onClose} disabled={busy.value}>
          Close
        </button>
      </p>
      {error.value && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      {outcome.value && (
        <p
          data-testid="promote-outcome"
          role={outcome.value.status === 'promoted' ? 'status' : 'alert'}
          class={outcome.value.status === 'promoted' ? '' : 'error'}
        >
          <strong>{outcome.value.status}</strong>: {outcome.value.message}
        </p>
      )}
      {gate && (
        <table data-testid="promote-figures">
          <caption>
            Gate figures ({gate.candidate.replies} replies each; margins: violations +
            {percent(gate.margins.max_violation_rise)}, reward −{gate.margins.max_reward_drop})
          </caption>
          <thead>
            <tr>
              <th scope="col">policy</th>
              <th scope="col" class="num">
                reward
              </th>
              <th scope="col" class="num">
                violations
              </th>
              <th scope="col" class="num">
                sendable
              </th>
            </tr>
          </thead>
          <tbody>
            <FiguresRow name="candidate" f={gate.candidate} />
            <FiguresRow name="served now" f={gate.served} />
          </tbody>
        </table>
      )}
    </form>
  );
}

function FiguresRow({ name, f }: { name: string; f: GateFigures }) {
  return (
    <tr>
      <th scope="row" title={f.checkpoint_id}>
        {name} <code>{f.checkpoint_id.slice(0, 10)}…</code>
      </th>
      <td class="num">{f.reward_mean.toFixed(3)}</td>
      <td class="num">{percent(f.violation_rate)}</td>
      <td class="num">{percent(f.sendable_rate)}</td>
    </tr>
  );
}
