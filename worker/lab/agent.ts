import { createBaselinePolicy } from '../../shared/agent/baseline-policy';
import { createRolloutContext } from '../../shared/agent/context';
import { createFeedbackAgent, type ScoredReply } from '../../shared/agent/feedback-agent';
import type { ReplyPolicy } from '../../shared/agent/policy';
import { buildSftCorpus } from '../../shared/data/index';
import type { GovernancePipeline } from '../../shared/governance/types';
import { type BlobStorage, loadCheckpoint } from '../../shared/policy/checkpoint';
import type { LightningStore } from '../../shared/store/store';
import { datasetItems, SFT_SETTINGS_KEY, type SftSettings } from './dataset';
import type { LabDatabase } from './lab-db';
import { DraftRequest, type DraftResult } from './protocol';

// The feedback agent outside training: draft replies for one piece of feedback with the newest
// checkpoint (or, before any training, the baseline that samples the SFT corpus). The rollout goes
// through the store like any other, so it shows up in the trace explorer as mode `test`.

export type PolicyChoice = { policy: ReplyPolicy; kind: 'checkpoint' | 'baseline' };

/** Loads a checkpoint's weights onto the current tfjs backend as a ReplyPolicy. */
export async function checkpointReplyPolicy(
  blobs: BlobStorage,
  id: string,
  maxNewTokens = 96,
): Promise<ReplyPolicy> {
  const [{ policyFromCheckpoint }, { TransformerReplyPolicy }] = await Promise.all([
    import('../../shared/policy/checkpoint-policy'),
    import('../../shared/policy/reply-policy'),
  ]);
  const { policy, tokenizer } = policyFromCheckpoint(await loadCheckpoint(blobs, id));
  return new TransformerReplyPolicy({ id, policy, tokenizer, temperature: 0.8, maxNewTokens });
}

export async function baselinePolicy(db: LabDatabase, governance: GovernancePipeline): Promise<ReplyPolicy> {
  const items = await datasetItems(db, 'train');
  if (items.length === 0) throw new Error('no policy yet: generate a dataset (Dataset page) or train one');
  const settings = (await db.getSetting<SftSettings>(SFT_SETTINGS_KEY)) ?? { seed: 7, badHabitShare: 0.2 };
  const corpus = buildSftCorpus(items.slice(0, 400), {
    governance,
    badShare: settings.badHabitShare,
    seed: settings.seed,
  });
  return createBaselinePolicy(corpus, settings.seed);
}

export async function draftReplies(
  store: LightningStore,
  governance: GovernancePipeline,
  choice: PolicyChoice,
  request: unknown,
): Promise<DraftResult> {
  const { text, group } = DraftRequest.parse(request);
  const scored: ScoredReply[] = [];
  const agent = createFeedbackAgent({ governance, group, onReply: (r) => scored.push(r) });
  const task = { id: `feedback-${Date.now().toString(36)}`, text };
  const rollout = await store.startRollout({
    input: task,
    mode: 'test',
    metadata: { source: 'feedback-page', policy: choice.policy.id },
  });
  const context = createRolloutContext({
    store,
    rollout,
    resources: { resourcesId: null, named: {}, policy: choice.policy, llm: null },
    workerId: null,
    signal: new AbortController().signal,
  });
  let status: 'succeeded' | 'failed' = 'succeeded';
  try {
    await agent.execute(task, context);
  } catch (error) {
    status = 'failed';
    await context.emitException(error);
    throw error;
  } finally {
    await context.flush();
    await store.updateAttempt(rollout.rollout_id, rollout.attempt.attempt_id, { status });
  }
  return {
    policyId: choice.policy.id,
    policyKind: choice.kind,
    rolloutId: rollout.rollout_id,
    replies: scored.map((r) => ({
      index: r.index,
      text: r.storedText,
      decision: r.verdict.decision,
      violations: r.reward.violations,
      reward: r.reward.primary,
      terms: r.reward.terms,
      hardZero: r.reward.hardZero,
      sendable: r.reward.quality.sendable,
      failedChecks: r.reward.quality.failed,
      // A finding quotes the reply ("spelling: Priya"): a reply that leaked PII keeps the checks' names only.
      findings:
        r.verdict.pii.length > 0 ? [] : r.reward.quality.findings.map((f) => `${f.check}: ${f.detail}`),
    })),
  };
}
