// The datasets' PRNG: mulberry32, with the helpers the generators need.
//
// This is a second algorithm beside rng.ts's sfc32, kept on purpose: the seeded datasets (shared/data),
// SFT corpora, the governance evaluation set and the baseline policy's drafts were all made with
// mulberry32, and the documented figures were measured on them. Drawing them from sfc32 would change
// every one (test/unit/random/reproducible.test.ts holds their fingerprints). Code without such outputs
// to keep uses createRng.

import { UINT32_RANGE } from './bounds';

/** mulberry32 (Tommy Ettinger): uniform in [0, 1) from a 32-bit state. The seed is reduced to 32 bits. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / UINT32_RANGE;
  };
}

/** Upper bounds exclude: `int(0, 10)` is a digit. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  int(minInclusive: number, maxExclusive: number): number;
  pick<T>(items: readonly T[]): T;
  chance(probability: number): boolean;
  shuffle<T>(items: readonly T[]): T[];
}

/** The dataset generators' Random over mulberry32. Every random choice in shared/data goes through one. */
export function createDatasetRandom(seed: number): Random {
  const next = mulberry32(seed);
  const int = (min: number, maxExclusive: number) => min + Math.floor(next() * (maxExclusive - min));
  return {
    next,
    int,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[int(0, items.length)];
    },
    chance: (p) => next() < p,
    shuffle: (items) => {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(0, i + 1);
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
  };
}

/** Upper bounds include: `int(0, 9)` is a digit. The governance evaluation set's value generators read best so. */
export interface InclusiveRandom {
  next(): number;
  int(minInclusive: number, maxInclusive: number): number;
  pick<T>(items: readonly T[]): T;
  /** A run of `count` decimal digits. */
  digits(count: number): string;
  chance(probability: number): boolean;
}

/** The same stream as `random`, with inclusive integer bounds and `digits`. */
export function withInclusiveBounds(random: Random): InclusiveRandom {
  const int = (min: number, maxInclusive: number) => random.int(min, maxInclusive + 1);
  return {
    next: random.next,
    int,
    pick: random.pick,
    digits: (count) => Array.from({ length: count }, () => String(int(0, 9))).join(''),
    chance: random.chance,
  };
}
