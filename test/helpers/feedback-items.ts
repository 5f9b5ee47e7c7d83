// Feedback items as the intake and the drafting runner leave them in a store: a rollout whose input is
// a FeedbackItemInput (redacted text, the intake verdict) and, on its attempt, the real feedback agent's
// reply and reward spans for G drafts. The replies come from a scripted policy so a test knows them;
// governance, the reward and the sendability checks are the real ones.
import { createRolloutContext } from '../../shared/agent/context';
import { createFeedbackAgent } from '../../shared/agent/feedback-agent';
import type { DraftedReply, ReplyPolicy } from '../../shared/agent/policy';
import type { GovernancePipeline } from '../../shared/governance/types';
import { FEEDBACK_ITEM_KIND, type FeedbackItemInput, intakeVerdictOf } from '../../shared/review/contract';
import type { LightningStore } from '../../shared/store/store';
import type { AttemptedRollout } from '../../shared/store/types';

/** Answers every prompt with `replies`, one per sample. */
export function scriptedPolicy(replies: string[], id = 'scripted-policy'): ReplyPolicy {
  return {
    id,
    async draft(prompts: string[], group: number): Promise<DraftedReply[][]> {
      return prompts.map(() =>
        Array.from({ length: group }, (_, g) => ({ text: replies[g % replies.length] })),
      );
    },
  };
}

export type SeedItem = {
  id: string;
  /** The visitor's text: governed here as the intake does, and only its redacted form is stored. */
  text: string;
  submittedAt: number;
  replies: string[];
  category?: FeedbackItemInput['category'];
};

/** Governs `text` as the intake does and writes the item rollout with its drafts; returns the rollout. */
export async function seedFeedbackItem(
  store: LightningStore,
  governance: GovernancePipeline,
  seed: SeedItem,
): Promise<AttemptedRollout> {
  const verdict = governance.govern(seed.text, 'feedback');
  const input: FeedbackItemInput = {
    kind: FEEDBACK_ITEM_KIND,
    id: seed.id,
    text: verdict.redacted,
    ...(seed.category ? { category: seed.category } : {}),
    metadata: {
      submitted_at: seed.submittedAt,
      source: 'form',
      intake: 'test-site',
      verdict: intakeVerdictOf(verdict),
    },
  };
  const rollout = await store.startRollout({ input, mode: 'test', metadata: { source: 'intake' } });
  const policy = scriptedPolicy(seed.replies);
  const context = createRolloutContext({
    store,
    rollout,
    resources: { resourcesId: null, named: {}, policy, llm: null },
    workerId: null,
    signal: new AbortController().signal,
  });
  await createFeedbackAgent({ governance, group: seed.replies.length }).execute(input, context);
  await context.flush();
  await store.updateAttempt(rollout.rollout_id, rollout.attempt.attempt_id, { status: 'succeeded' });
  return rollout;
}
