import { nameLexicon } from '../nlp';
import type { PiiFinding } from '../types';
import { ENGLISH_BELOW, foldName, loadNameData, type NameData, nameDataNow, nameLikeness } from './names';
import { finding, type Recognizer, withContext } from './recognizer';

// Person names from three kinds of evidence, read in one pass over the words of a text:
// - Lexicons: given names and surnames of ~35 faker locales (names/name-data.json, folded so "José"
//   and "jose" meet) and compromise's first/last names; places, organisations, months (compromise)
//   and English words (compromise's lexicon, and the English words the trigram table would call
//   name-like, shipped with the data) are not names.
// - Name-likeness: a character-trigram score, names against English words, for words no list knows
//   ("Oluwaseun" looks like a name, "Dashboard" like a word).
// - Structure: a cue before the words ("my name is", "me llamo", "je m'appelle", "ich heiße", "meu nome
//   é", "mi chiamo", a title, "Regards,") takes the 1–4 words after it, lower-case too after a strong
//   cue; without a cue, two or more adjacent capitalised name words (particles such as "van der",
//   "bin", "ap", "Ní", "Mac" may join them), or a single known given name that is not a sentence start.
// Each word is looked at a bounded number of times (a run is at most MAX_RUN words, and the scan
// resumes after it), so the cost is linear in the text.

const MAX_RUN = 6;
/** The longest word read as (part of) a name ("Brzęczyszczykiewicz" is 19, "Owusu-Ansah-Mensah" 18). */
const MAX_NAME_WORD = 40;

/** Surname particles: join two name words ("van der Berg", "bin Rashid", "Ní Bhriain", "ap Gwilym"). */
const PARTICLES = new Set(
  `van von der den de da das dos do del della delle di du la le lo bin binti bint ibn ben bat al el
  ap ab ní nic ó ua mac mc ter ten te zu af av y e`.split(/\s+/),
);
/** Particles that only join when written in lower case (as capitalised words they start a sentence). */
const LOWER_ONLY_PARTICLES = new Set(['y', 'e', 'do', 'te', 'la', 'le', 'lo', 'af', 'av']);

/** Closed-class words of the languages whose cues are read: never (part of) a name. */
const FUNCTION_WORDS = new Set(
  `a an the and or but nor so of in on at to for from with by as is are was were be been am i im me my
  i've i'd i'll i'm it's that's don't can't won't isn't doesn't didn't we our you your he she it its they
  them this that these those there here not no yes just also too very
  again still now then when while because since if than who what which where why how all any some every
  can could would should will shall may might must do does did has have had please let
  y o e u ni el la los las lo un una unos unas del al en con por para sin sobre que como pero mas muy es
  soy eres son está estoy mi mis su sus tu yo nos ya aquí ahí
  et ou le les des du au aux une dans sur avec pour sans par mais très est suis je tu il elle nous vous
  ils elles mon ma mes ton ta ses ce cette ces qui ne pas plus ici
  und oder der die das den dem des ein eine einen einem einer im am zum zur mit von für auf aus bei nach
  ist bin bist sind war ich du er sie es wir ihr mein meine nicht kein keine sehr auch noch schon hier
  os as um uma uns umas no na nos nas do da dos das em com sem mas muito sou é eu ele ela meu minha
  il lo gli i una uno di da nel nella con su per tra fra ma molto sono è io tu lui lei noi voi mio mia
  het een en van op te niet ik jij hij zij wij mijn`.split(/\s+/),
);

