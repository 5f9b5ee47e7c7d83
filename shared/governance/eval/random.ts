import { createRandom } from '../../data/random';

// The evaluation set draws from the same seeded PRNG as shared/data (mulberry32), so a seed gives the
// same set on every machine. This view only changes the API the value generators read best with:
// `int` includes its upper bound (`int(0, 9)` is a digit) and `digits` draws a run of digits.
export type Random = {
  next(): number;
  int(min: number, maxInclusive: number): number;
  pick<T>(items: readonly T[]): T;
  digits(count: number): string;
  chance(p: number): boolean;
};

export function seededRandom(seed: number): Random {
  const random = createRandom(seed);
  const int = (min: number, maxInclusive: number) => random.int(min, maxInclusive + 1);
  return {
    next: random.next,
    int,
    pick: random.pick,
    digits: (count) => Array.from({ length: count }, () => String(int(0, 9))).join(''),
    chance: random.chance,
  };
}
