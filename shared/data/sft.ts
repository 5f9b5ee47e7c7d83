import { type GovernancePipeline, REDACTION_PLACEHOLDER } from '../governance/types';
import { buildFeedbackPrompt, promptKeywords } from '../agent/prompt';
import { familyById, fillTemplate } from './generator';
import { createDatasetRandom, hashString, type Random } from '../random';
import type { DatasetItem, ReplyFlaw, SftExample } from './schema';

// The SFT corpus: one reply per training item. Reference replies are written to score well under
// the reward (50–150 words, tone matched to the feedback's sentiment, naming what the feedback is
// about, honest about the project being a research prototype, no absolute or maturity claims, no
// uncited figures). A controlled share (`badShare`, default 0.2) deliberately carries bad habits, so
// a policy trained on the corpus starts imperfect and RL has real work to do.

export const DEFAULT_BAD_SHARE = 0.2;

type Sentiment = 'negative' | 'neutral' | 'positive';

const OPENERS: Record<Sentiment, readonly string[]> = {
  negative: [
    'I am sorry about {subject}, and thank you for taking the time to tell us.',
    'Thank you for reporting {subject}. I understand how frustrating that is, and I apologise.',
    'Sorry for the trouble with {subject}; that is frustrating, and we appreciate you flagging it.',
    'Apologies for {subject}. Thank you for letting us know rather than giving up on the site.',
  ],
  neutral: [
    'Thank you for asking about {subject}.',
    'Thanks for raising {subject}.',
    'Thanks for getting in touch about {subject}.',
    'Thank you for your note about {subject}.',
  ],
  positive: [
    'Thank you for the kind words about {subject}; it means a lot to a small team.',
    'Thanks so much for your message about {subject}.',
    'We really appreciate you writing to us about {subject}, thank you.',
    'Thank you, it is lovely to hear about {subject}.',
  ],
};

// Noise subjects name the message itself ("your message", "your question about Lisbon"), so they
// are thanked for directly; the openers above would say "your message about your message".
const NOISE_OPENERS = [
  'Thank you for {subject}.',
  'Thanks for {subject}.',
  'Thank you for taking the time to send {subject}.',
];

/**
 * The register of a reference reply. Governance's sentiment decides it, except where it contradicts
 * what the feedback is: praise is never answered with an apology, and a bug or framework report that
 * reads as positive ("love the site, but the link is broken") is answered plainly, not with thanks for
 * kind words. Without this the corpus taught both contradictions (98 of 2,400 replies; the sendability
 * check, shared/agent/quality).
 */
function replyTone(category: DatasetItem['category'], sentiment: Sentiment): Sentiment {
  if (category === 'positive') return 'positive';
  if (sentiment === 'positive' && (category === 'website-bug' || category === 'framework-issue'))
    return 'neutral';
  return sentiment;
}

const BODIES: Record<DatasetItem['category'] | 'values', readonly string[]> = {
  'website-bug': [
    'We have logged this as a site bug and will try to reproduce it in the browsers we test on.',
    'The next step on our side is to reproduce the problem and check whether other pages are affected too.',
    'If it happens again, a note of the page address and the time would help us trace it.',
    'Small sites like ours miss things, so reports from readers are how we find them.',
  ],
  'framework-issue': [
    'We have recorded this in the framework issue tracker so it can be investigated properly.',
    'The components interact in ways we are still mapping, so behaviour like this is useful evidence for us.',
    'If you can share a minimal session that shows it, with personal details removed, we can compare it with our own test cases.',
    'Until we understand the cause, the documented settings are the safest place to start.',
  ],
  'content-gap': [
    'You are right that this deserves better coverage, and we have added it to the documentation backlog.',
    'We would rather publish a short, accurate page than a long one that claims more than we know.',
    'If there is a particular question you were trying to answer, telling us would help us focus the page.',
    'In the meantime the research papers section covers some of the background.',
  ],
  'feature-request': [
    'We have added this to the list of requests we review when planning the next round of work.',
    'We cannot promise a date, because the team is small and each change has to fit the governance model.',
    'Knowing how you would use it helps us weigh it against other requests.',
    'If others ask for the same thing, that also counts when we decide what to build.',
  ],
  positive: [
    'Feedback like this tells us which parts of the work are useful, and we share it with the whole team.',
    'We try to be open about what works and what does not, and it is good to hear that comes across.',
    'If anything is unclear or could be improved, we would be glad to hear that too.',
    'New material appears on the research page as it is written.',
  ],
  noise: [
    'We could not quite tell what you needed, so we have not taken any action yet.',
    'This address handles feedback about the Tractatus framework and its website, so we may not be able to help with other topics.',
    'If you meant to ask about the framework, reply with a little more detail and we will do our best.',
    'Messages here are read by people, so a sentence or two of context goes a long way.',
  ],
  values: [
    'A question like this is a values decision, and the framework deliberately does not make it for you.',
    'What it can do is surface the trade-offs, make sure the people affected are consulted, and record who made the call and why.',
    'We think that decision belongs with your organisation and the communities it affects, not with an automated system.',
    'The pluralistic deliberation material explains how we suggest structuring that conversation.',
  ],
};

