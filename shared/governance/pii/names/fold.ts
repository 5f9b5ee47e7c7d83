// Folding for name lookup: "José", "JOSE" and "jose" are one key; so are "Øystein"/"oystein",
// "Łukasz"/"lukasz", "Straße"/"strasse". NFKD splits letters from their marks, the marks are dropped,
// and the few Latin letters that carry no decomposition are mapped by hand. Apostrophes, hyphens and
// dots are dropped too ("O'Brien" → "obrien"), so spelling variants of a compound meet.

const SPECIAL: Record<string, string> = {
  ø: 'o',
  æ: 'ae',
  œ: 'oe',
  ß: 'ss',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
  ħ: 'h',
  ŋ: 'ng',
  ə: 'e',
};
const MARKS = /[\p{M}'’ʻʼ`.\-‐‑]/gu;
const SPECIALS = /[øæœßłđðþıħŋə]/g;

/** The lookup key of a word: lower-cased, without diacritics, apostrophes, dots or hyphens. */
export function foldName(word: string): string {
  return word
    .toLowerCase()
    .normalize('NFKD')
    .replace(MARKS, '')
    .replace(SPECIALS, (c) => SPECIAL[c] ?? c);
}
