// From the store to a policy-gradient batch, the way Agent Lightning's adapters turn traces into
// triplets: for each finished rollout, the latest attempt's spans give one reply span (prompt ids,
// completion ids, log-probabilities, governance findings) and one reward span per sample
// (shared/agent/samples.ts pairs them). A rollout is one GRPO group: its G replies to one feedback.
import { REPLY_ATTR, REPLY_OBJECT_TYPE } from '../agent/feedback-agent';
import { extractReplySamples, type ReplySample } from '../agent/samples';
import { QUALITY_CHECKS, type QualityCheck } from '../agent/quality/checks';
import { AGL_OBJECT, ATTR } from '../agent/semconv';
import type { LightningStore } from '../store/store';
import type { Rollout, Span } from '../store/types';
import { computeAdvantages } from './advantages';
import type { PolicyGradientSample } from './policy-gradient';

/** The compliance rules whose violation rates are reported, and PII leaks. */
export const VIOLATION_KINDS = ['inst_016', 'inst_017', 'inst_018', 'pii'] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export interface ScoredSample extends ReplySample {
  /** Which of VIOLATION_KINDS the reply showed. */
  violations: ViolationKind[];
  /** The sendability checks it failed (shared/agent/quality); [] for a sendable reply. */
  failedChecks: QualityCheck[];
}

export interface RolloutGroup {
  rollout: Rollout;
  samples: ScoredSample[];
}

function violationsOf(span: Span): ViolationKind[] {
  const rules = span.attributes[REPLY_ATTR.violations];
  const pii = span.attributes[REPLY_ATTR.pii];
  const found = new Set<ViolationKind>();
  if (Array.isArray(rules))
    for (const r of rules)
      if ((VIOLATION_KINDS as readonly unknown[]).includes(r)) found.add(r as ViolationKind);
  if (Array.isArray(pii) && pii.length > 0) found.add('pii');
  return [...found];
}

function failedChecksOf(span: Span): QualityCheck[] {
  const failed = span.attributes[REPLY_ATTR.qualityFailed];
  return Array.isArray(failed) ? QUALITY_CHECKS.filter((c) => (failed as unknown[]).includes(c)) : [];
}

/** The scored replies of a rollout's latest attempt. */
export async function readRolloutGroup(store: LightningStore, rollout: Rollout): Promise<RolloutGroup> {
  const { items } = await store.querySpans({
    rollout_id: rollout.rollout_id,
    attempt_id: 'latest',
    limit: -1,
  });
  const replySpans = new Map<string, Span>();
  for (const span of items) {
    if (span.name === AGL_OBJECT && span.attributes[ATTR.objectType] === REPLY_OBJECT_TYPE)
      replySpans.set(`${span.attempt_id}:${span.attributes[REPLY_ATTR.index]}`, span);
  }
  const samples = extractReplySamples(items).map((s) => {
    const span = replySpans.get(`${s.attemptId}:${s.index}`);
    return {
      ...s,
      violations: span ? violationsOf(span) : [],
      failedChecks: span ? failedChecksOf(span) : [],
    };
  });
  return { rollout, samples };
}

export interface TrainingBatch {
  /**
   * Samples to train on. `reward` holds the sample's ADVANTAGE, computed over its whole group (see
   * buildTrainingBatch): update them with the `reinforce` estimator and baseline 0, which uses it as is.
   */
  samples: PolicyGradientSample[];
  /** Every scored reply (trainable or not): the step's reward and violation statistics. */
  scored: ScoredSample[];
  /** Scored replies that could not be trained on (tokens withheld, or no comparison in their group). */
  dropped: number;
}

export const hasTokens = (r: ScoredSample) =>
  !!r.promptTokenIds &&
  !!r.tokenIds &&
  r.tokenIds.length > 0 &&
  !!r.logprobs &&
  r.logprobs.length === r.tokenIds.length;

