// `npm run bench -- reviews`: simulated reviewers (bench/reviewers/, measurement only) review drafts of
// the shipped starter policy, their decisions become pairs and labels through the product's own reader
// (shared/review/datasets.ts), and the heuristic reward's agreement with each reviewer is measured: on
// how many items does the draft the reviewer chose have the highest heuristic reward among its drafts?
//
// Flags: --n=200 items of the seeded train split, --group=4 drafts each, --max-tokens=160 (the policy's
// default; the intake drafter's 96 cuts nearly every reply under 90 words, which hides the `brief`
// reviewer's preference), --runners=4, --seed=7, --edits (a reviewer edits the best draft when none
// clears its bar), --out=DIR (writes DIR/<reviewer>/{pairs,labels,sft}.jsonl for training),
// --backend=wasm, --judge=CKPT (a checkpoint folder, or a run folder with 'latest': instead of reviewing,
// prints `heldOutWinRates` of it against the starter on --n items of the test split).
//
// Training on these reviews (DPO / KTO) is wired in by the trainer; `heldOutWinRates` below takes the
// trained checkpoint and answers each reviewer's win rate of it against the starting policy on the
// seeded test split.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCheckpointDirectory, resolveCheckpointDirectory } from '../server/checkpoints/directory';
import { importStarter } from '../server/serving/served';
import { createFeedbackAgent } from '../shared/agent/feedback-agent';
import { buildFeedbackPrompt } from '../shared/agent/prompt';
import { REPORTED_TERMS, type ReportedTerm, rewardFeedbackReply } from '../shared/agent/reward';
import { rewardScore } from '../shared/agent/reward-model';
import { runRunners } from '../shared/agent/runner';
import { loadSpeller } from '../shared/agent/quality/spelling';
import { generateFeedback } from '../shared/data/generator';
import { toJsonl } from '../shared/data/jsonl';
import type { DatasetItem } from '../shared/data/schema';
import { createGovernancePipeline } from '../shared/governance';
import type { GovernancePipeline } from '../shared/governance/types';
import { type Checkpoint, loadCheckpoint, MemoryBlobStorage } from '../shared/policy/checkpoint';
import { policyFromCheckpoint } from '../shared/policy/checkpoint-policy';
import { TransformerReplyPolicy } from '../shared/policy/reply-policy';
import { DEFAULT_MAX_NEW_TOKENS } from '../shared/policy/sequence';
import { decisionAgreement } from '../shared/review/agreement';
import { FEEDBACK_ITEM_KIND, FeedbackItemInput, intakeVerdictOf } from '../shared/review/contract';
import {
  LabeledCompletion,
  PreferencePair,
  REVIEW_DATASET_FILES,
  ReviewSftExample,
  readReviewDatasets,
} from '../shared/review/datasets';
import { InMemoryLightningStore } from '../shared/store/memory';
import { fitRewardModel, isHeldOutPrompt, REWARD_MODEL_FIT_DEFAULTS } from '../shared/train/reward-model';
import type { LightningStore } from '../shared/store/store';
import type { Span } from '../shared/store/types';
import { type BackendName, selectBackend } from '../shared/train/backend';
import { REVIEWERS, type SimulatedReviewer } from './reviewers/reviewers';
import { type SimulatedDecision, simulateReviews, winRate } from './reviewers/simulate';

const flag = (flags: string[], name: string, fallback: string): string =>
  flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);

/** A seeded dataset item as the public intake would store it: redacted text plus the intake's verdict. */
export function feedbackItemOf(task: DatasetItem, governance: GovernancePipeline): FeedbackItemInput {
  const verdict = governance.govern(task.text, 'feedback');
  return FeedbackItemInput.parse({
    kind: FEEDBACK_ITEM_KIND,
    id: task.id,
    text: verdict.redacted,
    category: task.category,
    locale: task.locale,
    metadata: {
      submitted_at: 1_764_680_000,
      source: 'api',
      intake: 'bench',
      verdict: intakeVerdictOf(verdict),
    },
  });
}

/** The shipped starter policy (web/public/starter-policy/), as a checkpoint. */
export async function loadStarter(): Promise<Checkpoint> {
  const blobs = new MemoryBlobStorage();
  return loadCheckpoint(blobs, await importStarter(blobs));
}

function replyPolicyOf(checkpoint: Checkpoint, id: string, maxNewTokens: number, maxPrompts: number) {
  const { policy, tokenizer } = policyFromCheckpoint(checkpoint);
  return {
    policy,
    reply: new TransformerReplyPolicy({ id, policy, tokenizer, maxNewTokens, coalesceMs: 5, maxPrompts }),
  };
}

