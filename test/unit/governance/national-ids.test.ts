import { describe, expect, it } from 'vitest';
import { ID_TYPES, loadIdItems, measureIds } from '../../../bench/_governance-ids';
import {
  refCodiceFiscaleCheck,
  refDniLetter,
  refLuhnCheck,
  refLuhnValid,
  refNieLetter,
  refNinoValid,
  refNirKey,
  refVerhoeffCheck,
  refVerhoeffValid,
} from '../../../bench/fixtures/governance/ids-reference';
import { detectPii } from '../../../shared/governance';
import {
  aadhaarValid,
  codiceFiscaleCheck,
  codiceFiscaleValid,
  dniLetter,
  dniValid,
  luhnValid,
  nieValid,
  ninoValid,
  nirKey,
  nirValid,
  sinValid,
  verhoeffCheckDigit,
  verhoeffValid,
} from '../../../shared/governance/pii/checksums';
import type { PiiType } from '../../../shared/governance/types';

// Check digits are tested three ways: against published examples, against an implementation
// written apart from the recognisers' (bench/fixtures/governance/ids-reference.ts) on random
// inputs, and through the recognisers on sentences written for these tests.

const spans = (text: string, types?: PiiType[]) =>
  detectPii(text, types ? { types } : {}).map((f) => [f.type, text.slice(f.start, f.end)]);

let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const randomDigits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
const randomLetter = () => String.fromCharCode(65 + Math.floor(rand() * 26));

describe('check digits: published examples', () => {
  it('Verhoeff (Wikipedia, Rosetta Code test vectors)', () => {
    const vectors: [string, number][] = [
      ['236', 3],
      ['12345', 1],
      ['142857', 0],
      ['123456789012', 0],
      ['8473643095483728456789', 2],
    ];
    for (const [payload, check] of vectors) {
      expect(verhoeffCheckDigit(payload)).toBe(check);
      expect(refVerhoeffCheck(payload)).toBe(String(check));
      expect(verhoeffValid(payload + check)).toBe(true);
      expect(verhoeffValid(payload + ((check + 1) % 10))).toBe(false);
    }
  });
  it('Luhn on the Canadian SIN example 046 454 286 (Service Canada); a SIN never starts with 0', () => {
    expect(luhnValid('046454286')).toBe(true);
    expect(refLuhnValid('046454286')).toBe(true);
    expect(luhnValid('046454287')).toBe(false);
    expect(sinValid('046454286')).toBe(false); // first digit 0 is never issued
    expect(sinValid('130692544')).toBe(true);
  });
  it('Spanish DNI 12345678Z and NIE X1234567L (Ministerio del Interior examples)', () => {
    expect(dniLetter('12345678')).toBe('Z');
    expect(refDniLetter(12345678)).toBe('Z');
    expect(dniValid('12345678Z')).toBe(true);
    expect(dniValid('12345678A')).toBe(false);
    expect(nieValid('X1234567L')).toBe(true);
    expect(refNieLetter('X', '1234567')).toBe('L');
    expect(nieValid('X1234567T')).toBe(false);
  });
  it('codice fiscale RSSMRA85T10A562S and MRTMTT25D09F205Z (Agenzia delle Entrate / Wikipedia)', () => {
    for (const code of ['RSSMRA85T10A562S', 'MRTMTT25D09F205Z']) {
      expect(codiceFiscaleValid(code)).toBe(true);
      expect(refCodiceFiscaleCheck(code.slice(0, 15))).toBe(code[15]);
    }
    expect(codiceFiscaleValid('RSSMRA85T10A562T')).toBe(false);
  });
  it('French NIR 2 55 08 14 168 025 38 (key 97 − n mod 97); Corsica 2A → 19, 2B → 18', () => {
    expect(nirKey('2550814168025')).toBe(38);
    expect(refNirKey('2550814168025')).toBe('38');
    expect(nirValid('255081416802538')).toBe(true);
    expect(nirValid('255081416802539')).toBe(false);
    expect(nirKey('185052A123456')).toBe(nirKey('1850519123456'));
    expect(nirKey('185052B123456')).toBe(nirKey('1850518123456'));
  });
  it("UK NINO format rules (HMRC NIM39110): HMRC's specimen QQ123456C is not allocatable", () => {
    expect(ninoValid('AB123456C')).toBe(true);
    for (const bad of ['QQ123456C', 'DA123456A', 'AO123456B', 'GB123456A', 'ZZ123456D', 'AB123456E'])
      expect([bad, ninoValid(bad), refNinoValid(bad)]).toEqual([bad, false, false]);
  });
});

