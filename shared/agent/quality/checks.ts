// The names of the sendability checks and what each one means, with no dictionary and no zod, so the
// lab's pages and the CLI can label results without loading the checker (shared/agent/quality/index.ts).

export const QUALITY_CHECKS = [
  'spelling',
  'stutter',
  'repetition',
  'repeated-sentence',
  'stray-characters',
  'placeholder',
  'sentence-shape',
  'tone-contradiction',
] as const;
export type QualityCheck = (typeof QUALITY_CHECKS)[number];

export const QUALITY_CHECK_DESCRIPTIONS: Record<QualityCheck, string> = {
  spelling: 'a word that is in neither English dictionary, the feedback, nor the project’s own terms',
  stutter: 'a word or phrase said twice in a row ("you you", "that is frustrating that is frustrating")',
  repetition: 'the same words over and over (a phrase three times, or a content word five times)',
  'repeated-sentence': 'the same sentence twice',
  'stray-characters': 'markup, replacement or control characters, unbalanced brackets or quotes',
  placeholder: 'a redaction placeholder, whole or broken ("<PERSON_1>", "andPERSON%")',
  'sentence-shape':
    'a sentence that starts in lower case (mid-clause), a run-on, a missing final stop, or a list of words instead of sentences',
  'tone-contradiction': 'an apology in reply to praise, or thanks for kind words in reply to a complaint',
};
