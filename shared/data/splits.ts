import type { TemplateFamily } from './families';
import { createDatasetRandom, hashString } from '../random';
import type { Split } from './schema';

// Train / val / test BY TEMPLATE FAMILY: a family lives in exactly one split, so evaluation sees
// phrasings the policy never trained on. Families are split within each category (and the
// values-question families as their own group), so every split covers every kind of feedback.

export interface SplitOptions {
  seed: number;
  valShare: number;
  testShare: number;
}

export function assignSplits(families: readonly TemplateFamily[], options: SplitOptions): Map<string, Split> {
  if (options.valShare < 0 || options.testShare < 0 || options.valShare + options.testShare >= 1) {
    throw new Error('valShare and testShare must be non-negative and sum to less than 1');
  }
  const groups = new Map<string, TemplateFamily[]>();
  for (const family of families) {
    const group = family.valuesQuestion ? 'values-question' : family.category;
    groups.set(group, [...(groups.get(group) ?? []), family]);
  }
  const result = new Map<string, Split>();
  for (const [group, members] of groups) {
    const random = createDatasetRandom(hashString(`${options.seed}:split:${group}`));
    const order = random.shuffle(members.map((f) => f.id).sort());
    // At least one family in val and test when the group has three or more, the rest in train.
    const val = order.length >= 3 ? Math.max(1, Math.round(order.length * options.valShare)) : 0;
    const test = order.length >= 3 ? Math.max(1, Math.round(order.length * options.testShare)) : 0;
    order.forEach((id, i) => {
      result.set(id, i < test ? 'test' : i < test + val ? 'val' : 'train');
    });
  }
  return result;
}
