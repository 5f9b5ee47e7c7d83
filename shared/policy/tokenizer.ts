// The policy's tokenizer: a Hugging Face `tokenizer.json` opened with @huggingface/tokenizers
// (Tokenizers.js, the pure-JS tokenizer transformers.js wraps; it never fetches anything) and the roles
// `tokenizer_config.json` gives its special tokens. One class for both kinds of policy:
//
// - edgelight's own tokenizer (trained by tokenizer-train.ts): roles <|pad|> <|bos|> <|eos|> <|sep|>
//   (tokenizerConfigFor), no chat template; what the policy sees is exactly what Python's `tokenizers`
//   produces from the same file (test/unit/tokenizer/rust-tokenizers.test.ts checks against the Rust crate).
// - a pretrained model's (shared/hf/import.ts): its own tokenizer.json and tokenizer_config.json, which
//   may name no bos or pad token and may carry a chat template, rendered with @huggingface/jinja.
//
// Facts from Hugging Face transformers (tokenization_utils_base.py) and transformers.js (tokenizers.js):
// - tokenizer_config.json names the special tokens as strings or as serialised AddedToken objects
//   ({"__type": "AddedToken", "content": "<s>", ...}); either may be null or absent.
// - chat_template is a Jinja string, or a list of {name, template} of which "default" is the chat one.
//   Newer repositories keep it in a separate chat_template.jinja (options.chatTemplate here).
// - apply_chat_template renders it with `messages`, `add_generation_prompt` and the special tokens by
//   name (bos_token, eos_token, unk_token, pad_token, additional_special_tokens) as strings; the rendered
//   text is then encoded without adding special tokens, since the template writes them.
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';
import { tokenizerConfigFor, tokenizerJsonSchema } from './tokenizer-format';

export type ChatMessage = { role: string; content: string };

const tokenSchema = z
  .union([z.string(), z.object({ content: z.string() }).loose()])
  .nullable()
  .optional();

const chatTemplateSchema = z.union([
  z.string(),
  z.array(z.object({ name: z.string(), template: z.string() }).loose()),
]);

export const TokenizerConfigSchema = z
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
    model_max_length: z.number().optional(),
  })
  .loose();
export type TokenizerConfig = z.infer<typeof TokenizerConfigSchema>;

// Only what @huggingface/tokenizers needs to open the file; it validates the rest itself.
const anyTokenizerJsonSchema = z
  .object({
    model: z.object({ type: z.string().optional() }).loose(),
    added_tokens: z
      .array(z.object({ id: z.number().int().nonnegative(), content: z.string() }).loose())
      .default([]),
  })
  .loose();

const issuesText = (error: z.ZodError) =>
  error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');

const tokenText = (token: string | { content: string } | null | undefined): string | null =>
  token == null ? null : typeof token === 'string' ? token : token.content;

/** Picks the chat template: the string, or the list entry named "default". */
function chooseChatTemplate(raw: TokenizerConfig['chat_template']): string | null {
  if (raw == null) return null;
  if (typeof raw === 'string') return raw;
  const chosen = raw.find((t) => t.name === 'default');
  if (!chosen)
    throw new Error(
      `tokenizer_config.json chat_template lists ${raw.map((t) => JSON.stringify(t.name)).join(', ')} but no "default"`,
    );
  return chosen.template;
}

export type TokenizerFilesOptions = {
  /** A chat template from a separate chat_template.jinja file; it takes precedence over the config's. */
  chatTemplate?: string | null;
};

export class PolicyTokenizer {
  readonly bosToken: string | null;
  readonly eosToken: string;
  readonly unkToken: string | null;
  /** The pad token; when the config names none, the eos token (the usual choice for causal LMs). */
  readonly padToken: string;
  /** True when padToken is the eos token standing in for a missing pad token. */
  readonly padIsEosFallback: boolean;
  /** The token a prompt starts with, or null when the model has none (GPT-2 style prompts, a template). */
  readonly bosId: number | null;
  /**
   * The token that ends a reply: with a chat template, the one the template closes an assistant turn
   * with (ChatML's <|im_end|>, Llama 3's <|eot_id|>); otherwise tokenizer_config.json's eos_token.
   */
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number | null;
  /**
   * One past the largest token id (vocabulary and added tokens). A model's embedding may have more rows
   * (config.json's vocab_size is often rounded up); ids at or above this never come out of encode.
   */
  readonly vocabSize: number;
  /** A pretrained model's tokenizer (its own tokenizer_config.json), not one trained here. */
  readonly pretrained: boolean;
  /** The chat template prompts and replies are written in, or null (edgelight's "…\nReply:" format). */
  readonly chatTemplate: string | null;
  private readonly template: Template | null;
  private readonly cleanUpSpaces: boolean;
  private readonly additionalSpecialTokens: string[];

