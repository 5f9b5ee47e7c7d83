// The Hunspell files the spelling check reads, for Node (package.json "imports", `#dictionaries`):
// dictionary-en (en-US) and dictionary-en-gb, both from wooorm/dictionaries (SCOWL word lists, MIT AND
// BSD); each package reads its own files with top-level await, so here they are there from the start.
// The browser loads the same files on demand (dictionaries.browser.ts).
import en from 'dictionary-en';
import gb from 'dictionary-en-gb';

const text = (bytes) => new TextDecoder().decode(bytes);
const dictionaries = { aff: text(en.aff), dics: [text(en.dic), text(gb.dic)] };

/** The affix file (identical in both packages) and the two word lists, if already loaded. */
export const dictionariesNow = () => dictionaries;

/** The same, once loaded. */
export const loadDictionaries = async () => dictionaries;
