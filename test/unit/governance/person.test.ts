import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { badOffsets, loadNameItems, type NameItem, scoreNames } from '../../../bench/_governance-names';
import { detectPii } from '../../../shared/governance';
import { foldName, loadNameData, nameDataNow, nameLikeness } from '../../../shared/governance/pii/names';
import { personRecognizer } from '../../../shared/governance/pii/person';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const people = (text: string) =>
  detectPii(text, { types: ['PERSON'] }).map((f) => text.slice(f.start, f.end));

describe('name data', () => {
  it('is loaded under Node from the start, and loadNameData resolves', async () => {
    expect(nameDataNow()).toBeDefined();
    await expect(loadNameData()).resolves.toBeUndefined();
  });
  it('folds case and diacritics for lookup', () => {
    expect(foldName('José')).toBe('jose');
    expect(foldName('Øystein')).toBe('oystein');
    expect(foldName('Łukasz')).toBe('lukasz');
    expect(foldName("O'Brien")).toBe('obrien');
    const data = nameDataNow()!;
    expect(data.given.has(foldName('José'))).toBe(true);
    expect(data.given.has(foldName('Zoë'))).toBe(data.given.has('zoe'));
  });
  it('scores names above English words', () => {
    const data = nameDataNow()!;
    for (const name of ['oluwaseun', 'wanjiru', 'nakamura', 'kalani'])
      expect(nameLikeness(name, data)).toBeGreaterThan(0.3);
    for (const word of ['settings', 'dashboard', 'upload', 'export'])
      expect(nameLikeness(word, data)).toBeLessThan(-0.5);
  });
  it('leaves the held-out locales out and is what the build script produces', () => {
    const data = JSON.parse(readFileSync(`${root}shared/governance/pii/names/name-data.json`, 'utf8')) as {
      source: { locales: string[] };
      heldOut: Record<string, string[]>;
    };
    for (const locale of Object.values(data.heldOut).flat())
      expect(data.source.locales).not.toContain(locale);
    // Exits 1 when the committed file differs from what the script builds.
    execFileSync(process.execPath, ['bin/tsx.mjs', 'scripts/build-name-data.ts', '--check'], {
      cwd: root,
      stdio: 'pipe',
    });
  }, 60_000);
});

describe('PERSON: cues in six languages', () => {
  it.each([
    ['My name is Priya Ramanathan and the export fails.', 'Priya Ramanathan'],
    ["Hi, I'm Kwame Mensah, the app freezes.", 'Kwame Mensah'],
    ['Soy Ximena Quispe y la app no carga.', 'Ximena Quispe'],
    ['Me llamo Lucía Fernández García, no puedo entrar.', 'Lucía Fernández García'],
    ["Je m'appelle Léa Fontaine et l'export plante.", 'Léa Fontaine'],
    ['Ich bin Jürgen Schäfer und die App stürzt ab.', 'Jürgen Schäfer'],
    ['Ich heiße Friederike Brandt, das Passwort geht nicht.', 'Friederike Brandt'],
    ['Meu nome é João Pedro Carvalho e o app trava.', 'João Pedro Carvalho'],
    ["Mi chiamo Giulia Bianchi e l'app si blocca.", 'Giulia Bianchi'],
    ['Sono Francesca Esposito, non riesco ad accedere.', 'Francesca Esposito'],
  ])('%s', (text, name) => {
    expect(people(text)).toEqual([name]);
  });
  it('takes lower-case names after a cue (typed on a phone)', () => {
    expect(people('my name is priya ramanathan and i cant log in')).toEqual(['priya ramanathan']);
    expect(people('me llamo inés herrera y el pago aparece dos veces')).toEqual(['inés herrera']);
    expect(people('hi its deepika again, the upload is stuck')).toEqual(['deepika']);
  });
  it('does not take the word after a weak cue for a name', () => {
    expect(people("I'm frustrated, the upload failed. Soy cliente desde hace años.")).toEqual([]);
    expect(people('Ich bin sehr enttäuscht. Je suis très déçu. Sono molto deluso.')).toEqual([]);
    expect(people('My name is on the invoice but the address is wrong.')).toEqual([]);
  });
  it('reads signatures', () => {
    expect(people('Regards,\nHarriet Cole-Peterson')).toEqual(['Harriet Cole-Peterson']);
    expect(people('Thanks, Duncan')).toEqual(['Duncan']);
    expect(people('Kind regards, The Acme Team')).toEqual([]);
  });
});

describe('PERSON: particles and multi-part names', () => {
  it.each([
    'Pieter van der Berg',
    'Caetano Ribeiro da Silva',
    'Mohammed bin Rashid Al Nuaimi',
    'Rhodri ap Gwilym',
    'Siobhán Ní Bhriain',
    'Cathal Mac Giolla Phádraig',
    "Niamh O'Sullivan",
    'Hélène de la Tour',
    'Abena Owusu-Ansah',
    'Kim Min-jun',
  ])('%s', (name) => {
    expect(people(`I forwarded the crash log to ${name} yesterday.`)).toEqual([name]);
  });
  it('does not stretch a name over an article and a noun', () => {
    expect(people('Gestern hat Sabine Wendland das Problem auch gemeldet.')).toEqual(['Sabine Wendland']);
  });
});

