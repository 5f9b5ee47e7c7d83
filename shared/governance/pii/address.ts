import type { PiiFinding } from '../types';
import { finding, type Recognizer, withContext } from './recognizer';

// Street addresses by pattern: a house number, one to four capitalised words and a street
// suffix (US/UK/AU/NZ style), optionally a direction and a unit, and a city with a state and ZIP
// code or a UK postcode when they follow; German/Dutch/Nordic "Hauptstraße 5", French "10 rue de
// Rivoli" and Spanish/Italian/Portuguese "Calle Mayor 5" forms; PO boxes. Every repetition is bounded, so a long input cannot make them backtrack.

const SUFFIX =
  '(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Terrace|Way|Close|Crescent|Cres|Parkway|Pkwy|Highway|Hwy|Square|Sq|Circle|Cir|Trail|Row|Walk|Alley|Gardens|Grove|Mews|Parade|Esplanade|Quay|Plaza)';
const WORD = "(?:\\d{1,3}(?:st|nd|rd|th)|\\p{Lu}[\\p{L}'’-]*\\.?)";
const UNIT = '(?:,? (?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|#)\\.? ?[A-Za-z0-9-]{1,6})?';
const CITY_STATE_ZIP =
  "(?:, \\p{Lu}[\\p{L}'’-]+(?: \\p{Lu}[\\p{L}'’-]+){0,2},? (?:[A-Z]{2} \\d{5}(?:-\\d{4})?|[A-Z]{1,2}\\d[A-Z\\d]? ?\\d[A-Z]{2}))?";
const ENGLISH = new RegExp(
  `(?<![\\p{L}\\p{N}])\\d{1,5}[A-Za-z]?(?:[-/]\\d{1,5})?,? (?:${WORD} ){1,4}${SUFFIX}\\b\\.?(?: (?:NW|NE|SW|SE|N|S|E|W)\\b)?${UNIT}${CITY_STATE_ZIP}`,
  'gu',
);
const GERMAN =
  /(?<![\p{L}\p{N}])\p{Lu}[\p{Ll}ß]+(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|straat|laan|gracht|kade|plein|vej|gade|gatan|gata|veien)(?: \d{1,4}[a-z]?)(?:, \d{5} \p{Lu}[\p{L}-]+)?/gu;
const FRENCH =
  /(?<![\p{L}\p{N}])\d{1,4}(?: bis| ter)?,? (?:rue|avenue|boulevard|bd|place|chemin|allée|impasse|quai|route) (?:de la |de l'|du |des |de |d')?\p{Lu}[\p{L}'’-]+(?: \p{Lu}[\p{L}'’-]+){0,3}/gu;
const SPANISH_ITALIAN_PORTUGUESE =
  /(?<![\p{L}\p{N}])(?:Calle|Avenida|Paseo|Plaza|Carrer|Camino|Via|Viale|Piazza|Corso|Largo|Rua|Travessa)\s(?:de la |de los |del |de |di |della |da |do |dos |das )?\p{Lu}[\p{L}'’-]+(?: \p{Lu}[\p{L}'’-]+){0,3},? (?:n[º°.]\s?)?\d{1,4}[a-zA-Z]?(?![\p{L}\p{N}])/gu;
const PO_BOX = /\bP\.? ?O\.? Box \d{1,6}\b/gi;
const CONTEXT = new Set([
  'address',
  'live',
  'lives',
  'located',
  'ship',
  'shipped',
  'deliver',
  'delivered',
  'send',
  'mail',
  'at',
  'moved',
  'office',
]);

function findAddresses(text: string): PiiFinding[] {
  const found: PiiFinding[] = [];
  for (const pattern of [ENGLISH, GERMAN, FRENCH, SPANISH_ITALIAN_PORTUGUESE, PO_BOX]) {
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
      let end = m.index + m[0].length;
      // A sentence-final full stop after "St" or "Ave" is not part of the address.
      if (text[end - 1] === '.' && (end === text.length || /\s/.test(text[end]))) end--;
      found.push(finding('STREET_ADDRESS', m.index, end, withContext(text, m.index, 0.8, CONTEXT)));
    }
  }
  return found;
}

export const addressRecognizer: Recognizer = { type: 'STREET_ADDRESS', find: (text) => findAddresses(text) };