type DraftedItem = { input: FeedbackItemInput; spans: Span[] };

/** G drafts per item by the feedback agent (real governance and reward spans) on an in-memory store. */
async function draftItems(
  inputs: FeedbackItemInput[],
  checkpoint: Checkpoint,
  options: {
    group: number;
    maxTokens: number;
    runners: number;
    seed: number;
    governance: GovernancePipeline;
  },
): Promise<DraftedItem[]> {
  const store = new InMemoryLightningStore();
  const { policy, reply } = replyPolicyOf(checkpoint, 'starter', options.maxTokens, options.runners);
  try {
    await store.addResources({ policy: { resource_type: 'policy', checkpoint_id: 'starter' } });
    await store.enqueueRollouts(inputs.map((input) => ({ input, mode: 'test' as const })));
    const agent = createFeedbackAgent({
      governance: options.governance,
      group: options.group,
      maxTokens: options.maxTokens,
      seed: options.seed,
    });
    await runRunners(options.runners, { store, agent, resolvePolicy: () => reply, stopWhenEmpty: true });
    const out: DraftedItem[] = [];
    for (const rollout of (await store.queryRollouts({ sort_by: 'start_time' })).items) {
      const spans = (await store.querySpans({ rollout_id: rollout.rollout_id, limit: -1 })).items;
      out.push({ input: rollout.input as FeedbackItemInput, spans });
    }
    return out;
  } finally {
    policy.dispose();
  }
}

/** A fresh store holding the same drafted items (one per reviewer, so each reviews them alone). */
async function storeOf(items: readonly DraftedItem[]): Promise<LightningStore> {
  const store = new InMemoryLightningStore();
  for (const item of items) {
    const rollout = await store.startRollout({ input: item.input, mode: 'test' });
    const spans = [...item.spans]
      .sort((a, b) => a.sequence_id - b.sequence_id)
      .map(({ sequence_id: _, ...span }) => ({
        ...span,
        rollout_id: rollout.rollout_id,
        attempt_id: rollout.attempt.attempt_id,
      }));
    await store.addSpans(spans);
    await store.updateAttempt(rollout.rollout_id, rollout.attempt.attempt_id, { status: 'succeeded' });
  }
  return store;
}

/**
 * Agreement of the heuristic reward with a reviewer, read by the product's own measure
 * (shared/review/agreement.ts) where the decisions allow, plus one measure only a simulated reviewer
 * allows:
 * - `primary` / `terms` / `chance`: over items where the reviewer chose a draft (approve, or the draft it
 *   edited), the share where that draft has the highest reward among the drafts it could have chosen
 *   (not redacted, not blank); a tie at the top shares the credit. The reviewer takes the first of
 *   drafts it scores equal, so where it is indifferent this reads near chance whatever the reward.
 * - `decisionPairs`: the chosen draft against each draft passed over (a reward tie counts half): what
 *   `edgelight eval --reviews` reports as `pairwise` for real reviewers.
 * - `pairs`: over pairs of drafts of one item the reviewer scores differently, the share where the
 *   reward orders them the same way (a reward tie counts half): the cleaner measure, since it uses the
 *   reviewer's hidden score rather than one decision per item.
 */
export function heuristicAgreement(decisions: readonly SimulatedDecision[], reviewer: SimulatedReviewer) {
  const report = decisionAgreement(
    decisions.map((d) => ({ itemId: d.itemId, feedback: '', decision: d.decision, drafts: d.drafts })),
    { examples: 0 },
  );
  // Ordered pairs (better, worse) by the reviewer's score, over drafts not stored redacted.
  const scored = decisions.filter((d) => d.drafts.every((x) => x.reward));
  const pairs = scored.flatMap((d) => {
    const drafts = d.drafts
      .filter((x) => !x.redacted)
      .map((x) => ({ reward: x.reward ?? {}, score: reviewer.score(x.text, '') }));
    return drafts.flatMap((a) => drafts.filter((b) => a.score > b.score).map((b) => [a.reward, b.reward]));
  });
  const pairAgreement = (key: string) =>
    mean(pairs.map(([a, b]) => ((a[key] ?? 0) > (b[key] ?? 0) ? 1 : a[key] === b[key] ? 0.5 : 0)));
  return {
    items: report.compared,
    chance: report.chance,
    primary: report.top1.primary,
    terms: report.top1.terms,
    decisionPairs: {
      count: report.pairwise.count,
      primary: report.pairwise.primary,
      terms: report.pairwise.terms,
    },
    pairs: {
      count: pairs.length,
      primary: round(pairAgreement('primary')),
      terms: Object.fromEntries(REPORTED_TERMS.map((t) => [t, round(pairAgreement(t))])),
    },
  };
}