describe('PERSON: names without a cue', () => {
  it('finds two or more capitalised name words mid-sentence and at a sentence start', () => {
    expect(people('I spoke with Aminata Diallo and she was kind.')).toEqual(['Aminata Diallo']);
    expect(people('Yossi Mizrahi from our Haifa office cannot log in.')).toEqual(['Yossi Mizrahi']);
    expect(people('Ieri Graziella Ferrante ha provato a pagare.')).toEqual(['Graziella Ferrante']);
  });
  it('keeps the whole name, never a part of it', () => {
    expect(people('Lee Seo-yeon from our Seoul office reports slow loading.')).toEqual(['Lee Seo-yeon']);
  });
});

describe('PERSON: precision', () => {
  it.each([
    'Paris was lovely but the offline maps did not load there.',
    'Apple Music keeps stopping when I open your app.',
    'The Settings page crashes on every click.',
    'Great Wall photos will not upload.',
    'Dear Support team, the invoice is wrong again.',
    'Google Drive sync stopped working after the update.',
    'Rio de Janeiro and São Paulo both show the wrong time zone.',
    'The Privacy Policy link goes to a blank page.',
    "Worst banking app I've ever used. Can't even see my balance.",
    'Mark the invoice as paid. Chase the courier in June.',
    'This is Version 4.2 and it still crashes.',
    'Hong Kong and Kuala Lumpur show the wrong currency.',
    // Capitalised nouns of other languages are not English words, but not names either.
    'Die Einstellungen Seite lädt nicht.',
    'Im Bereich Datenschutz fehlt der Export.',
    'Il Servizio Clienti non risponde mai.',
    'O Banco do Brasil não aparece na lista.',
    // Acronyms after a cue, camel-case product and component names, "signed" as an adjective.
    'Hello, AI is ruining everything.',
    'Could audit logs be exported as a signed PDF report?',
    'Big thanks: CrossReferenceValidator stopped our assistant.',
    'Big thanks: BoundaryEnforcer stopped our assistant from ignoring it.',
  ])('%s', (text) => {
    expect(people(text)).toEqual([]);
  });

  it('still reads names with a short inner-capital prefix, and "signed" as a signature', () => {
    expect(people('We met DeShawn Jones and LaToya Smith.')).toEqual(['DeShawn Jones', 'LaToya Smith']);
    expect(people('Signed,\nMaría José Carreño')).toEqual(['María José Carreño']);
    expect(people('The form was signed by Kwame Mensah.')).toEqual(['Kwame Mensah']);
  });
});

describe('PERSON on the held-out name set (bench/fixtures/governance/names.jsonl)', () => {
  let items: NameItem[];
  beforeAll(async () => {
    items = await loadNameItems();
  });
  it('quotes its names exactly, with ≥ 300 names over ≥ 30 culture families', () => {
    expect(badOffsets(items)).toEqual([]);
    expect(items.reduce((n, i) => n + i.names.length, 0)).toBeGreaterThanOrEqual(300);
    expect(new Set(items.filter((i) => i.names.length).map((i) => i.family)).size).toBeGreaterThanOrEqual(30);
  });
  it('keeps recall and precision at the measured floors', () => {
    // Measured 2026-12-02: build 0.972 / 0.990, test 0.939 / 0.973 (see docs/decisions.md).
    const { splits } = scoreNames(items);
    expect(splits.build.recall).toBeGreaterThanOrEqual(0.96);
    expect(splits.build.precision).toBeGreaterThanOrEqual(0.98);
    expect(splits.test.recall).toBeGreaterThanOrEqual(0.93);
    expect(splits.test.precision).toBeGreaterThanOrEqual(0.96);
  });
});

describe('PERSON in linear time', () => {
  const cpuMs = (fn: () => unknown) => {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 5; i++) {
      const before = process.cpuUsage();
      fn();
      const used = process.cpuUsage(before);
      best = Math.min(best, (used.user + used.system) / 1000);
    }
    return best;
  };
  const fill = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  it.each([
    ['capitalised words', 'Anna Maria Kofi Abena '],
    ['cues', 'my name is priya van der '],
    ['particles', 'de la van der bin ap '],
    ['hyphens', 'Owusu-Ansah-'],
  ])(
    '4× %s costs at most 10× the CPU time',
    (_, unit) => {
      // CPU time, the best of five runs, as in linear-time.test.ts. Two doublings may cost at most 10×
      // plus 20 ms: the word list's garbage collection (a step, not a slope) and a busy machine make
      // the ratio noisy (64 → 512 KB measured 7–10× on the 2-core machine at load 6); a quadratic scan
      // costs 16× per two doublings.
      const find = (text: string) => personRecognizer.find(text, []);
      const small = fill(unit, 64 * 1024);
      const large = fill(unit, 256 * 1024);
      find(small);
      find(large);
      expect(cpuMs(() => find(large))).toBeLessThanOrEqual(10 * cpuMs(() => find(small)) + 20);
    },
    60_000,
  );
});
