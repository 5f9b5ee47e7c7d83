// The policy's tokenizer at run time: a `tokenizer.json` trained by tokenizer-train.ts, opened with
// @huggingface/tokenizers (Tokenizers.js: the pure-JS tokenizer that transformers.js itself wraps; it
// never fetches anything), so what the policy sees is exactly what Python's `tokenizers` would produce
// from the same file (test/unit/tokenizer/rust-tokenizers.test.ts checks against the Rust crate).
import { Tokenizer } from '@huggingface/tokenizers';
import {
  SPECIAL_TOKENS,
  type TokenizerJson,
  tokenizerConfigFor,
  tokenizerJsonSchema,
} from './tokenizer-format';

export class PolicyTokenizer {
  readonly padId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly sepId: number;
  readonly vocabSize: number;

  private constructor(
    readonly json: TokenizerJson,
    private readonly hf: Tokenizer,
  ) {
    const id = (token: string) => {
      const found = hf.token_to_id(token);
      if (typeof found !== 'number') throw new Error(`tokenizer.json lacks the special token ${token}`);
      return found;
    };
    this.padId = id(SPECIAL_TOKENS.pad);
    this.bosId = id(SPECIAL_TOKENS.bos);
    this.eosId = id(SPECIAL_TOKENS.eos);
    this.sepId = id(SPECIAL_TOKENS.sep);
    const ids = [...Object.values(json.model.vocab), ...json.added_tokens.map((t) => t.id)];
    this.vocabSize = Math.max(...ids) + 1;
  }

  /** Opens a parsed `tokenizer.json`; a file of another shape is rejected with the field at fault. */
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
    return new PolicyTokenizer(parsed.data, hf);
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
      clean_up_tokenization_spaces: false,
    });
  }

  /** The `tokenizer.json` text, as saved in a checkpoint. */
  toText(): string {
    return JSON.stringify(this.json);
  }

  /** `tokenizer_config.json`, saved beside `tokenizer.json` so Python's AutoTokenizer knows the roles. */
  configJson(modelMaxLength: number): Record<string, unknown> {
    return tokenizerConfigFor(modelMaxLength);
  }
}
