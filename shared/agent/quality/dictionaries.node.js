// The Hunspell files the spelling check reads, for Node (package.json "imports", `#dictionaries`):
// dictionary-en (en-US) and dictionary-en-gb, both from wooorm/dictionaries (SCOWL word lists, MIT AND
// BSD); each package reads its own files with top-level await. The browser build inlines the same files
// (dictionaries.browser.ts).
import en from 'dictionary-en';
import gb from 'dictionary-en-gb';

const text = (bytes) => new TextDecoder().decode(bytes);

/** The affix file (identical in both packages) and the two word lists. */
export const dictionaries = { aff: text(en.aff), dics: [text(en.dic), text(gb.dic)] };
