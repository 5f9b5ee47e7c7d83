// A Hugging Face model's tokenizer: its `tokenizer.json` opened with @huggingface/tokenizers (as
// shared/policy/tokenizer.ts does for the project's own tokenizer), its `tokenizer_config.json`'s special
// tokens, and its chat template rendered with @huggingface/jinja. Runs in the browser and in Node.
//
// API
//   HfTokenizer.fromFiles(tokenizerJson, tokenizerConfig, options?)   parsed JSON files → a tokenizer
//   tokenizer.encode(text) / decode(ids, {skipSpecialTokens})          no special tokens added by encode
//   tokenizer.applyChatTemplate(messages, {addGenerationPrompt})       the prompt text
//   tokenizer.bosId / eosId / padId / unkId (number | null), vocabSize, specialTokens
//
// Facts from Hugging Face transformers (tokenization_utils_base.py) and transformers.js (tokenizers.js):
// - tokenizer_config.json names the special tokens as strings or as serialised AddedToken objects
//   ({"__type": "AddedToken", "content": "<s>", ...}); either may be null or absent.
// - chat_template is a Jinja string, or a list of {name, template} of which "default" is the chat one
//   (others, such as "tool_use", serve other calls). Newer repositories may keep it in a separate
//   chat_template.jinja file instead, passed here as options.chatTemplate.
// - apply_chat_template renders it with `messages`, `add_generation_prompt` and the special tokens by
//   name (bos_token, eos_token, unk_token, pad_token, additional_special_tokens) as strings; the
//   rendered text is then encoded without adding special tokens, since the template writes them.
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';

export type ChatMessage = { role: string; content: string };

const tokenSchema = z
  .union([z.string(), z.object({ content: z.string() }).loose()])
  .nullable()
  .optional();

const chatTemplateSchema = z.union([
  z.string(),
  z.array(z.object({ name: z.string(), template: z.string() }).loose()),
]);

export const HfTokenizerConfigSchema = z
  .object({
    bos_token: tokenSchema,
    eos_token: tokenSchema,
    pad_token: tokenSchema,
    unk_token: tokenSchema,
    additional_special_tokens: z
      .array(z.union([z.string(), z.object({ content: z.string() }).loose()]))
      .optional(),
    chat_template: chatTemplateSchema.nullable().optional(),
    clean_up_tokenization_spaces: z.boolean().optional(),
  })
  .loose();
export type HfTokenizerConfig = z.infer<typeof HfTokenizerConfigSchema>;

// Only what @huggingface/tokenizers needs to open the file; it validates the rest itself.
const TokenizerJsonSchema = z
  .object({
    model: z.object({ type: z.string().optional() }).loose(),
    added_tokens: z
      .array(z.object({ id: z.number().int().nonnegative(), content: z.string() }).loose())
      .default([]),
  })
  .loose();

