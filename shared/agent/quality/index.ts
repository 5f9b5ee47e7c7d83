import { PiiType, REDACTION_PLACEHOLDER } from '../../governance/types';
import { QUALITY_CHECKS, type QualityCheck } from './checks';
import { PROJECT_TERMS } from './project-terms';
import { defaultSpeller, type Speller } from './spelling';

export { QUALITY_CHECK_DESCRIPTIONS, QUALITY_CHECKS, type QualityCheck } from './checks';
export { createSpeller, defaultSpeller, loadSpeller, type Speller } from './spelling';

// Would a person send this reply as it is? A check of the text itself, independent of the reward's
// terms (which reward length, tone words, integrity words, key words, and never read the prose): real
// words, no stutter or degenerate repetition, no sentence said twice, no stray characters or leaked
// placeholders, sentences that start and end properly, and no tone that contradicts the feedback.
// Every check names what it found, so a person can see why a reply failed. All work is linear in the
// reply's length (a drafted reply is at most a few hundred tokens, but this runs on any text).

export interface QualityFinding {
  check: QualityCheck;
  /** What was found, quoted from the reply where it can be ("newcom", "you you"). */
  detail: string;
}

export interface QualityReport {
  /** True when no check failed. */
  sendable: boolean;
  /** The failed checks, each once, in QUALITY_CHECKS order. */
  failed: QualityCheck[];
  /** Up to three findings per failed check. */
  findings: QualityFinding[];
}

