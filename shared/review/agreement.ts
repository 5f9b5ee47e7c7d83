import {
  createFeedbackReward,
  REPORTED_TERMS,
  type ReportedTerm,
  type RewardConfigInput,
} from '../agent/reward';
import { loadSpeller } from '../agent/quality/spelling';
import { extractReplySamples } from '../agent/samples';
import type { FeedbackTask } from '../agent/task';
import type { GovernancePipeline } from '../governance/types';
import type { LightningStore } from '../store/store';
import { REVIEW_ACTIONS, type ReviewAction, type ReviewDecision } from './contract';
import { countingDecision, type ReviewItemSpans, readReviewItems } from './datasets';

// Can the heuristic reward be trusted for this feedback? Reviewers' decisions answer it: where a reviewer
// chose one of an item's drafts (approve, or edit: the draft the edit started from), does the reward rank
// that draft first, and does it order the chosen draft above each draft passed over? Measured for the
// `primary` reward and for each term, with the items where the reward disagrees most as examples. This
// module is the one place the measure is decided: `edgelight eval --reviews`, the Inbox's panel and the
// reviews bench all read it from here.
//
// Which drafts compete: those the reviewer could have approved (not stored redacted, not blank), plus the
// chosen one whatever it is. A redacted draft cannot be approved in the Inbox, so passing it over says
// nothing about the reviewer's taste, and its zeroed reward would count as agreement for free.
//
// Rejected items and written replies name no draft, so they are reported apart: rejected items by how
// the reward scores their best draft against the drafts reviewers chose (items differ, so this is a
// weaker signal), written replies (and the edits' final text) only when a scorer is given, since they
// carry no reward span.

/** A draft as the reviewer saw it, with its reward (`primary` and the terms; null without a reward span). */
export type AgreementDraft = {
  index: number;
  text: string;
  redacted: boolean;
  reward: Record<string, number> | null;
};

/** An item with the decision that counts and the drafts it was made on. */
export type DecidedItem = {
  itemId: string;
  /** The redacted feedback. */
  feedback: string;
  category?: FeedbackTask['category'];
  decision: ReviewDecision;
  drafts: readonly AgreementDraft[];
};

/** Scores a reply the reviewer wrote (or the final text of an edit) as the reward would: `primary` and the terms. */
export type ReplyScorer = (reply: string, item: DecidedItem) => Record<string, number>;

export type AgreementOptions = {
  /** Disagreement examples to keep, largest reward gap first (default 5). */
  examples?: number;
  /** Scores written replies and edits; without it they are only counted. */
  scoreReply?: ReplyScorer;
};

/** Agreement on `primary` and on each reported term; null where nothing was compared. */
export type TermAgreement = { primary: number | null; terms: Record<ReportedTerm, number | null> };

export type AgreementExample = {
  itemId: string;
  /** The redacted feedback. */
  feedback: string;
  action: 'approve' | 'edit';
  /** The draft the reviewer chose (for an edit, the draft the edit started from). */
  chosen: { index: number; text: string; reward: Record<string, number> };
  /** The draft the reward ranks first. */
  top: { index: number; text: string; reward: Record<string, number> };
  /** Which of the two each term scores higher. */
  terms: Record<ReportedTerm, 'chosen' | 'top' | 'tie'>;
};

export type AgreementReport = {
  /** Feedback items read. */
  items: number;
  /** Items with a decision that counts. */
  decided: number;
  /** Decisions that count, by action. */
  decisions: Record<ReviewAction, number>;
  /** Items whose counting decision chose a draft and whose competing drafts all carry a reward. */
  compared: number;
  /** Items whose counting decision chose a draft that could not be compared (a reward span or the draft missing). */
  unscored: number;
  /** What a random pick among the competing drafts scores, on average over the compared items. */
  chance: number | null;
  /** Share of compared items where the chosen draft has the highest reward; a tie at the top shares the credit. */
  top1: TermAgreement;
  /** Chosen draft against each competing draft passed over: share where the reward ranks the chosen one higher (tie = half). */
  pairwise: TermAgreement & { count: number };
  rejected: {
    count: number;
    /** Mean `primary` of the best draft of each rejected item (scored drafts only). */
    bestPrimaryMean: number | null;
    /** Mean `primary` of the chosen drafts of the compared items. */
    chosenPrimaryMean: number | null;
    /** Over (chosen draft, rejected item's best draft) pairs across items: share where the chosen one scores higher (tie = half). */
    chosenOverRejected: number | null;
  };
  written: {
    count: number;
    /** Written replies the scorer scored (0 without one). */
    scored: number;
    /** The written reply against each draft of its item (all were passed over). */
    pairwise: (TermAgreement & { count: number }) | null;
  };
  edited: {
    count: number;
    scored: number;
    /** Share of edits whose final text the reward scores above the draft it started from (tie = half). */
    aboveDraft: number | null;
  };
  examples: AgreementExample[];
};

const round = (x: number) => Math.round(x * 1000) / 1000;
const meanOrNull = (xs: readonly number[]) =>
  xs.length ? round(xs.reduce((a, b) => a + b, 0) / xs.length) : null;
