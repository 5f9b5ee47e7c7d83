// What a frozen reference policy (the SFT checkpoint an RL run starts from) says about sampled replies.
// Two uses: the KL-in-reward shaping of the RL loop, and eval's `reference_nll`. Both exist because the
// reward is string heuristics a small policy can game with keyword salad, text the reference finds
// wildly improbable (measured: 0.26 nats/token for the SFT policy's own samples, 8.3 for salad).
//
//   referenceLogprobs(reference, replies)    → Map reply → log π_ref per completion token
//   klPerReply(referenceLogprobs)            → Map reply → mean_t (log π_old − log π_ref)   (k1, nats/token)
//   meanReferenceNll(reference, replies)     → mean −log π_ref per token over all replies
import type { Policy } from '../policy/model';
import { completionLogprobs } from './policy-gradient';
import { hasTokens, type ScoredSample } from './rl-data';

/** Rows per reference forward: bounds the (rows, T, vocab) logits tensor. */
const CHUNK = 32;

/** log π_ref of each completion token, for every reply whose tokens were stored (others are absent). */
export async function referenceLogprobs(
  reference: Policy,
  replies: readonly ScoredSample[],
): Promise<Map<ScoredSample, number[]>> {
  const withTokens = replies.filter(hasTokens);
  const out = new Map<ScoredSample, number[]>();
  for (let i = 0; i < withTokens.length; i += CHUNK) {
    const chunk = withTokens.slice(i, i + CHUNK);
    const logprobs = await completionLogprobs(
      reference,
      chunk.map((r) => ({ promptIds: r.promptTokenIds!, completionIds: r.tokenIds! })),
    );
    chunk.forEach((reply, j) => {
      out.set(reply, logprobs[j]);
    });
  }
  return out;
}

/**
 * Per reply, the mean over its tokens of log π_old − log π_ref: the k1 estimate of KL(π_old ‖ π_ref)
 * per token, from the log-probabilities the sampler recorded. Mean rather than sum, so the penalty
 * does not also act as a length penalty (the reward has its own length term).
 */
export function klPerReply(ref: ReadonlyMap<ScoredSample, number[]>): Map<ScoredSample, number> {
  const out = new Map<ScoredSample, number>();
  for (const [reply, refLogprobs] of ref) {
    const own = reply.logprobs!;
    let sum = 0;
    for (let t = 0; t < own.length; t++) sum += own[t] - refLogprobs[t];
    out.set(reply, sum / own.length);
  }
  return out;
}

/** Nats per token under the reference, over every stored reply token; NaN when there are none. */
export async function meanReferenceNll(reference: Policy, replies: readonly ScoredSample[]): Promise<number> {
  let total = 0;
  let tokens = 0;
  for (const logprobs of (await referenceLogprobs(reference, replies)).values()) {
    for (const lp of logprobs) total -= lp;
    tokens += logprobs.length;
  }
  return tokens === 0 ? Number.NaN : total / tokens;
}
