// `npm run bench -- [suite ...]`: runs benchmark suites (bench/<suite>.ts, each exporting
// `run(args)`), printing one JSON object per suite on stdout. With no suite named, runs them all.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();

const args = process.argv.slice(2);
const requested = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
const suites = requested.length > 0 ? requested : available;
for (const suite of suites) {
  if (!available.includes(suite)) {
    console.error(`bench: unknown suite '${suite}' (available: ${available.join(', ') || 'none'})`);
    process.exit(2);
  }
}
for (const suite of suites) {
  const module = (await import(`./${suite}.ts`)) as { run: (flags: string[]) => Promise<unknown> };
  const result = await module.run(flags);
  console.log(JSON.stringify({ suite, ...(result as object) }, null, 2));
}
process.exit(0);
