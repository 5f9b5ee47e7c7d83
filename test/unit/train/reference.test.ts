// The reference policy's view of sampled replies: the k1 drift per reply, eval's reference NLL, and the
// KL-in-reward shaping that ranks a drifted reply below an equally rewarded faithful one.
import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicy } from '../../../shared/policy/model';
import { selectBackend } from '../../../shared/train/backend';
import { completionLogprobs } from '../../../shared/train/policy-gradient';
import { klPerReply, meanReferenceNll, referenceLogprobs } from '../../../shared/train/reference';
import { buildTrainingBatch, type ScoredSample } from '../../../shared/train/rl-data';

const config = { vocabSize: 24, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16 };
const pairs = [
  { promptIds: [1, 2], completionIds: [3, 4, 5] },
  { promptIds: [1, 2], completionIds: [6, 7] },
  { promptIds: [1, 2], completionIds: [8] },
];

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
});

const reply = (i: number, logprobs: number[] | null, primary: number): ScoredSample => ({
  rolloutId: 'ro-a',
  attemptId: 'at-a',
  index: i,
  prompt: 'p',
  text: 't',
  redacted: logprobs === null,
  policyId: 'x',
  promptTokenIds: logprobs ? pairs[i].promptIds : null,
  tokenIds: logprobs ? pairs[i].completionIds : null,
  logprobs,
  reward: { primary },
  violations: [],
  failedChecks: [],
});

describe('reference policy', () => {
  it('measures each reply’s drift from the reference in nats per token, and its NLL', async () => {
    const reference = createPolicy(config, { seed: 1 });
    const own = await completionLogprobs(reference, pairs);
    // Reply 0 was sampled by the reference itself; reply 1 by a policy 0.5 nats/token surer of its
    // tokens; reply 2's tokens were withheld (a blocked reply) and has no drift.
    const replies = [
      reply(0, own[0], 0.6),
      reply(
        1,
        own[1].map((lp) => lp + 0.5),
        0.6,
      ),
      reply(2, null, 0),
    ];
    const ref = await referenceLogprobs(reference, replies);
    const drift = klPerReply(ref);
    expect(drift.get(replies[0])).toBeCloseTo(0, 5);
    expect(drift.get(replies[1])).toBeCloseTo(0.5, 5);
    expect(drift.has(replies[2])).toBe(false);

    const expected = -[...own[0], ...own[1]].reduce((a, b) => a + b) / 5;
    expect(await meanReferenceNll(reference, replies)).toBeCloseTo(expected, 5);
    expect(await meanReferenceNll(reference, [replies[2]])).toBeNaN();

    // Same primary reward: without shaping the two stored replies tie; with it the drifted one ranks
    // below, and the withheld reply (reward 0, no drift) stays below both.
    const group = [{ rollout: { rollout_id: 'ro-a' } as never, samples: replies }];
    const plain = buildTrainingBatch(group, 'grpo');
    expect(plain.samples[0].reward).toBeCloseTo(plain.samples[1].reward, 6);
    const shaped = buildTrainingBatch(group, 'grpo', {
      rewardOf: (r) => r.reward!.primary - 0.2 * (drift.get(r) ?? 0),
      refLogprobs: ref,
    });
    expect(shaped.samples[0].reward).toBeGreaterThan(shaped.samples[1].reward);
    // The loss's KL term gets the same reference log-probs, so it need not run the reference again.
    expect(shaped.samples[1].refLogprobs).toEqual(own[1]);
    expect(shaped.samples[1].reward).toBeGreaterThan(0);
    reference.dispose();
  });
});
