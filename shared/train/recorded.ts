// Training on RECORDED rollouts: calls to the server's OpenAI-compatible endpoint (server/serving/chat.ts)
// are stored as rollouts whose reply spans carry the prompt and completion token ids and the sampling
// policy's log-probabilities, and a caller attaches rewards afterwards. This reads them back as GRPO
// groups — the same RolloutGroup / ScoredSample shape the drafting loop reads (rl-data.ts) — so
// buildTrainingBatch and policyGradientUpdate train on them unchanged; only the data source differs
// (loop-rl.ts's RlGroupSource).
//
// A group is every reply to the same prompt token ids: the n choices of one call, and the replies of
// calls that asked for the same prompt one at a time. Groups with fewer than two rewarded replies give
// no comparison and are skipped (counted). The data are read once, when the run starts, and sorted by
// their content, so the batches a step draws are a function of (seed, step) alone (loop.ts's house
// rule), whatever order the store listed them in.
//
// Off-policy: the recorded log-probs are those of the policy that SERVED the call (π_old), usually an
// older checkpoint than the one being trained. The loss's importance ratio π/π_old is clipped to
// [1 − ε, 1 + ε_high] as for drafted rollouts, which bounds how far one update follows a reply that the
// current policy finds much more (or less) likely than the one that wrote it.
import type { LightningStore } from '../store/store';
import type { RolloutWithAttempt } from '../store/types';
import { batchIndices } from './loop';
import type { RlGroupSource } from './loop-rl';
import { readRolloutGroup, type RolloutGroup, type ScoredSample } from './rl-data';

/** The rollout input kind the chat-completions endpoint records (server/serving/chat.ts). */
export const CHAT_COMPLETION_INPUT_KIND = 'edgelight.chat-completion';

export interface RecordedGroups {
  /** Groups with at least two rewarded replies (only those replies), in a canonical order. */
  groups: RolloutGroup[];
  /** Finished recorded rollouts read. */
  rollouts: number;
  replies: number;
  rewarded: number;
  /** Groups left out: fewer than two rewarded replies. */
  skippedGroups: number;
  /** Replies whose token ids the policy's vocabulary cannot hold (another tokenizer): kept for the advantages, not trained on. */
  foreignTokens: number;
}

const isRewarded = (r: ScoredSample) => !!r.reward && typeof r.reward.primary === 'number';

function inputKind(rollout: RolloutWithAttempt): unknown {
  const input = rollout.input as { kind?: unknown } | null;
  return input && typeof input === 'object' ? input.kind : undefined;
}

/**
 * Reads every succeeded rollout of `inputKind` and groups its replies by prompt token ids.
 * `vocabSize` is the trained policy's: a reply with a token id past it was tokenized by another
 * tokenizer and is kept in its group's advantage but not trained on.
 */
export async function readRecordedGroups(
  store: LightningStore,
  options: { vocabSize: number; inputKind?: string; pageSize?: number },
): Promise<RecordedGroups> {
  const kind = options.inputKind ?? CHAT_COMPLETION_INPUT_KIND;
  const pageSize = options.pageSize ?? 500;
  const rollouts: RolloutWithAttempt[] = [];
  for (let offset = 0; ; offset += pageSize) {
    const page = await store.queryRollouts({
      status_in: ['succeeded'],
      sort_by: 'rollout_id',
      limit: pageSize,
      offset,
    });
    rollouts.push(...page.items.filter((r) => inputKind(r) === kind));
    if (page.items.length < pageSize) break;
  }
  const byPrompt = new Map<string, { rollout: RolloutWithAttempt; samples: ScoredSample[] }>();
  let replies = 0;
  let rewarded = 0;
  let foreignTokens = 0;
  for (const rollout of rollouts) {
    const { samples } = await readRolloutGroup(store, rollout);
    for (const sample of samples) {
      replies += 1;
      if (isRewarded(sample)) rewarded += 1;
      const ids = [...(sample.promptTokenIds ?? []), ...(sample.tokenIds ?? [])];
      const foreign = ids.some((id) => !Number.isInteger(id) || id < 0 || id >= options.vocabSize);
      if (foreign) foreignTokens += 1;
      // Without prompt ids a reply can only be compared with its own call's other choices.
      const key = sample.promptTokenIds ? `p:${sample.promptTokenIds.join(',')}` : `r:${rollout.rollout_id}`;
      const group = byPrompt.get(key) ?? { rollout, samples: [] };
      group.samples.push(foreign ? { ...sample, tokenIds: null, logprobs: null } : sample);
      byPrompt.set(key, group);
    }
  }
  const groups: RolloutGroup[] = [];
  let skippedGroups = 0;
  for (const key of [...byPrompt.keys()].sort()) {
    const group = byPrompt.get(key)!;
    // A reply without a reward says nothing yet (its caller may still attach one): not in the step's
    // figures, not in the advantages.
    group.samples = group.samples.filter(isRewarded);
    if (group.samples.length < 2) {
      skippedGroups += 1;
      continue;
    }
    group.samples.sort((a, b) => a.rolloutId.localeCompare(b.rolloutId) || a.index - b.index);
    groups.push({ rollout: group.rollout, samples: group.samples });
  }
  return { groups, rollouts: rollouts.length, replies, rewarded, skippedGroups, foreignTokens };
}

/** A step's groups from recorded data: `groupsPerStep` of them, drawn by (seed, step). */
export function recordedSource(
  recorded: RecordedGroups,
  options: { groupsPerStep: number; seed: number },
): RlGroupSource {
  const { groups } = recorded;
  if (groups.length === 0) throw new Error('no recorded group has two rewarded replies to compare');
  const perStep = Math.min(options.groupsPerStep, groups.length);
  return {
    describe: () => ({
      source: 'recorded',
      groups: groups.length,
      groupsPerStep: perStep,
      skippedGroups: recorded.skippedGroups,
    }),
    groups: async (step) => ({
      groups: batchIndices(groups.length, perStep, options.seed, step).map((i) => groups[i]),
      failedRollouts: 0,
    }),
    stop: async () => undefined,
  };
}