/** What the checks need to know about the feedback a reply answers. */
export interface QualityContext {
  /** The feedback as the policy saw it (redacted): its words are allowed in the reply. */
  feedback: string;
  /** Governance's sentiment of the feedback. */
  sentiment: 'negative' | 'neutral' | 'positive';
  /** The feedback's category when known ('positive' is praise; bugs and framework issues are complaints). */
  category?: string;
}

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;
const PLACEHOLDER_ANYWHERE = new RegExp(REDACTION_PLACEHOLDER.source, 'g');
// A placeholder's type name, whole or in pieces of a broken one ("andPERSON%", "EMAIL_2"): every
// PiiType but IBAN, which replies write as a word ("your IBAN"); longest first.
const PLACEHOLDER_TYPE = new RegExp(
  PiiType.options
    .filter((t) => t !== 'IBAN')
    .sort((a, b) => b.length - a.length || a.localeCompare(b))
    .join('|'),
  'g',
);
// The integrity marker governance asks for after a figure (rule inst_016); brackets are fine there.
const NEEDS_VERIFICATION = /\[NEEDS VERIFICATION\]/g;
// Characters a plain-text reply is made of; anything else is stray unless the feedback has it too.
const PLAIN_CHAR = /[\p{L}\p{N}\s.,;:!?'’‘"“”()\-–—/&%$€£+]/u;
// Sentence ends: a stop, then closing quotes or brackets, then space.
const SENTENCE_END = /(?<=[.!?])["”’)]*\s+/;
// Two words in a row that English does say twice.
const DOUBLE_OK = new Set(['had', 'that']);
// Prose is 40–60 % function words (the SFT corpus's replies: 50–67 %); keyword lists have almost none.
const FUNCTION_WORDS = new Set(
  (
    'a an the and or but if so to of in on at for from with by about as into than then that this these those ' +
    'it its we our us you your i me my is are was were be been being have has had do does did will would can ' +
    'could should may might not no there here what which who how when where why all any some more most very ' +
    'just also still only because while until after before over under again'
  ).split(' '),
);
const ONE_WORD_SENTENCES = new Set([
  'thanks',
  'sorry',
  'hello',
  'hi',
  'yes',
  'no',
  'noted',
  'apologies',
  'cheers',
]);
const APOLOGY = /\b(sorry|apolog\w*|regret\w*|frustrat\w*|inconvenien\w*)\b/;
const PRAISE_THANKS =
  /\b(kind words|lovely to hear|happy to hear|glad to hear|pleased to hear|delighted to hear|glad you (?:like|enjoy)\w*|means a lot)\b/;

const lowerWords = (text: string) => (text.toLowerCase().match(WORD) ?? []).map((w) => w.replace(/’/g, "'"));

/** Checks one reply. `speller` defaults to the bundled English dictionaries. */
export function checkReplyQuality(
  reply: string,
  context: QualityContext,
  speller: Speller = defaultSpeller(),
): QualityReport {
  const findings: QualityFinding[] = [];
  const find = (check: QualityCheck, detail: string) => {
    if (findings.filter((f) => f.check === check).length < 3) findings.push({ check, detail });
  };
  const feedbackWords = new Set(lowerWords(context.feedback));
  // Placeholders and the integrity marker are judged by their own checks, not as words or markup.
  const prose = reply.replace(PLACEHOLDER_ANYWHERE, ' ').replace(NEEDS_VERIFICATION, ' ');

  checkPlaceholders(reply, context.feedback, find);
  checkSpelling(prose, feedbackWords, speller, find);
  const words = lowerWords(prose);
  checkStutter(prose, find);
  checkRepetition(words, find);
  const sentences = prose
    .trim()
    .split(SENTENCE_END)
    .filter((s) => /[\p{L}\p{N}]/u.test(s));
  checkRepeatedSentences(sentences, find);
  checkStrayCharacters(prose, context.feedback, find);
  checkSentenceShape(prose, sentences, words, find);
  checkTone(reply, context, find);

  const failed = QUALITY_CHECKS.filter((c) => findings.some((f) => f.check === c));
  return { sendable: failed.length === 0, failed, findings };
}

type Find = (check: QualityCheck, detail: string) => void;

function checkPlaceholders(reply: string, feedback: string, find: Find) {
  for (const m of reply.matchAll(PLACEHOLDER_ANYWHERE)) find('placeholder', m[0]);
  const stripped = reply.replace(PLACEHOLDER_ANYWHERE, ' ');
  for (const m of stripped.matchAll(PLACEHOLDER_TYPE)) {
    // A type name the visitor wrote themselves ("my PHONE is broken") is their word, not a leak.
    if (!feedback.replace(PLACEHOLDER_ANYWHERE, ' ').includes(m[0])) find('placeholder', m[0]);
  }
}

function checkSpelling(prose: string, feedbackWords: Set<string>, speller: Speller, find: Find) {
  for (const m of prose.matchAll(WORD)) {
    const word = m[0].replace(/’/g, "'");
    const lower = word.toLowerCase();
    if (feedbackWords.has(lower) || PROJECT_TERMS.has(lower)) continue;
    if (/^\d+$/.test(word)) continue;
    // Single letters other than "a" and "I" are fragments of a word the policy did not finish.
    if (word.length === 1 ? /^[aAI]$/.test(word) : isSpelled(word, speller)) continue;
    find('spelling', word);
  }
}

function isSpelled(word: string, speller: Speller): boolean {
  if (/\p{N}/u.test(word)) return speller.correct(word); // "1st", "3rd"; other digit-letter mixes fail
  if (speller.correct(word)) return true;
  // Possessives ("team's") and an all-capital word at the start of a shout ("PLEASE").
  const base = word.replace(/'s$/i, '');
  return (base !== word && speller.correct(base)) || speller.correct(word.toLowerCase());
}

function checkStutter(prose: string, find: Find) {
  // Within a clause only: "thank you. You can…" is two sentences, not a stutter.
  for (const clause of prose.split(/[.,;:!?()"“”—–]+/)) {
    const words = lowerWords(clause);
    for (let i = 1; i < words.length; i++) {
      if (words[i] === words[i - 1] && !DOUBLE_OK.has(words[i]) && !/^\d+$/.test(words[i]))
        find('stutter', `${words[i]} ${words[i]}`);
    }
    // A phrase of 2–8 words said again at once: "frustrating that is frustrating that is".
    for (let n = 2; n <= 8; n++) {
      for (let i = 0; i + 2 * n <= words.length; i++) {
        let same = true;
        for (let k = 0; k < n && same; k++) same = words[i + k] === words[i + n + k];
        if (same) {
          find('stutter', words.slice(i, i + 2 * n).join(' '));
          i += 2 * n - 1;
        }
      }
    }
  }
}

function checkRepetition(words: readonly string[], find: Find) {
  const phrases = new Map<string, number>();
  for (let i = 0; i + 3 <= words.length; i++) {
    const phrase = words.slice(i, i + 3).join(' ');
    const n = (phrases.get(phrase) ?? 0) + 1;
    phrases.set(phrase, n);
    if (n === 3) find('repetition', `"${phrase}" three times`);
  }
  const counts = new Map<string, number>();
  for (const w of words) {
    if (w.length < 4 || FUNCTION_WORDS.has(w)) continue;
    const n = (counts.get(w) ?? 0) + 1;
    counts.set(w, n);
    if (n === 5) find('repetition', `"${w}" five times`);
  }
}

const normalisedSentence = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

function checkRepeatedSentences(sentences: readonly string[], find: Find) {
  const seen = new Set<string>();
  for (const sentence of sentences) {
    const key = normalisedSentence(sentence);
    if (key.split(' ').length < 3) continue;
    if (seen.has(key)) find('repeated-sentence', sentence.trim());
    seen.add(key);
  }
}

function checkStrayCharacters(prose: string, feedback: string, find: Find) {
  // The feedback's characters once, not a scan of the whole feedback per unusual character.
  let feedbackChars: Set<string> | undefined;
  for (const ch of prose) {
    if (PLAIN_CHAR.test(ch)) continue;
    feedbackChars ??= new Set(feedback);
    if (feedbackChars.has(ch)) continue;
    find(
      'stray-characters',
      ch === '\uFFFD'
        ? 'U+FFFD'
        : /\p{C}/u.test(ch)
          ? `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
          : ch,
    );
  }
  // A per cent sign belongs after a number.
  for (const m of prose.matchAll(/%/g))
    if (!/\d\s?$/.test(prose.slice(Math.max(0, m.index - 2), m.index))) find('stray-characters', '%');
  const count = (re: RegExp) => prose.match(re)?.length ?? 0;
  if (count(/\(/g) !== count(/\)/g)) find('stray-characters', 'unbalanced ( )');
  if (count(/"/g) % 2 === 1) find('stray-characters', 'unbalanced "');
  if (count(/“/g) !== count(/”/g)) find('stray-characters', 'unbalanced “ ”');
}

function checkSentenceShape(
  prose: string,
  sentences: readonly string[],
  words: readonly string[],
  find: Find,
) {
  const text = prose.trim();
  if (text === '') {
    find('sentence-shape', 'empty reply');
    return;
  }
  for (const sentence of sentences) {
    // The first letter or digit, past opening quotes and brackets.
    const first = sentence.match(/[\p{L}\p{N}]/u)?.[0] ?? '';
    if (first !== first.toUpperCase())
      find('sentence-shape', `starts mid-clause: "${sentence.trim().slice(0, 40)}"`);
    const n = sentence.match(WORD)?.length ?? 0;
    if (n > 50) find('sentence-shape', `a run-on sentence of ${n} words`);
    if (n === 1 && !ONE_WORD_SENTENCES.has(lowerWords(sentence)[0]))
      find('sentence-shape', `a one-word sentence: "${sentence.trim()}"`);
  }
  if (!/[.!?]["”’)]*$/.test(text)) find('sentence-shape', `no final stop: "…${text.slice(-30)}"`);
  if (words.length >= 8) {
    const share = words.filter((w) => FUNCTION_WORDS.has(w)).length / words.length;
    if (share < 0.15)
      find('sentence-shape', `a list of words, not sentences (${Math.round(share * 100)} % function words)`);
  }
}

function checkTone(reply: string, context: QualityContext, find: Find) {
  const text = reply.toLowerCase();
  const praise = context.category ? context.category === 'positive' : context.sentiment === 'positive';
  const complaint =
    context.sentiment === 'negative' ||
    context.category === 'website-bug' ||
    context.category === 'framework-issue';
  if (praise) {
    const m = text.match(APOLOGY);
    if (m) find('tone-contradiction', `"${m[0]}" in reply to praise`);
  } else if (complaint) {
    const m = text.match(PRAISE_THANKS);
    if (m) find('tone-contradiction', `"${m[0]}" in reply to a complaint`);
  }
}
