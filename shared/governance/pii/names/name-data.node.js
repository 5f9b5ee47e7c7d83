// The name data for Node (package.json "imports", `#name-data`): read from disk when this module is
// imported, so the synchronous recognizer has it from the start. The browser fetches the same file on
// demand as a chunk of its own (name-data.browser.ts).
import { readFileSync } from 'node:fs';

const text = readFileSync(new URL('./name-data.json', import.meta.url), 'utf8');

/** The JSON text of name-data.json, if already loaded. */
export const nameDataTextNow = () => text;

/** The same, once loaded. */
export const loadNameDataText = async () => text;