/** Function words that mark a sentence as not English (none of them is also a common English word). */
const FOREIGN_MARKERS = new Set(
  `y el los las del una unos unas con por para pero muy es soy está estoy mis sus yo que como
  et ou le les des du au aux une dans sur avec pour sans mais très est suis je il elle nous vous ils elles
  mon ma mes ce cette ces qui ne pas
  und oder der das dem des ein eine einen einem einer im zum zur mit von für auf aus bei nach ist bist
  sind ich du er sie wir ihr mein meine nicht kein keine sehr auch noch schon hier
  os um uma umas na nos nas da dos das em com sem mas muito sou é eu ele ela meu minha não
  il lo gli uno di nel nella tra fra molto sono è io lui lei noi voi mio mia non
  het een en niet ik jij hij zij wij mijn`.split(/\s+/),
);
const ENGLISH_MARKERS = new Set(
  `the and or but of to is are was were be been have has had i we you he she it they this that with for
  not my our your from at on can could would should will`.split(/\s+/),
);

/** Capitalised words that are never (part of) a name: street and company words, generic addressees. */
const NOT_IN_NAME = new Set(
  `street st avenue ave road rd lane drive boulevard court way place inc ltd llc corp gmbh team teams
  support office the and sir madam customer customers user users client clients everyone all colleagues
  friends folks manager hiring valued service services department group staff admin admins team's
  app page screen settings account`.split(/\s+/),
);

type Cue = { words: string[]; kind: 'strong' | 'weak' | 'signature' };
/** Phrases that introduce a name, by their last word (lower case, apostrophes as '). */
const CUES: Cue[] = [
  // strong: a name follows, in any case
  ...[
    'my name is',
    'name is',
    'name:',
    'named',
    'called',
    'signed by',
    'me llamo',
    'mi nombre es',
    "je m'appelle",
    'mon nom est',
    'ich heiße',
    'ich heisse',
    'mein name ist',
    'meu nome é',
    'mi chiamo',
    'il mio nome è',
    'mijn naam is',
    'nazywam się',
    'nama saya',
  ].map((p) => ({ words: p.split(' '), kind: 'strong' as const })),
  // weak: a name or a word ("I'm frustrated", "soy cliente")
  ...[
    'i am',
    "i'm",
    'im',
    'this is',
    "it's",
    'its',
    'soy',
    'sou',
    'sono',
    'ich bin',
    'je suis',
    "c'est",
    'hi',
    'hello',
    'hey',
    'dear',
    'cc',
    'cc:',
  ].map((p) => ({ words: p.split(' '), kind: 'weak' as const })),
  // a signature: "Regards,\nAna"
  ...[
    'regards',
    'sincerely',
    'signed', // "Signed,\nAna", not "a signed PDF report"

    'thanks',
    'thank you',
    'cheers',
    'best',
    'merci',
    'gracias',
    'saludos',
    'grazie',
    'grüße',
    'obrigado',
    'obrigada',
    'groeten',
    'pozdrawiam',
    'pozdrav',
    'pozdravem',
    'stimă',
    'üdvözlettel',
  ].map((p) => ({ words: p.split(' '), kind: 'signature' as const })),
];
const CUES_BY_LAST = new Map<string, Cue[]>();
for (const cue of CUES) {
  const last = cue.words[cue.words.length - 1];
  CUES_BY_LAST.set(last, [...(CUES_BY_LAST.get(last) ?? []), cue]);
}
/** Titles in the languages read, beyond compromise's honorifics. */
const TITLES = new Set(
  `mr mrs ms mx dr prof sr sra srta señor señora don doña herr frau monsieur madame mme mlle signor
  signora sig dott dott.ssa sen senhor senhora`.split(/\s+/),
);
const CONTEXT = new Set(
  `name named called mr mrs ms dr regards thanks cheers sincerely dear hi hello colleague manager agent
  signed contact spoke asked told customer husband wife son daughter friend boss llamo appelle heiße
  chiamo nome`.split(/\s+/),
);
/** Tags of a following word that make a sentence-initial first name the subject ("Anna said"). */
const VERB_TAGS = new Set(['PastTense', 'PresentTense', 'Copula', 'Modal', 'Auxiliary', 'Adverb', 'Gerund']);

