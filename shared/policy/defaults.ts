// Numbers other modules default to, in a leaf (no zod, no tfjs) so a page's form can show them.

/** The vocabulary of a tokenizer trained for a new policy. */
export const DEFAULT_VOCAB_SIZE = 2000;