function issuesText(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

const tokenText = (token: string | { content: string } | null | undefined): string | null =>
  token == null ? null : typeof token === 'string' ? token : token.content;

/** Picks the chat template: the string, or the list entry named "default". */
function chooseChatTemplate(raw: HfTokenizerConfig['chat_template']): string | null {
  if (raw == null) return null;
  if (typeof raw === 'string') return raw;
  const chosen = raw.find((t) => t.name === 'default');
  if (!chosen)
    throw new Error(
      `tokenizer_config.json chat_template lists ${raw.map((t) => JSON.stringify(t.name)).join(', ')} but no "default"`,
    );
  return chosen.template;
}

export type HfTokenizerOptions = {
  /** A chat template from a separate chat_template.jinja file; it takes precedence over the config's. */
  chatTemplate?: string | null;
};

export class HfTokenizer {
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly unkToken: string | null;
  /** The pad token; when the config names none, the eos token (the usual choice for causal LMs). */
  readonly padToken: string | null;
  /** True when padToken is the eos token standing in for a missing pad token. */
  readonly padIsEosFallback: boolean;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly unkId: number | null;
  /**
   * One past the largest token id (vocabulary and added tokens). A model's embedding may have more rows
   * (config.json's vocab_size is often rounded up); ids at or above this never come out of encode.
   */
  readonly vocabSize: number;
  /** The chat template in use, or null when the tokenizer has none. */
  readonly chatTemplate: string | null;
  private readonly template: Template | null;
  private readonly cleanUpSpaces: boolean;
  private readonly additionalSpecialTokens: string[];

  private constructor(
    private readonly hf: Tokenizer,
    config: HfTokenizerConfig,
    chatTemplate: string | null,
  ) {
    const idOf = (role: string, token: string | null): number | null => {
      if (token === null) return null;
      const id = hf.token_to_id(token);
      if (typeof id !== 'number')
        throw new Error(`tokenizer_config.json's ${role} ${JSON.stringify(token)} is not in tokenizer.json`);
      return id;
    };
    this.bosToken = tokenText(config.bos_token);
    this.eosToken = tokenText(config.eos_token);
    this.unkToken = tokenText(config.unk_token);
    const pad = tokenText(config.pad_token);
    this.padIsEosFallback = pad === null && this.eosToken !== null;
    this.padToken = pad ?? this.eosToken;
    this.bosId = idOf('bos_token', this.bosToken);
    this.eosId = idOf('eos_token', this.eosToken);
    this.padId = idOf('pad_token', this.padToken);
    this.unkId = idOf('unk_token', this.unkToken);
    this.additionalSpecialTokens = (config.additional_special_tokens ?? []).map(
      (t) => tokenText(t) as string,
    );
    let maxId = -1;
    for (const id of hf.get_vocab(true).values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    // transformers now defaults clean_up_tokenization_spaces to false; Tokenizers.js would default to true,
    // which rewrites " ." to "." and breaks decode(encode(text)) round trips.
    this.cleanUpSpaces = config.clean_up_tokenization_spaces ?? false;
    this.chatTemplate = chatTemplate;
    try {
      this.template = chatTemplate === null ? null : new Template(chatTemplate);
    } catch (error) {
      throw new Error(`the chat template does not parse: ${(error as Error).message}`);
    }
  }

  /**
   * Opens parsed `tokenizer.json` and `tokenizer_config.json` (null when the model has none: then it has
   * no named special tokens and no chat template).
   */
  static fromFiles(
    tokenizerJson: unknown,
    tokenizerConfig: unknown | null,
    options: HfTokenizerOptions = {},
  ): HfTokenizer {
    const json = TokenizerJsonSchema.safeParse(tokenizerJson);
    if (!json.success) throw new Error(`tokenizer.json is not a tokenizer: ${issuesText(json.error)}`);
    const config = HfTokenizerConfigSchema.safeParse(tokenizerConfig ?? {});
    if (!config.success)
      throw new Error(`tokenizer_config.json is not a tokenizer config: ${issuesText(config.error)}`);
    let hf: Tokenizer;
    try {
      hf = new Tokenizer(json.data, config.data);
    } catch (error) {
      throw new Error(`tokenizer.json could not be opened: ${(error as Error).message}`);
    }
    const template = options.chatTemplate ?? chooseChatTemplate(config.data.chat_template);
    return new HfTokenizer(hf, config.data, template);
  }

  /** Token ids of `text` with no special tokens added; special-token text in `text` maps to its one id. */
  encode(text: string): number[] {
    return this.hf.encode(text, { add_special_tokens: false }).ids;
  }

  /** The text of `ids`; with skipSpecialTokens, special tokens (e.g. <|im_end|>) are left out. */
  decode(ids: readonly number[], { skipSpecialTokens = false } = {}): string {
    if (ids.length === 0) return '';
    return this.hf.decode(Array.from(ids), {
      skip_special_tokens: skipSpecialTokens,
      clean_up_tokenization_spaces: this.cleanUpSpaces,
    });
  }

  /** The id of one token string, or null when it is not in the vocabulary. */
  tokenId(token: string): number | null {
    return this.hf.token_to_id(token) ?? null;
  }

  /**
   * The chat template rendered for `messages`; with addGenerationPrompt it ends with the opening of an
   * assistant turn, ready for the model to continue. Encode the result with encode() (the template
   * writes any bos token itself).
   */
  applyChatTemplate(messages: readonly ChatMessage[], { addGenerationPrompt = false } = {}): string {
    if (this.template === null) throw new Error('this tokenizer has no chat template');
    // Like transformers, only the special tokens the config names (so `bos_token is defined` holds only
    // when there is one); the pad token here is the config's own, not the eos fallback.
    const specialTokens: Record<string, unknown> = {};
    if (this.bosToken !== null) specialTokens.bos_token = this.bosToken;
    if (this.eosToken !== null) specialTokens.eos_token = this.eosToken;
    if (this.unkToken !== null) specialTokens.unk_token = this.unkToken;
    if (this.padToken !== null && !this.padIsEosFallback) specialTokens.pad_token = this.padToken;
    if (this.additionalSpecialTokens.length > 0)
      specialTokens.additional_special_tokens = this.additionalSpecialTokens;
    return this.template.render({
      ...specialTokens,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: addGenerationPrompt,
    });
  }
}
