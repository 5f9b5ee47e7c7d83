// The name data for bundlers (vite: the lab's and the governance worker). Node loads name-data.node.js
// instead (package.json "imports", `#name-data`). name-data.json (~230 KB, ~95 KB gzipped) is a chunk of
// its own, fetched by loadNameData() before the worker's first govern, so the first load stays small.

let loaded: string | undefined;
let loading: Promise<string> | undefined;

/** The JSON text of name-data.json, if already loaded. */
export const nameDataTextNow = (): string | undefined => loaded;

/** The same, once loaded. */
export function loadNameDataText(): Promise<string> {
  loading ??= import('./name-data.json?raw').then((m: { default: string }) => {
    loaded = m.default;
    return loaded;
  });
  return loading;
}
