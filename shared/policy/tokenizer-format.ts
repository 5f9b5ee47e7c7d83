// The parts of the Hugging Face `tokenizer.json` format that edgelight writes and reads: a byte-level
// BPE model, the ByteLevel pre-tokenizer/decoder, and the special tokens the policy relies on.
import { z } from 'zod';

/** The policy's special tokens. Their ids are 0..3 in a tokenizer trained here. */
export const SPECIAL_TOKENS = {
  pad: '<|pad|>',
  bos: '<|bos|>',
  eos: '<|eos|>',
  sep: '<|sep|>',
} as const;

/**
 * GPT-2's byte ↔ printable-character table: printable Latin-1 bytes map to themselves, the rest to
 * U+0100 onwards, so every byte sequence is a string of visible characters (a space becomes 'Ġ').
 */
export const BYTE_TO_UNICODE: string[] = (() => {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : 256 + shifted++);
  return table;
})();

/** GPT-2's pre-tokenizer split, the same pattern the ByteLevel pre-tokenizer uses with use_regex. */
export const GPT2_PRETOKENIZE_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const addedTokenSchema = z.object({
  id: z.number().int().nonnegative(),
  content: z.string().min(1),
  single_word: z.boolean().default(false),
  lstrip: z.boolean().default(false),
  rstrip: z.boolean().default(false),
  normalized: z.boolean().default(false),
  special: z.boolean().default(true),
});

const byteLevelSchema = z.object({
  type: z.literal('ByteLevel'),
  add_prefix_space: z.boolean(),
  trim_offsets: z.boolean(),
  use_regex: z.boolean(),
});

// Merges are written as [left, right] pairs (tokenizers ≥ 0.20); the older "left right" strings load too.
const mergeSchema = z.union([
  z.tuple([z.string(), z.string()]),
  z
    .string()
    .regex(/^\S+ \S+$/, 'a merge string must be "left right"')
    .transform((s) => s.split(' ') as [string, string]),
]);

export const tokenizerJsonSchema = z.object({
  version: z.literal('1.0'),
  truncation: z.null(),
  padding: z.null(),
  added_tokens: z.array(addedTokenSchema),
  normalizer: z.null(),
  pre_tokenizer: byteLevelSchema,
  post_processor: byteLevelSchema,
  decoder: byteLevelSchema,
  model: z.object({
    type: z.literal('BPE'),
    dropout: z.null(),
    unk_token: z.null(),
    continuing_subword_prefix: z.null(),
    end_of_word_suffix: z.null(),
    fuse_unk: z.boolean(),
    byte_fallback: z.boolean(),
    ignore_merges: z.boolean(),
    vocab: z.record(z.string(), z.number().int().nonnegative()),
    merges: z.array(mergeSchema),
  }),
});
export type TokenizerJson = z.infer<typeof tokenizerJsonSchema>;

/** `tokenizer_config.json`: which added tokens play which role, and no clean-up that would break round trips. */
export function tokenizerConfigFor(modelMaxLength: number) {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: modelMaxLength,
    pad_token: SPECIAL_TOKENS.pad,
    bos_token: SPECIAL_TOKENS.bos,
    eos_token: SPECIAL_TOKENS.eos,
    sep_token: SPECIAL_TOKENS.sep,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
  };
}
