// The NLP models the governance pipeline leans on, loaded once per process (or worker) and shared.
// wink-nlp's English web model scored sentiment until issue 18 (it is now the sentiment bench's
// baseline); compromise contributes its lexicon (first, last and full names, honorifics, places, and
// the parts of speech of ~14k common words), which is what the person-name recognizer needs. Taggers
// are not run per text: wink's part-of-speech pass and compromise's tagger (~5 ms per KB) would break
// the latency goal.
// Both libraries are large: import this module only from code that runs in a worker or in Node.
import nlp from 'compromise/two';
import model from 'wink-eng-lite-web-model';
import winkNLP from 'wink-nlp';

type Wink = ReturnType<typeof winkNLP>;
let wink: Wink | undefined;

/**
 * Sentiment reads at most this many tokens (about 24 KB of prose): wink's cost is per token, and a
 * 100 KB run of punctuation would otherwise be 100k tokens. The opening of a text carries its tone.
 */
export const SENTIMENT_TOKEN_BUDGET = 6000;

/**
 * Sentiment reads each token's first this-many characters: wink's tokenizer is quadratic in a token's
 * length (one 20 KB token took 262 ms, 10 KB 66 ms, 5 KB 22 ms), and no word of its lexicon is longer.
 */
export const SENTIMENT_TOKEN_CHARS = 64;

const LONG_TOKEN = new RegExp(`[\\p{L}\\p{N}]{${SENTIMENT_TOKEN_CHARS + 1},}`, 'gu');

function withinTokenBudget(text: string): string {
  const token = /[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu;
  let count = 0;
  let bounded = text;
  for (let m = token.exec(text); m; m = token.exec(text)) {
    if (++count > SENTIMENT_TOKEN_BUDGET) {
      bounded = text.slice(0, m.index);
      break;
    }
  }
  return bounded.replace(LONG_TOKEN, (long) => long.slice(0, SENTIMENT_TOKEN_CHARS));
}

/**
 * wink-nlp's document sentiment in [-1, 1] ("not happy" is negative, "not bad" positive). Governance
 * no longer uses it (sentiment.ts has its own feedback sentiment since issue 18); the sentiment bench
 * keeps it as the baseline, and scripts/novel-words.ts as a lexicon check.
 */
export function sentimentScore(text: string): number {
  // Sentence boundaries and negation are all sentiment needs; the POS and entity passes are skipped.
  wink ??= winkNLP(model, ['sbd', 'negation', 'sentiment']);
  return wink.readDoc(withinTokenBudget(text)).out(wink.its.sentiment) as unknown as number;
}

export type NameLexicon = {
  firstNames: Set<string>;
  lastNames: Set<string>;
  /** Words compromise tags as a person on their own (e.g. "Taylor", "Jordan"). */
  personWords: Set<string>;
  honorifics: Set<string>;
  /** Places, organisations, months and days: capitalised words that are not names. */
  notNames: Set<string>;
  /** Other known words (verbs, adjectives, determiners, ...) with their tags. */
  commonWords: Map<string, string[]>;
};

let lexicon: NameLexicon | undefined;

const NOT_NAME_TAGS = ['City', 'Country', 'Region', 'Place', 'Organization', 'Month', 'WeekDay', 'Demonym'];

/** compromise's lexicon split into the sets a name recognizer needs (lower-case keys). */
export function nameLexicon(): NameLexicon {
  if (lexicon) return lexicon;
  const words = (nlp.model() as { one: { lexicon: Record<string, string | string[]> } }).one.lexicon;
  const result: NameLexicon = {
    firstNames: new Set(),
    lastNames: new Set(),
    personWords: new Set(),
    honorifics: new Set(),
    notNames: new Set(),
    commonWords: new Map(),
  };
  for (const [word, tag] of Object.entries(words)) {
    const tags = Array.isArray(tag) ? tag : [tag];
    if (tags.some((t) => t === 'FirstName' || t === 'MaleName' || t === 'FemaleName'))
      result.firstNames.add(word);
    else if (tags.includes('LastName')) result.lastNames.add(word);
    else if (tags.includes('Person')) result.personWords.add(word);
    else if (tags.includes('Honorific')) result.honorifics.add(word);
    else if (tags.some((t) => NOT_NAME_TAGS.includes(t))) result.notNames.add(word);
    else result.commonWords.set(word, tags);
  }
  lexicon = result;
  return result;
}
