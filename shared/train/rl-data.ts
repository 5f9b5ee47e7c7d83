// From the store to a policy-gradient batch, the way Agent Lightning's adapters turn traces into
// triplets: for each finished rollout, the latest attempt's spans give one reply span (prompt ids,
// completion ids, log-probabilities, governance findings) and one reward span per sample
// (shared/agent/samples.ts pairs them). A rollout is one GRPO group: its G replies to one feedback.
import { REPLY_ATTR, REPLY_OBJECT_TYPE } from '../agent/feedback-agent';
import { extractReplySamples, type ReplySample } from '../agent/samples';
import { AGL_OBJECT, ATTR } from '../agent/semconv';
import type { LightningStore } from '../store/store';
import type { Rollout, Span } from '../store/types';
import type { PolicyGradientSample } from './policy-gradient';

/** The compliance rules whose violation rates are reported, and PII leaks. */
export const VIOLATION_KINDS = ['inst_016', 'inst_017', 'inst_018', 'pii'] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export interface ScoredSample extends ReplySample {
  /** Which of VIOLATION_KINDS the reply showed. */
  violations: ViolationKind[];
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

/** The scored replies of a rollout's latest attempt. */
export async function readRolloutGroup(store: LightningStore, rollout: Rollout): Promise<RolloutGroup> {
  const { items } = await store.querySpans({
    rollout_id: rollout.rollout_id,
    attempt_id: 'latest',
    limit: -1,
  });
  const violations = new Map<string, ViolationKind[]>();
  for (const span of items) {
    if (span.name === AGL_OBJECT && span.attributes[ATTR.objectType] === REPLY_OBJECT_TYPE)
      violations.set(`${span.attempt_id}:${span.attributes[REPLY_ATTR.index]}`, violationsOf(span));
  }
  const samples = extractReplySamples(items).map((s) => ({
    ...s,
    violations: violations.get(`${s.attemptId}:${s.index}`) ?? [],
  }));
  return { rollout, samples };
}

export interface TrainingBatch {
  samples: PolicyGradientSample[];
  /** Every scored reply (trainable or not): the step's reward and violation statistics. */
  scored: ScoredSample[];
  /** Replies without tokens (a redacted PII leak, a failed rollout) that could not be trained on. */
  dropped: number;
}

/**
 * Policy-gradient samples of finished rollouts, one group per rollout. Replies whose tokens were not
 * stored (redacted for PII) or that lack a reward are left out of the update but still counted in
 * the statistics; groups left with fewer than two samples carry no GRPO/RLOO signal and are dropped.
 */
export function buildTrainingBatch(groups: RolloutGroup[]): TrainingBatch {
  const samples: PolicyGradientSample[] = [];
  const scored: ScoredSample[] = [];
  let dropped = 0;
  groups.forEach(({ samples: replies }, group) => {
    scored.push(...replies);
    const trainable = replies.filter(
      (r) =>
        r.promptTokenIds &&
        r.tokenIds &&
        r.tokenIds.length > 0 &&
        r.logprobs &&
        r.logprobs.length === r.tokenIds.length &&
        r.reward &&
        typeof r.reward.primary === 'number',
    );
    dropped += replies.length - trainable.length;
    if (trainable.length < 2) {
      dropped += trainable.length;
      return;
    }
    for (const r of trainable)
      samples.push({
        promptIds: r.promptTokenIds!,
        completionIds: r.tokenIds!,
        oldLogprobs: r.logprobs!,
        reward: r.reward!.primary,
        group,
      });
  });
  return { samples, scored, dropped };
}

export interface RewardSummary {
  n: number;
  rewardMean: number;
  rewardStd: number;
  terms: Record<string, number>;
  violationRate: Record<ViolationKind | 'any', number>;
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
  const words = replies.map((r) => r.text.split(/\s+/).filter(Boolean).length);
  return {
    n,
    rewardMean: mean,
    rewardStd: Math.sqrt(variance),
    terms,
    violationRate,
    wordsMean: n ? words.reduce((a, b) => a + b, 0) / n : 0,
  };
}
