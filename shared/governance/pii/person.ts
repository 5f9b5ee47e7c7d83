import { nameLexicon } from '../nlp';
import type { PiiFinding } from '../types';
import { finding, type Recognizer, withContext } from './recognizer';

// Person names from compromise's name lexicon plus patterns. A name starts at a capitalised word
// that is a known first name, follows an honorific ("Dr.", "Ms"), follows a phrase that introduces
// a name ("my name is", "regards,"), or precedes a known surname or a surname particle ("Priya
// Patel", "Yuki von Braun"). It extends over further capitalised words that are not common
// English words, places or street words, over particles ("van der") and initials ("J."). Single
// unknown capitalised words are left alone: sentence starts, products and places are far more
// common than bare surnames. Only capitalised words are visited, so symbol floods cost nothing.

const CAPITALISED = /\p{Lu}[\p{L}\p{M}'’-]*/gu;
const NEXT_WORD = /^([ \u00a0])(\p{L}[\p{L}\p{M}'’-]*)/u;
/** A middle initial, only when a capitalised word follows it ("Julia Y. Patel"). */
const NEXT_INITIAL = /^ \p{Lu}\.(?= \p{Lu})/u;
const PREVIOUS_WORD = /(\p{L}[\p{L}'’-]*)\.?\s+$/u;
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
/** Capitalised words that are never (part of) a name: street and company words, generic addressees. */
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
  'court',
  'way',
  'place',
  'inc',
  'ltd',
  'llc',
  'corp',
  'team',
  'support',
  'the',
  'and',
  // Generic addressees after "Dear" or "Hi".
  'sir',
  'madam',
  'customer',
  'customers',
  'user',
  'users',
  'client',
  'everyone',
  'all',
  'colleagues',
  'friends',
  'folks',
  'manager',
  'hiring',
  'valued',
]);
/** Tags of a following word that make a sentence-initial first name the subject ("Anna said"). */
const VERB_TAGS = new Set(['PastTense', 'PresentTense', 'Copula', 'Modal', 'Auxiliary', 'Adverb', 'Gerund']);
const MAX_NAME_WORDS = 4;

function hasLowercase(word: string): boolean {
  return /\p{Ll}/u.test(word);
}

/** The word without a possessive "'s". */
function bare(word: string): string {
  return word.replace(/['’]s$/u, '');
}

function findPeople(text: string): PiiFinding[] {
  const lex = nameLexicon();
  const found: PiiFinding[] = [];
  const isCommon = (w: string) => lex.commonWords.has(w) || lex.notNames.has(w) || NOT_IN_NAME.has(w);
  const isKnownName = (w: string) => lex.firstNames.has(w) || lex.lastNames.has(w) || lex.personWords.has(w);
  /** A capitalised word that can continue a name. */
  const nameWord = (word: string) => {
    const w = bare(word).toLowerCase();
    return (
      hasLowercase(word) && !NOT_IN_NAME.has(w) && !lex.notNames.has(w) && (isKnownName(w) || !isCommon(w))
    );
  };
  let consumedUntil = 0;
  CAPITALISED.lastIndex = 0;
  for (let m = CAPITALISED.exec(text); m; m = CAPITALISED.exec(text)) {
    const start = m.index;
    const first = bare(m[0]);
    if (start < consumedUntil || !hasLowercase(first)) continue;
    if (start > 0 && /[\p{L}\p{N}_<]/u.test(text[start - 1])) continue;
    const word = first.toLowerCase();
    if (lex.honorifics.has(word)) continue; // the title is context, not part of the name
    const before = text.slice(Math.max(0, start - 32), start);
    const trimmed = before.trimEnd();
    const sentenceStart = trimmed === '' || /[.!?…:"“(\n]$/.test(trimmed) || /\n\s*$/.test(before);
    const previous = PREVIOUS_WORD.exec(before)?.[1]?.toLowerCase();
    const honorific = !!previous && lex.honorifics.has(previous) && !/[,;]\s*$/.test(before);
    const introduced = STRONG_INTRO.test(before) && !isCommon(word);

    // Extend over following name words, particles and initials.
    let end = start + first.length;
    let words = 1;
    let sawParticle = false;
    let nextWord: string | undefined;
    while (words < MAX_NAME_WORDS) {
      const rest = text.slice(end, end + 48);
      const initial = NEXT_INITIAL.exec(rest);
      if (initial) {
        end += initial[0].length;
        words++;
        continue;
      }
      const next = NEXT_WORD.exec(rest);
      if (!next) break;
      nextWord ??= next[2];
      const lowerNext = next[2].toLowerCase();
      if (PARTICLES.has(lowerNext)) {
        // "van der Berg": particles, then a capitalised surname.
        let offset = next[0].length;
        let particle = NEXT_WORD.exec(rest.slice(offset));
        while (particle && PARTICLES.has(particle[2].toLowerCase())) {
          offset += particle[0].length;
          particle = NEXT_WORD.exec(rest.slice(offset));
        }
        if (!particle || !/^\p{Lu}/u.test(particle[2]) || !nameWord(particle[2])) break;
        end += offset + bare(particle[2]).length + 1;
        words++;
        sawParticle = true;
        continue;
      }
      // After a known first name, a capitalised word mid-sentence is a surname even when it is
      // also a common word ("Robert Brown", "Grace White").
      const surnameAfterFirst =
        words === 1 &&
        (lex.firstNames.has(word) || lex.personWords.has(word)) &&
        hasLowercase(next[2]) &&
        !NOT_IN_NAME.has(lowerNext) &&
        !lex.notNames.has(lowerNext);
      if (!/^\p{Lu}/u.test(next[2]) || !(nameWord(next[2]) || surnameAfterFirst)) break;
      end += 1 + bare(next[2]).length;
      words++;
    }
    const multi = words > 1;
    const knownFirst = lex.firstNames.has(word) || lex.personWords.has(word);
    const secondIsSurname =
      multi && !!nextWord && (lex.lastNames.has(bare(nextWord).toLowerCase()) || sawParticle);

    let accept = false;
    if (honorific || introduced) accept = true;
    else if (knownFirst) {
      if (!sentenceStart || multi) accept = true;
      else {
        // At a sentence start "Mark", "Chase" and "Grace" are often words: "Mark the ticket".
        const follower = text.slice(end, end + 32).match(/^\s*([,;:.!?)]|\p{L}[\p{L}'’-]*)/u)?.[1] ?? '.';
        const tags = lex.commonWords.get(follower.toLowerCase()) ?? [];
        accept = /^[,;:.!?)]$/.test(follower) || tags.some((t) => VERB_TAGS.has(t)) || /ed$/.test(follower);
      }
    } else if (sawParticle && !lex.commonWords.has(word))
      accept = true; // "Jan van den Bosch"
    else if (secondIsSurname && !isCommon(word)) accept = true;
    if (!accept) continue;

    let score = honorific || introduced ? 0.85 : knownFirst ? (multi ? 0.85 : 0.6) : 0.75;
    if (introduced) score = Math.min(1, score + 0.1);
    found.push(finding('PERSON', start, end, withContext(text, start, score, CONTEXT)));
    consumedUntil = end;
  }
  return found;
}

export const personRecognizer: Recognizer = { type: 'PERSON', find: findPeople };
