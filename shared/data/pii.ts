import { codiceFiscaleCheck, dniLetter, nirKey, verhoeffCheckDigit } from '../governance/pii/checksums';
import { luhnCheckDigit } from '../governance/pii/digits';
import type { PiiType } from '../governance/types';
import type { Random } from '../random';

// Synthetic personal data for the generator. Values are well-formed (Luhn-valid card numbers,
// mod-97-valid IBANs, plausible phone numbers) so the governance recognisers, which validate, see
// them as the real thing. None belongs to a real person: names and streets come from short
// invented lists, and phone numbers use ranges reserved for drama/fiction where a country has one.

const FIRST_NAMES = [
  'Maria',
  'James',
  'Aroha',
  'Wei',
  'Fatima',
  'Lukas',
  'Priya',
  'Tomás',
  'Ingrid',
  'Kwame',
  'Sofia',
  'Daniel',
  'Hannah',
  'Mateo',
  'Yuki',
  'Olivia',
  'Rahul',
  'Chloe',
  'Nikolai',
  'Amara',
];
const LAST_NAMES = [
  'Lopez',
  'Whitfield',
  'Ngata',
  'Zhang',
  'Haddad',
  'Becker',
  'Raman',
  'Oliveira',
  'Larsen',
  'Mensah',
  'Rossi',
  'Murphy',
  'Schmidt',
  'Tanaka',
  'Brennan',
  'Kowalski',
  'Dubois',
  'Evans',
];
const STREETS = ['Elm Street', 'Harbour Road', 'Maple Avenue', 'Station Lane', 'Kingsway', 'Orchard Drive'];
const TOWNS = ['Springfield', 'Riverton', 'Lakeside', 'Fairview', 'Ashford', 'Milton'];
const MAIL_DOMAINS = ['example.com', 'example.org', 'mail.example.net', 'example.co.uk'];

export interface PiiSnippet {
  type: PiiType;
  /** The sentence to splice into the feedback. */
  sentence: string;
  /** The personal value itself, for tests that check it never reaches a stored reply. */
  value: string;
}

function personName(random: Random): string {
  return `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`;
}

function email(random: Random): string {
  const first = random
    .pick(FIRST_NAMES)
    .toLowerCase()
    .normalize('NFD')
    .replace(/[^a-z]/g, '');
  const last = random.pick(LAST_NAMES).toLowerCase();
  const local = random.pick([`${first}.${last}`, `${first}${random.int(1, 99)}`, `${first[0]}${last}`]);
  return `${local}@${random.pick(MAIL_DOMAINS)}`;
}

function digits(random: Random, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += String(random.int(0, 10));
  return out;
}

function phone(random: Random): string {
  // UK 020 7946 0xxx and Australian 02 5550 xxxx are reserved for fiction; US numbers use a
  // valid area code and exchange so recognisers that validate the format still accept them.
  const kind = random.int(0, 3);
  if (kind === 0) return `+44 20 7946 0${digits(random, 3)}`;
  if (kind === 1) return `+61 2 5550 ${digits(random, 4)}`;
  return `(212) ${random.int(201, 989)}-${digits(random, 4)}`;
}

function creditCard(random: Random): string {
  const payload = `4${digits(random, 14)}`;
  const number = `${payload}${luhnCheckDigit(payload)}`;
  return number.match(/.{4}/g)!.join(' ');
}

function mod97(numeric: string): number {
  let remainder = 0;
  for (const ch of numeric) remainder = (remainder * 10 + Number(ch)) % 97;
  return remainder;
}

function iban(random: Random): string {
  const bban = `NWBK${digits(random, 6)}${digits(random, 8)}`;
  // ISO 13616: move country + "00" to the end, letters to numbers (A=10), check = 98 - mod 97.
  const rearranged = `${bban}GB00`.replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  const check = String(98 - mod97(rearranged)).padStart(2, '0');
  return `GB${check} ${`${bban}`.match(/.{1,4}/g)!.join(' ')}`;
}

