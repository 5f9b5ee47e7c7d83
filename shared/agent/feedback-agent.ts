import type { GovernancePipeline, Verdict } from '../governance/types';
import { seededHash } from '../random';
import type { RolloutContext } from './context';
import type { DraftedReply } from './policy';
import { loadSpeller } from './quality/spelling';
import { buildFeedbackPrompt } from './prompt';
import type { LearnedReward } from './reward-model';
import {
  DEFAULT_REWARD_CONFIG,
  RewardConfig,
  type RewardConfigInput,
  type RewardResult,
  rewardFeedbackReply,
} from './reward';
import { type LitAgent, rollout } from './rollout';
import { ATTR, linkAttributes } from './semconv';
import { FeedbackTask } from './task';

// The feedback-response agent (Tractatus's, inside Agent Lightning's loop):
//   govern the feedback → prompt from the REDACTED text + category + sentiment → draft G replies with
//   the policy in one batch → govern each reply → score it → one reply span + one reward span each.
// A reply that leaks PII is stored only in its redacted form, without its tokens; a reply governance
// blocks for a rule is stored as drafted, with its verdict, so traces show it and RL can learn from it.

export const REPLY_OBJECT_TYPE = 'edgelight.feedback.reply';
export const VERDICT_OBJECT_TYPE = 'edgelight.feedback.verdict';

/** Span attributes of a reply span (`agentlightning.object`, type edgelight.feedback.reply). */
export const REPLY_ATTR = {
  index: 'edgelight.reply.index',
  text: 'edgelight.reply.text',
  redacted: 'edgelight.reply.redacted',
  decision: 'edgelight.reply.decision',
  violations: 'edgelight.reply.violations',
  pii: 'edgelight.reply.pii',
  /** Did the reply pass every sendability check (shared/agent/quality)? */
  sendable: 'edgelight.reply.sendable',
  /** The sendability checks it failed. */
  qualityFailed: 'edgelight.reply.quality.failed',
  /** What each failed check found ("spelling: newcom"); left out when the reply leaked PII. */
  qualityFindings: 'edgelight.reply.quality.findings',
  prompt: 'edgelight.prompt',
  policyId: 'edgelight.policy.id',
  group: 'edgelight.group.size',
} as const;

export interface FeedbackAgentOptions {
  governance: GovernancePipeline;
  /** Replies drafted per feedback (the GRPO group size G, default 4). */
  group?: number;
  temperature?: number;
  maxTokens?: number;
  /** Seeds the policy's sampling: seed + a hash of the task id (and the training step); see draft-replies. */
  seed?: number;
  reward?: RewardConfigInput;
  /** A reward model's term beside the heuristic ones (its weight and its scorer of prompt and reply). */
  learnedReward?: LearnedReward;
  /** Called with every scored reply (the CLI aggregates its summary here). */
  onReply?: (scored: ScoredReply) => void;
}

export interface ScoredReply {
  rolloutId: string;
  task: FeedbackTask;
  index: number;
  /** The text as stored: redacted when it leaked PII. */
  storedText: string;
  verdict: Verdict;
  reward: RewardResult;
}

function verdictSummary(verdict: Verdict) {
  return {
    decision: verdict.decision,
    sentiment: verdict.sentiment.label,
    sentiment_score: verdict.sentiment.score,
    pii: verdict.pii.map((p) => p.type),
    violations: verdict.violations.map((v) => v.rule),
    boundaries: verdict.boundaries.map((b) => b.boundary),
    redacted: verdict.redacted,
  };
}