describe('check digits agree with the reference implementation on random input', () => {
  it('Verhoeff, Luhn, DNI/NIE letters, codice fiscale, NIR keys and NINO rules', () => {
    for (let i = 0; i < 1000; i++) {
      const d12 = randomDigits(12);
      expect(verhoeffValid(d12)).toBe(refVerhoeffValid(d12));
      const d11 = randomDigits(11);
      expect(String(verhoeffCheckDigit(d11))).toBe(refVerhoeffCheck(d11));
      expect(aadhaarValid(d11 + refVerhoeffCheck(d11))).toBe(d11[0] >= '2');
      const d9 = randomDigits(9);
      expect(luhnValid(d9)).toBe(refLuhnValid(d9));
      expect(sinValid(d9.slice(0, 8) + refLuhnCheck(d9.slice(0, 8)))).toBe(!['0', '8'].includes(d9[0]));
      const d8 = randomDigits(8);
      expect(dniLetter(d8)).toBe(refDniLetter(Number(d8)));
      const prefix = (['X', 'Y', 'Z'] as const)[i % 3];
      expect(nieValid(`${prefix}${d8.slice(1)}${refNieLetter(prefix, d8.slice(1))}`)).toBe(true);
      const cf15 = `${randomLetter()}${randomLetter()}${randomLetter()}ABC${d8.slice(0, 2)}${'ABCDEHLMPRST'[i % 12]}${d8.slice(2, 4)}${randomLetter()}${d8.slice(4, 7)}`;
      expect(codiceFiscaleCheck(cf15)).toBe(refCodiceFiscaleCheck(cf15));
      const nir13 = `${1 + (i % 2)}${d12.slice(0, 2)}${String(1 + (i % 12)).padStart(2, '0')}${i % 5 === 0 ? '2A' : i % 5 === 1 ? '2B' : d12.slice(2, 4)}${d12.slice(4, 10)}`;
      expect(String(nirKey(nir13)).padStart(2, '0')).toBe(refNirKey(nir13));
      const nino = `${randomLetter()}${randomLetter()}${d8.slice(0, 6)}${'ABCDE'[i % 5]}`;
      expect(ninoValid(nino)).toBe(refNinoValid(nino));
    }
  });
});