async function writeDatasets(dir: string, data: Awaited<ReturnType<typeof readReviewDatasets>>) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, REVIEW_DATASET_FILES.pairs), toJsonl(data.pairs, PreferencePair));
  await writeFile(join(dir, REVIEW_DATASET_FILES.labels), toJsonl(data.labels, LabeledCompletion));
  await writeFile(join(dir, REVIEW_DATASET_FILES.sft), toJsonl(data.sft, ReviewSftExample));
}

export type HeldOutOptions = {
  /** The policy to compare against (default: the shipped starter, the policy the reviews were drafted by). */
  start?: Checkpoint;
  /** Items of the seeded test split (default 200). */
  n?: number;
  maxTokens?: number;
  seed?: number;
  reviewers?: readonly SimulatedReviewer[];
};

/**
 * Held-out judging of a trained policy: one reply per item of the seeded test split from `trained` and
 * from the starting policy (same prompts, same sampling seed), judged by each reviewer (`winRate`:
 * trained against start, a tie counts half), with the violation rate and the mean heuristic primary
 * reward of both. This is what the DPO / KTO goals of issue 21 are read from.
 */
export async function heldOutWinRates(trained: Checkpoint, options: HeldOutOptions = {}) {
  const governance = createGovernancePipeline();
  await loadSpeller();
  const tasks = generateFeedback()
    .filter((i) => i.metadata.split === 'test')
    .slice(0, options.n ?? 200);
  const verdicts = tasks.map((t) => governance.govern(t.text, 'feedback'));
  const maxTokens = options.maxTokens ?? DEFAULT_MAX_NEW_TOKENS;
  const start = options.start ?? (await loadStarter());

  async function replies(checkpoint: Checkpoint, id: string) {
    const { policy, reply } = replyPolicyOf(checkpoint, id, maxTokens, 16);
    try {
      const prompts = tasks.map((t, k) => buildFeedbackPrompt(t, verdicts[k], reply.promptFormat));
      const out: string[] = [];
      for (let k = 0; k < prompts.length; k += 16) {
        const batch = await reply.draft(prompts.slice(k, k + 16), 1, { seed: (options.seed ?? 7) + k });
        out.push(...batch.map((r) => r[0].text));
      }
      return out;
    } finally {
      policy.dispose();
    }
  }
  const judged = async (checkpoint: Checkpoint, id: string) => {
    const texts = await replies(checkpoint, id);
    const rewards = texts.map((text, k) =>
      rewardFeedbackReply(text, tasks[k], {
        feedback: verdicts[k],
        reply: governance.govern(text, 'response'),
      }),
    );
    return {
      texts,
      rewards,
      violationRate: round(mean(rewards.map((r) => (r.violations.length > 0 ? 1 : 0)))),
      primaryMean: round(mean(rewards.map((r) => r.primary))),
      termMeans: Object.fromEntries(
        REPORTED_TERMS.map((t) => [t, round(mean(rewards.map((r) => r.terms[t])))]),
      ),
    };
  };
  const a = await judged(trained, 'trained');
  const b = await judged(start, 'start');
  const feedback = verdicts.map((v) => v.redacted);
  const reviewers = options.reviewers ?? REVIEWERS;
  return {
    items: tasks.length,
    winRate: Object.fromEntries(
      reviewers.map((r) => [r.name, round(winRate(r, a.texts, b.texts, feedback))]),
    ),
    violationRate: { trained: a.violationRate, start: b.violationRate },
    primaryMean: { trained: a.primaryMean, start: b.primaryMean },
    termMeans: { trained: a.termMeans, start: b.termMeans },
    // Agreement after training: over the items where a reviewer prefers one of the two replies (the
    // trained policy's or the start's), the share the heuristic reward orders the same way (a tie ½).
    agreementOnJudgedPairs: Object.fromEntries(
      reviewers.map((r) => {
        const decided = tasks.flatMap((_, k) => {
          const [sa, sb] = [r.score(a.texts[k], feedback[k]), r.score(b.texts[k], feedback[k])];
          return sa === sb ? [] : [sa > sb ? [a.rewards[k], b.rewards[k]] : [b.rewards[k], a.rewards[k]]];
        });
        const agree = (key: ReportedTerm | 'primary') =>
          round(
            mean(
              decided.map(([better, worse]) => {
                const [x, y] =
                  key === 'primary' ? [better.primary, worse.primary] : [better.terms[key], worse.terms[key]];
                return x > y ? 1 : x === y ? 0.5 : 0;
              }),
            ),
          );
        return [
          r.name,
          {
            pairs: decided.length,
            primary: agree('primary'),
            terms: Object.fromEntries(REPORTED_TERMS.map((t) => [t, agree(t)])),
          },
        ];
      }),
    ),
  };
}

