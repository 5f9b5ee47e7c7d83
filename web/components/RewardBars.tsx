import type { Attributes } from '../../shared/store/types';

// A reward's terms as horizontal bars: one row per term, the bar's length its value on [-1, 1]
// (values outside are clamped for drawing, printed exactly).

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

export function RewardBars({ terms }: { terms: Record<string, number> }) {
  return (
    <table class="reward-bars" data-testid="reward-bars">
      <caption class="sr-only">reward terms</caption>
      <tbody>
        {Object.entries(terms).map(([name, value]) => {
          const clamped = Math.max(-1, Math.min(1, value));
          return (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td class="num">{value.toFixed(3)}</td>
              <td class="bar-cell">
                <span class="bar-axis">
                  <span
                    class={`bar ${clamped < 0 ? 'negative' : ''}`}
                    style={{
                      left: clamped < 0 ? `${50 + clamped * 50}%` : '50%',
                      width: `${Math.abs(clamped) * 50}%`,
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
