import { describe, expect, it } from 'vitest';
import { KEYWORDS_MARKER, promptKeywords, REPLY_MARKER } from '../../../shared/agent/prompt';
import { countWords, rewardFeedbackReply } from '../../../shared/agent/reward';
import { generateFeedback } from '../../../shared/data/generator';
import { createDatasetRandom } from '../../../shared/random';
import { addFlaws, buildSftCorpus, quotableSentence } from '../../../shared/data/sft';
import { createGovernancePipeline } from '../../../shared/governance';

const governance = createGovernancePipeline();
const train = generateFeedback({ count: 600 }).filter((i) => i.metadata.split === 'train');
const corpus = buildSftCorpus(train, { governance });
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

describe('SFT corpus', () => {
  it('has one example per item, with the prompt ending at the reply marker', () => {
    expect(corpus).toHaveLength(train.length);
    for (const [i, ex] of corpus.entries()) {
      expect(ex.taskId).toBe(train[i].id);
      expect(ex.prompt.endsWith(REPLY_MARKER)).toBe(true);
      expect(ex.prompt).toContain(`Category: ${train[i].category}`);
    }
  });

  it('never shows the policy personal data: prompts use the redacted text', () => {
    for (const [i, ex] of corpus.entries()) {
      for (const type of train[i].metadata.pii)
        expect(ex.prompt, type).not.toMatch(/@example\.|\d{4} \d{4} \d{4} \d{4}/);
    }
    expect(corpus.some((ex) => /<(EMAIL|PHONE|PERSON)_\d+>/.test(ex.prompt))).toBe(true);
  });

  it('carries bad habits in exactly the configured share (default 20 %)', () => {
    const flawed = corpus.filter((ex) => ex.flaws.length > 0).length;
    expect(flawed).toBe(Math.round(train.length * 0.2));
    const none = buildSftCorpus(train.slice(0, 50), { governance, badShare: 0 });
    expect(none.every((ex) => ex.flaws.length === 0)).toBe(true);
    const half = buildSftCorpus(train.slice(0, 50), { governance, badShare: 0.5 });
    expect(half.filter((ex) => ex.flaws.length > 0)).toHaveLength(25);
    expect(() => buildSftCorpus(train, { governance, badShare: 1.5 })).toThrow(/badShare/);
  });

  it('writes reference replies of 50–150 words, varied, specific, clean and well rewarded', () => {
    const references = corpus.filter((ex) => ex.flaws.length === 0);
    expect(new Set(references.map((ex) => ex.reply)).size).toBeGreaterThan(references.length * 0.97);
    const rewards: number[] = [];
    for (const ex of references) {
      expect(countWords(ex.reply)).toBeGreaterThanOrEqual(50);
      expect(countWords(ex.reply)).toBeLessThanOrEqual(150);
      const item = train.find((i) => i.id === ex.taskId)!;
      const reply = governance.govern(ex.reply, 'response');
      expect(reply.pii, ex.reply).toEqual([]);
      expect(reply.violations, ex.reply).toEqual([]);
      rewards.push(
        rewardFeedbackReply(ex.reply, item, { feedback: governance.govern(item.text), reply }).primary,
      );
    }
    expect(mean(rewards)).toBeGreaterThan(0.85);
  });

  it('makes each bad habit visible to governance or the reward', () => {
    const reference = corpus.find((ex) => ex.flaws.length === 0)!.reply;
    const random = createDatasetRandom(3);
    const rules = (text: string) => governance.govern(text, 'response').violations.map((v) => v.rule);
    expect(rules(addFlaws(reference, ['absolute-assurance'], random))).toContain('inst_017');
    expect(rules(addFlaws(reference, ['maturity-claim'], random))).toContain('inst_018');
    expect(rules(addFlaws(reference, ['uncited-statistic'], random))).toContain('inst_016');
    expect(countWords(addFlaws(reference, ['too-short'], random))).toBeLessThan(25);
    expect(countWords(addFlaws(reference, ['too-long'], random))).toBeGreaterThan(225);
    const flawedRewards = corpus
      .filter((ex) => ex.flaws.length > 0)
      .map((ex) => {
        const item = train.find((i) => i.id === ex.taskId)!;
        return rewardFeedbackReply(ex.reply, item, {
          feedback: governance.govern(item.text),
          reply: governance.govern(ex.reply, 'response'),
        }).primary;
      });
    expect(mean(flawedRewards)).toBeLessThan(0.5);
  });

  it('quotes a clean sentence of the feedback, never a placeholder or a rule violation', () => {
    expect(quotableSentence('Hi. The search page times out on my phone. Please fix.', governance)).toBe(
      'The search page times out on my phone.',
    );
    // Placeholders, uncited figures and absolute claims are skipped, not quoted back.
    expect(
      quotableSentence(
        'I am <PERSON_1> from the pilot group. Is it 100% secure? The export button does nothing at all.',
        governance,
      ),
    ).toBe('The export button does nothing at all.');
    expect(quotableSentence('Broken.', governance)).toBeUndefined();
    const quoting = buildSftCorpus(train, { governance, quote: true });
    const quoted = quoting.filter((ex) => ex.flaws.length === 0 && /(wrote|words|put it): "/.test(ex.reply));
    expect(quoted.length).toBeGreaterThan(0.8 * quoting.filter((ex) => ex.flaws.length === 0).length);
    for (const ex of quoted.slice(0, 50)) {
      const quote = /: "([^"]+)"/.exec(ex.reply)![1];
      expect(ex.prompt).toContain(quote.replace(/\.$/, ''));
    }
    // Quoting is opt-in (the copy head's corpus); the default corpus never quotes.
    expect(corpus.some((ex) => /: "/.test(ex.reply))).toBe(false);
  });

  it("with keyWords, lists the feedback's key words in the prompt and names them back in the reply", () => {
    const keyed = buildSftCorpus(train, { governance, keyWords: true });
    // The same items carry bad habits (which ones may differ: the echo takes a draw from the item's stream).
    expect(keyed.map((ex) => ex.flaws.length > 0)).toEqual(corpus.map((ex) => ex.flaws.length > 0));
    for (const ex of keyed.filter((e) => e.flaws.length === 0)) {
      const item = train.find((i) => i.id === ex.taskId)!;
      const feedback = governance.govern(item.text, 'feedback');
      const keywords = promptKeywords(feedback.redacted);
      expect(ex.prompt.endsWith(`${KEYWORDS_MARKER} ${keywords.join(', ')}${REPLY_MARKER}`)).toBe(true);
      // Every key word is in the redacted feedback, so copying it never copies personal data.
      for (const word of keywords) expect(feedback.redacted.toLowerCase()).toContain(word);
      for (const word of keywords) expect(ex.reply).toContain(word);
      const reply = governance.govern(ex.reply, 'response');
      const terms = rewardFeedbackReply(ex.reply, item, { feedback, reply }).terms;
      expect(terms.acknowledgement, ex.reply).toBe(1);
      expect(terms.length, ex.reply).toBe(1);
    }
    // Opt-in: the default corpus has neither the line nor the echo.
    expect(corpus.some((ex) => ex.prompt.includes(KEYWORDS_MARKER))).toBe(false);
    expect(corpus.some((ex) => /You mentioned|details you gave|points you raised/.test(ex.reply))).toBe(
      false,
    );
  });
});
