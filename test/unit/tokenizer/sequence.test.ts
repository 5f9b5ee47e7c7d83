import { describe, expect, it } from 'vitest';
import {
  decodeReply,
  encodePrompt,
  encodeReply,
  encodeSftPair,
  promptBudget,
} from '../../../shared/policy/sequence';
import { PolicyTokenizer } from '../../../shared/policy/tokenizer';
import { trainByteLevelBpe } from '../../../shared/policy/tokenizer-train';

const tokenizer = PolicyTokenizer.fromJson(
  trainByteLevelBpe(['Category: website-bug\nFeedback: the page is broken\nReply: Sorry about the page.'], {
    vocabSize: 300,
  }),
);

describe('prompt and reply encoding', () => {
  it('starts a prompt with bos and ends a reply with eos; decoding the reply gives its text', () => {
    const prompt = encodePrompt(tokenizer, 'Feedback: the page is broken\nReply:', 100);
    expect(prompt[0]).toBe(tokenizer.bosId);
    expect(tokenizer.decode(prompt.slice(1))).toBe('Feedback: the page is broken\nReply:');
    const reply = encodeReply(tokenizer, 'Sorry about the page.');
    expect(reply.at(-1)).toBe(tokenizer.eosId);
    expect(decodeReply(tokenizer, [...reply, 42, 43])).toBe('Sorry about the page.');
    expect(decodeReply(tokenizer, [])).toBe('');
  });

  it('cuts a long prompt from the middle, keeping its head and its "Reply:" end', () => {
    const long = `Category: website-bug\nFeedback: ${'the page is broken '.repeat(40)}\nReply:`;
    const ids = encodePrompt(tokenizer, long, 40);
    expect(ids).toHaveLength(40);
    expect(ids[0]).toBe(tokenizer.bosId);
    expect(tokenizer.decode(ids)).toMatch(/^<\|bos\|>Category/);
    expect(tokenizer.decode(ids)).toMatch(/\nReply:$/);
  });

  it('fits an SFT pair into blockSize + 1 tokens, prompt within its budget', () => {
    const blockSize = 48;
    const { promptIds, completionIds } = encodeSftPair(
      tokenizer,
      `Feedback: ${'broken '.repeat(50)}\nReply:`,
      'Sorry about the page. '.repeat(20),
      blockSize,
      24,
    );
    expect(promptIds.length).toBeLessThanOrEqual(promptBudget(blockSize, 24));
    expect(promptIds.length + completionIds.length).toBe(blockSize + 1);
    expect(promptBudget(64, 160)).toBe(32);
  });
});
