// The Hunspell files the spelling check reads, for bundlers (vite: the lab's worker). Node loads
// dictionaries.node.js instead (package.json "imports", `#dictionaries`). The files (1.1 MB, ~0.3 MB
// gzipped) are a chunk of their own, fetched the first time a reply is scored, so the worker's first
// load stays small.

export interface Dictionaries {
  aff: string;
  dics: string[];
}

let loaded: Dictionaries | undefined;
let loading: Promise<Dictionaries> | undefined;

/** The affix file and the two word lists, if already loaded. */
export const dictionariesNow = (): Dictionaries | undefined => loaded;

/** The same, once loaded. */
export function loadDictionaries(): Promise<Dictionaries> {
  loading ??= import('./dictionary-files').then((files) => {
    loaded = files.dictionaries;
    return loaded;
  });
  return loading;
}