export function createFeedbackAgent(options: FeedbackAgentOptions): LitAgent {
  const group = options.group ?? 4;
  if (!Number.isInteger(group) || group < 1)
    throw new Error(`group must be a positive integer, got ${group}`);
  const rewardConfig = options.reward ? RewardConfig.parse(options.reward) : DEFAULT_REWARD_CONFIG;
  const { governance } = options;

  async function feedbackAgent(task: FeedbackTask, ctx: RolloutContext): Promise<void> {
    const policy = ctx.resources.policy;
    if (!policy)
      throw new Error('the feedback agent needs a `policy` (or `llm`) resource; none was resolved');

    await loadSpeller(); // the reward's spelling check (a browser fetches its dictionaries once)
    const feedbackVerdict = await ctx.operation('govern-feedback', (op) => {
      const verdict = governance.govern(task.text, 'feedback');
      op.setOutput(verdictSummary(verdict));
      return verdict;
    });
    const prompt = buildFeedbackPrompt(task, feedbackVerdict, policy.promptFormat);

    const drafts: DraftedReply[] = await ctx.operation('draft-replies', async (op) => {
      op.setInput({ policy: policy.id, group });
      // The sampling seed is keyed on the task, so the same policy, items and seed draft the same
      // replies (a reproducible eval, a bit-for-bit resumable RL run). A training rollout adds its
      // step (the trainer's metadata), so a task that comes round again gets fresh samples; a rollout
      // without one falls back to its own random id.
      const step = ctx.rollout.metadata?.step;
      const key =
        ctx.rollout.mode !== 'train'
          ? task.id
          : typeof step === 'number'
            ? `${task.id}@${step}`
            : ctx.rollout.rollout_id;
      const seed = options.seed === undefined ? undefined : seededHash(options.seed, key);
      const batch = await policy.draft([prompt], group, {
        seed,
        temperature: options.temperature,
        maxTokens: options.maxTokens,
        signal: ctx.signal,
      });
      const replies = batch[0];
      if (!Array.isArray(replies) || replies.length !== group) {
        throw new Error(`policy ${policy.id} returned ${replies?.length ?? 0} replies, expected ${group}`);
      }
      op.setOutput({ replies: replies.length });
      return replies;
    });

    const learned = options.learnedReward && {
      weight: options.learnedReward.weight,
      term: (reply: string) => options.learnedReward?.score(prompt, reply) ?? 0,
    };
    for (const [index, draft] of drafts.entries()) {
      const verdict = governance.govern(draft.text, 'response');
      const reward = rewardFeedbackReply(
        draft.text,
        task,
        { feedback: feedbackVerdict, reply: verdict },
        rewardConfig,
        learned,
      );
      // Only a reply that leaked personal data is withheld. One blocked for a compliance rule holds
      // nothing private (its redacted text is its text), and its tokens are exactly what the RL update
      // must push down: withheld, the policy only ever saw its siblings rewarded, and GRPO left the
      // violation rate at 9–10 % after 20 minutes (measured; docs/training.md).
      const mustRedact = verdict.pii.length > 0;
      const storedText = mustRedact ? verdict.redacted : draft.text;
      const replySpan = await ctx.emitObject(
        { index, text: storedText },
        {
          [ATTR.objectType]: REPLY_OBJECT_TYPE,
          [REPLY_ATTR.index]: index,
          [REPLY_ATTR.text]: storedText,
          [REPLY_ATTR.redacted]: mustRedact,
          [REPLY_ATTR.decision]: verdict.decision,
          [REPLY_ATTR.violations]: verdict.violations.map((v) => v.rule),
          [REPLY_ATTR.pii]: verdict.pii.map((p) => p.type),
          [REPLY_ATTR.sendable]: reward.quality.sendable,
          [REPLY_ATTR.qualityFailed]: reward.quality.failed,
          // A finding quotes the reply ("spelling: Priya"), so a reply that leaked PII keeps names only.
          ...(mustRedact
            ? {}
            : {
                [REPLY_ATTR.qualityFindings]: reward.quality.findings.map((f) => `${f.check}: ${f.detail}`),
              }),
          [REPLY_ATTR.prompt]: prompt,
          [REPLY_ATTR.policyId]: policy.id,
          [REPLY_ATTR.group]: group,
          // Token-level data for the RL update; a redacted reply's tokens would spell out the PII
          // it leaked, so they are dropped (its reward is 0 and it still counts in the group).
          ...(draft.promptTokenIds ? { [ATTR.promptTokenIds]: draft.promptTokenIds } : {}),
          ...(draft.tokenIds && !mustRedact ? { [ATTR.responseTokenIds]: draft.tokenIds } : {}),
          ...(draft.logprobs && !mustRedact ? { [ATTR.responseLogprobs]: draft.logprobs } : {}),
        },
      );
      await ctx.emitReward(
        { primary: reward.primary, ...reward.terms },
        {
          [REPLY_ATTR.index]: index,
          ...(replySpan ? linkAttributes({ span_id: replySpan.span_id }) : {}),
          ...(reward.hardZero ? { 'edgelight.reward.hard_zero': reward.hardZero } : {}),
        },
      );
      options.onReply?.({ rolloutId: ctx.rollout.rollout_id, task, index, storedText, verdict, reward });
    }
  }

  return rollout(feedbackAgent, { name: 'feedback-agent', taskSchema: FeedbackTask });
}
