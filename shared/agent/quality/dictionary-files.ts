// The dictionary files inlined by the bundler (see dictionaries.browser.ts). The packages export only
// their Node loader (which reads the files with node:fs), so the files are imported by path.
import aff from '../../../node_modules/dictionary-en/index.aff?raw';
import enDic from '../../../node_modules/dictionary-en/index.dic?raw';
import gbDic from '../../../node_modules/dictionary-en-gb/index.dic?raw';

/** The affix file (identical in both packages) and the two word lists. */
export const dictionaries = { aff, dics: [enDic, gbDic] };
