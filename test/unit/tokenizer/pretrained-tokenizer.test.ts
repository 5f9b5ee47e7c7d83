// PolicyTokenizer.fromFiles on a tiny byte-level BPE trained here (shared/policy/tokenizer-train.ts) with ChatML's added
// tokens, and a tokenizer_config.json shaped like SmolLM2-Instruct's: special tokens as strings and as
// AddedToken objects, the chat template rendered, encoded with special tokens as single ids, decoded back.
import { describe, expect, it } from 'vitest';
import { PolicyTokenizer } from '../../../shared/policy/tokenizer';
import { trainByteLevelBpe } from '../../../shared/policy/tokenizer-train';

const CHATML =
  "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

const corpus = [
  'You are a helpful assistant. The user asks and the assistant answers.',
  'What is the capital of France? The capital of France is Paris.',
  'Hello there! How are you today? I am fine, thank you.',
  'system user assistant system user assistant',
];
const tokenizerJson = trainByteLevelBpe(corpus, {
  vocabSize: 320,
  minFrequency: 1,
  specialTokens: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'],
});

const smolConfig = {
  bos_token: '<|im_start|>',
  eos_token: {
    __type: 'AddedToken',
    content: '<|im_end|>',
    lstrip: false,
    normalized: false,
    rstrip: false,
    single_word: false,
  },
  unk_token: '<|endoftext|>',
  additional_special_tokens: ['<|im_start|>', '<|im_end|>'],
  chat_template: CHATML,
  clean_up_tokenization_spaces: false,
};

const messages = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'What is the capital of France?' },
];

describe('PolicyTokenizer', () => {
  const tokenizer = PolicyTokenizer.fromFiles(tokenizerJson, smolConfig);

  it('reads the special tokens, as strings or AddedToken objects, and pads with eos when no pad is named', () => {
    expect([
      tokenizer.tokenId('<|endoftext|>'),
      tokenizer.tokenId('<|im_start|>'),
      tokenizer.tokenId('<|im_end|>'),
    ]).toEqual([0, 1, 2]);
    expect(tokenizer.bosId).toBe(1);
    expect(tokenizer.eosId).toBe(2);
    expect(tokenizer.unkId).toBe(0);
    expect(tokenizer.padId).toBe(2);
    expect(tokenizer.padIsEosFallback).toBe(true);
    const maxId = Math.max(
      ...Object.values(tokenizerJson.model.vocab),
      ...tokenizerJson.added_tokens.map((t) => t.id),
    );
    expect(tokenizer.vocabSize).toBe(maxId + 1);
    expect(tokenizer.vocabSize).toBeGreaterThan(259);
    const withPad = PolicyTokenizer.fromFiles(tokenizerJson, {
      ...smolConfig,
      pad_token: { content: '<|endoftext|>' },
    });
    expect(withPad.padId).toBe(0);
    expect(withPad.padIsEosFallback).toBe(false);
    // GPT-2 style: an eos and nothing else; prompts then start without bos and there is no template.
    const bare = PolicyTokenizer.fromFiles(tokenizerJson, { eos_token: '<|endoftext|>' });
    expect([bare.bosId, bare.eosId, bare.padId, bare.chatTemplate]).toEqual([null, 0, 0, null]);
    expect(() => bare.applyChatTemplate(messages)).toThrow(/no chat template/);
    // A policy must know where its replies end.
    expect(() => PolicyTokenizer.fromFiles(tokenizerJson, null)).toThrow(/names no eos_token/);
  });

  it('renders the ChatML template, with and without the generation prompt', () => {
    const expected =
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' +
      '<|im_start|>user\nWhat is the capital of France?<|im_end|>\n';
    expect(tokenizer.applyChatTemplate(messages)).toBe(expected);
    expect(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true })).toBe(
      `${expected}<|im_start|>assistant\n`,
    );
  });

  it('encodes the special tokens as single ids, the text between them as plain BPE', () => {
    const text = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
    const ids = tokenizer.encode(text);
    const [imStart, imEnd] = [1, 2];
    const expected = [
      imStart,
      ...tokenizer.encode('system\nYou are a helpful assistant.'),
      imEnd,
      ...tokenizer.encode('\n'),
      imStart,
      ...tokenizer.encode('user\nWhat is the capital of France?'),
      imEnd,
      ...tokenizer.encode('\n'),
      imStart,
      ...tokenizer.encode('assistant\n'),
    ];
    expect(ids).toEqual(expected);
    expect(ids.filter((id) => id === imStart)).toHaveLength(3);
    expect(ids.filter((id) => id === imEnd)).toHaveLength(2);
    // No special id leaks into the plain text pieces, and the roles are ordinary tokens.
    expect(tokenizer.encode('system\nYou are a helpful assistant.').every((id) => id > 2)).toBe(true);
    const assistant = tokenizer.encode('assistant');
    expect(assistant.length).toBeGreaterThan(0);
    expect(ids.slice(-1 - assistant.length - 1, -1)).toEqual([imStart, ...assistant]);
    expect(tokenizer.decode(assistant)).toBe('assistant');
  });

  it('decodes back to the text, or to the text without special tokens', () => {
    const text = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
    const ids = tokenizer.encode(text);
    expect(tokenizer.decode(ids)).toBe(text);
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe(
      'system\nYou are a helpful assistant.\nuser\nWhat is the capital of France?\nassistant\n',
    );
    expect(tokenizer.decode([])).toBe('');
    // No clean-up of spaces before punctuation (transformers' current default).
    expect(tokenizer.decode(tokenizer.encode('Paris , France .'))).toBe('Paris , France .');
  });

  it('passes bos_token and eos_token to the template, and picks the "default" of a template list', () => {
    const template =
      '{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}{% if pad_token is defined %}PAD{% endif %}';
    const listed = PolicyTokenizer.fromFiles(tokenizerJson, {
      ...smolConfig,
      chat_template: [
        { name: 'tool_use', template: 'tools!' },
        { name: 'default', template },
      ],
    });
    expect(listed.applyChatTemplate(messages)).toBe(
      '<|im_start|>You are a helpful assistant.<|im_end|>What is the capital of France?<|im_end|>',
    );
    const separate = PolicyTokenizer.fromFiles(tokenizerJson, smolConfig, {
      chatTemplate: '{{ messages[0].role }}',
    });
    expect(separate.applyChatTemplate(messages)).toBe('system');
  });

  it('refuses configs it cannot honour, naming the field', () => {
    expect(() =>
      PolicyTokenizer.fromFiles(tokenizerJson, {
        ...smolConfig,
        chat_template: [{ name: 'tool_use', template: 'x' }],
      }),
    ).toThrow(/no "default"/);
    expect(() => PolicyTokenizer.fromFiles(tokenizerJson, { ...smolConfig, eos_token: '</s>' })).toThrow(
      /eos_token "<\/s>" is not in tokenizer\.json/,
    );
    expect(() => PolicyTokenizer.fromFiles(tokenizerJson, { ...smolConfig, bos_token: 7 })).toThrow(
      /bos_token/,
    );
    expect(() =>
      PolicyTokenizer.fromFiles(tokenizerJson, { ...smolConfig, chat_template: '{% for %}' }),
    ).toThrow(/chat template does not parse/);
    expect(() => PolicyTokenizer.fromFiles({ nothing: true }, smolConfig)).toThrow(
      /tokenizer\.json is not a tokenizer: model/,
    );
  });
});
