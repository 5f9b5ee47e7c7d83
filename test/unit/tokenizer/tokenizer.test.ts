import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PolicyTokenizer } from '../../../shared/policy/tokenizer';
import { BYTE_TO_UNICODE, SPECIAL_TOKENS } from '../../../shared/policy/tokenizer-format';
import { trainByteLevelBpe } from '../../../shared/policy/tokenizer-train';

const corpus = [
  'Thank you for reporting this bug. We are still evaluating the fix; results are preliminary.',
  'The research prototype has a known limitation with long documents.',
  'We apologise for the broken link on the documentation page and thank you for the report.',
  'Café, naïve, 日本語のフィードバック and emoji 😀 also appear in feedback.',
  'Our framework is guaranteed to be 100% safe? We never say that: figures need [NEEDS VERIFICATION].',
];
const trained = trainByteLevelBpe(
  corpus.flatMap((t) => [t, t.toUpperCase(), t.toLowerCase()]),
  { vocabSize: 400 },
);
const tokenizer = PolicyTokenizer.fromJson(trained);

describe('byte-level BPE tokenizer', () => {
  it('round-trips any Unicode string: decode(encode(s)) === s', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => {
        expect(tokenizer.decode(tokenizer.encode(s))).toBe(s);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        expect(tokenizer.decode(tokenizer.encode(s))).toBe(s);
      }),
      { numRuns: 200 },
    );
  });

  it('gives the special tokens ids 0..3 and encodes their text as one id', () => {
    expect([
      tokenizer.padId,
      tokenizer.bosId,
      tokenizer.eosId,
      tokenizer.tokenId(SPECIAL_TOKENS.sep),
    ]).toEqual([0, 1, 2, 3]);
    expect(tokenizer.encode(`hi${SPECIAL_TOKENS.eos}`).at(-1)).toBe(tokenizer.eosId);
    expect(
      tokenizer.decode([tokenizer.bosId as number, ...tokenizer.encode('ok')], { skipSpecialTokens: true }),
    ).toBe('ok');
  });

  it('merges the most frequent pair first and compresses the training text', () => {
    // 'ab' occurs 6 times, 'cd' 3 times, so ('a','b') has rank 0.
    const small = trainByteLevelBpe(['ab ab ab ab ab ab cd cd cd'], {
      vocabSize: 262,
      specialTokens: [...Object.values(SPECIAL_TOKENS)],
    });
    expect(small.model.merges[0]).toEqual(['a', 'b']);
    const text = corpus[0];
    expect(tokenizer.encode(text).length).toBeLessThan(new TextEncoder().encode(text).length / 2);
  });

  it('is deterministic and honours the vocabulary size', () => {
    const again = trainByteLevelBpe(
      corpus.flatMap((t) => [t, t.toUpperCase(), t.toLowerCase()]),
      { vocabSize: 400 },
    );
    expect(JSON.stringify(again)).toBe(JSON.stringify(trained));
    expect(tokenizer.vocabSize).toBeLessThanOrEqual(400);
    expect(Object.keys(trained.model.vocab)).toHaveLength(tokenizer.vocabSize);
    // every byte is in the vocabulary, so nothing is ever unknown
    for (const ch of BYTE_TO_UNICODE) expect(trained.model.vocab[ch]).toBeTypeOf('number');
  });

  it('survives a save/load as text, with merges in either file format', () => {
    const reloaded = PolicyTokenizer.fromText(tokenizer.toText());
    expect(reloaded.encode(corpus[2])).toEqual(tokenizer.encode(corpus[2]));
    const legacy = structuredClone(trained) as unknown as { model: { merges: unknown[] } };
    legacy.model.merges = trained.model.merges.map(([a, b]) => `${a} ${b}`);
    expect(PolicyTokenizer.fromJson(legacy).encode(corpus[2])).toEqual(tokenizer.encode(corpus[2]));
  });

  it('rejects files it cannot honour with a clear message', () => {
    expect(() => PolicyTokenizer.fromText('{')).toThrow(/not valid JSON/);
    const wordPiece = { ...structuredClone(trained), model: { ...trained.model, type: 'WordPiece' } };
    expect(() => PolicyTokenizer.fromJson(wordPiece)).toThrow(/model\.type/);
    const noEos = structuredClone(trained);
    noEos.added_tokens = noEos.added_tokens.filter((t) => t.content !== SPECIAL_TOKENS.eos);
    delete noEos.model.vocab[SPECIAL_TOKENS.eos];
    expect(() => PolicyTokenizer.fromJson(noEos)).toThrow(/<\|eos\|>/);
    expect(() => trainByteLevelBpe(corpus, { vocabSize: 100 })).toThrow(/vocabSize/);
  });
});
