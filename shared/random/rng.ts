// The PRNG family for everything that must replay exactly: weight init, sampling, data order.
//
// `createRng(seed)` is sfc32 (Chris Doty-Humphrey's Small Fast Counter, 32-bit variant) seeded through
// splitmix32, so nearby seeds give unrelated streams. `deriveSeed(seed, label)` hashes a label into a
// child seed, so adding a new consumer (a new weight, a new sampler) never shifts the others' streams.
// New code draws from here; dataset.ts keeps the older mulberry32 stream that the datasets were made with.

import { UINT32_RANGE } from './bounds';
import { FNV_OFFSET_BASIS, seededHash } from './hash';

export type Rng = {
  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number;
  /** Standard normal (Box–Muller; the second value of each pair is cached). */
  normal(): number;
  /** Uniform integer in [0, nExclusive). */
  int(nExclusive: number): number;
};

/** splitmix32: a stream of well-mixed uint32s from any uint32 state (used to seed sfc32 and for deriveSeed). */
export function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** sfc32 seeded through splitmix32. The seed is floored and reduced to 32 bits (see MAX_SEED). */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`rng seed must be a finite number, got ${seed}`);
  const mix = splitmix32(Math.floor(seed) >>> 0);
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  const nextU32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  // Warm up: the first outputs of sfc32 still carry the seed's structure.
  for (let i = 0; i < 12; i++) nextU32();
  let spare: number | null = null;
  const next = () => nextU32() / UINT32_RANGE;
  return {
    next,
    normal() {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      let u = next();
      while (u <= 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int(nExclusive: number) {
      return Math.floor(next() * nExclusive);
    },
  };
}

/** A child seed from a parent seed and a label: FNV-1a over the label keyed on the seed, then splitmix32. */
export function deriveSeed(seed: number, label: string): number {
  return splitmix32(seededHash(FNV_OFFSET_BASIS ^ (Math.floor(seed) >>> 0), label))();
}