const WORD = /[\p{L}\p{M}][\p{L}\p{M}\p{N}'’-]*/gu;

/**
 * Identifiers written in camel case: a capital after four lower-case letters, or two capitals inside the
 * word. Names with an inner capital have a short prefix and one of them ("McKay", "DeShawn", "MacKenzie").
 */
const IDENTIFIER = /\p{Ll}{4}\p{Lu}|^.\p{L}*\p{Lu}\p{L}*\p{Lu}/u;

type Token = { start: number; end: number; text: string; lower: string; cap: boolean };

/** How a word reads as part of a name: 2 a known name, 1 name-like, 0.5 unsure, 0 a word, -1 never. */
type Evidence = -1 | 0 | 0.5 | 1 | 2;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  WORD.lastIndex = 0;
  for (let m = WORD.exec(text); m; m = WORD.exec(text)) {
    let word = m[0];
    // Trailing apostrophes and hyphens belong to the punctuation; so does a possessive "'s".
    word = word.replace(/['’-]+$/u, '').replace(/['’]s$/u, '');
    if (!word) continue;
    const lower = word.toLowerCase();
    const rest = word.slice(1);
    tokens.push({
      start: m.index,
      end: m.index + word.length,
      text: word,
      lower: lower.includes('’') ? lower.replace(/’/g, "'") : lower,
      // Upper-case first letter, some lower-case letter after it ("Anna", "McKay"; not "USA" or "P").
      cap: word[0] !== lower[0] && rest !== rest.toUpperCase(),
    });
  }
  return tokens;
}

