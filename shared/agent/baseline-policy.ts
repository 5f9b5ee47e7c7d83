import type { SftExample } from '../data/schema';
import { createDatasetRandom, hashString } from '../random';
import type { DraftedReply, DraftOptions, ReplyPolicy } from './policy';

// The baseline policy, used until a trained checkpoint exists: it "drafts" by sampling replies of the
// SFT corpus written for feedback of the same category, seeded. It knows nothing of the specific
// feedback, and a fifth of the corpus carries bad habits, so its reward is a floor that a trained
// policy should beat: specific acknowledgement and clean language have to be learned.

export const BASELINE_POLICY_ID = 'baseline-sft-corpus';

const CATEGORY_LINE = /^Category: ([\w-]+)$/m;

export function createBaselinePolicy(corpus: readonly SftExample[], seed = 7): ReplyPolicy {
  if (corpus.length === 0) throw new Error('the baseline policy needs a non-empty SFT corpus');
  const byCategory = new Map<string, SftExample[]>();
  for (const example of corpus)
    byCategory.set(example.category, [...(byCategory.get(example.category) ?? []), example]);
  let calls = 0;
  return {
    id: BASELINE_POLICY_ID,
    async draft(
      prompts: string[],
      samplesPerPrompt: number,
      options: DraftOptions = {},
    ): Promise<DraftedReply[][]> {
      const callSeed = options.seed ?? hashString(`${seed}:${calls++}`);
      return prompts.map((prompt, i) => {
        const random = createDatasetRandom(hashString(`${callSeed}:${i}:${prompt}`));
        const category = prompt.match(CATEGORY_LINE)?.[1];
        const pool = (category && byCategory.get(category)) || corpus;
        return Array.from({ length: samplesPerPrompt }, () => ({ text: random.pick(pool).reply }));
      });
    },
  };
}
