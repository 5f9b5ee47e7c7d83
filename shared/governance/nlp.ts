// compromise's lexicon, loaded once per process (or worker) and shared: first, last and full names,
// honorifics, places, and the parts of speech of ~14k common words, which is what the person-name
// recognizer needs. Its tagger is not run per text (~5 ms per KB would break the latency goal).
// compromise is large: import this module only from code that runs in a worker or in Node.
import nlp from 'compromise/two';

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