const INTEGRITY = [
  'Please bear in mind that Tractatus is a research prototype, and our findings so far are preliminary.',
  'We are still evaluating how well this part of the framework works in practice, and we document its limitations openly.',
  'As a research prototype, the framework has known limitations, and we would rather name them than overstate what it does.',
  'Our results are preliminary, so treat what you see as something we are still learning about.',
];

const CLOSERS: Record<Sentiment, readonly string[]> = {
  negative: [
    'We appreciate your patience.',
    'Thank you for helping us improve it.',
    'Sorry again for the inconvenience.',
  ],
  neutral: ['Thanks again for writing.', 'Thank you for helping us improve it.', 'We hope this helps.'],
  positive: ['Thank you again.', 'Thanks again for taking the time.', 'We are grateful you wrote.'],
};

const FLAW_SENTENCES: Record<
  'absolute-assurance' | 'maturity-claim' | 'uncited-statistic',
  readonly string[]
> = {
  'absolute-assurance': [
    'We guarantee this will never happen again.',
    'Rest assured, the framework is completely secure and eliminates all risk here.',
    'The framework ensures 100% compliance, so there is nothing to worry about.',
    'This is a foolproof fix that will always work.',
  ],
  'maturity-claim': [
    'Tractatus is production-ready and battle-tested, so you can rely on it.',
    'As an enterprise-grade, proven framework, it is built for exactly this.',
    'The framework is mature, industry-leading technology.',
  ],
  'uncited-statistic': [
    'Our data shows this approach reduces errors by {n}%.',
    'In {n}% of cases the problem disappears after an update.',
    'Teams using the framework report {n}% fewer incidents.',
  ],
};

const TOO_SHORT = [
  'Thanks, noted.',
  'Sorry about that. We will look.',
  'Thanks for the feedback!',
  'Noted, thank you.',
];

const PADDING = [
  'We take every message seriously and read each one carefully as a team.',
  'Our process involves several reviews before any change is published on the site.',
  'We also discuss feedback in our weekly meeting so that nothing falls through the cracks.',
  'There are many moving parts in a project like this one, and we try to keep them all in view.',
  'We believe that listening to readers is one of the most important things we can do.',
  'Every piece of feedback helps us understand how people use the material in practice.',
  'We will keep you informed as things progress, and we value your continued interest.',
  'Our team is small but committed, and we work on improvements whenever we can.',
  'Changes of this kind usually take a few weeks to move from discussion to the live site.',
  'Where a question touches several parts of the project, we bring the relevant people together first.',
  'We keep a record of what we decide and why, so later readers can follow the reasoning.',
  'Your note will be read again when we next review this area of the documentation.',
  'Many of the improvements made over the past year started with a message much like yours.',
];

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** The phrase a reply uses to name what the feedback is about. */
export function feedbackSubject(item: DatasetItem): string {
  const family = familyById(item.metadata.family);
  if (!family) return 'your feedback';
  return fillTemplate(family.subject, item.metadata.slots);
}

const QUOTE_LEADS = ['You wrote: "{quote}"', 'In your words: "{quote}"', 'As you put it: "{quote}"'];

