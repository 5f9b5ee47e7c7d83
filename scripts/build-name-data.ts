// Builds shared/governance/pii/names/name-data.json, the name data the PERSON recognizer reads:
// given names and surnames from @faker-js/faker's locale definitions (MIT; Latin-script locales, and
// the Korean ones romanised by the Revised Romanization, which is a rule and needs no table), folded
// for lookup (foldName: no case, no diacritics), plus a character-trigram "name-likeness" table trained
// here on those names against English words (dictionary-en's lower-case stems with their -s/-ed/-ing
// forms). Locales of the culture families held out for evaluation (HELD_OUT) are left out, so
// bench/fixtures/governance/names.jsonl's test half measures names the data never saw.
//   node bin/tsx.mjs scripts/build-name-data.ts           writes the file
//   node bin/tsx.mjs scripts/build-name-data.ts --check   exits 1 if the committed file differs
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allLocales } from '@faker-js/faker';
import { foldName } from '../shared/governance/pii/names/fold';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(root, 'shared/governance/pii/names/name-data.json');
const require = createRequire(import.meta.url);
const fakerVersion = (require('@faker-js/faker/package.json') as { version: string }).version;
const dictionaryVersion = JSON.parse(
  readFileSync(join(root, 'node_modules/dictionary-en/package.json'), 'utf8'),
).version as string;

/** Culture families held out of the data for evaluation, with the faker locales that carry them. */
export const HELD_OUT: Record<string, string[]> = {
  'west-african': ['en_GH', 'en_NG', 'yo_NG', 'fr_SN'],
  'southern-african': ['zu_ZA'],
  turkic: ['tr', 'az', 'uz_UZ_latin', 'ku_kmr_latin'],
  nordic: ['da', 'nb_NO', 'sv', 'fi'],
  // East African, Pacific, Indigenous and Celtic names have no faker locale: held out by construction.
};
const excluded = new Set(Object.values(HELD_OUT).flat());

type Person = { first_name?: unknown; last_name?: unknown };
const flat = (x: unknown): string[] =>
  !x
    ? []
    : Array.isArray(x)
      ? x.flatMap(flat)
      : typeof x === 'object'
        ? Object.values(x).flatMap(flat)
        : [String(x)];

// Revised Romanization of Hangul syllables (initial, vowel, final jamo).
const INITIAL = 'g kk n d tt r m b pp s ss - j jj ch k t p h'.split(' ').map((s) => (s === '-' ? '' : s));
const VOWEL = 'a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i'.split(' ');
const FINAL = '- k k k n n n t l k m l l l p l m p p t t ng t t k t p t'
  .split(' ')
  .map((s) => (s === '-' ? '' : s));
function romaniseHangul(word: string): string | undefined {
  let out = '';
  for (const ch of word) {
    const code = ch.codePointAt(0)! - 0xac00;
    if (code < 0 || code >= 11172) return undefined;
    const initial = INITIAL[Math.floor(code / 588)];
    out +=
      (out === '' && initial === 'r' ? 'r' : initial) +
      VOWEL[Math.floor((code % 588) / 28)] +
      FINAL[code % 28];
  }
  return out;
}

