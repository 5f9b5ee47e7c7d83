// Novel slot values (generateFeedback's novelShare): a share of the training items name their subject
// with nouns from a large list, so the SFT corpus teaches copying from the prompt rather than recall.
import { describe, expect, it } from 'vitest';
import { acknowledgementScore, feedbackKeywords } from '../../../shared/agent/reward';
import { SLOTS } from '../../../shared/data/families';
import { generateFeedback } from '../../../shared/data/generator';
import { NOVEL_PLURAL, NOVEL_SINGULAR } from '../../../shared/data/novel-words';
import { createDatasetRandom } from '../../../shared/random';
import { buildSftCorpus, feedbackSubject } from '../../../shared/data/sft';
import { createGovernancePipeline } from '../../../shared/governance';

const plain = generateFeedback({ count: 600 });
const novel = generateFeedback({ count: 600, novelShare: 0.5 });

describe('novel slot values', () => {
  it('leave validation and test items, and the default dataset, untouched', () => {
    expect(generateFeedback({ count: 600, novelShare: 0 })).toEqual(plain);
    const heldOut = (items: typeof plain) => items.filter((i) => i.metadata.split !== 'train');
    expect(heldOut(novel)).toEqual(heldOut(plain));
    expect(novel.map((i) => i.id)).toEqual(plain.map((i) => i.id));
  });

  it('redraw the noun slots of about half the training items, outside the template pools', () => {
    const changed = novel.filter((item, i) => item.text !== plain[i].text);
    const train = novel.filter((i) => i.metadata.split === 'train');
    expect(changed.every((i) => i.metadata.split === 'train')).toBe(true);
    // Half are drawn; of those, families without a noun slot stay as they were.
    expect(changed.length / train.length).toBeGreaterThan(0.15);
    expect(changed.length / train.length).toBeLessThan(0.5);
    const pooled = new Set(Object.values(SLOTS).flat());
    for (const item of changed) {
      const values = Object.values(item.metadata.slots);
      expect(values.some((v) => !pooled.has(v))).toBe(true);
      // The reply's subject names words the feedback contains.
      const subject = feedbackSubject(item);
      expect(acknowledgementScore(subject, feedbackKeywords(item.text))).toBeGreaterThan(0.3);
    }
  });

  it('put the novel words into the SFT reply, copied from the prompt', () => {
    const governance = createGovernancePipeline();
    const changed = novel.filter((item, i) => item.text !== plain[i].text).slice(0, 40);
    const corpus = buildSftCorpus(changed, { governance, badShare: 0 });
    const pooled = new Set(Object.values(SLOTS).flat());
    let copied = 0;
    for (const [i, example] of corpus.entries()) {
      const novelValues = Object.values(changed[i].metadata.slots).filter((v) => !pooled.has(v));
      const inReply = novelValues.filter((v) => example.reply.includes(v));
      if (inReply.length > 0 && inReply.every((v) => example.prompt.includes(v))) copied++;
      // The reference reply stays clean: novel words trigger no rule.
      expect(governance.govern(example.reply, 'response').violations).toEqual([]);
    }
    expect(copied / corpus.length).toBeGreaterThan(0.8);
  });

  it('come from a word list governance passes untouched', () => {
    expect(NOVEL_SINGULAR.length).toBeGreaterThan(500);
    expect(NOVEL_PLURAL.length).toBeGreaterThan(500);
    const governance = createGovernancePipeline();
    const random = createDatasetRandom(3);
    for (let i = 0; i < 100; i++) {
      const word = random.pick(random.chance(0.5) ? NOVEL_SINGULAR : NOVEL_PLURAL);
      const verdict = governance.govern(`We looked at the ${word} section again.`, 'response');
      expect(verdict.violations, word).toEqual([]);
      expect(verdict.pii, word).toEqual([]);
    }
  });
});
