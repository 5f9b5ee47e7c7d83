// The NLP models the governance pipeline leans on, loaded once per process (or worker) and shared.
// wink-nlp's English web model gives tokens, part-of-speech tags and negation-aware sentiment in well
// under a millisecond per kilobyte; compromise contributes its name lexicon (first, last and full
// names, honorifics, places), which is what a person-name recognizer needs from it. compromise's own
// tagger costs ~5 ms per kilobyte, too slow for the latency goal, so only its lexicon is used.
// Both are large: import this module only from governance code that runs in a worker or in Node.
import nlp from 'compromise/two';
import model from 'wink-eng-lite-web-model';
import winkNLP from 'wink-nlp';

export type WinkToken = {
  /** The token as written. */
  value: string;
  /** Universal POS tag from the wink model (PROPN, NOUN, NUM, ...). */
  pos: string;
  /** wink's token type: word, number, punctuation, email, url, ... */
  type: string;
  /** UTF-16 offsets into the analysed text, end exclusive. */
  start: number;
  end: number;
};

export type Analysis = { tokens: WinkToken[]; sentiment: number };

type Wink = ReturnType<typeof winkNLP>;
let wink: Wink | undefined;

function getWink(): Wink {
  wink ??= winkNLP(model);
  return wink;
}

/** Tokens (with offsets recovered from wink's lossless tokenization) and the document sentiment. */
export function analyze(text: string): Analysis {
  const w = getWink();
  const doc = w.readDoc(text);
  const values = doc.tokens().out(w.its.value) as string[];
  const pos = doc.tokens().out(w.its.pos) as string[];
  const types = doc.tokens().out(w.its.type) as string[];
  const tokens: WinkToken[] = [];
  let cursor = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    // wink keeps every token's text verbatim, so searching forward from the cursor finds it; the
    // fallback keeps offsets sane should a future model ever normalise a token.
    const found = text.indexOf(value, cursor);
    const start = found >= 0 ? found : cursor;
    const end = found >= 0 ? start + value.length : cursor;
    tokens.push({ value, pos: pos[i], type: types[i], start, end });
    cursor = end;
  }
  return { tokens, sentiment: doc.out(w.its.sentiment) as number };
}

export type NameLexicon = {
  firstNames: Set<string>;
  lastNames: Set<string>;
  /** Words compromise tags as a person on their own (e.g. "Taylor", "Jordan"). */
  personWords: Set<string>;
  honorifics: Set<string>;
  /** Places, organisations, months and days: capitalised words that are not names. */
  notNames: Set<string>;
};

let lexicon: NameLexicon | undefined;

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
  };
  for (const [word, tag] of Object.entries(words)) {
    const tags = Array.isArray(tag) ? tag : [tag];
    if (tags.some((t) => t === 'FirstName' || t === 'MaleName' || t === 'FemaleName'))
      result.firstNames.add(word);
    else if (tags.includes('LastName')) result.lastNames.add(word);
    else if (tags.includes('Person')) result.personWords.add(word);
    else if (tags.includes('Honorific')) result.honorifics.add(word);
    else if (
      tags.some((t) =>
        ['City', 'Country', 'Region', 'Place', 'Organization', 'Month', 'WeekDay', 'Demonym'].includes(t),
      )
    )
      result.notNames.add(word);
  }
  lexicon = result;
  return result;
}