/**
 * The reward model a reviewer's pairs give (the product's fit, 20 % of prompts held out): its held-out
 * accuracy on the decision pairs, and on the held-out pairs the reviewer's hidden score actually
 * separates (a reviewer takes the first of equal drafts, so some decision pairs are coin flips).
 */
export function rewardModelAccuracy(pairs: readonly PreferencePair[], reviewer: SimulatedReviewer, seed = 1) {
  const model = fitRewardModel(pairs, { seed });
  const held = pairs.filter((p) => isHeldOutPrompt(p.prompt, REWARD_MODEL_FIT_DEFAULTS.heldOut, seed));
  const separated = held.filter((p) => reviewer.score(p.chosen, '') !== reviewer.score(p.rejected, ''));
  const right = separated.filter((p) => {
    const better = reviewer.score(p.chosen, '') > reviewer.score(p.rejected, '') ? p.chosen : p.rejected;
    const worse = better === p.chosen ? p.rejected : p.chosen;
    return rewardScore(model, p.prompt, better) > rewardScore(model, p.prompt, worse);
  });
  // The same fit over ten other prompt splits: one split of ~40 held-out items is a noisy figure.
  const splits = Array.from(
    { length: 10 },
    (_, k) => fitRewardModel(pairs, { seed: seed + 100 + k }).training.heldOutAccuracy ?? Number.NaN,
  );
  return {
    trainPairs: model.training.pairs,
    heldOutPairs: model.training.heldOutPairs,
    heldOutAccuracy: round(model.training.heldOutAccuracy ?? Number.NaN),
    tenSplits: {
      mean: round(mean(splits)),
      min: round(Math.min(...splits)),
      max: round(Math.max(...splits)),
    },
    separatedPairs: separated.length,
    separatedAccuracy: round(right.length / separated.length),
  };
}

export async function run(flags: string[]) {
  const n = Number(flag(flags, 'n', '200'));
  const group = Number(flag(flags, 'group', '4'));
  const maxTokens = Number(flag(flags, 'max-tokens', String(DEFAULT_MAX_NEW_TOKENS)));
  const runners = Number(flag(flags, 'runners', '4'));
  const seed = Number(flag(flags, 'seed', '7'));
  const out = flags.find((f) => f.startsWith('--out='))?.slice('--out='.length);
  const edits = flags.includes('--edits');
  const backend = await selectBackend({ prefer: flag(flags, 'backend', 'wasm') as BackendName });
  const judge = flags.find((f) => f.startsWith('--judge='))?.slice('--judge='.length);
  if (judge) {
    const { id, checkpoint } = await readCheckpointDirectory(await resolveCheckpointDirectory(judge));
    return {
      backend: backend.name,
      judged: id,
      ...(await heldOutWinRates(checkpoint, { n, maxTokens, seed })),
    };
  }

  const governance = createGovernancePipeline();
  const tasks = generateFeedback()
    .filter((i) => i.metadata.split === 'train')
    .slice(0, n);
  const inputs = tasks.map((t) => feedbackItemOf(t, governance));
  const started = performance.now();
  const drafted = await draftItems(inputs, await loadStarter(), {
    group,
    maxTokens,
    runners,
    seed,
    governance,
  });
  const draftSeconds = (performance.now() - started) / 1000;

  const reviewers: Record<string, unknown> = {};
  for (const reviewer of REVIEWERS) {
    const store = await storeOf(drafted);
    const { decisions, counts } = await simulateReviews(store, reviewer, { edits });
    const data = await readReviewDatasets(store);
    if (out) await writeDatasets(join(out, reviewer.name), data);
    const scores = decisions.flatMap((d) =>
      d.drafts.filter((x) => !x.redacted).map((x) => reviewer.score(x.text, '')),
    );
    reviewers[reviewer.name] = {
      preference: reviewer.preference,
      decisions: counts,
      draftScoreMean: round(mean(scores)),
      draftsClearingBar: round(mean(scores.map((s) => (s >= reviewer.threshold ? 1 : 0)))),
      dataset: data.counts,
      rewardModel: data.pairs.length ? rewardModelAccuracy(data.pairs, reviewer) : null,
      agreement: heuristicAgreement(decisions, reviewer),
    };
    await store.close();
  }
  return {
    backend: backend.name,
    items: drafted.length,
    group,
    maxTokens,
    draftSeconds: round(draftSeconds, 1),
    edits,
    ...(out ? { out } : {}),
    reviewers,
  };
}
