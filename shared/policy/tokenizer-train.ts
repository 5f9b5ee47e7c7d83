// Trains a byte-level BPE (the GPT-2 scheme) on a corpus and writes it as a Hugging Face
// `tokenizer.json`, so the same file loads in @huggingface/tokenizers and in Python's `tokenizers`.
//
// Training is the classic merge loop, made incremental: pair counts are kept in a map, every pair
// knows the words it occurs in, and a max-heap with lazy invalidation yields the most frequent pair.
// A merge only re-counts the words that contain the merged pair, so a few MB of text train in
// seconds instead of rescanning the corpus for each of the ~1,700 merges.

import {
  BYTE_TO_UNICODE,
  GPT2_PRETOKENIZE_PATTERN,
  SPECIAL_TOKENS,
  type TokenizerJson,
  tokenizerJsonSchema,
} from './tokenizer-format';

export interface BpeTrainingOptions {
  /** Final vocabulary size including the 256 byte tokens and the special tokens. */
  vocabSize?: number;
  /** Pairs seen fewer times than this are never merged. */
  minFrequency?: number;
  /** Added (special) tokens, given the lowest ids in this order. */
  specialTokens?: readonly string[];
}

import { DEFAULT_VOCAB_SIZE } from './defaults';

export { DEFAULT_VOCAB_SIZE };

/** Max-heap of [count, pairKey]; ties go to the smaller key so training is deterministic. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let best = i;
        if (left < this.counts.length && this.above(left, best)) best = left;
        if (right < this.counts.length && this.above(right, best)) best = right;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }

  private above(a: number, b: number): boolean {
    return (
      this.counts[a] > this.counts[b] || (this.counts[a] === this.counts[b] && this.keys[a] < this.keys[b])
    );
  }

  private swap(a: number, b: number): void {
    [this.counts[a], this.counts[b]] = [this.counts[b], this.counts[a]];
    [this.keys[a], this.keys[b]] = [this.keys[b], this.keys[a]];
  }
}

// Symbol ids stay below 2^20 (vocabularies are a few thousand), so a pair packs into one safe integer.
const PAIR_SHIFT = 2 ** 20;
const pairKey = (left: number, right: number) => left * PAIR_SHIFT + right;

/** Counts the pre-tokenized words of the corpus, each as its UTF-8 bytes. */
function countWords(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const match of text.matchAll(GPT2_PRETOKENIZE_PATTERN)) {
      counts.set(match[0], (counts.get(match[0]) ?? 0) + 1);
    }
  }
  return counts;
}

export function trainByteLevelBpe(texts: Iterable<string>, options: BpeTrainingOptions = {}): TokenizerJson {
  const vocabSize = options.vocabSize ?? DEFAULT_VOCAB_SIZE;
  const minFrequency = options.minFrequency ?? 2;
  const specialTokens = options.specialTokens ?? Object.values(SPECIAL_TOKENS);
  if (!Number.isInteger(vocabSize) || vocabSize < 256 + specialTokens.length)
    throw new Error(`vocabSize must be an integer ≥ ${256 + specialTokens.length}, got ${vocabSize}`);

  // Symbols 0..255 are the bytes; each merge appends one symbol.
  const symbolText: string[] = BYTE_TO_UNICODE.slice();
  const encoder = new TextEncoder();
  const words: number[][] = [];
  const frequency: number[] = [];
  for (const [word, count] of countWords(texts)) {
    words.push(Array.from(encoder.encode(word)));
    frequency.push(count);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (w: number, sign: 1 | -1, touched: Set<number>) => {
    const word = words[w];
    for (let i = 0; i + 1 < word.length; i++) {
      const key = pairKey(word[i], word[i + 1]);
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * frequency[w]);
      touched.add(key);
      if (sign > 0) {
        const where = pairWords.get(key);
        if (where) where.add(w);
        else pairWords.set(key, new Set([w]));
      }
    }
  };
  const initial = new Set<number>();
  for (let w = 0; w < words.length; w++) addPairs(w, 1, initial);
  const heap = new PairHeap();
  for (const key of initial) heap.push(pairCount.get(key)!, key);

  const merges: [string, string][] = [];
  const mergesWanted = vocabSize - 256 - specialTokens.length;
  while (merges.length < mergesWanted && heap.size > 0) {
    const [count, key] = heap.pop();
    // Stale entry: the pair's count changed after this entry was pushed.
    if (pairCount.get(key) !== count) continue;
    if (count < minFrequency) break;
    const left = Math.floor(key / PAIR_SHIFT);
    const right = key % PAIR_SHIFT;
    const merged = symbolText.length;
    symbolText.push(symbolText[left] + symbolText[right]);
    merges.push([symbolText[left], symbolText[right]]);

    const touched = new Set<number>();
    for (const w of pairWords.get(key) ?? []) {
      const word = words[w];
      addPairs(w, -1, touched);
      const next: number[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === left && word[i + 1] === right) {
          next.push(merged);
          i++;
        } else next.push(word[i]);
      }
      words[w] = next;
      addPairs(w, 1, touched);
    }
    pairWords.delete(key);
    pairCount.delete(key);
    for (const t of touched) {
      const c = pairCount.get(t);
      if (c === undefined) continue;
      if (c <= 0) {
        pairCount.delete(t);
        pairWords.delete(t);
      } else heap.push(c, t);
    }
  }

  const vocab: Record<string, number> = {};
  specialTokens.forEach((token, id) => {
    vocab[token] = id;
  });
  symbolText.forEach((text, symbol) => {
    vocab[text] = specialTokens.length + symbol;
  });
  return buildTokenizerJson(vocab, merges, specialTokens);
}

function buildTokenizerJson(
  vocab: Record<string, number>,
  merges: [string, string][],
  specialTokens: readonly string[],
): TokenizerJson {
  return tokenizerJsonSchema.parse({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialTokens.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  });
}