function ssn(random: Random): string {
  return `${random.int(101, 665)}-${random.int(10, 99)}-${random.int(1000, 9999)}`;
}

// National ids with their check digits (checksums.ts), for SNIPPETS; none is in WEIGHTED_TYPES, so
// the generated datasets are unchanged until a caller asks for them.
function nino(random: Random): string {
  return `${random.pick(['AB', 'CE', 'JG', 'PR', 'WL'])} ${digits(random, 2)} ${digits(random, 2)} ${digits(random, 2)} ${random.pick(['A', 'B', 'C', 'D'])}`;
}

function aadhaar(random: Random): string {
  const payload = `${random.int(2, 10)}${digits(random, 10)}`;
  return `${payload}${verhoeffCheckDigit(payload)}`.match(/.{4}/g)!.join(' ');
}

function sin(random: Random): string {
  const payload = `${random.int(1, 8)}${digits(random, 7)}`;
  return `${payload}${luhnCheckDigit(payload)}`.match(/.{3}/g)!.join('-');
}

function dni(random: Random): string {
  const number = `${random.int(1, 10)}${digits(random, 7)}`;
  return `${number}${dniLetter(number)}`;
}

function nie(random: Random): string {
  const prefix = random.int(0, 3);
  const number = digits(random, 7);
  return `${'XYZ'[prefix]}${number}${dniLetter(`${prefix}${number}`)}`;
}

function fiscalCode(random: Random): string {
  const letters = (n: number) => Array.from({ length: n }, () => random.pick([...'BCDFGLMNPRSTVZ'])).join('');
  const body = `${letters(6)}${random.int(50, 100)}${random.pick([...'ABCDEHLMPRST'])}${String(random.int(1, 29)).padStart(2, '0')}F${String(random.int(100, 1000))}`;
  return `${body}${codiceFiscaleCheck(body)}`;
}

function nir(random: Random): string {
  const first13 = `${random.int(1, 3)}${random.int(50, 100)}${String(random.int(1, 13)).padStart(2, '0')}75${digits(random, 6)}`;
  return `${first13}${String(nirKey(first13)).padStart(2, '0')}`;
}

function passport(random: Random): string {
  return random.pick([
    digits(random, 9),
    `${digits(random, 2)}AB${digits(random, 5)}`,
    `X${digits(random, 7)}`,
  ]);
}

function birthDate(random: Random): string {
  const months = ['March', 'June', 'October', 'December'];
  return `${random.int(1, 29)} ${random.pick(months)} ${random.int(1950, 2006)}`;
}

function ipAddress(random: Random): string {
  return `${random.int(11, 200)}.${random.int(0, 255)}.${random.int(0, 255)}.${random.int(1, 254)}`;
}

function streetAddress(random: Random): string {
  return `${random.int(2, 240)} ${random.pick(STREETS)}, ${random.pick(TOWNS)}`;
}