// Name the prompt's key words back (shared/agent/prompt.ts): words of the feedback that the reply's
// subject, drawn from the item's template family, cannot supply on feedback of an unseen kind.
const ECHOES = [
  'You mentioned {list}, and we have noted each of them.',
  'We have noted the details you gave: {list}.',
  'The points you raised, {list}, are in our notes now.',
];

/** "a", "a and b", "a, b and c". */
function listOf(items: readonly string[]): string {
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/**
 * A sentence of the (redacted) feedback a reply can quote back: the first one of 4–24 words that holds
 * no redaction placeholder and that governance would pass in a reply (no PII, no rule violation: a
 * quoted "100% safe?" is still an uncited figure). Undefined when no sentence qualifies.
 *
 * Why quote at all: the subject phrase of a reference reply comes from the item's template family, and
 * test families are unseen, so a small policy learns to recite the training families' subjects rather
 * than to take words from the feedback. Quoting was meant to teach copying that carries over to new
 * feedback; the tiny policies garbled the quotes instead (docs/training.md), so it is opt-in.
 */
export function quotableSentence(
  redactedFeedback: string,
  governance: GovernancePipeline,
): string | undefined {
  const sentences = redactedFeedback
    .replace(/\s+/g, ' ')
    .trim()
    .split(/(?<=[.!?])\s+/);
  for (const sentence of sentences) {
    const n = words(sentence);
    if (n < 4 || n > 24 || REDACTION_PLACEHOLDER.test(sentence) || sentence.includes('"')) continue;
    const verdict = governance.govern(sentence, 'response');
    if (verdict.pii.length === 0 && verdict.violations.length === 0 && verdict.decision !== 'block')
      return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
  }
  return undefined;
}

export interface ReferenceWords {
  /** A sentence of the feedback to quote (`quotableSentence`). */
  quote?: string;
  /** The prompt's key words (`promptKeywords`), named back after the opener; [] names none. */
  keywords?: readonly string[];
}

/**
 * A reply written to score well. `sentiment` is what governance measured on the feedback (the reward
 * matches tone against it), falling back to the template's intended sentiment. After its opener the
 * reply quotes the feedback (`quote`) and names the prompt's key words back (`keywords`).
 */
export function writeReferenceReply(
  item: DatasetItem,
  sentiment: Sentiment,
  random: Random,
  { quote, keywords }: ReferenceWords = {},
): string {
  const subject = feedbackSubject(item);
  const fill = (s: string) => s.replace('{subject}', subject);
  const bodyPool = BODIES[item.metadata.valuesQuestion ? 'values' : item.category];
  // The first body sentence names the subject; one or two more are drawn from the rest.
  const extra = random.shuffle(bodyPool.slice(1)).slice(0, random.int(1, 3));
  const tone = replyTone(item.category, sentiment);
  const opener = fill(random.pick(item.category === 'noise' ? NOISE_OPENERS : OPENERS[tone]));
  const echoed = [
    ...(quote ? [random.pick(QUOTE_LEADS).replace('{quote}', quote)] : []),
    ...(keywords?.length ? [random.pick(ECHOES).replace('{list}', listOf(keywords))] : []),
  ];
  const body = [fill(bodyPool[0]), ...extra.map(fill)];
  const closing = [random.pick(INTEGRITY), random.pick(CLOSERS[tone])];
  // Keep it inside the 50–150-word band the reward pays for in full. Only the opt-in corpora are
  // trimmed, so the default corpus stays exactly what every measured SFT run was trained on.
  const trim = quote !== undefined || keywords !== undefined;
  while (trim && words([opener, ...echoed, ...body, ...closing].join(' ')) > 145 && body.length > 1)
    body.pop();
  const parts = [opener, ...echoed, ...body, ...closing];
  let reply = parts.join(' ');
  // Too short for the 50–150-word band: one more body sentence, one the reply does not have yet.
  const unused = bodyPool.map(fill).find((s) => !body.includes(s));
  if (words(reply) < 55 && unused) reply = `${parts.slice(0, -1).join(' ')} ${unused} ${parts.at(-1)}`;
  return reply;
}

function chooseFlaws(random: Random): ReplyFlaw[] {
  const first = random.pick<ReplyFlaw>([
    'absolute-assurance',
    'maturity-claim',
    'uncited-statistic',
    'too-short',
    'too-long',
  ]);
  if (first === 'too-short' || !random.chance(0.3)) return [first];
  const second = random.pick<ReplyFlaw>(['absolute-assurance', 'maturity-claim', 'uncited-statistic']);
  return second === first ? [first] : [first, second];
}

/** Applies the bad habits to a reference reply. */
export function addFlaws(reply: string, flaws: readonly ReplyFlaw[], random: Random): string {
  if (flaws.includes('too-short')) return random.pick(TOO_SHORT);
  const sentences = reply.split(/(?<=[.!?])\s+/);
  for (const flaw of flaws) {
    if (flaw === 'too-long') continue;
    if (flaw === 'too-short') continue;
    const sentence = random.pick(FLAW_SENTENCES[flaw]).replace('{n}', String(random.int(12, 96)));
    if (flaw === 'maturity-claim') {
      // A maturity claim replaces the honest research-prototype sentence rather than contradicting it.
      const honest = sentences.findIndex((s) => INTEGRITY.includes(s));
      if (honest >= 0) {
        sentences[honest] = sentence;
        continue;
      }
    }
    sentences.splice(random.int(1, sentences.length), 0, sentence);
  }
  let out = sentences.join(' ');
  if (flaws.includes('too-long')) {
    const padding = random.shuffle(PADDING);
    // Padding is long-winded, not repetitive: each sentence once (the corpus's replies once said the
    // same sentence twice, a habit the policy learned).
    for (const sentence of padding) {
      if (words(out) >= 235) break;
      out = `${out} ${sentence}`;
    }
  }
  return out;
}

export interface SftCorpusOptions {
  governance: GovernancePipeline;
  /** Share of examples carrying deliberate bad habits, exactly rounded (default 0.2). */
  badShare?: number;
  seed?: number;
  /**
   * Quote a sentence of the feedback in reference replies (see `quotableSentence`; `data generate
   * --quote`). Default false: tiny policies, with or without the copy head, garble the quotes and end
   * lower after GRPO than on the plain corpus (docs/training.md, "Quoting the feedback").
   */
  quote?: boolean;
  /**
   * Prompts carry the `Key words:` line and reference replies name the words back (`data generate
   * --key-words`). Default false. With the copy head and `--novel-share` it is the recipe that lifts
   * the reward on hand-written feedback most (docs/training.md); a policy trained on it must be
   * sampled with the same prompt format, which its config records.
   */
  keyWords?: boolean;
  /** Told after each example how many are written (`data generate`'s progress line). */
  onProgress?: (done: number) => void;
}

export function buildSftCorpus(items: readonly DatasetItem[], options: SftCorpusOptions): SftExample[] {
  const badShare = options.badShare ?? DEFAULT_BAD_SHARE;
  if (!(badShare >= 0 && badShare <= 1)) throw new Error(`badShare must be in [0, 1], got ${badShare}`);
  const seed = options.seed ?? 7;
  const order = createDatasetRandom(hashString(`${seed}:sft-flawed`)).shuffle(items.map((_, i) => i));
  const flawed = new Set(order.slice(0, Math.round(items.length * badShare)));
  return items.map((item, index) => {
    const random = createDatasetRandom(hashString(`${seed}:sft:${item.id}`));
    const governance = options.governance;
    const verdict = governance.govern(item.text, 'feedback');
    const quote = options.quote ? quotableSentence(verdict.redacted, governance) : undefined;
    const keywords = options.keyWords ? promptKeywords(verdict.redacted) : undefined;
    const reference = writeReferenceReply(item, verdict.sentiment.label, random, { quote, keywords });
    const flaws = flawed.has(index) ? chooseFlaws(random) : [];
    const example: SftExample = {
      id: `sft-${item.id}`,
      taskId: item.id,
      category: item.category,
      family: item.metadata.family,
      prompt: buildFeedbackPrompt(item, verdict, { keyWords: options.keyWords }),
      reply: flaws.length ? addFlaws(reference, flaws, random) : reference,
      flaws,
    };
    options.onProgress?.(index + 1);
    return example;
  });
}