/**
 * Policy-gradient samples of finished rollouts, one group per rollout.
 *
 * Advantages are computed over EVERY rewarded reply of the group, including replies whose tokens the
 * agent withheld from the store (a reply that leaked PII or that governance blocked is never stored
 * in clear, so its tokens are not there to train on). Computing them over the trainable replies only
 * would erase exactly the signal RL is for: a group with two blocked replies (reward 0) and six good
 * ones would look like six ties. Over the whole group the good replies carry the positive advantage
 * their blocked siblings earned them. Groups with fewer than two rewarded replies give no comparison.
 */
export function buildTrainingBatch(
  groups: RolloutGroup[],
  estimator: 'grpo' | 'rloo' | 'reinforce' = 'grpo',
  options: {
    /** The reward the advantages are computed from; default the primary reward (KL-in-reward shapes it). */
    rewardOf?: (reply: ScoredSample) => number;
    /** The reference policy's log-probs of a reply's tokens, carried to the loss's KL term. */
    refLogprobs?: ReadonlyMap<ScoredSample, number[]>;
  } = {},
): TrainingBatch {
  const rewardOf = options.rewardOf ?? ((reply: ScoredSample) => reply.reward!.primary);
  const scored = groups.flatMap((g) => g.samples);
  const rewarded: Array<{ reply: ScoredSample; group: number }> = [];
  groups.forEach(({ samples: replies }, group) => {
    const withReward = replies.filter((r) => r.reward && typeof r.reward.primary === 'number');
    if (withReward.length >= 2) for (const reply of withReward) rewarded.push({ reply, group });
  });
  const advantages = computeAdvantages(
    rewarded.map((r) => rewardOf(r.reply)),
    rewarded.map((r) => r.group),
    { estimator },
  );
  const samples: PolicyGradientSample[] = [];
  rewarded.forEach(({ reply, group }, i) => {
    if (!hasTokens(reply)) return;
    samples.push({
      promptIds: reply.promptTokenIds!,
      completionIds: reply.tokenIds!,
      oldLogprobs: reply.logprobs!,
      reward: advantages[i],
      group,
      ...(options.refLogprobs?.has(reply) ? { refLogprobs: options.refLogprobs.get(reply) } : {}),
    });
  });
  return { samples, scored, dropped: scored.length - samples.length };
}

export interface RewardSummary {
  n: number;
  rewardMean: number;
  rewardStd: number;
  terms: Record<string, number>;
  violationRate: Record<ViolationKind | 'any', number>;
  /** Share of replies that passed every sendability check. */
  sendableRate: number;
  /** Share of replies that failed each sendability check. */
  failedChecks: Record<QualityCheck, number>;
  wordsMean: number;
}

/** Means of the primary reward, each term and each violation kind over scored replies. */
export function summariseReplies(replies: ScoredSample[]): RewardSummary {
  const n = replies.length;
  const rewards = replies.map((r) => r.reward?.primary ?? 0);
  const mean = n ? rewards.reduce((a, b) => a + b, 0) / n : 0;
  const variance = n ? rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / n : 0;
  const terms: Record<string, number> = {};
  for (const r of replies)
    for (const [name, value] of Object.entries(r.reward ?? {}))
      if (name !== 'primary') terms[name] = (terms[name] ?? 0) + value / n;
  const violationRate = Object.fromEntries(
    [...VIOLATION_KINDS, 'any'].map((kind) => [
      kind,
      n
        ? replies.filter((r) =>
            kind === 'any' ? r.violations.length > 0 : r.violations.includes(kind as ViolationKind),
          ).length / n
        : 0,
    ]),
  ) as Record<ViolationKind | 'any', number>;
  const share = (test: (r: ScoredSample) => boolean) => (n ? replies.filter(test).length / n : 0);
  const failedChecks = Object.fromEntries(
    QUALITY_CHECKS.map((c) => [c, share((r) => r.failedChecks.includes(c))]),
  ) as Record<QualityCheck, number>;
  const words = replies.map((r) => r.text.split(/\s+/).filter(Boolean).length);
  return {
    sendableRate: share((r) => r.failedChecks.length === 0),
    failedChecks,
    n,
    rewardMean: mean,
    rewardStd: Math.sqrt(variance),
    terms,
    violationRate,
    wordsMean: n ? words.reduce((a, b) => a + b, 0) / n : 0,
  };
}
