import { nameLexicon, type WinkToken } from '../nlp';
import type { PiiFinding } from '../types';
import { finding, type Recognizer, type RecognizerContext, withContext } from './recognizer';

// Person names from wink-nlp's part-of-speech tags plus compromise's name lexicon. A name starts
// at a capitalised proper noun that is a known first name, follows an honorific ("Dr.", "Ms"),
// follows a phrase that introduces a name ("my name is", "regards,"), or is followed by a known
// surname; it extends over further capitalised proper nouns, surname particles ("van der") and
// initials. Single unknown capitalised words are left alone: sentence starts, products and places
// are far more common than bare surnames.

const STRONG_INTRO =
  /(?:\bmy name is|\bname is|\bname:|\bnamed|\bcalled|\bi am|\bi'm|\bi’m|\bthis is|\bregards,?|\bsincerely,?|\bdear|\bsigned|\bthanks,|\bcheers,|\bbest,|\bfrom:|\bcontact:|\bcc:)\s*$/i;
const CONTEXT = new Set([
  'name',
  'named',
  'called',
  'mr',
  'mrs',
  'ms',
  'dr',
  'regards',
  'thanks',
  'cheers',
  'sincerely',
  'dear',
  'hi',
  'hello',
  'colleague',
  'manager',
  'agent',
  'signed',
  'contact',
  'spoke',
  'asked',
  'told',
  'customer',
  'husband',
  'wife',
  'son',
  'daughter',
  'friend',
  'boss',
]);
const PARTICLES = new Set([
  'van',
  'von',
  'der',
  'den',
  'de',
  'da',
  'del',
  'della',
  'di',
  'du',
  'la',
  'le',
  'bin',
  'ibn',
  'al',
  'ten',
  'ter',
]);
const NAME_POS = new Set(['PROPN', 'NOUN']);
/** Capitalised words that end a name: street suffixes and the like (the address recognizer's job). */
const NOT_IN_NAME = new Set([
  'street',
  'st',
  'avenue',
  'ave',
  'road',
  'rd',
  'lane',
  'drive',
  'boulevard',
  'inc',
  'ltd',
  'llc',
  'corp',
  'team',
  'support',
]);
const MAX_NAME_TOKENS = 4;

function isCapitalised(value: string): boolean {
  return /^\p{Lu}[\p{L}'’-]*$/u.test(value) && /\p{Ll}/u.test(value);
}

function isInitial(value: string): boolean {
  return /^\p{Lu}\.$/u.test(value);
}

function adjacent(a: WinkToken, b: WinkToken, text: string): boolean {
  return b.start - a.end <= 1 && !/[,.;:!?\n]/.test(text.slice(a.end, b.start));
}

function findPeople(text: string, context: RecognizerContext): PiiFinding[] {
  const lex = nameLexicon();
  const tokens = context.tokens();
  const found: PiiFinding[] = [];
  let consumed = -1;
  const lower = (t: WinkToken) => t.value.toLowerCase();
  const nameWord = (t: WinkToken | undefined) =>
    !!t &&
    isCapitalised(t.value) &&
    !NOT_IN_NAME.has(lower(t)) &&
    !lex.notNames.has(lower(t)) &&
    (t.pos === 'PROPN' || lex.lastNames.has(lower(t)) || lex.firstNames.has(lower(t)));
  for (let i = 0; i < tokens.length; i++) {
    if (i <= consumed) continue;
    const t = tokens[i];
    if (!isCapitalised(t.value) || NOT_IN_NAME.has(lower(t))) continue;
    const word = lower(t);
    const prev = tokens[i - 1];
    const honorific = !!prev && lex.honorifics.has(lower(prev).replace(/\.$/, '')) && adjacent(prev, t, text);
    const sentenceStart = !prev || /^[.!?…]+$/.test(prev.value) || /\n/.test(text.slice(prev.end, t.start));
    // Mid-sentence, a capitalised first name is a name whatever the tagger says ("Rose said");
    // at a sentence start the tagger must agree, since "Mark", "Chase" and "Grace" are also words.
    const knownFirst =
      (lex.firstNames.has(word) || lex.personWords.has(word)) && (!sentenceStart || NAME_POS.has(t.pos));
    const introduced = t.pos === 'PROPN' && STRONG_INTRO.test(text.slice(Math.max(0, t.start - 24), t.start));
    const next = tokens[i + 1];
    const beforeSurname =
      t.pos === 'PROPN' &&
      !!next &&
      adjacent(t, next, text) &&
      isCapitalised(next.value) &&
      lex.lastNames.has(lower(next));
    if (lex.notNames.has(word) && !knownFirst && !honorific) continue;
    if (!knownFirst && !honorific && !introduced && !beforeSurname) continue;

    let j = i;
    while (j + 1 < tokens.length && j - i + 1 < MAX_NAME_TOKENS) {
      const n = tokens[j + 1];
      if (!adjacent(tokens[j], n, text) && !isInitial(tokens[j].value)) break;
      if (nameWord(n) || isInitial(n.value)) j++;
      else if (PARTICLES.has(lower(n))) {
        // "van der Berg": one or more particles, then a capitalised surname.
        let k = j + 1;
        while (
          k + 1 < tokens.length &&
          PARTICLES.has(lower(tokens[k + 1])) &&
          adjacent(tokens[k], tokens[k + 1], text)
        )
          k++;
        if (!nameWord(tokens[k + 1]) || !adjacent(tokens[k], tokens[k + 1], text)) break;
        j = k + 1;
      } else break;
    }
    // A trailing initial is more likely an abbreviation's full stop than part of the name.
    while (j > i && isInitial(tokens[j].value)) j--;
    const multi = j > i;
    // A lone first name opening a sentence and followed by an object or a noun is an imperative or
    // a compound ("Mark the ticket", "Grace period"), not a person.
    if (
      sentenceStart &&
      !multi &&
      !honorific &&
      !introduced &&
      next &&
      /^(DET|NOUN|ADJ|NUM|PRON)$/.test(next.pos) &&
      /^\p{Ll}/u.test(next.value)
    )
      continue;
    let score = honorific || introduced ? 0.85 : knownFirst ? (multi ? 0.85 : 0.6) : 0.75;
    if (introduced) score = Math.min(1, score + 0.1);
    found.push(finding('PERSON', t.start, tokens[j].end, withContext(text, t.start, score, CONTEXT)));
    consumed = j;
  }
  return found;
}

export const personRecognizer: Recognizer = { type: 'PERSON', find: findPeople };
