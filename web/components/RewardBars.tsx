import type { Attributes } from '../../shared/store/types';

// A reward's terms as horizontal bars, one row per term. Terms in [0, 1] draw from the left edge;
// when any term is negative the axis is [-1, 1] with zero in the middle. Values outside are
// clamped for drawing and printed exactly.

export function rewardTerms(attributes: Attributes): Record<string, number> | null {
  const terms: Record<string, number> = {};
  for (let i = 0; ; i++) {
    const name = attributes[`agentlightning.reward.${i}.name`];
    const value = attributes[`agentlightning.reward.${i}.value`];
    if (typeof name !== 'string' || typeof value !== 'number') break;
    terms[name] = value;
  }
  return Object.keys(terms).length ? terms : null;
}

/** What a term means where its name alone does not say (shown as the row's tooltip). */
const TERM_TITLES: Record<string, string> = {
  quality: 'multiplies the reward: × 0.5 for each sendability check the reply failed (1 = sendable)',
};

export function RewardBars({ terms }: { terms: Record<string, number> }) {
  const signed = Object.values(terms).some((v) => v < 0);
  return (
    <table class="reward-bars" data-testid="reward-bars">
      <caption class="sr-only">reward terms</caption>
      <tbody>
        {Object.entries(terms).map(([name, value]) => {
          const clamped = Math.max(signed ? -1 : 0, Math.min(1, value));
          const zero = signed ? 50 : 0;
          const scale = signed ? 50 : 100;
          return (
            <tr key={name} title={TERM_TITLES[name]}>
              <th scope="row">{name}</th>
              <td class="num">{value.toFixed(3)}</td>
              <td class="bar-cell">
                <span class={`bar-axis ${signed ? 'signed' : ''}`}>
                  <span
                    class={`bar ${clamped < 0 ? 'negative' : ''}`}
                    style={{
                      left: `${zero + Math.min(0, clamped) * scale}%`,
                      width: `${Math.abs(clamped) * scale}%`,
                    }}
                  />
                </span>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
