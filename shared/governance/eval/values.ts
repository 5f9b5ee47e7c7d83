import { parsePhoneNumber } from 'awesome-phonenumber';
import { composeIBAN, isValidIBAN } from 'ibantools';
import { luhnCheckDigit, luhnValid } from '../pii/digits';
import type { InclusiveRandom } from '../../random';

// Faker-style value generators for the evaluation set. Every PII value is real-shaped and valid
// (Luhn, mod-97, libphonenumber), and the distractors are the look-alikes that must not be flagged.

const FIRST = [
  'Sarah',
  'Michael',
  'Priya',
  'Wei',
  'Olivia',
  'Mateo',
  'Aisha',
  'Lars',
  'Chloe',
  'Daniel',
  'Fatima',
  'Hiroshi',
  'Emma',
  'James',
  'Sofia',
  'Liam',
  'Ngozi',
  'Carlos',
  'Hannah',
  'David',
  'Elena',
  'Tom',
  'Grace',
  'Ahmed',
  'Julia',
  'Robert',
  'Mei',
  'Jonas',
  'Laura',
  'Kevin',
  'Amara',
  'Lucas',
  'Isabella',
  'Peter',
  'Anna',
  'Mohammed',
  'Yuki',
  'Sean',
  'Rachel',
  'Diego',
];
const LAST = [
  'Johnson',
  'Patel',
  'Nguyen',
  'Garcia',
  'Schmidt',
  'Okafor',
  'Kim',
  'Smith',
  'Müller',
  "O'Brien",
  'Rossi',
  'Chen',
  'Williams',
  'Kowalski',
  'Haddad',
  'Tanaka',
  'Brown',
  'Lopez',
  'Martin',
  'Andersson',
  'Dubois',
  'Singh',
  'Taylor',
  'Walker',
  'Fischer',
  'Moreau',
  'Hughes',
  'Murphy',
  'Silva',
  'Novak',
];
const PARTICLE_NAMES = ['van der Berg', 'de Vries', 'van Dijk', 'da Silva', 'von Braun'];
const HONORIFICS = ['Mr.', 'Ms.', 'Dr.', 'Mrs.', 'Prof.'];
const STREET_NAMES = [
  'Baker',
  'Oak',
  'Maple',
  'Elm',
  'High',
  'Church',
  'Victoria',
  'Park',
  'Mill',
  'Sunset',
  'Lakeview',
  'King',
  'Queen',
  'Cedar',
  'Washington',
  'Station',
  'Riverside',
  'Pine',
  'Hillcrest',
  'Spring',
];
const SUFFIXES = [
  'Street',
  'St',
  'Avenue',
  'Ave',
  'Road',
  'Rd',
  'Lane',
  'Drive',
  'Boulevard',
  'Court',
  'Place',
  'Way',
  'Terrace',
  'Crescent',
];
const CITIES: [string, string, string][] = [
  ['Springfield', 'IL', '62704'],
  ['Portland', 'OR', '97205'],
  ['Austin', 'TX', '78701'],
  ['Denver', 'CO', '80202'],
  ['Madison', 'WI', '53703'],
  ['Boston', 'MA', '02108'],
];
const DOMAINS = [
  'example.com',
  'mail.example.org',
  'acme.co.uk',
  'example.net',
  'uni-research.edu',
  'startup.io',
  'posteo.de',
];

export function person(r: InclusiveRandom): string {
  const roll = r.next();
  if (roll < 0.12) return `${r.pick(FIRST)} ${r.pick(PARTICLE_NAMES)}`;
  if (roll < 0.2) return `${r.pick(FIRST)} ${String.fromCharCode(65 + r.int(0, 25))}. ${r.pick(LAST)}`;
  return `${r.pick(FIRST)} ${r.pick(LAST)}`;
}
export function firstName(r: InclusiveRandom): string {
  return r.pick(FIRST);
}
export function honorificName(r: InclusiveRandom): { prefix: string; name: string } {
  return { prefix: `${r.pick(HONORIFICS)} `, name: r.pick(LAST) };
}

