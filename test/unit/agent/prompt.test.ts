import { describe, expect, it } from 'vitest';
import { buildFeedbackPrompt, promptFormatOf, promptKeywords } from '../../../shared/agent/prompt';
import { createGovernancePipeline } from '../../../shared/governance';

const governance = createGovernancePipeline();
const task = {
  id: 'fb-1',
  text: 'Your contact form just spins forever after I press send.',
  category: 'website-bug' as const,
};

describe('feedback prompt', () => {
  it('is plain by default and adds the key-words line only when asked', () => {
    const verdict = governance.govern(task.text, 'feedback');
    const plain = buildFeedbackPrompt(task, verdict);
    expect(plain).toBe(
      `Category: website-bug\nSentiment: ${verdict.sentiment.label}\nFeedback: ${task.text}\nReply:`,
    );
    expect(buildFeedbackPrompt(task, verdict, { keyWords: false })).toBe(plain);
    expect(buildFeedbackPrompt(task, verdict, { keyWords: true })).toBe(
      plain.replace('\nReply:', '\nKey words: contact, form, spins\nReply:'),
    );
  });

  it('takes key words from the redacted text: never personal data or a placeholder', () => {
    const verdict = governance.govern(
      'Write to maria.lopez@example.org about the broken glossary page.',
      'feedback',
    );
    const words = promptKeywords(verdict.redacted);
    expect(words).toEqual(['write', 'broken', 'glossary']);
    const prompt = buildFeedbackPrompt(task, verdict, { keyWords: true });
    expect(prompt).not.toMatch(/maria|lopez|example\.org/i);
    expect(prompt).toContain('\nKey words: write, broken, glossary\n');
  });

  it("reads a corpus's format, and refuses a corpus that mixes the two", () => {
    const verdict = governance.govern(task.text, 'feedback');
    const plain = buildFeedbackPrompt(task, verdict);
    const keyed = buildFeedbackPrompt(task, verdict, { keyWords: true });
    expect(promptFormatOf([plain, plain])).toEqual({ keyWords: false });
    expect(promptFormatOf([keyed, keyed])).toEqual({ keyWords: true });
    expect(promptFormatOf([])).toEqual({ keyWords: false });
    expect(() => promptFormatOf([plain, keyed, keyed])).toThrow(/2 of 3 prompts have a "Key words:" line/);
  });
});
