import nspell from 'nspell';
import { dictionariesNow, loadDictionaries } from '#dictionaries';

// Spelling against a maintained Hunspell dictionary (nspell, a Hunspell-compatible checker, with
// wooorm's dictionary-en and dictionary-en-gb). A word passes if either variant has it: replies are
// written in British English (the SFT corpus says "apologise", "behaviour") and visitors write both.
// The two packages share one affix file, so their word lists are merged into one checker: 50,898
// stems, built in ~0.3 s and ~22 MB of heap on this machine (two separate checkers: 2 × 0.43 s, 48 MB;
// nspell's own `dictionary()` for adding the second list accepted every string when tried).

export interface Speller {
  /** Is this one word (letters, inner apostrophes) spelled as in the dictionary? */
  correct(word: string): boolean;
}

/** A speller over one affix file and word lists that share it (lines are merged, duplicates kept once). */
export function createSpeller(aff: string, dics: readonly string[]): Speller {
  const stems = new Set<string>();
  for (const dic of dics) {
    // The first line of a .dic file is its entry count.
    for (const line of dic.split('\n').slice(1)) if (line.trim()) stems.add(line.trimEnd());
  }
  const checker = nspell({ aff, dic: `${stems.size}\n${[...stems].join('\n')}\n` });
  const cache = new Map<string, boolean>();
  return {
    correct(word) {
      let known = cache.get(word);
      if (known === undefined) {
        known = checker.correct(word);
        if (cache.size < 50_000) cache.set(word, known);
      }
      return known;
    },
  };
}

let shared: Speller | undefined;

/**
 * The process's speller over the bundled dictionaries, built on first use. Under Node the files are
 * there from the start; a browser fetches them on demand, so code that scores replies there awaits
 * `loadSpeller()` first (the feedback agent does, before every rollout).
 */
export function defaultSpeller(): Speller {
  if (!shared) {
    const files = dictionariesNow();
    if (!files) throw new Error('the spelling dictionaries are not loaded yet: await loadSpeller() first');
    shared = createSpeller(files.aff, files.dics);
  }
  return shared;
}

/** Loads the dictionaries if needed and returns the process's speller. */
export async function loadSpeller(): Promise<Speller> {
  await loadDictionaries();
  return defaultSpeller();
}
