// The tokenizer.json this project writes, read by Hugging Face's Rust `tokenizers` (its official Node
// binding: the same Rust crate Python's `tokenizers.Tokenizer.from_file` wraps). Same ids for the same
// text, and the Rust decoder gives the text back.
import fc from 'fast-check';
import { Tokenizer } from 'tokenizers';
import { describe, expect, it } from 'vitest';
import { generateFeedback } from '../../../shared/data/generator';
import { PolicyTokenizer } from '../../../shared/policy/tokenizer';
import { SPECIAL_TOKENS } from '../../../shared/policy/tokenizer-format';
import { trainByteLevelBpe } from '../../../shared/policy/tokenizer-train';

const corpus = generateFeedback({ seed: 3, count: 200 }).map((item) => item.text);
const ours = PolicyTokenizer.fromJson(trainByteLevelBpe(corpus, { vocabSize: 600 }));
const rust = Tokenizer.fromString(ours.toText());

async function rustIds(text: string): Promise<number[]> {
  return (await rust.encode(text, null, { addSpecialTokens: false })).getIds();
}

describe('tokenizer.json in the Rust tokenizers library', () => {
  it('loads with the same vocabulary and special tokens', () => {
    expect(rust.getVocabSize(true)).toBe(ours.vocabSize);
    for (const [i, token] of Object.values(SPECIAL_TOKENS).entries()) expect(rust.tokenToId(token)).toBe(i);
  });

  it('encodes the corpus and arbitrary Unicode to the same ids, and decodes them back', async () => {
    for (const text of corpus.slice(0, 50)) expect(await rustIds(text)).toEqual(ours.encode(text));
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 60 }), async (s) => {
        const ids = ours.encode(s);
        expect(await rustIds(s)).toEqual(ids);
        expect(await rust.decode(ids, false)).toBe(s);
      }),
      { numRuns: 200 },
    );
    const withSpecial = `${SPECIAL_TOKENS.bos}Thanks for the report.${SPECIAL_TOKENS.eos}`;
    expect(await rustIds(withSpecial)).toEqual(ours.encode(withSpecial));
  });
});