describe('recognisers', () => {
  it('UK_NINO: printed, spaced and lower case after a cue; invalid prefixes and suffixes rejected', () => {
    expect(spans('My NI number is AB 12 34 56 C, the old one CE123456D.', ['UK_NINO'])).toEqual([
      ['UK_NINO', 'AB 12 34 56 C'],
      ['UK_NINO', 'CE123456D'],
    ]);
    expect(spans('national insurance jg123456a', ['UK_NINO'])).toEqual([['UK_NINO', 'jg123456a']]);
    expect(spans('Codes QQ123456C, GB123456A, AB123456E and AO123456B.', ['UK_NINO'])).toEqual([]);
    expect(spans('the code ab123456c', ['UK_NINO'])).toEqual([]); // lower case needs a cue
  });

  it('IN_AADHAAR: grouped or after a cue; wrong Verhoeff digit, first digit 0/1 and bare runs rejected', () => {
    const payload = '23456789012';
    const valid = payload + refVerhoeffCheck(payload);
    const grouped = `${valid.slice(0, 4)} ${valid.slice(4, 8)} ${valid.slice(8)}`;
    expect(spans(`Please hide ${grouped} from the export.`)).toEqual([['IN_AADHAAR', grouped]]);
    expect(spans(`Aadhaar ${valid.replace(/(\d{4})(?=\d)/g, '$1-')}`)).toEqual([
      ['IN_AADHAAR', valid.replace(/(\d{4})(?=\d)/g, '$1-')],
    ]);
    expect(spans(`My aadhaar is ${valid}.`)).toEqual([['IN_AADHAAR', valid]]);
    expect(spans(`Order ${valid} shipped.`, ['IN_AADHAAR'])).toEqual([]); // bare run, no cue
    const wrong = valid.slice(0, 11) + ((Number(valid[11]) + 1) % 10);
    expect(spans(`Aadhaar ${wrong.replace(/(\d{4})(?=\d)/g, '$1 ')}`, ['IN_AADHAAR'])).toEqual([]);
    const zero = `0${payload.slice(1)}`;
    expect(spans(`Aadhaar ${zero}${refVerhoeffCheck(zero)}`, ['IN_AADHAAR'])).toEqual([]);
  });

  it('IN_AADHAAR never cuts 12 digits out of a card number, and a card stays a card', () => {
    expect(spans('Card 4111 1111 1111 1111 was charged twice, aadhaar page too.')).toEqual([
      ['CREDIT_CARD', '4111 1111 1111 1111'],
    ]);
  });

  it('CA_SIN: dashed, or spaced/compact after a cue; wrong Luhn digit and 0/8 first digits rejected', () => {
    expect(spans('My SIN is 130 692 544 and the form shows it.')).toEqual([['CA_SIN', '130 692 544']]);
    expect(spans('It printed 130-692-544 on the letter.')).toEqual([['CA_SIN', '130-692-544']]);
    expect(spans('social insurance number 130692544')).toEqual([['CA_SIN', '130692544']]);
    expect(spans('SIN 130 692 545 and SIN 046 454 286', ['CA_SIN'])).toEqual([]);
    expect(spans('We exported 130 692 544 rows.', ['CA_SIN'])).toEqual([]); // a figure, no cue
  });

  it('no id is cut out of an IBAN, and a passport cue does not take an IBAN', () => {
    expect(spans('IBAN DE89 3704 0044 0532 0130 00, passport no. DE89370400440532013000.')).toEqual([
      ['IBAN', 'DE89 3704 0044 0532 0130 00'],
      ['IBAN', 'DE89370400440532013000'],
    ]);
  });

  it('CA_SIN and US_SSN keep their own shapes', () => {
    expect(spans('SSN 536-22-8419, SIN 130-692-544.')).toEqual([
      ['US_SSN', '536-22-8419'],
      ['CA_SIN', '130-692-544'],
    ]);
  });

  it('ES_NIF and ES_NIE: compact, dashed, dotted; wrong letters rejected', () => {
    expect(spans('Mi DNI es 12.345.678-Z, antes 12345678Z, y el NIE X-1234567-L.')).toEqual([
      ['ES_NIF', '12.345.678-Z'],
      ['ES_NIF', '12345678Z'],
      ['ES_NIE', 'X-1234567-L'],
    ]);
    expect(spans('DNI 12345678A, NIE X1234567T, código Z12345678.', ['ES_NIF', 'ES_NIE'])).toEqual([]);
  });

  it('IT_FISCAL_CODE: upper and lower case, omocodia; wrong check character rejected', () => {
    expect(spans('Il mio codice fiscale è RSSMRA85T10A562S.')).toEqual([
      ['IT_FISCAL_CODE', 'RSSMRA85T10A562S'],
    ]);
    expect(spans('codice fiscale rssmra85t10a562s')).toEqual([['IT_FISCAL_CODE', 'rssmra85t10a562s']]);
    const omocode = `RSSMRA85T10A56${'LMNPQRSTUV'[2]}`;
    const withCheck = omocode + refCodiceFiscaleCheck(omocode);
    expect(spans(`CF ${withCheck}`)).toEqual([['IT_FISCAL_CODE', withCheck]]);
    expect(spans('codice fiscale: RSS MRA 85T10 A562S')).toEqual([['IT_FISCAL_CODE', 'RSS MRA 85T10 A562S']]);
    expect(spans('CF RSSMRA85T10A562T', ['IT_FISCAL_CODE'])).toEqual([]);
  });

  it('FR_NIR: spaced, compact, Corsica; wrong key rejected; never taken for a phone number', () => {
    expect(spans('Mon numéro de sécu : 1 84 12 76 451 089 46, merci.')).toEqual([
      ['FR_NIR', '1 84 12 76 451 089 46'],
    ]);
    expect(spans('NIR 255081416802538')).toEqual([['FR_NIR', '255081416802538']]);
    const corsica = '185052A123456';
    const key = refNirKey(corsica);
    expect(spans(`NIR ${corsica}${key}`)).toEqual([['FR_NIR', `${corsica}${key}`]]);
    expect(spans('NIR 1 84 12 76 451 089 47', ['FR_NIR'])).toEqual([]);
  });

  it('PASSPORT: a passport shape right after (or right before) a cue, in several languages', () => {
    expect(spans('passport no. 123456789; Reisepass-Nr. C01X00T47; numéro de passeport 12AB34567.')).toEqual([
      ['PASSPORT', '123456789'],
      ['PASSPORT', 'C01X00T47'],
      ['PASSPORT', '12AB34567'],
    ]);
    expect(spans('Mi pasaporte es AAA123456 y el número AB 1234567 es de mi hija.', ['PASSPORT'])).toEqual([
      ['PASSPORT', 'AAA123456'],
    ]);
    expect(spans('X1234567 is my passport number.', ['PASSPORT'])).toEqual([['PASSPORT', 'X1234567']]);
    expect(
      spans('Passport photo upload failed at 99 %, order 123456789 arrived, passport renewal took 14 days.', [
        'PASSPORT',
      ]),
    ).toEqual([]);
  });

  it('DATE_OF_BIRTH: numeric and written dates after a birth cue; other dates left alone', () => {
    const text =
      'I was born on 12 March 1985. DOB: 03/12/1985, d.o.b. 1985-03-12, birthday is July 4th, born on the 4th of July, 1990, né le 12.03.85.';
    expect(spans(text, ['DATE_OF_BIRTH']).map(([, v]) => v)).toEqual([
      '12 March 1985',
      '03/12/1985',
      '1985-03-12',
      'July 4th',
      '4th of July, 1990',
      '12.03.85',
    ]);
    expect(
      spans('Released on March 12, 2024; deadline 12/03/2025; born in 1985; born on 45/13/1985.', [
        'DATE_OF_BIRTH',
      ]),
    ).toEqual([]);
    expect(spans('03/07/1979 is my date of birth.', ['DATE_OF_BIRTH'])).toEqual([
      ['DATE_OF_BIRTH', '03/07/1979'],
    ]);
    expect(
      spans("Date of Birth (DD/MM/YYYY): 07/11/1992. my bday's 12 march. DOB - 3rd of March '85", [
        'DATE_OF_BIRTH',
      ]).map(([, v]) => v),
    ).toEqual(['07/11/1992', '12 march', "3rd of March '85"]);
  });
});