export function email(r: InclusiveRandom): string {
  const first = r.pick(FIRST).toLowerCase();
  const last = r
    .pick(LAST)
    .toLowerCase()
    .replace(/[^a-z]/g, '');
  const local = r.pick([
    `${first}.${last}`,
    `${first[0]}${last}`,
    `${first}${r.int(1, 99)}`,
    `${first}+support`,
    `${last}_${first}`,
  ]);
  return `${local}@${r.pick(DOMAINS)}`;
}

const PHONE_FORMATS: Array<(r: InclusiveRandom) => { text: string; region: string }> = [
  (r) => {
    const n = `${r.pick(['212', '415', '646', '312', '617', '206', '512', '303'])}${r.int(2, 9)}${r.digits(2)}${r.digits(4)}`;
    return {
      region: 'US',
      text: r.pick([
        `(${n.slice(0, 3)}) ${n.slice(3, 6)}-${n.slice(6)}`,
        `${n.slice(0, 3)}-${n.slice(3, 6)}-${n.slice(6)}`,
        `+1 ${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`,
        `${n.slice(0, 3)}.${n.slice(3, 6)}.${n.slice(6)}`,
      ]),
    };
  },
  (r) => {
    const n = `7${r.int(4, 9)}${r.digits(2)}${r.digits(6)}`;
    return {
      region: 'GB',
      text: r.pick([`0${n.slice(0, 4)} ${n.slice(4)}`, `+44 ${n.slice(0, 4)} ${n.slice(4)}`]),
    };
  },
  (r) => {
    const n = `20${r.int(3, 8)}${r.digits(3)}${r.digits(4)}`;
    return {
      region: 'GB',
      text: r.pick([
        `0${n.slice(0, 2)} ${n.slice(2, 6)} ${n.slice(6)}`,
        `+44 ${n.slice(0, 2)} ${n.slice(2, 6)} ${n.slice(6)}`,
      ]),
    };
  },
  (r) => {
    const n = `30${r.int(2, 9)}${r.digits(6)}`;
    return {
      region: 'DE',
      text: r.pick([`0${n.slice(0, 2)} ${n.slice(2)}`, `+49 ${n.slice(0, 2)} ${n.slice(2)}`]),
    };
  },
  (r) => {
    const n = `${r.pick(['1', '6', '7'])}${r.digits(8)}`;
    const pairs = `${n.slice(1, 3)} ${n.slice(3, 5)} ${n.slice(5, 7)} ${n.slice(7)}`;
    return { region: 'FR', text: r.pick([`0${n[0]} ${pairs}`, `+33 ${n[0]} ${pairs}`]) };
  },
  (r) => {
    const n = `4${r.digits(8)}`;
    return {
      region: 'AU',
      text: r.pick([
        `0${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`,
        `+61 ${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`,
      ]),
    };
  },
  (r) => {
    const n = `21${r.digits(7)}`;
    return {
      region: 'NZ',
      text: r.pick([
        `0${n.slice(0, 2)} ${n.slice(2, 5)} ${n.slice(5)}`,
        `+64 ${n.slice(0, 2)} ${n.slice(2, 5)} ${n.slice(5)}`,
      ]),
    };
  },
];

/** A phone number libphonenumber calls valid, in one of several national and international formats. */
export function phone(r: InclusiveRandom): string {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { text, region } = r.pick(PHONE_FORMATS)(r);
    if (parsePhoneNumber(text, { regionCode: region }).valid) return text;
  }
  return '+1 415 555 0132';
}

function withLuhnDigit(prefix: string, length: number, r: InclusiveRandom): string {
  const body = prefix + r.digits(length - prefix.length - 1);
  return body + luhnCheckDigit(body);
}

export function creditCard(r: InclusiveRandom): string {
  const kind = r.pick(['visa', 'mc', 'amex', 'discover']);
  if (kind === 'amex') {
    const n = withLuhnDigit(r.pick(['34', '37']), 15, r);
    return r.pick([n, `${n.slice(0, 4)} ${n.slice(4, 10)} ${n.slice(10)}`]);
  }
  const prefix = kind === 'visa' ? '4' : kind === 'mc' ? String(r.int(51, 55)) : '6011';
  const n = withLuhnDigit(prefix, 16, r);
  const sep = r.pick([' ', '-', '']);
  return [n.slice(0, 4), n.slice(4, 8), n.slice(8, 12), n.slice(12)].join(sep);
}

