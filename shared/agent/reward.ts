import { z } from 'zod';
import { type GovernancePipeline, REDACTION_PLACEHOLDER, type Verdict } from '../governance/types';
import { checkReplyQuality, type QualityReport } from './quality';
import type { FeedbackTask } from './task';

// The reward of one drafted reply: five terms in [0, 1] and their weighted mean, multiplied by the
// `quality` factor (each failed sendability check of shared/agent/quality halves it), with a hard zero
// when the reply leaks personal data or governance blocks it. It runs for every RL sample, so it is pure
// string work over verdicts the agent already has (one governance call per reply, made by the caller).
//
// Terms are computed on the reply's *creditable* text: the reply with governance's violation matches
// blanked out. A prohibited term therefore earns nothing (no words for `length`, no keyword for
// `acknowledgement`) while `overselling` charges for it, so adding one can never raise the reward.
//
// Why a multiplier on the sendability checks (docs/training.md, "Sendable replies"): the five terms
// read words, never prose, so GRPO raised them with text nobody would send ("frustrating that is
// frustrating that is …" scored 0.93). Multiplied, a reply that fails a check can never outscore the
// same content without the failure, and each further failure costs more; a hard gate (0 for any
// failure) would also rank a reply with one typo level with word salad.

export const RewardWeights = z
  .object({
    length: z.number().min(0).default(0.2),
    tone: z.number().min(0).default(0.2),
    integrity: z.number().min(0).default(0.2),
    overselling: z.number().min(0).default(0.2),
    acknowledgement: z.number().min(0).default(0.2),
  })
  .refine((w) => Object.values(w).some((v) => v > 0), 'at least one weight must be positive');
export type RewardWeights = z.infer<typeof RewardWeights>;

export const RewardConfig = z.object({
  /** Defaults: equal weights of 0.2 (primary = plain mean of the five terms). */
  weights: RewardWeights.default(RewardWeights.parse({})),
  /** `overselling` loses this much per violation of each rule (inst_016 uncited figures, inst_017 absolute assurances, inst_018 maturity claims). */
  penalties: z
    .object({
      inst_016: z.number().min(0).max(1).default(0.4),
      inst_017: z.number().min(0).max(1).default(0.5),
      inst_018: z.number().min(0).max(1).default(0.5),
      other: z.number().min(0).max(1).default(0.25),
    })
    .default({ inst_016: 0.4, inst_017: 0.5, inst_018: 0.5, other: 0.25 }),
  /** Each failed sendability check (shared/agent/quality) multiplies the primary by this. */
  qualityFactor: z.number().min(0).max(1).default(0.5),
});
export type RewardConfig = z.infer<typeof RewardConfig>;
export type RewardConfigInput = z.input<typeof RewardConfig>;

export const REWARD_TERMS = ['length', 'tone', 'integrity', 'overselling', 'acknowledgement'] as const;
export type RewardTerm = (typeof REWARD_TERMS)[number];
/** The weighted terms plus the `quality` factor, as reported in reward spans and summaries. */
export const REPORTED_TERMS = [...REWARD_TERMS, 'quality'] as const;
export type ReportedTerm = (typeof REPORTED_TERMS)[number];

/**
 * A learned term beside the heuristic ones (a reward model trained on reviewers' choices,
 * shared/agent/reward-model.ts): `term` maps a reply (its creditable text, as the other terms read) to
 * [0, 1]; it enters the weighted mean with `weight` next to the five weights.
 */
export type LearnedTerm = { weight: number; term(reply: string): number };

export interface RewardResult {
  /** Weighted mean of the five terms (and the learned term, when given) × quality, or 0 under a hard zero. */
  primary: number;
  /** The reported terms; `learned` only when a learned term was given. */
  terms: Record<ReportedTerm, number> & { learned?: number };
  /** Why the primary is forced to 0, if it is. */
  hardZero: 'pii-leak' | 'blocked' | null;
  words: number;
  /** Rule ids of the reply's violations, one entry per violation. */
  violations: string[];
  /** Would a person send it: the sendability checks and what each found. */
  quality: QualityReport;
}