const SNIPPETS: Record<PiiType, (random: Random) => PiiSnippet> = {
  EMAIL: (r) => {
    const v = email(r);
    return {
      type: 'EMAIL',
      value: v,
      sentence: r.pick([
        `You can reach me at ${v}.`,
        `Reply to ${v} please.`,
        `My email is ${v} if you need more detail.`,
      ]),
    };
  },
  PHONE: (r) => {
    const v = phone(r);
    return {
      type: 'PHONE',
      value: v,
      sentence: r.pick([`Call me on ${v} if easier.`, `My phone number is ${v}.`, `Feel free to ring ${v}.`]),
    };
  },
  PERSON: (r) => {
    const v = personName(r);
    return {
      type: 'PERSON',
      value: v,
      sentence: r.pick([`Regards, ${v}.`, `My name is ${v}.`, `This is ${v} from the pilot group.`]),
    };
  },
  STREET_ADDRESS: (r) => {
    const v = streetAddress(r);
    return {
      type: 'STREET_ADDRESS',
      value: v,
      sentence: r.pick([`Post anything to ${v}.`, `I am based at ${v}.`, `My address is ${v}.`]),
    };
  },
  CREDIT_CARD: (r) => {
    const v = creditCard(r);
    return {
      type: 'CREDIT_CARD',
      value: v,
      sentence: r.pick([
        `My donation on card ${v} went through twice.`,
        `I paid with ${v} and got no receipt.`,
      ]),
    };
  },
  IBAN: (r) => {
    const v = iban(r);
    return { type: 'IBAN', value: v, sentence: `Please refund the workshop fee to ${v}.` };
  },
  IP_ADDRESS: (r) => {
    const v = ipAddress(r);
    return {
      type: 'IP_ADDRESS',
      value: v,
      sentence: r.pick([`My IP is ${v} in case you check the logs.`, `Requests came from ${v}.`]),
    };
  },
  US_SSN: (r) => {
    const v = ssn(r);
    return {
      type: 'US_SSN',
      value: v,
      sentence: `I accidentally typed my SSN ${v} into the form earlier, please delete it.`,
    };
  },
  UK_NINO: (r) =>
    idSnippet('UK_NINO', nino(r), (v) => `My National Insurance number ${v} is on the payslip export.`),
  IN_AADHAAR: (r) =>
    idSnippet('IN_AADHAAR', aadhaar(r), (v) => `The KYC form kept my Aadhaar ${v} in plain text.`),
  CA_SIN: (r) => idSnippet('CA_SIN', sin(r), (v) => `My SIN ${v} shows up in the tax preview.`),
  ES_NIF: (r) => idSnippet('ES_NIF', dni(r), (v) => `Mi DNI ${v} aparece en la factura.`),
  ES_NIE: (r) => idSnippet('ES_NIE', nie(r), (v) => `My NIE ${v} was copied into the report.`),
  IT_FISCAL_CODE: (r) =>
    idSnippet('IT_FISCAL_CODE', fiscalCode(r), (v) => `Il mio codice fiscale ${v} è nella ricevuta.`),
  FR_NIR: (r) => idSnippet('FR_NIR', nir(r), (v) => `Mon numéro de sécurité sociale ${v} est visible.`),
  PASSPORT: (r) =>
    idSnippet('PASSPORT', passport(r), (v) => `My passport number ${v} is saved in the trip notes.`),
  DATE_OF_BIRTH: (r) =>
    idSnippet('DATE_OF_BIRTH', birthDate(r), (v) => `I was born on ${v} and the age check fails.`),
};

function idSnippet(type: PiiType, value: string, sentence: (v: string) => string): PiiSnippet {
  return { type, value, sentence: sentence(value) };
}

// Common kinds dominate, as in real feedback: contact details far more often than card numbers.
const WEIGHTED_TYPES: PiiType[] = [
  'EMAIL',
  'EMAIL',
  'EMAIL',
  'EMAIL',
  'PHONE',
  'PHONE',
  'PHONE',
  'PERSON',
  'PERSON',
  'PERSON',
  'STREET_ADDRESS',
  'STREET_ADDRESS',
  'CREDIT_CARD',
  'IBAN',
  'IP_ADDRESS',
  'US_SSN',
];

/** One or two personal-data sentences of distinct kinds. */
export function samplePii(random: Random): PiiSnippet[] {
  const count = random.chance(0.25) ? 2 : 1;
  const types = new Set<PiiType>();
  while (types.size < count) types.add(random.pick(WEIGHTED_TYPES));
  return [...types].map((type) => SNIPPETS[type](random));
}

export const _internals = { luhnCheckDigit, mod97 };

/** One personal-data sentence of the given type (every PiiType, including those not sampled). */
export function piiSnippet(type: PiiType, random: Random): PiiSnippet {
  return SNIPPETS[type](random);
}