/** Sixteen digits that fail the Luhn check (a tracking or order number, not a card). */
export function luhnInvalidDigits(r: InclusiveRandom): string {
  for (;;) {
    const n = r.digits(16);
    if (!luhnValid(n)) return n;
  }
}

const BBANS: Array<[string, (r: InclusiveRandom) => string]> = [
  ['DE', (r) => r.digits(18)],
  ['GB', (r) => `${r.pick(['WEST', 'BARC', 'LOYD', 'NWBK'])}${r.digits(14)}`],
  ['NL', (r) => `${r.pick(['ABNA', 'INGB', 'RABO'])}${r.digits(10)}`],
  ['FR', (r) => r.digits(23)],
  ['ES', (r) => r.digits(20)],
  ['IT', (r) => `X${r.digits(22)}`],
];

export function iban(r: InclusiveRandom): string {
  for (let attempt = 0; attempt < 50; attempt++) {
    const [countryCode, bban] = r.pick(BBANS);
    const value = composeIBAN({ countryCode, bban: bban(r) });
    // composeIBAN checks the BBAN's shape only; national check digits (FR, ES, IT) need isValidIBAN.
    if (value && isValidIBAN(value))
      return r.chance(0.6) ? (value.match(/.{1,4}/g) ?? [value]).join(' ') : value;
  }
  return 'DE89 3704 0044 0532 0130 00';
}

export function ip(r: InclusiveRandom): string {
  if (r.chance(0.7)) return `${r.int(1, 223)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
  const group = () => r.int(0, 0xffff).toString(16);
  return r.chance(0.5) ? Array.from({ length: 8 }, group).join(':') : `2001:db8:${group()}::${group()}`;
}

export function ssn(r: InclusiveRandom): string {
  const area = String(r.pick([r.int(1, 665), r.int(667, 899)])).padStart(3, '0');
  const group = String(r.int(1, 99)).padStart(2, '0');
  const serial = String(r.int(1, 9999)).padStart(4, '0');
  return `${area}-${group}-${serial}`;
}

export function streetAddress(r: InclusiveRandom): string {
  const street = `${r.int(1, 9999)} ${r.chance(0.2) ? `${r.pick(['North', 'South', 'East', 'West'])} ` : ''}${r.pick(STREET_NAMES)} ${r.pick(SUFFIXES)}`;
  const unit = r.chance(0.2)
    ? `, ${r.pick(['Apt', 'Suite', 'Unit'])} ${r.int(1, 40)}${r.pick(['', 'B'])}`
    : '';
  const [city, state, zip] = r.pick(CITIES);
  const tail = r.chance(0.4) ? `, ${city}, ${state} ${zip}` : '';
  return street + unit + tail;
}

// Look-alikes that are not PII.
export function version(r: InclusiveRandom): string {
  return r.pick([
    `v${r.int(1, 9)}.${r.int(0, 20)}.${r.int(0, 30)}`,
    `version ${r.int(1, 12)}.${r.int(0, 9)}.${r.int(0, 99)}`,
    `build ${r.int(1, 9)}.${r.int(0, 9)}.${r.int(0, 9)}.${r.int(256, 9999)}`,
  ]);
}
export function orderNumber(r: InclusiveRandom): string {
  return r.pick([
    `#${r.int(10000, 999999)}`,
    `order ${r.int(1000000, 99999999)}`,
    `ORD-${r.int(10000, 99999)}`,
    `ticket ${r.int(100000, 9999999)}`,
  ]);
}
export function price(r: InclusiveRandom): string {
  return r.pick([`$${r.int(5, 500)}.${r.int(10, 99)}`, `€${r.int(5, 2000)}`, `£${r.int(1, 99)}.99`]);
}
export function date(r: InclusiveRandom): string {
  const y = r.int(2019, 2026);
  const m = String(r.int(1, 12)).padStart(2, '0');
  const d = String(r.int(1, 28)).padStart(2, '0');
  return r.pick([`${y}-${m}-${d}`, `${m}/${d}/${y}`, `${d}.${m}.${y}`]);
}