/** 1 when the reward orders a above b, 0.5 on a tie, 0 otherwise. */
const order = (a: number, b: number) => (a > b ? 1 : a === b ? 0.5 : 0);
const KEYS = ['primary', ...REPORTED_TERMS] as const;
type Key = (typeof KEYS)[number];
const score = (reward: Record<string, number>, key: Key) => reward[key] ?? 0;

function termAgreement(values: Record<Key, number[]>): TermAgreement {
  return {
    primary: meanOrNull(values.primary),
    terms: Object.fromEntries(REPORTED_TERMS.map((t) => [t, meanOrNull(values[t])])) as Record<
      ReportedTerm,
      number | null
    >,
  };
}

const emptyValues = (): Record<Key, number[]> =>
  Object.fromEntries(KEYS.map((k) => [k, [] as number[]])) as Record<Key, number[]>;

/** The counting decision of each decided item and the drafts of the attempt it was made on. */
export function decidedItems(items: readonly ReviewItemSpans[]): DecidedItem[] {
  const out: DecidedItem[] = [];
  for (const item of items) {
    const ruling = countingDecision(item.spans).counts;
    if (!ruling) continue;
    const samples = extractReplySamples(item.spans.filter((s) => s.attempt_id === ruling.attemptId));
    out.push({
      itemId: item.input.id,
      feedback: item.input.text,
      ...(item.input.category ? { category: item.input.category } : {}),
      decision: ruling.decision,
      drafts: samples.map((s) => ({ index: s.index, text: s.text, redacted: s.redacted, reward: s.reward })),
    });
  }
  return out;
}

/** The drafts the reviewer chose among: approvable ones, and the chosen one whatever it is. */
function competitors(item: DecidedItem, chosenIndex: number): AgreementDraft[] {
  return item.drafts.filter((d) => d.index === chosenIndex || (!d.redacted && d.text.trim() !== ''));
}

/** The agreement report of decided items (pure: the bench passes its simulated decisions here). */
export function decisionAgreement(
  decided: readonly DecidedItem[],
  options: AgreementOptions & { items?: number } = {},
): AgreementReport {
  const decisions = Object.fromEntries(REVIEW_ACTIONS.map((a) => [a, 0])) as Record<ReviewAction, number>;
  const top1 = emptyValues();
  const pairs = emptyValues();
  const writtenPairs = emptyValues();
  const chances: number[] = [];
  const chosenPrimaries: number[] = [];
  const rejectedBest: number[] = [];
  const aboveDraft: number[] = [];
  const candidates: Array<AgreementExample & { gap: number }> = [];
  let unscored = 0;
  let written = 0;
  let writtenScored = 0;
  let edited = 0;

  for (const item of decided) {
    const { decision } = item;
    decisions[decision.action]++;
    if (decision.action === 'reject') {
      const scored = item.drafts.filter((d) => !d.redacted && d.reward);
      if (scored.length) rejectedBest.push(Math.max(...scored.map((d) => score(d.reward!, 'primary'))));
      continue;
    }
    if (decision.action === 'write') {
      written++;
      if (!options.scoreReply || !decision.reply) continue;
      const reward = options.scoreReply(decision.reply, item);
      writtenScored++;
      for (const d of competitors(item, -1))
        if (d.reward) for (const k of KEYS) writtenPairs[k].push(order(score(reward, k), score(d.reward, k)));
      continue;
    }
    if (decision.action !== 'approve' && decision.action !== 'edit') continue;
    if (decision.action === 'edit') edited++;

    const drafts = competitors(item, decision.draftIndex ?? -1);
    const chosen = drafts.find((d) => d.index === decision.draftIndex);
    if (!chosen?.reward || drafts.some((d) => !d.reward)) {
      unscored++;
      continue;
    }
    if (decision.action === 'edit' && options.scoreReply && decision.reply) {
      const reward = options.scoreReply(decision.reply, item);
      aboveDraft.push(order(score(reward, 'primary'), score(chosen.reward, 'primary')));
    }
    chances.push(1 / drafts.length);
    chosenPrimaries.push(score(chosen.reward, 'primary'));
    for (const k of KEYS) {
      const values = drafts.map((d) => score(d.reward!, k));
      const best = Math.max(...values);
      const mine = score(chosen.reward, k);
      top1[k].push(mine < best ? 0 : 1 / values.filter((v) => v === best).length);
      for (const d of drafts) if (d !== chosen) pairs[k].push(order(mine, score(d.reward!, k)));
    }
    // The reward's first pick (the first of equals, as the Inbox lists them), when it is not the reviewer's.
    const top = drafts.reduce((a, b) => (score(b.reward!, 'primary') > score(a.reward!, 'primary') ? b : a));
    const gap = score(top.reward!, 'primary') - score(chosen.reward, 'primary');
    if (gap > 0)
      candidates.push({
        itemId: item.itemId,
        feedback: item.feedback,
        action: decision.action,
        chosen: { index: chosen.index, text: chosen.text, reward: chosen.reward },
        top: { index: top.index, text: top.text, reward: top.reward! },
        terms: Object.fromEntries(
          REPORTED_TERMS.map((t) => {
            const a = score(chosen.reward!, t);
            const b = score(top.reward!, t);
            return [t, a > b ? 'chosen' : a < b ? 'top' : 'tie'];
          }),
        ) as Record<ReportedTerm, 'chosen' | 'top' | 'tie'>,
        gap,
      });
  }

  const crossPairs = chosenPrimaries.flatMap((c) => rejectedBest.map((r) => order(c, r)));
  const examples = candidates
    .sort((a, b) => b.gap - a.gap || a.itemId.localeCompare(b.itemId))
    .slice(0, Math.max(0, options.examples ?? 5))
    .map(({ gap: _, ...example }) => example);
  return {
    items: options.items ?? decided.length,
    decided: decided.length,
    decisions,
    compared: chances.length,
    unscored,
    chance: meanOrNull(chances),
    top1: termAgreement(top1),
    pairwise: { count: pairs.primary.length, ...termAgreement(pairs) },
    rejected: {
      count: decisions.reject,
      bestPrimaryMean: meanOrNull(rejectedBest),
      chosenPrimaryMean: meanOrNull(chosenPrimaries),
      chosenOverRejected: meanOrNull(crossPairs),
    },
    written: {
      count: written,
      scored: writtenScored,
      pairwise: writtenScored ? { count: writtenPairs.primary.length, ...termAgreement(writtenPairs) } : null,
    },
    edited: { count: edited, scored: aboveDraft.length, aboveDraft: meanOrNull(aboveDraft) },
    examples,
  };
}