export interface ReplyVerdicts {
  /** The feedback's verdict: sentiment for `tone`, redacted text for `acknowledgement`. */
  feedback: Verdict;
  /** The reply's verdict (kind `response`): PII, decision, violations. */
  reply: Verdict;
}

const WORD = /[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu;

export function countWords(text: string): number {
  return text.match(WORD)?.length ?? 0;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** 1 inside 50–150 words, linear to 0 at 25 and at 225. */
export function lengthScore(words: number): number {
  if (words >= 50 && words <= 150) return 1;
  if (words < 50) return clamp01((words - 25) / 25);
  return clamp01((225 - words) / 75);
}

const has = (text: string, pattern: RegExp) => pattern.test(text);
const APOLOGY = /\b(sorry|apolog\w*|regret\w*)\b/;
const EMPATHY = /\b(frustrat\w*|understand|inconvenien\w*|annoying|disappoint\w*|not the experience)\b/;
const ACKNOWLEDGES =
  /\b(report\w*|flag\w*|problem|issue|bug|error|trouble|telling us|let(ting)? us know|logged|recorded)\b/;
const THANKS = /\b(thank\w*|grateful|appreciat\w*)\b/;
const WARM = /\b(glad|pleased|lovely|delighted|happy to hear)\b/;
const CHEERLEADING =
  /\b(awesome|amazing|fantastic|incredible|exciting|great news|woohoo|super excited)\b|!{2,}/;
// Phrases of a reply that explains or points somewhere (what a neutral question or report calls for).
const INFORMATIVE = [
  'because',
  'currently',
  'you can',
  'for example',
  'in the meantime',
  'documentation',
  'next step',
  'explains?',
  'we have (?:added|logged|recorded)',
  'we will',
  'means',
  'section',
  'guide',
  'settings?',
  'tracker',
  'backlog',
  'depends',
  'at the moment',
  'what it can do',
  'belongs',
  'more detail',
  'handles',
  'appears on',
  'we share',
  'research (?:page|papers)',
  'is useful',
].map((phrase) => new RegExp(`\\b${phrase}\\b`));

/** Does the reply's register match the feedback's sentiment? */
export function toneScore(reply: string, sentiment: Verdict['sentiment']['label']): number {
  const text = reply.toLowerCase();
  const cheer = has(text, CHEERLEADING);
  if (sentiment === 'negative') {
    const base =
      0.6 * Number(has(text, APOLOGY) || has(text, EMPATHY)) +
      0.4 * Number(has(text, ACKNOWLEDGES) || has(text, THANKS));
    return clamp01(base - (cheer ? 0.5 : 0));
  }
  if (sentiment === 'positive') {
    const base = has(text, THANKS) ? 1 : has(text, WARM) ? 0.6 : 0.2;
    return clamp01(base - (has(text, APOLOGY) ? 0.2 : 0));
  }
  const informative = INFORMATIVE.filter((p) => p.test(text)).length;
  return clamp01(0.3 + 0.35 * Math.min(2, informative) - (cheer ? 0.3 : 0));
}

const INTEGRITY_MARKERS = [
  /\bpreliminary\b/,
  /\bstill (evaluating|learning|testing|investigating)\b/,
  /\blimitations?\b/,
  /\bresearch prototype\b/,
  /\[needs verification\]/,
  /\bexperimental\b/,
  /\bwe do not (yet )?know\b/,
  /\bnot yet (certain|sure|known)\b/,
];
// Percentages, as inst_016 reads them. Governance blanks the ones it flags; this catches the rest
// (a rule set without inst_016).
const FIGURE = /\b\d+(?:\.\d+)?\s?(?:%|percent\b|per cent\b)/gi;

/** Research-integrity markers, minus uncited figures (a figure needs `[NEEDS VERIFICATION]` after it). */
export function integrityScore(reply: string): number {
  const text = reply.toLowerCase();
  const markers = INTEGRITY_MARKERS.filter((p) => p.test(text)).length;
  const base = markers >= 2 ? 1 : markers === 1 ? 0.8 : 0.3;
  let uncited = 0;
  for (const m of reply.matchAll(FIGURE)) {
    const after = reply.slice(m.index! + m[0].length, m.index! + m[0].length + 40);
    if (!after.includes('[NEEDS VERIFICATION]')) uncited++;
  }
  return clamp01(base - 0.3 * uncited);
}

export function oversellingScore(
  violations: readonly string[],
  penalties: RewardConfig['penalties'],
): number {
  let penalty = 0;
  for (const rule of violations) {
    if (rule.startsWith('inst_016')) penalty += penalties.inst_016;
    else if (rule.startsWith('inst_017')) penalty += penalties.inst_017;
    else if (rule.startsWith('inst_018')) penalty += penalties.inst_018;
    else penalty += penalties.other;
  }
  return clamp01(1 - penalty);
}

const STOPWORDS = new Set(
  (
    'about above after again against also been before being below between both cannot could does doing down during each ' +
    'even every from further have having here hers herself himself into itself just like more most much must myself ' +
    'once only other ought ours ourselves over same should some such than that their theirs them themselves then there ' +
    'these they this those through under until very were what when where which while whom whose with would your yours ' +
    'yourself yourselves please thanks thank hello there really still will want know think make made maybe something ' +
    'anything nothing tried today week team time good great need help tell said says seems http https'
  ).split(' '),
);

// The words that show a reply knows what kind of feedback it answers; each matches its plural too
// ("the list of requests we review" names a feature request as surely as "your request" does: the
// reference replies of the SFT corpus say it that way, and a singular-only pattern missed 81 % of them).
const CATEGORY_WORDS: Record<string, RegExp> = {
  'website-bug': /\b(bug|site|website|page|link|browser|layout)s?\b/,
  'framework-issue': /\b(framework|component|issue|behaviou?r|session)s?\b/,
  'content-gap': /\b(documentation|docs|page|coverage|section|guide)s?\b/,
  'feature-request': /\b(request|feature|suggestion|idea)s?\b/,
  positive: /\b(kind words|thank\w*|appreciat\w*)\b/,
  noise: /\b(message|detail|context)s?\b/,
};

/** Content words of the (redacted) feedback: what a specific reply should pick up. */
export function feedbackKeywords(redactedFeedback: string): string[] {
  const words = redactedFeedback.replace(new RegExp(REDACTION_PLACEHOLDER, 'g'), ' ').match(WORD);
  const out = new Set<string>();
  for (const w of words ?? []) {
    const lower = w.toLowerCase().replace(/['’]s$/, '');
    if (lower.length >= 4 && !STOPWORDS.has(lower) && !/^\d+$/.test(lower)) out.add(lower);
  }
  return [...out];
}

/** Does the reply refer to this feedback (its key words, or at least its category)? */
export function acknowledgementScore(reply: string, keywords: readonly string[], category?: string): number {
  const replyWords = new Set((reply.toLowerCase().match(WORD) ?? []).map((w) => w.replace(/['’]s$/, '')));
  const stems = [...replyWords].map((w) => w.slice(0, 5));
  // A shared 5-letter stem counts ("reporting" ~ "report", "loads" ~ "loading" does not).
  const hits = keywords.filter(
    (k) => replyWords.has(k) || (k.length >= 5 && stems.includes(k.slice(0, 5))),
  ).length;
  const categoryPattern = category ? CATEGORY_WORDS[category] : undefined;
  const mentionsCategory = categoryPattern ? categoryPattern.test(reply.toLowerCase()) : false;
  if (keywords.length === 0) return mentionsCategory ? 1 : 0.5;
  const specific = Math.min(1, hits / Math.min(3, keywords.length));
  return Math.max(specific, mentionsCategory ? 0.4 : 0);
}

const normalised = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

/**
 * The reply with every misquote blanked out: a span in double quotes (straight or curly; an unclosed
 * one runs to the end of its sentence) whose words are not, in order, words of the feedback. Quoting
 * the visitor back is a good acknowledgement; misquoting them is not one, so a garbled copy earns no
 * keywords (without this, a policy that copies often but badly scores as if it copied well).
 */
export function withoutMisquotes(reply: string, feedback: string): string {
  const source = ` ${normalised(feedback)} `;
  return reply.replace(/["“”]([^"“”]*?)(?:["“”]|(?<=[.!?])(?=\s)|$)/g, (span, inner: string) => {
    const words = normalised(inner);
    return words === '' || source.includes(` ${words} `) ? span : ' '.repeat(span.length);
  });
}

/** The reply with every violation match blanked out. */
export function creditableText(reply: string, verdict: Verdict): string {
  if (verdict.violations.length === 0) return reply;
  const chars = reply.split('');
  for (const v of verdict.violations) {
    for (let i = v.start; i < Math.min(v.end, chars.length); i++) chars[i] = ' ';
  }
  return chars.join('');
}

/**
 * Scores a reply from the two verdicts the agent already holds. Pure and cheap: no governance call.
 * `createFeedbackReward` wraps it for callers that only have text.
 */
export function rewardFeedbackReply(
  reply: string,
  task: Pick<FeedbackTask, 'category'>,
  verdicts: ReplyVerdicts,
  config: RewardConfig = DEFAULT_REWARD_CONFIG,
  learned?: LearnedTerm,
): RewardResult {
  const creditable = creditableText(reply, verdicts.reply);
  const words = countWords(creditable);
  const violations = verdicts.reply.violations.map((v) => v.rule);
  const terms: RewardResult['terms'] = {
    length: lengthScore(words),
    tone: toneScore(creditable, verdicts.feedback.sentiment.label),
    integrity: integrityScore(creditable),
    overselling: oversellingScore(violations, config.penalties),
    acknowledgement: acknowledgementScore(
      withoutMisquotes(creditable, verdicts.feedback.redacted),
      feedbackKeywords(verdicts.feedback.redacted),
      task.category,
    ),
    quality: 1,
  };
  // On the reply as drafted: a violation is blanked for the terms, but its words are still sent.
  const quality = checkReplyQuality(reply, {
    feedback: verdicts.feedback.redacted,
    sentiment: verdicts.feedback.sentiment.label,
    category: task.category,
  });
  terms.quality = config.qualityFactor ** quality.failed.length;
  const hardZero =
    verdicts.reply.pii.length > 0 ? 'pii-leak' : verdicts.reply.decision === 'block' ? 'blocked' : null;
  const w = config.weights;
  let total = REWARD_TERMS.reduce((s, t) => s + w[t], 0);
  let sum = REWARD_TERMS.reduce((s, t) => s + w[t] * terms[t], 0);
  if (learned) {
    // On the creditable text too, so a prohibited phrase earns nothing here either.
    terms.learned = learned.term(creditable);
    total += learned.weight;
    sum += learned.weight * terms.learned;
  }
  const mean = sum / total;
  return { primary: hardZero ? 0 : mean * terms.quality, terms, hardZero, words, violations, quality };
}

export const DEFAULT_REWARD_CONFIG: RewardConfig = RewardConfig.parse({});

/**
 * A reward function bound to one governance pipeline (built once, reused for every sample).
 * The feedback verdict may be passed in when the caller has it already.
 */
export function createFeedbackReward(governance: GovernancePipeline, config: RewardConfigInput = {}) {
  const parsed = RewardConfig.parse(config);
  return (reply: string, task: FeedbackTask, feedbackVerdict?: Verdict): RewardResult => {
    const feedback = feedbackVerdict ?? governance.govern(task.text, 'feedback');
    return rewardFeedbackReply(
      reply,
      task,
      { feedback, reply: governance.govern(reply, 'response') },
      parsed,
    );
  };
}
