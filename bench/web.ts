// `npm run bench -- web`: builds the SPA and reports what a first visit downloads, gzipped: the
// main-thread JS (the entry chunk and everything it imports statically), the lab worker's initial
// chunk, and the chunks fetched only on demand (pages, governance models, tfjs, wasm binaries).
// The budget from issue 6 is 300 KB of gzipped JS before the worker lazily loads tfjs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, 'dist/web');
const assets = join(outDir, 'assets');

const gzipKb = (file: string) => gzipSync(readFileSync(join(assets, file)), { level: 9 }).length / 1024;

/** A chunk and every chunk it imports statically (top-level `import … from "./x.js"`). */
function staticClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(join(assets, file), 'utf8');
    for (const m of code.matchAll(
      /(?:^|[;\n}])\s*import\s*(?:[\w*{}\s,$]+from\s*)?["']\.\/([^"']+\.js)["']/g,
    ))
      visit(m[1]);
  };
  visit(entry);
  return [...seen];
}

export async function run(flags: string[]) {
  const started = performance.now();
  if (!flags.includes('--no-build'))
    await build({ root: join(root, 'web'), configFile: join(root, 'vite.config.ts'), logLevel: 'warn' });
  const buildSeconds = (performance.now() - started) / 1000;
  const html = readFileSync(join(outDir, 'index.html'), 'utf8');
  const entry = html.match(/src="\/assets\/([^"]+\.js)"/)?.[1];
  if (!entry) throw new Error('no entry script in dist/web/index.html');
  const files = readdirSync(assets);
  const worker = files.find((f) => /^lab\.worker-.*\.js$/.test(f));
  if (!worker) throw new Error('no lab worker chunk in dist/web/assets');
  const mainThread = staticClosure(entry);
  const workerInitial = staticClosure(worker);
  const css = files.filter((f) => f.endsWith('.css') && f.startsWith('index-'));
  const initial = new Set([...mainThread, ...workerInitial]);
  const lazyJs = files.filter((f) => f.endsWith('.js') && !initial.has(f));
  const wasm = files.filter((f) => f.endsWith('.wasm'));
  const sum = (list: string[]) => Math.round(list.reduce((n, f) => n + gzipKb(f), 0) * 10) / 10;
  const firstLoadJsKb = sum([...initial]);
  const largestLazy = lazyJs
    .map((f) => ({ file: f, gzipKb: Math.round(gzipKb(f) * 10) / 10 }))
    .sort((a, b) => b.gzipKb - a.gzipKb)
    .slice(0, 6);
  return {
    buildSeconds: Math.round(buildSeconds * 10) / 10,
    firstLoad: {
      mainThreadJsGzipKb: sum(mainThread),
      labWorkerInitialJsGzipKb: sum(workerInitial),
      totalJsGzipKb: firstLoadJsKb,
      cssGzipKb: sum(css),
      budgetKb: 300,
      withinBudget: firstLoadJsKb <= 300,
    },
    onDemand: { jsGzipKb: sum(lazyJs), wasmGzipKb: sum(wasm), largest: largestLazy },
    checks: {
      // tfjs, compromise and wink must stay out of what the first visit downloads.
      tfjsInFirstLoad: [...initial].some((f) => /registerKernel/.test(readFileSync(join(assets, f), 'utf8'))),
      nlpInFirstLoad: [...initial].some((f) =>
        /wink-nlp|compromise/.test(readFileSync(join(assets, f), 'utf8')),
      ),
    },
  };
}