  private constructor(
    private readonly json: unknown,
    private readonly hf: Tokenizer,
    /** tokenizer_config.json as read; null for edgelight's own tokenizer (tokenizerConfigFor's roles). */
    private readonly ownConfig: TokenizerConfig | null,
    chatTemplate: string | null,
  ) {
    const config: TokenizerConfig = ownConfig ?? tokenizerConfigFor(0);
    this.pretrained = ownConfig !== null;
    const idOf = (role: string, token: string): number => {
      const id = hf.token_to_id(token);
      if (typeof id !== 'number')
        throw new Error(`tokenizer_config.json's ${role} ${JSON.stringify(token)} is not in tokenizer.json`);
      return id;
    };
    const eos = tokenText(config.eos_token);
    if (eos === null)
      throw new Error(
        'tokenizer_config.json names no eos_token: a policy needs a token that ends its replies',
      );
    this.eosToken = eos;
    const eosId = idOf('eos_token', eos);
    this.bosToken = tokenText(config.bos_token);
    this.unkToken = tokenText(config.unk_token);
    const pad = tokenText(config.pad_token);
    this.padIsEosFallback = pad === null;
    this.padToken = pad ?? eos;
    this.bosId = this.bosToken === null ? null : idOf('bos_token', this.bosToken);
    this.padId = idOf('pad_token', this.padToken);
    this.unkId = this.unkToken === null ? null : idOf('unk_token', this.unkToken);
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
    this.eosId = this.template ? (this.turnEndId() ?? eosId) : eosId;
  }

  /**
   * edgelight's own byte-level BPE `tokenizer.json` (parsed), with its roles (tokenizerConfigFor); a file
   * of another shape is rejected with the field at fault.
   */
  static fromJson(raw: unknown, modelMaxLength = 4096): PolicyTokenizer {
    const parsed = tokenizerJsonSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(
        `not an edgelight byte-level BPE tokenizer.json: ${issue.path.join('.')}: ${issue.message}`,
      );
    }
    // Tokenizers.js reads merges in either form; hand it the parsed copy so both forms behave alike.
    const hf = new Tokenizer(parsed.data, tokenizerConfigFor(modelMaxLength));
    return new PolicyTokenizer(parsed.data, hf, null, null);
  }

  static fromText(text: string, modelMaxLength?: number): PolicyTokenizer {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new Error(`tokenizer.json is not valid JSON: ${(error as Error).message}`);
    }
    return PolicyTokenizer.fromJson(raw, modelMaxLength);
  }

  /**
   * Any model's parsed `tokenizer.json` and `tokenizer_config.json`: the config names the roles (an
   * eos_token is required; bos and pad are optional) and may carry the chat template.
   */
  static fromFiles(
    tokenizerJson: unknown,
    tokenizerConfig: unknown,
    options: TokenizerFilesOptions = {},
  ): PolicyTokenizer {
    const json = anyTokenizerJsonSchema.safeParse(tokenizerJson);
    if (!json.success) throw new Error(`tokenizer.json is not a tokenizer: ${issuesText(json.error)}`);
    const config = TokenizerConfigSchema.safeParse(tokenizerConfig ?? {});
    if (!config.success)
      throw new Error(`tokenizer_config.json is not a tokenizer config: ${issuesText(config.error)}`);
    let hf: Tokenizer;
    try {
      hf = new Tokenizer(json.data, config.data);
    } catch (error) {
      throw new Error(`tokenizer.json could not be opened: ${(error as Error).message}`);
    }
    const template = options.chatTemplate ?? chooseChatTemplate(config.data.chat_template);
    return new PolicyTokenizer(tokenizerJson, hf, config.data, template);
  }

  /** Token ids of `text`, with no special tokens added (special-token text in `text` maps to its id). */
  encode(text: string): number[] {
    return this.hf.encode(text, { add_special_tokens: false }).ids;
  }

  /** The text of `ids`; byte sequences cut mid-character decode to U+FFFD rather than failing. */
  decode(ids: readonly number[], { skipSpecialTokens = false } = {}): string {
    // The empty completion is a legitimate sample; answer it without asking the decoder.
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
    const specialTokens: Record<string, unknown> = { eos_token: this.eosToken };
    if (this.bosToken !== null) specialTokens.bos_token = this.bosToken;
    if (this.unkToken !== null) specialTokens.unk_token = this.unkToken;
    if (!this.padIsEosFallback) specialTokens.pad_token = this.padToken;
    if (this.additionalSpecialTokens.length > 0)
      specialTokens.additional_special_tokens = this.additionalSpecialTokens;
    return this.template.render({
      ...specialTokens,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: addGenerationPrompt,
    });
  }

  /** The `tokenizer.json` text, as saved in a checkpoint. */
  toText(): string {
    return JSON.stringify(this.json);
  }

  /**
   * `tokenizer_config.json`, saved beside `tokenizer.json` so Python's AutoTokenizer knows the roles:
   * edgelight's (for the policy's context) or the pretrained model's own, its chat template included.
   */
  configJson(modelMaxLength: number): Record<string, unknown> {
    const own = this.ownConfig as Record<string, unknown> | null;
    if (own === null) return tokenizerConfigFor(modelMaxLength);
    return this.chatTemplate === null ? { ...own } : { ...own, chat_template: this.chatTemplate };
  }

  /**
   * The special token right after an assistant message's text in the rendered template: what a reply
   * ends with (null when the template writes none there: then the eos token).
   */
  private turnEndId(): number | null {
    const marker = 'EDGELIGHT_REPLY_END_PROBE';
    const text = this.applyChatTemplate([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: marker },
    ]);
    const after = text.indexOf(marker);
    const special = new Set(
      [...this.hf.get_added_tokens_decoder()].filter(([, token]) => token.special).map(([id]) => id),
    );
    if (after >= 0) {
      const next = this.encode(text.slice(after + marker.length).trimStart())[0];
      if (next !== undefined && special.has(next)) return next;
    }
    return null;
  }
}
