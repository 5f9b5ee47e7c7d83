// The name data the PERSON recognizer reads (name-data.json, built by scripts/build-name-data.ts from
// @faker-js/faker's locales): folded given names and surnames, the ones that are also English words,
// and a trigram table that scores how much a word looks like a name rather than an English word.
// Under Node it is there from the start; a browser worker awaits loadNameData() before its first
// govern (the recognizer still runs without it, on compromise's lexicon alone, and starts the load).
import { loadNameDataText, nameDataTextNow } from '#name-data';

export { foldName } from './fold';

export type NameData = {
  given: ReadonlySet<string>;
  surnames: ReadonlySet<string>;
  /** Names that are also English words ("rose", "king"). */
  common: ReadonlySet<string>;
  /** English words the trigram table would call name-like ("toga"); the others score below ENGLISH_BELOW. */
  english: ReadonlySet<string>;
  trigrams: ReadonlyMap<string, number>;
};

/** An unknown word whose name-likeness is below this is taken for an English word (the build's cut). */
export const ENGLISH_BELOW = -0.5;

let parsed: NameData | undefined;

/** Parses name-data.json's text (exported for the bench, which times it). */
export function parseNameData(text: string): NameData {
  const raw = JSON.parse(text) as Record<string, string>;
  const words = (s: string) => new Set(s ? s.split(' ') : []);
  const trigrams = new Map<string, number>();
  for (const entry of raw.trigrams.split(' ')) trigrams.set(entry.slice(0, 3), Number(entry.slice(3)) / 4);
  return {
    given: words(raw.given),
    surnames: words(raw.surnames),
    common: words(raw.common),
    english: words(raw.englishNameLike),
    trigrams,
  };
}

/** The name data if loaded (always under Node); undefined in a browser until loadNameData() resolves. */
export function nameDataNow(): NameData | undefined {
  if (parsed) return parsed;
  const text = nameDataTextNow();
  if (text === undefined) return undefined;
  parsed = parseNameData(text);
  return parsed;
}

/** Loads (in a browser, fetches the chunk) and parses the name data; await it before the first govern. */
export async function loadNameData(): Promise<void> {
  await loadNameDataText();
  nameDataNow();
}

/**
 * Mean trigram log-likelihood ratio of a folded word, names against English words: above 0 it looks
 * more like a name ("oluwaseun" ≈ 1.2), below like an English word ("settings" ≈ -1.1). Needs the data.
 */
export function nameLikeness(folded: string, data: NameData): number {
  if (folded.length === 0) return 0;
  const padded = `_${folded}_`;
  let sum = 0;
  const n = padded.length - 2;
  for (let i = 0; i < n; i++) sum += data.trigrams.get(padded.slice(i, i + 3)) ?? 0;
  return sum / n;
}
