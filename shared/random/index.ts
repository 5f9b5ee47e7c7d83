// shared/random: seeded randomness for the whole project, a leaf module (it imports nothing of the
// project). One PRNG family (rng.ts: sfc32 seeded through splitmix32, deriveSeed), the datasets'
// mulberry32 kept beside it for their fingerprints (dataset.ts), one string hash (hash.ts: FNV-1a) and
// named integer bounds (bounds.ts).
export { MAX_SEED, MAX_UINT32, UINT32_RANGE } from './bounds';
export {
  createDatasetRandom,
  type InclusiveRandom,
  mulberry32,
  type Random,
  withInclusiveBounds,
} from './dataset';
export { FNV_OFFSET_BASIS, FNV_PRIME, hashString, seededHash } from './hash';
export { createRng, deriveSeed, type Rng, splitmix32 } from './rng';