function findPeople(text: string): PiiFinding[] {
  const lex = nameLexicon();
  const data = nameDataNow();
  if (!data) void loadNameData(); // a worker that did not await it: compromise's lexicon alone for now
  const tokens = tokenize(text);
  const found: PiiFinding[] = [];
  const n = tokens.length;
  const gap = (i: number) => text.slice(i === 0 ? 0 : tokens[i - 1].end, tokens[i].start);
  const sentenceStartAt = (i: number) => {
    if (i === 0) return true;
    const g = gap(i);
    if (/[!?…:"“(\n]/.test(g)) return true;
    // A dot ends a sentence unless it follows an initial or a title ("J. Smith", "Dr. Okafor").
    if (!g.includes('.')) return false;
    const prev = tokens[i - 1];
    return !(prev.text.length === 1 || TITLES.has(prev.lower) || lex.honorifics.has(prev.lower));
  };
  const isTitle = (t: Token) => TITLES.has(t.lower) || lex.honorifics.has(t.lower);

  // Sentences whose function words are mostly of another language: there "not an English word" says
  // little ("Die Einstellungen Seite", "Servizio Clienti"), so a run without a cue needs a known name.
  // One pass: a sentence id per token and its marker counts.
  const sentenceOf = new Int32Array(n);
  const foreignScore: number[] = [];
  for (let k = 0, id = -1; k < n; k++) {
    if (id < 0 || sentenceStartAt(k)) {
      id++;
      foreignScore.push(0);
    }
    sentenceOf[k] = id;
    const lower = tokens[k].lower;
    if (FOREIGN_MARKERS.has(lower)) foreignScore[id]++;
    else if (ENGLISH_MARKERS.has(lower)) foreignScore[id]--;
  }

  const knownGiven = (t: Token, folded: string) =>
    lex.firstNames.has(t.lower) || lex.personWords.has(t.lower) || !!data?.given.has(folded);
  const knownName = (t: Token, folded: string) =>
    knownGiven(t, folded) || lex.lastNames.has(t.lower) || !!data?.surnames.has(folded);
  /** An English (or function) word: "Settings", "Great", "und". */
  const isWord = (t: Token, folded: string) =>
    FUNCTION_WORDS.has(t.lower) ||
    lex.commonWords.has(t.lower) ||
    !!data?.common.has(folded) ||
    !!data?.english.has(folded) ||
    (!!data && !knownName(t, folded) && nameLikeness(folded, data) < ENGLISH_BELOW);
  const isNever = (t: Token) => NOT_IN_NAME.has(t.lower) || lex.notNames.has(t.lower) || isTitle(t);

  // Evidence depends on a word's text alone: one look per distinct word.
  const evidenceCache = new Map<string, Evidence>();
  /** Evidence that token i is (part of) a name, by itself. */
  const evidence = (i: number): Evidence => {
    const t = tokens[i];
    const cached = evidenceCache.get(t.text);
    if (cached !== undefined) return cached;
    let e: Evidence;
    if (t.text.length > MAX_NAME_WORD)
      e = -1; // no name is that long: one 100 KB token is not looked up, folded or scored
    else if (IDENTIFIER.test(t.text))
      e = -1; // "CrossReferenceValidator", "BoundaryEnforcer": code and product names, not people
    else if (
      lex.notNames.has(t.lower) &&
      !NOT_IN_NAME.has(t.lower) &&
      !isTitle(t) &&
      (data?.given.has(foldName(t.text)) || data?.surnames.has(foldName(t.text)))
    )
      e = 0.5; // "Guadalupe", "Colombo": a place and a name
    else if (isNever(t) || FUNCTION_WORDS.has(t.lower) || CUES_BY_LAST.has(t.lower)) e = -1;
    else {
      const folded = foldName(t.text);
      let known = knownName(t, folded);
      let word = isWord(t, folded);
      if (t.text.includes('-')) {
        // "Owusu-Ansah", "Seo-yeon": a name if a part is one; a word if every part is ("Follow-up").
        const parts = t.text
          .split('-')
          .filter(Boolean)
          .map((p) => ({ ...t, text: p, lower: p.toLowerCase() }));
        known ||= parts.some((p) => knownName(p, foldName(p.text)) && !isWord(p, foldName(p.text)));
        word = parts.every((p) => isWord(p, foldName(p.text)));
      }
      if (known) e = word ? 0.5 : 2;
      else if (word) e = 0;
      else if (/^(o['’]|mc|mac|d['’]|al-|el-)\p{Lu}/u.test(t.text)) e = 2;
      else if (!data) e = 0.5;
      else {
        const like = nameLikeness(folded, data);
        e = like > 0.3 ? 1 : 0.5;
      }
    }
    evidenceCache.set(t.text, e);
    return e;
  };

  /** The cue that ends right before token i, if any. */
  const cueBefore = (i: number): Cue['kind'] | undefined => {
    if (i === 0) return undefined;
    const g = gap(i);
    if (/[.!?…;]/.test(g) && !/^\.\s/.test(g)) return undefined;
    const last = tokens[i - 1].lower + (g.trimStart().startsWith(':') ? ':' : '');
    const candidates = CUES_BY_LAST.get(last) ?? CUES_BY_LAST.get(tokens[i - 1].lower);
    if (!candidates) return undefined;
    for (const cue of candidates) {
      const k = cue.words.length;
      if (i - k < 0) continue;
      let ok = true;
      for (let j = 0; j < k - 1 && ok; j++) {
        const t = tokens[i - k + j];
        ok = t.lower === cue.words[j] && /^\s+$/.test(gap(i - k + j + 1));
      }
      if (!ok) continue;
      // The cue starts a clause ("…, I'm Ana" but not "what I'm seeing" — that one fails later anyway).
      if (cue.kind === 'signature' && !/^[,:]?\s*(\n|,|$)|^,\s/.test(g) && !g.includes('\n')) continue;
      if (cue.kind === 'signature' && !/[,\n:]/.test(g)) continue;
      return cue.kind;
    }
    return undefined;
  };

  let i = 0;
  while (i < n) {
    const t = tokens[i];
    // Glued to a preceding letter or a placeholder ("<PERSON_1>"): not a word start.
    if (t.start > 0 && /[\p{L}\p{N}_<]/u.test(text[t.start - 1])) {
      i++;
      continue;
    }
    let cue = cueBefore(i);
    // German "im" is not "I'm".
    if (cue && i > 0 && tokens[i - 1].lower === 'im' && foreignScore[sentenceOf[i]] > 0) cue = undefined;
    const titled = i > 0 && isTitle(tokens[i - 1]) && !/[,;]/.test(gap(i));
    const sentenceStart = sentenceStartAt(i) && !cue && !titled;
    const lowerOk = cue === 'strong';
    if (!t.cap && !lowerOk && !(cue === 'weak' && !t.cap)) {
      i++;
      continue;
    }

    // An organisation of two names ("Johnson & Johnson", "Ben & Jerry's").
    if (i + 1 < n && /^ ?& ?$/.test(gap(i + 1)) && lex.notNames.has(`${t.lower} & ${tokens[i + 1].lower}`)) {
      i += 2;
      continue;
    }
    // A place or organisation of two or three words ("Hong Kong", "Rio de Janeiro").
    if (i + 1 < n && gap(i + 1) === ' ') {
      const two = `${t.lower} ${tokens[i + 1].lower}`;
      if (lex.notNames.has(two) || lex.notNames.has(`${foldName(t.text)} ${foldName(tokens[i + 1].text)}`)) {
        i += 2;
        continue;
      }
      if (i + 2 < n && gap(i + 2) === ' ' && lex.notNames.has(`${two} ${tokens[i + 2].lower}`)) {
        i += 3;
        continue;
      }
    }
    // Grow a run of name words from token i.
    let j = i; // next token to read
    let words = 0;
    let score = 0;
    let firstGiven = false;
    let end = t.end;
    let strongWords = 0;
    let allLower = true;
    while (j < n && j - i < MAX_RUN) {
      const w = tokens[j];
      if (j > i) {
        const g = gap(j);
        const initialGap = /^\.\s$/.test(g) && tokens[j - 1].text.length === 1;
        if (!(g === ' ' || g === '\u00a0' || initialGap)) break;
      }
      // A particle joins only between name words.
      if (
        words > 0 &&
        PARTICLES.has(w.lower) &&
        !(w.cap && LOWER_ONLY_PARTICLES.has(w.lower)) &&
        !(allLower && (w.lower === 'y' || w.lower === 'e'))
      ) {
        let k = j;
        while (k < n && k - i < MAX_RUN && PARTICLES.has(tokens[k].lower) && gap(k) === ' ') k++;
        const after = tokens[k];
        if (k < n && gap(k) === ' ' && (after.cap || (!allLower ? false : lowerOk)) && !isNever(after)) {
          const e = evidence(k);
          // One particle needs a name word after it ("da Silva", not "das Problem"); two make a
          // surname of any word ("de la Tour", "van der Berg").
          if (e >= (k - j >= 2 && !allLower ? 0 : 0.5) && !FUNCTION_WORDS.has(after.lower)) {
            words++;
            score += Math.max(e, 1);
            end = after.end;
            j = k + 1;
            continue;
          }
        }
        break;
      }
      // An initial ("Julia Y. Patel").
      if (words > 0 && /^\p{Lu}$/u.test(w.text) && text[w.end] === '.' && tokens[j + 1]?.cap) {
        end = w.end + 1;
        j++;
        continue;
      }
      if (!w.cap) {
        // Lower case only right after a cue (typed on a phone), and never a plain word. All capitals
        // are an acronym ("Hello, AI is…", "a signed PDF"), not a name typed on a phone.
        if (!(cue === 'strong' || cue === 'weak') || (words > 0 && !allLower)) break;
        if (w.text !== w.lower) break;
        const e = evidence(j);
        if (e <= 0) break;
        if (cue === 'weak' && words === 0 && e < 2) break;
        if (e === 0.5 && words === 0 && !knownGiven(w, foldName(w.text))) {
          // An unknown lower-case word after "my name is" must at least look like a name.
          if (!data || nameLikeness(foldName(w.text), data) < 0) break;
        }
        words++;
        score += e;
        if (e === 2) strongWords++;
        end = w.end;
        j++;
        continue;
      }
      // After lower-case words ("hi its deepika"), a capitalised one starts something else.
      if (words > 0 && allLower && cue !== 'strong') break;
      allLower = false;
      let e = evidence(j);
      // "Li Na": a capitalised function word of some language that is also a known name.
      if (e < 0 && words >= 1 && FUNCTION_WORDS.has(w.lower) && !isNever(w) && knownName(w, foldName(w.text)))
        e = 0.5;
      // After a known given name a capitalised word is a surname even when it is also a word
      // ("Grace White", "Robert Brown"); after another known name, when it at least looks like one
      // ("Zhao Lei").
      if (e === 0 && words === 1 && !isNever(w) && !FUNCTION_WORDS.has(w.lower)) {
        const folded = foldName(w.text);
        if (firstGiven && (lex.firstNames.has(tokens[i].lower) || evidence(i) === 2)) e = 0.5;
        else if (evidence(i) === 2 && (data?.english.has(folded) || data?.common.has(folded))) e = 0.5;
      }
      // Right after a strong cue or a title, capitalised words are the name even when they are also
      // words ("My name is Chukwuemeka Obi").
      if (e === 0 && (cue === 'strong' || titled) && !isNever(w) && !FUNCTION_WORDS.has(w.lower)) e = 0.5;
      if (e < 0 || (e === 0 && !(cue && words === 0))) break;
      if (words === 0) firstGiven = knownGiven(w, foldName(w.text)) && e >= 0.5;
      words++;
      score += e;
      if (e === 2) strongWords++;
      end = w.end;
      j++;
    }
    if (words === 0) {
      i = j > i ? j : i + 1;
      continue;
    }

    let accept = false;
    let confidence = 0.75;
    if (cue === 'strong' || titled) {
      accept = true;
      confidence = 0.9;
    } else if (cue === 'signature') {
      accept = score >= 0.5 || words >= 2;
      confidence = 0.85;
    } else if (cue === 'weak') {
      // "I'm Becky", "soy Ximena Quispe", but not "I'm Fine" or "ich bin Kunde".
      accept = strongWords >= 1 || (words >= 2 && score >= 2) || (allLower ? false : score >= 1);
      confidence = 0.85;
    } else if (words >= 2) {
      // Two or more capitalised words, none an English word, place or organisation. At a sentence
      // start the first may be a word of another language ("Ieri Graziella Ferrante"): unless it is a
      // known name, read the run again from the second word.
      const firstE = evidence(i);
      const second = tokens[i + 1];
      if (
        sentenceStart &&
        firstE < 2 &&
        words >= 3 &&
        evidence(i + 1) === 2 &&
        knownGiven(second, foldName(second.text))
      ) {
        i++;
        continue;
      }
      accept = score >= 1 && (strongWords >= 1 || foreignScore[sentenceOf[i]] < 1);
      confidence = strongWords >= 1 ? 0.85 : 0.75;
    } else if (firstGiven && evidence(i) === 2) {
      // A single known given name: not at a sentence start, where "Mark" and "Chase" are often words,
      // unless a verb follows ("Anna said").
      if (!sentenceStart) accept = true;
      else {
        const follower = text.slice(end, end + 32).match(/^\s*([,;:.!?)]|\p{L}[\p{L}'’-]*)/u)?.[1] ?? '.';
        const tags = lex.commonWords.get(follower.toLowerCase()) ?? [];
        accept =
          /^[,;:.!?)]$/.test(follower) || tags.some((tag) => VERB_TAGS.has(tag)) || /ed$/.test(follower);
      }
      confidence = 0.6;
    }
    if (accept) {
      found.push(finding('PERSON', t.start, end, withContext(text, t.start, confidence, CONTEXT)));
      i = j;
    } else i++;
  }
  return found;
}

export const personRecognizer: Recognizer = { type: 'PERSON', find: findPeople };

export { loadNameData } from './names';
export type { NameData };