describe('evaluation set (bench/fixtures/governance/ids.jsonl)', () => {
  const reference: Record<string, (v: string) => boolean> = {
    UK_NINO: refNinoValid,
    IN_AADHAAR: (v) => /^[2-9]\d{11}$/.test(v) && refVerhoeffValid(v),
    CA_SIN: (v) => /^[1-79]\d{8}$/.test(v) && refLuhnValid(v),
    ES_NIF: (v) =>
      /^\d{8}[A-Z]$/i.test(v)
        ? refDniLetter(Number(v.slice(0, 8))) === v[8].toUpperCase()
        : /^[KLM]\d{7}[A-Z]$/.test(v) && refDniLetter(Number(v.slice(1, 8))) === v[8],
    ES_NIE: (v) => /^[XYZ]\d{7}[A-Z]$/.test(v) && refNieLetter(v[0] as 'X', v.slice(1, 8)) === v[8],
    IT_FISCAL_CODE: (v) => v.length === 16 && refCodiceFiscaleCheck(v.slice(0, 15)) === v[15].toUpperCase(),
    FR_NIR: (v) => v.length === 15 && refNirKey(v.slice(0, 13)) === v.slice(13),
  };

  it('has ≥ 20 valid and ≥ 10 lookalike items per type; valid ids pass the reference check', async () => {
    const items = await loadIdItems();
    const types = ID_TYPES.filter((t) => t !== 'DATE_OF_BIRTH');
    for (const type of [...types, 'DATE_OF_BIRTH']) {
      expect(items.filter((i) => i.type === type && i.valid).length, type).toBeGreaterThanOrEqual(20);
      expect(items.filter((i) => i.type === type && !i.valid).length, type).toBeGreaterThanOrEqual(10);
    }
    for (const item of items) {
      expect(item.spans.map((s) => item.text.slice(s.start, s.end))).toEqual(item.valid ? [item.value] : []);
      const check = reference[item.type];
      if (check && item.valid)
        expect([item.id, check(item.value.replace(/[\s.-]/g, ''))]).toEqual([item.id, true]);
    }
    // Lookalikes with a wrong check digit fail the reference too.
    for (const item of items.filter((i) => !i.valid && /wrong/.test(i.note ?? '') && reference[i.type]))
      expect([item.id, reference[item.type](item.value.replace(/[\s.-]/g, ''))]).toEqual([item.id, false]);
  });

  it('recall ≥ 0.95 per type, no lookalike reported as its type, no other number reported as an id', async () => {
    const result = (await measureIds()) as {
      per_type: Record<string, { recall: number; precision: number; invalid_reported: number }>;
      other_numbers: { reported_as_id: number };
    };
    for (const [type, r] of Object.entries(result.per_type)) {
      expect([type, r.recall >= 0.95]).toEqual([type, true]);
      expect([type, r.invalid_reported]).toEqual([type, 0]);
      expect([type, r.precision]).toEqual([type, 1]);
    }
    expect(result.other_numbers.reported_as_id).toBe(0);
  });
});

describe('cost', () => {
  it('stays linear on 100 KB of id-shaped and cue-shaped input', { timeout: 30_000 }, () => {
    const types: PiiType[] = [...ID_TYPES];
    const rep = (s: string, n: number) => s.repeat(Math.ceil(n / s.length)).slice(0, n);
    for (const unit of [
      '1234 ',
      'born on ',
      'passport no. AB123456 ',
      'DOB 12/03/1985 ',
      '1 84 12 76 451 089 46 ',
    ]) {
      const time = (n: number) => {
        const text = rep(unit, n);
        const t0 = performance.now();
        detectPii(text, { types });
        return performance.now() - t0;
      };
      time(10_000); // warm-up
      const small = Math.min(time(25_000), time(25_000), time(25_000));
      const large = Math.min(time(100_000), time(100_000), time(100_000));
      // 4× the input: about 4× the time, where a rescan per match would cost 16× (the bound is
      // generous because the machine is shared).
      expect([unit, small, large, large < small * 8 + 20]).toEqual([unit, small, large, true]);
    }
  });
});