/** The agreement report of feedback items read from a store (pure). */
export function reviewAgreement(
  items: readonly ReviewItemSpans[],
  options: AgreementOptions = {},
): AgreementReport {
  return decisionAgreement(decidedItems(items), { ...options, items: items.length });
}

/**
 * A scorer that runs the feedback reward on a reviewer's own reply, as the agent scores a draft (the
 * feedback governed from its redacted text, as the agent sees it). Loads the spelling dictionaries the
 * reward's sendability checks need.
 */
export async function governedScorer(
  governance: GovernancePipeline,
  config: RewardConfigInput = {},
): Promise<ReplyScorer> {
  await loadSpeller();
  const reward = createFeedbackReward(governance, config);
  const verdicts = new Map<string, ReturnType<GovernancePipeline['govern']>>();
  return (reply, item) => {
    let feedback = verdicts.get(item.feedback);
    if (!feedback) {
      feedback = governance.govern(item.feedback, 'feedback');
      verdicts.set(item.feedback, feedback);
    }
    const task: FeedbackTask = {
      id: item.itemId,
      text: item.feedback,
      ...(item.category ? { category: item.category } : {}),
    };
    const result = reward(reply, task, feedback);
    return { primary: result.primary, ...result.terms };
  };
}

export type ReadAgreementOptions = Omit<AgreementOptions, 'scoreReply'> & {
  /** Given, written replies and edits are scored with the reward too. */
  governance?: GovernancePipeline;
  reward?: RewardConfigInput;
};

/** The agreement report of every decided feedback item of a store (any LightningStore). */
export async function readAgreement(
  store: LightningStore,
  options: ReadAgreementOptions = {},
): Promise<AgreementReport> {
  const { governance, reward, ...rest } = options;
  const scoreReply = governance ? await governedScorer(governance, reward) : undefined;
  return reviewAgreement(await readReviewItems(store), { ...rest, scoreReply });
}

const percent = (x: number) => `${Math.round(100 * x)} %`;

/** Terms with a pairwise figure, best first. */
export function rankedTerms(report: AgreementReport): Array<[ReportedTerm, number]> {
  return REPORTED_TERMS.flatMap((t): Array<[ReportedTerm, number]> => {
    const v = report.pairwise.terms[t];
    return v === null ? [] : [[t, v]];
  }).sort((a, b) => b[1] - a[1]);
}

/**
 * The report in one line: "heuristic reward picks the reviewer's reply first on 41 % of 120 decided items
 * (chance 25 %); pairwise 0.58; best term tone 0.66, worst length 0.41".
 */
export function agreementSummary(report: AgreementReport): string {
  if (report.compared === 0 || report.top1.primary === null || report.chance === null)
    return `no decided items where a reviewer chose a draft yet (${report.decided} decided of ${report.items} items)`;
  const terms = rankedTerms(report);
  const pairwise = report.pairwise.primary === null ? '—' : report.pairwise.primary.toFixed(2);
  const best = terms[0];
  const worst = terms.at(-1);
  return (
    `heuristic reward picks the reviewer's reply first on ${percent(report.top1.primary)} of ` +
    `${report.compared} decided items (chance ${percent(report.chance)}); pairwise ${pairwise}` +
    (best && worst
      ? `; best term ${best[0]} ${best[1].toFixed(2)}, worst ${worst[0]} ${worst[1].toFixed(2)}`
      : '')
  );
}