const LATIN = /^[\p{Script=Latin}\p{M}'’ -]+$/u;
const given = new Set<string>();
const surnames = new Set<string>();
const used: string[] = [];
for (const [code, definition] of Object.entries(allLocales).sort(([a], [b]) => a.localeCompare(b))) {
  if (excluded.has(code)) continue;
  const person = (definition as { person?: Person }).person;
  if (!person) continue;
  let added = 0;
  for (const [field, target] of [
    ['first_name', given],
    ['last_name', surnames],
  ] as const) {
    for (const entry of flat(person[field])) {
      for (const part of entry.normalize('NFC').split(/[\s-]+/)) {
        let key: string | undefined;
        if (code === 'ko') key = romaniseHangul(part);
        else if (LATIN.test(part)) key = foldName(part);
        if (!key || key.length < 2 || !/^[a-z]+$/.test(key)) continue;
        target.add(key);
        added++;
      }
    }
  }
  if (added > 0) used.push(code);
}

// English words: dictionary-en's lower-case stems, with the regular forms its affix flags allow.
const english = new Set<string>();
for (const line of readFileSync(join(root, 'node_modules/dictionary-en/index.dic'), 'utf8')
  .split('\n')
  .slice(1)) {
  const [stem, flags = ''] = line.trim().split('/');
  if (!/^[a-z]+$/.test(stem)) continue;
  english.add(stem);
  if (/[SZ]/.test(flags)) english.add(/(s|x|z|ch|sh)$/.test(stem) ? `${stem}es` : `${stem}s`);
  if (flags.includes('D')) english.add(stem.endsWith('e') ? `${stem}d` : `${stem}ed`);
  if (flags.includes('G')) english.add(stem.endsWith('e') ? `${stem.slice(0, -1)}ing` : `${stem}ing`);
  if (flags.includes('Y')) english.add(`${stem}ly`);
}
const names = new Set([...given, ...surnames]);
const common = [...names].filter((n) => english.has(n)).sort();

// Trigram log-likelihood ratio, names against English words, quantised to quarter nats.
const trigrams = (word: string) => {
  const padded = `_${word}_`;
  const out: string[] = [];
  for (let i = 0; i + 3 <= padded.length; i++) out.push(padded.slice(i, i + 3));
  return out;
};
const count = (words: Iterable<string>) => {
  const counts = new Map<string, number>();
  let total = 0;
  for (const w of words)
    for (const t of trigrams(w)) {
      counts.set(t, (counts.get(t) ?? 0) + 1);
      total++;
    }
  return { counts, total };
};
const nameCounts = count(names);
const wordCounts = count([...english].filter((w) => !names.has(w)));
const vocabulary = new Set([...nameCounts.counts.keys(), ...wordCounts.counts.keys()]);
const ALPHA = 0.5;
/** Mirrors ENGLISH_BELOW in shared/governance/pii/names/index.ts. */
const ENGLISH_BELOW = -0.5;
const table: string[] = [];
const quantised = new Map<string, number>();
for (const t of [...vocabulary].sort()) {
  const cn = nameCounts.counts.get(t) ?? 0;
  const cw = wordCounts.counts.get(t) ?? 0;
  if (cn + cw < 3) continue;
  const llr =
    Math.log((cn + ALPHA) / (nameCounts.total + ALPHA * vocabulary.size)) -
    Math.log((cw + ALPHA) / (wordCounts.total + ALPHA * vocabulary.size));
  const q = Math.max(-24, Math.min(24, Math.round(llr * 4)));
  if (q !== 0) {
    table.push(`${t}${q}`);
    quantised.set(t, q);
  }
}

// English words the trigram table would call name-like (score ≥ ENGLISH_BELOW): shipped, so the recognizer
// knows them as words; an unknown word scoring below ENGLISH_BELOW is taken for an English word.
const score = (word: string) => {
  const grams = trigrams(word);
  return grams.reduce((sum, t) => sum + (quantised.get(t) ?? 0) / 4, 0) / grams.length;
};
const nameLike = [...english].filter((w) => !names.has(w) && score(w) >= ENGLISH_BELOW).sort();

const data = {
  about:
    'Generated by scripts/build-name-data.ts; do not edit by hand. Keys are folded (foldName: lower case, no diacritics, apostrophes or hyphens).',
  source: { package: '@faker-js/faker', version: fakerVersion, license: 'MIT', locales: used },
  heldOut: HELD_OUT,
  english: {
    package: 'dictionary-en',
    version: dictionaryVersion,
    license: 'MIT AND BSD',
    words: english.size,
  },
  given: [...given].sort().join(' '),
  surnames: [...surnames].sort().join(' '),
  /** Names that are also English words ("rose", "king"): a name only with support. */
  common: common.join(' '),
  /** English words (not names) that score as name-like as ENGLISH_BELOW or more. */
  englishNameLike: nameLike.join(' '),
  /** Trigram (`_` pads a word) then its name-vs-English log-likelihood ratio in quarter nats. */
  trigrams: table.join(' '),
};
const text = `${JSON.stringify(data, null, 1)}\n`;
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(OUT, 'utf8');
  } catch {}
  if (committed !== text) {
    console.error(`${OUT} is not what scripts/build-name-data.ts produces: rerun it without --check`);
    process.exit(1);
  }
  console.log(`${OUT} is up to date`);
} else {
  writeFileSync(OUT, text);
  console.log(
    `wrote ${OUT}: ${given.size} given names, ${surnames.size} surnames, ${common.length} also English, ` +
      `${table.length} trigrams, ${nameLike.length} name-like English words, ${text.length} bytes, from ${used.length} locales`,
  );
}
