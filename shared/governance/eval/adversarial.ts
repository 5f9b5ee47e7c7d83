// Inputs built to make a governance stage do more than linear work: long runs of what a stage matches
// (figures, prohibited and boundary phrases, PII), single huge tokens, digit groups, symbol floods and
// disguises. The benchmark times each at 100 KB; the linear-time test doubles them.

/** Units repeated to the requested size, one adversarial input each. */
export const ADVERSARIAL_UNITS: Readonly<Record<string, string>> = {
  digit_run: '0123456789',
  spaced_digits: '4 1 1 1 ',
  grouped_digits: '4111 1111 1111 1111 ',
  phone_numbers: '+44 20 7946 0958, ',
  at_signs: '@',
  word_at_signs: 'a.b@',
  emails: 'anna.berg@example.com ',
  spelled_emails: 'anna at example dot org ',
  zero_width: 'a\u200b',
  fullwidth_digits: '４１１１ ',
  national_ids: 'AB 12 34 56 C, 2345 6789 0124, X1234567L, RSSMRA85T10A562S, 1 84 12 76 451 089 46; ',
  passport_cues: 'passport no. 12AB34567 ',
  birth_cues: 'born on 12 March 1985, ',
  letters: 'a',
  hex_colons: 'a:',
  capitalised_words: 'Anna Berg ',
  dotted_numbers: '1.2.',
  figures: '5% ',
  currency: '$5 ',
  multipliers: '3x ',
  prohibited_words: 'guaranteed ',
  boundary_phrases: 'decide what is right for us ',
  negated_boundaries: 'I am not asking you to decide our mission. ',
  clause_breaks: ', but ',
  contrasts: 'it crashed but great, ',
  negations: 'not ',
  questions: 'why does it not load? ',
};

/** Each unit repeated to `size` characters, plus the two that are not repetitions of a unit. */
export function adversarialInputs(size: number): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const [name, unit] of Object.entries(ADVERSARIAL_UNITS))
    inputs[name] = unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  inputs.nested_brackets = `${'([{<'.repeat(size / 8)}${'>}])'.repeat(size / 8)}`;
  inputs.one_token = 'x'.repeat(size);
  return inputs;
}
