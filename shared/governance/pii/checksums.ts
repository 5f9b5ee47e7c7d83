// Check digits of national identifiers: validation for the recognisers, computation for the
// synthetic data generator. Every function reads a compact string (no separators) and is linear
// in its length. Test vectors and an independent implementation are in
// test/unit/governance/national-ids.test.ts.

import { luhnValid } from './digits';

export { luhnCheckDigit, luhnValid } from './digits';

// Verhoeff (dihedral group D5): multiplication table, position permutation, inverse.
const VERHOEFF_D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
  [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
  [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
  [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
  [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
  [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];
const VERHOEFF_INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

function verhoeffState(digits: string, shift: number): number {
  let c = 0;
  for (let i = 0; i < digits.length; i++) {
    const d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (d < 0 || d > 9) return -1;
    c = VERHOEFF_D[c][VERHOEFF_P[(i + shift) % 8][d]];
  }
  return c;
}

/** True when the last digit is the Verhoeff check digit of the others (Aadhaar). */
export function verhoeffValid(digits: string): boolean {
  return digits.length > 1 && verhoeffState(digits, 0) === 0;
}

/** The Verhoeff check digit to append to `payload`. */
export function verhoeffCheckDigit(payload: string): number {
  return VERHOEFF_INV[verhoeffState(payload, 1)];
}

// Spanish DNI/NIE: the letter is the number mod 23 looked up in this table.
const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

/** The control letter of a Spanish DNI/NIF number (up to 8 digits). */
export function dniLetter(digits: string): string {
  let r = 0;
  for (let i = 0; i < digits.length; i++) r = (r * 10 + digits.charCodeAt(i) - 48) % 23;
  return DNI_LETTERS[r];
}

/** DNI `12345678Z` or NIF `K1234567L`/`L…`/`M…` (the letter prefix counts as nothing). */
export function dniValid(compact: string): boolean {
  const s = compact.toUpperCase();
  const m = /^(?:\d{8}|[KLM]\d{7})([A-Z])$/.exec(s);
  if (!m) return false;
  const digits = s[0] >= 'K' ? s.slice(1, 8) : s.slice(0, 8);
  return dniLetter(digits) === m[1];
}

/** NIE `X1234567L`: X, Y, Z stand for 0, 1, 2 before the mod-23 letter. */
export function nieValid(compact: string): boolean {
  const s = compact.toUpperCase();
  if (!/^[XYZ]\d{7}[A-Z]$/.test(s)) return false;
  return dniLetter(`${'XYZ'.indexOf(s[0])}${s.slice(1, 8)}`) === s[8];
}

// Italian codice fiscale: characters in odd positions (1st, 3rd, …) map through this table,
// those in even positions to their value (digit, or A=0 … Z=25); the sum mod 26 is the letter.
const CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
const CF_OMOCODE = 'LMNPQRSTUV'; // digits replaced by letters when two codes would collide
const CF_MONTHS = 'ABCDEHLMPRST';
const CF_SHAPE = /^[A-Z]{6}[\dLMNP-V]{2}[ABCDEHLMPRST][\dLMNP-V]{2}[A-Z][\dLMNP-V]{3}[A-Z]$/;

/** The check character of the first 15 characters of a codice fiscale. */
export function codiceFiscaleCheck(first15: string): string {
  const s = first15.toUpperCase();
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const code = s.charCodeAt(i);
    const value = code <= 57 ? code - 48 : code - 65;
    sum += i % 2 === 0 ? CF_ODD[value] : value;
  }
  return String.fromCharCode(65 + (sum % 26));
}

/** Shape (month letter, day 1–31 or 41–71, omocodia letters) and check character. */
export function codiceFiscaleValid(code: string): boolean {
  const s = code.toUpperCase();
  if (!CF_SHAPE.test(s)) return false;
  const digit = (ch: string) => (ch >= '0' && ch <= '9' ? ch : String(CF_OMOCODE.indexOf(ch)));
  const day = Number(digit(s[9]) + digit(s[10]));
  if (!((day >= 1 && day <= 31) || (day >= 41 && day <= 71))) return false;
  if (!CF_MONTHS.includes(s[8])) return false;
  return codiceFiscaleCheck(s.slice(0, 15)) === s[15];
}

/** The two-digit key of the first 13 characters of a French NIR: 97 − (n mod 97); 2A → 19, 2B → 18. */
export function nirKey(first13: string): number {
  const s = first13.toUpperCase().replace('2A', '19').replace('2B', '18');
  let r = 0;
  for (let i = 0; i < s.length; i++) r = (r * 10 + s.charCodeAt(i) - 48) % 97;
  return 97 - r;
}

/**
 * A French NIR (numéro de sécurité sociale), 15 characters: sex (1, 2; 3, 4, 7, 8 for provisional
 * numbers), year, month (01–12; 20 and 30–42 and 50–99 where the month is unknown), department
 * (2A/2B for Corsica), commune, order, key.
 */
export function nirValid(compact: string): boolean {
  const s = compact.toUpperCase();
  if (!/^[1-478]\d{4}(?:\d{2}|2[AB])\d{6}\d{2}$/.test(s)) return false;
  const month = Number(s.slice(3, 5));
  if (!((month >= 1 && month <= 12) || month === 20 || (month >= 30 && month <= 42) || month >= 50))
    return false;
  return nirKey(s.slice(0, 13)) === Number(s.slice(13));
}

/**
 * UK National Insurance number format rules (HMRC NIM39110): no D, F, I, Q, U, V as first letter;
 * no D, F, I, O, Q, U, V as second; prefixes BG, GB, KN, NK, NT, TN and ZZ are never allocated;
 * six digits; suffix A–D. There is no check digit.
 */
export function ninoValid(compact: string): boolean {
  const s = compact.toUpperCase();
  if (!/^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$/.test(s)) return false;
  return !['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ'].includes(s.slice(0, 2));
}

/** Aadhaar: 12 digits, first digit 2–9, Verhoeff check digit. */
export function aadhaarValid(compact: string): boolean {
  return /^[2-9]\d{11}$/.test(compact) && verhoeffValid(compact);
}

/** Canadian SIN: 9 digits, Luhn; first digit 1–7 or 9 (0 is never issued, 8 is for business numbers). */
export function sinValid(compact: string): boolean {
  return /^[1-79]\d{8}$/.test(compact) && luhnValid(compact);
}
