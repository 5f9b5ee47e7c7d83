// The sentiment governance shipped before issue 18, kept as the sentiment bench's baseline: wink-nlp's
// English web model (lexicon sentiment with negation handling, sbd + negation + sentiment passes only)
// and its ±0.05 neutral band. Bench-only: the product no longer imports wink (its model was most of the
// worker's governance chunk).
import model from 'wink-eng-lite-web-model';
import winkNLP from 'wink-nlp';

type Wink = ReturnType<typeof winkNLP>;
let wink: Wink | undefined;

/** Tokens read at most (about 24 KB of prose): wink's cost is per token. */
const TOKEN_BUDGET = 6000;
/** Characters read per token: wink's tokenizer is quadratic in a token's length. */
const TOKEN_CHARS = 64;
const LONG_TOKEN = new RegExp(`[\\p{L}\\p{N}]{${TOKEN_CHARS + 1},}`, 'gu');

function withinTokenBudget(text: string): string {
  const token = /[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu;
  let count = 0;
  let bounded = text;
  for (let m = token.exec(text); m; m = token.exec(text)) {
    if (++count > TOKEN_BUDGET) {
      bounded = text.slice(0, m.index);
      break;
    }
  }
  return bounded.replace(LONG_TOKEN, (long) => long.slice(0, TOKEN_CHARS));
}

/** wink-nlp's document sentiment in [-1, 1] ("not happy" is negative, "not bad" positive). */
export function winkSentimentScore(text: string): number {
  wink ??= winkNLP(model, ['sbd', 'negation', 'sentiment']);
  return wink.readDoc(withinTokenBudget(text)).out(wink.its.sentiment) as unknown as number;
}
