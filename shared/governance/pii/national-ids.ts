import type { PiiFinding, PiiType } from '../types';
import {
  aadhaarValid,
  codiceFiscaleValid,
  dniValid,
  nieValid,
  ninoValid,
  nirValid,
  sinValid,
} from './checksums';
import { finding, type Recognizer, withContext } from './recognizer';

// National identity and tax numbers beyond the US SSN. Each is one global regex scan for its shape
// (written compact, with spaces, dashes or dots), then its check digit or letter, or for the UK
// NINO (no check digit) HMRC's allocation rules. A number that fails the check is never reported
// as that type. Shapes are bounded by lookarounds so a window is never cut out of a longer run of
// digits (a card, an IBAN, a table of figures). Context words before a number raise its score;
// shapes that ordinary figures can take (a bare 12-digit run, "123 456 789") need one.

type IdSpec = {
  type: PiiType;
  pattern: RegExp;
  valid: (compact: string) => boolean;
  /** Base score of a valid match; may read the match (separators, letter case). */
  score: (match: RegExpExecArray) => number;
  context: ReadonlySet<string>;
};

const SEPARATORS = /[\s.\-–]/g;

function idRecognizer(spec: IdSpec): Recognizer {
  const find = (text: string): PiiFinding[] => {
    const found: PiiFinding[] = [];
    const pattern = spec.pattern;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
      if (!spec.valid(m[0].replace(SEPARATORS, ''))) continue;
      const score = withContext(text, m.index, spec.score(m), spec.context);
      if (score >= 0.5) found.push(finding(spec.type, m.index, m.index + m[0].length, score));
    }
    return found;
  };
  return { type: spec.type, find };
}

const upper = (s: string) => s === s.toUpperCase();
const words = (s: string) => new Set(s.split(' '));

/** UK National Insurance number: AB 12 34 56 C (format rules only; no check digit exists). */
export const ukNinoRecognizer = idRecognizer({
  type: 'UK_NINO',
  pattern: /(?<![\p{L}\p{N}])[A-Za-z]{2}[ -]?\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?[A-Da-d](?![\p{L}\p{N}])/gu,
  valid: ninoValid,
  // Upper case as printed: format alone is fairly specific. Lower case needs a context word.
  score: (m) => (upper(m[0]) ? 0.7 : 0.35),
  context: words('nino ni nin national insurance hmrc'),
});

/** Indian Aadhaar: 12 digits, first 2–9, Verhoeff check digit; printed 1234 5678 9012. */
export const aadhaarRecognizer = idRecognizer({
  type: 'IN_AADHAAR',
  pattern: /(?<![\p{L}\p{N}_]|\d[ -])[2-9]\d{3}([ -]?)\d{4}\1\d{4}(?![\p{L}\p{N}_]|[ -]\d)/gu,
  valid: aadhaarValid,
  // Any 12-digit run passes Verhoeff one time in ten: an unseparated run needs a context word.
  score: (m) => (m[1] ? 0.6 : 0.3),
  context: words('aadhaar aadhar adhaar adhar uid uidai uidai’s आधार'),
});

/** Canadian Social Insurance Number: 9 digits, Luhn, printed 123 456 789 or 123-456-789. */
export const caSinRecognizer = idRecognizer({
  type: 'CA_SIN',
  pattern: /(?<![\p{L}\p{N}_]|\d[ -])\d{3}([ -]?)\d{3}\1\d{3}(?![\p{L}\p{N}_]|[ -]\d)/gu,
  valid: sinValid,
  // "123 456 789" is also how a large figure is written: only dashes count without a context word.
  score: (m) => (m[1] === '-' ? 0.55 : m[1] ? 0.4 : 0.35),
  context: words('sin insurance nas canada canadian assurance'),
});

/** Spanish DNI / NIF: 8 digits (or K/L/M and 7) and the mod-23 letter; 12.345.678-Z. */
export const esNifRecognizer = idRecognizer({
  type: 'ES_NIF',
  pattern: /(?<![\p{L}\p{N}.-])(?:\d{2}\.?\d{3}\.?\d{3}|[KLMklm]\d{7})[ -]?[A-Za-z](?![\p{L}\p{N}])/gu,
  valid: dniValid,
  score: (m) => (upper(m[0]) ? 0.75 : 0.6),
  context: words('dni nif documento identidad nacional'),
});

/** Spanish NIE (foreigners): X/Y/Z, 7 digits and the mod-23 letter; X-1234567-L. */
export const esNieRecognizer = idRecognizer({
  type: 'ES_NIE',
  pattern: /(?<![\p{L}\p{N}])[XYZxyz][ -]?\d{7}[ -]?[A-Za-z](?![\p{L}\p{N}])/gu,
  valid: nieValid,
  score: (m) => (upper(m[0]) ? 0.75 : 0.6),
  context: words('nie extranjero extranjería extranjeria residencia tie dni nif'),
});

/** Italian codice fiscale: 16 characters with the odd/even-table check character; RSS MRA 85T10 A562S. */
export const itFiscalCodeRecognizer = idRecognizer({
  type: 'IT_FISCAL_CODE',
  pattern:
    /(?<![\p{L}\p{N}])[A-Za-z]{3} ?[A-Za-z]{3} ?[\dLMNP-Vlmnp-v]{2}[ABCDEHLMPRSTabcdehlmprst][\dLMNP-Vlmnp-v]{2} ?[A-Za-z][\dLMNP-Vlmnp-v]{3}[A-Za-z](?![\p{L}\p{N}])/gu,
  valid: codiceFiscaleValid,
  score: (m) => (upper(m[0]) ? 0.8 : 0.65),
  context: words('codice fiscale cf tax tessera sanitaria'),
});

/** French NIR (numéro de sécurité sociale): 13 characters and a mod-97 key; 1 84 12 76 451 089 46. */
export const frNirRecognizer = idRecognizer({
  type: 'FR_NIR',
  pattern:
    /(?<![\p{L}\p{N}])[1-478][ .-]?\d{2}[ .-]?\d{2}[ .-]?(?:(?:\d{2}|2[ABab])[ .-]?\d{3}|\d{3}[ .-]?\d{2})[ .-]?\d{3}[ .-]?\d{2}(?![\p{L}\p{N}])/gu,
  valid: nirValid,
  score: () => 0.8,
  context: words('sécurité securite sociale nir insee vitale secu sécu social'),
});

export const nationalIdRecognizers: Recognizer[] = [
  ukNinoRecognizer,
  aadhaarRecognizer,
  caSinRecognizer,
  esNifRecognizer,
  esNieRecognizer,
  itFiscalCodeRecognizer,
  frNirRecognizer,
];
