// The copy head (`copy: true`; pointer-generator, See et al. 2017): its weights, and the pointer that both
// Policy.forward (training, scoring, prefill) and Policy.decodeStep (KV-cache sampling) call.
//
//   copyWeightShapes(C)                       copy.wq, copy.wk (C, C), copy.match (2), copy.gate.w (C, 1), copy.gate.b (1)
//   copyInitialValues(name)                   the fixed init of copy.match and copy.gate.b (the rest: N(0, 0.02))
//   copyPrompt(w, shape, h, ids, Tq, opts)    the pointer's prompt side from a full forward: keys, tokens,
//                                             emitted tokens, bias — what the KV cache keeps for decoding
//   queryTokens(ids, Tq)                      each query's current and previous token (the continuation match)
//   copyMixture(w, shape, h, logits, prompt, current, previous)
//                                             THE pointer: scores over prompt positions, p_copy, and
//                                             log(g·softmax(logits) + (1 − g)·p_copy)
//
// The next token is drawn from g·softmax(logits) + (1 − g)·p_copy, where p_copy points at a prompt position
// s and emits the prompt token that FOLLOWED it, x[s+1]. Its key is built from the final hidden state at s
// plus the embedding of x[s+1], so "start copying this word" is a match on the word itself; "continue the
// span I am copying" is an exact match of the current token with x[s], weighted by `copy.match`. A small
// policy cannot store every noun a visitor may write; pointing at the feedback's own words needs no storage.
// The pointer reads the prompt only (`promptLengths`; without it the whole input counts as prompt), never
// the reply being written: pointing back into its own reply let the policy loop ("touch about touch about").
// The full forward and the decode step share copyMixture, so the cache path cannot drift from the one
// trained: the decode step passes the prompt side its prefill cached and a single query (Tq = 1).
import * as tf from './tfjs';
import { embed, linear, logMixture, scatterRows, scores } from './ops';

/** The model config fields the head reads (ModelConfig has them). */
export type CopyHeadShape = { nEmbd: number; vocabSize: number; padId: number };

/** The policy's weights by name; the head reads `wte` and `copy.*`. */
export type CopyHeadWeights = Record<string, tf.Tensor>;

/**
 * The pointer's prompt side, S prompt positions (S = T in a full forward, P in decoding): keys (B, S, C),
 * the tokens x[s] (B, S) for the continuation match, the token each position emits x[s+1] (B, S), and the
 * additive bias (B | 1, Tq, S) saying which positions each query may point at.
 */
export type CopyPrompt = { keys: tf.Tensor3D; tokens: tf.Tensor2D; next: tf.Tensor2D; bias: tf.Tensor3D };

/** The copy head's KV cache: the prompt side, fixed since the prefill, and each row's previous token (B, 1). */
export type CopyCache = CopyPrompt & { previous: tf.Tensor2D };

/** Additive bias: 0 where the pointer may point, -1e9 where not (as model.ts's attention masks). */
const MASKED = -1e9;

/**
 * The continuation scores start here (`copy.match`, learned from there): +2 where the current token
 * equals x[s], +6 more where the token before it equals x[s-1] as well, so a position that continues the
 * span being copied gets e^8 ≈ 3,000× the weight of one that does not — enough to win over a prompt's
 * ~100 other positions. Started at [1, 2] (≈ 20×), a span was continued about half the time and SFT moved
 * the values by only ~0.5 (AdamW moves a scalar by at most ~lr per step).
 */
const COPY_MATCH_INIT = [2, 6];

/** The head's weights and shapes, in checkpoint order (after the transformer's). */
export function copyWeightShapes(C: number): Array<[string, number[]]> {
  return [
    ['copy.wq', [C, C]],
    ['copy.wk', [C, C]],
    ['copy.match', [2]],
    ['copy.gate.w', [C, 1]],
    ['copy.gate.b', [1]],
  ];
}

/** The fixed init of a copy weight, or null for those drawn as N(0, 0.02) like the model's matrices. */
export function copyInitialValues(name: string): Float32Array | null {
  if (name === 'copy.gate.b') return new Float32Array(1); // the gate starts at 0.5: vocabulary and copy alike
  if (name === 'copy.match') return Float32Array.from(COPY_MATCH_INIT);
  return null;
}

/**
 * The prompt side from a full forward over ids (B, T) with final hidden states h (B*T, C), for queries at
 * the last Tq positions. Position s points at the token after it, next[s] = ids[s + 1] (the last has none
 * yet: padId, never pointed at since the bias masks it).
 */
export function copyPrompt(
  w: CopyHeadWeights,
  shape: CopyHeadShape,
  h: tf.Tensor2D,
  ids: tf.Tensor2D,
  Tq: number,
  options: { keyMask?: tf.Tensor2D; promptLengths?: readonly number[] },
): CopyPrompt {
  const [B, T] = ids.shape;
  const C = shape.nEmbd;
  const next = tf.concat(
    [tf.slice(ids, [0, 1], [B, T - 1]), tf.fill([B, 1], shape.padId, 'int32')],
    1,
  ) as tf.Tensor2D; // (B, T)
  const keys = copyKeys(w, h, next.reshape([B * T]) as tf.Tensor1D).reshape([B, T, C]) as tf.Tensor3D; // (B, T, C)
  const bias = copyBias(B, T, Tq, options.keyMask, options.promptLengths); // (B | 1, Tq, T)
  return { keys, tokens: ids, next, bias };
}

/** The current token x[t] and the one before it x[t-1] (-1 at t = 0) of the last Tq positions: each (B, Tq). */
export function queryTokens(ids: tf.Tensor2D, Tq: number): { current: tf.Tensor2D; previous: tf.Tensor2D } {
  const [B, T] = ids.shape;
  const current = tf.slice(ids, [0, T - Tq], [B, Tq]) as tf.Tensor2D; // (B, Tq)
  const previous = tf.slice(shiftRight(ids), [0, T - Tq], [B, Tq]) as tf.Tensor2D; // (B, Tq)
  return { current, previous };
}

/**
 * The pointer and the mixture, for Tq queries per row: h (B*Tq, C) the final hidden states of the query
 * positions, logits (B*Tq, V) the vocabulary's, the prompt side (S positions), and each query's current
 * and previous token (B, Tq). Returns log(g·softmax(logits) + (1 − g)·p_copy), (B*Tq, V).
 * Scores are q·kᵀ/√C plus the continuation term, then the bias; a query with no position to point at
 * (position 0) gets p_copy = 0 and the mixture is g·softmax(logits) there.
 */
export function copyMixture(
  w: CopyHeadWeights,
  shape: CopyHeadShape,
  h: tf.Tensor2D,
  logits: tf.Tensor2D,
  prompt: CopyPrompt,
  current: tf.Tensor2D,
  previous: tf.Tensor2D,
): tf.Tensor2D {
  const [B, Tq] = current.shape;
  const queries = copyQueries(w, h, shape.nEmbd).reshape([B, Tq, shape.nEmbd]) as tf.Tensor3D; // (B, Tq, C)
  const pointerScores = tf.add(
    scores(queries, prompt.keys),
    continuationScores(w, current, previous, prompt.tokens),
  ); // (B, Tq, S)
  const pointer = pointerWeights(tf.add(pointerScores, prompt.bias), prompt.bias); // (B, Tq, S)
  const copyProbs = pointedTokens(pointer, prompt.next, shape.vocabSize); // (B*Tq, V)
  const gate = tf.sigmoid(tf.add(linear(h, w['copy.gate.w'] as tf.Tensor2D), w['copy.gate.b'])); // (B*Tq, 1)
  return logMixture(logits, gate as tf.Tensor2D, copyProbs); // (B*Tq, V)
}

/** Pointer keys from final hidden states h (N, C) and the ids each position would emit (N): (N, C). */
function copyKeys(w: CopyHeadWeights, h: tf.Tensor2D, next: tf.Tensor1D): tf.Tensor2D {
  const emitted = embed(w.wte as tf.Tensor2D, next); // (N, C)
  return linear(tf.add(h, emitted) as tf.Tensor2D, w['copy.wk'] as tf.Tensor2D); // (N, C)
}

/** Pointer queries (N, C), with the 1/sqrt(C) scale folded in. */
function copyQueries(w: CopyHeadWeights, h: tf.Tensor2D, C: number): tf.Tensor2D {
  return tf.mul(linear(h, w['copy.wq'] as tf.Tensor2D), 1 / Math.sqrt(C)); // (N, C)
}

/**
 * The continuation term, (B, Tq, S): match[0] where the current token equals the prompt's x[s], plus
 * match[1] where the token before it equals x[s-1] too. Pointing at s emits x[s+1], so after emitting
 * tokens copied from s - 1 and s this favours s + 1: the span goes on word for word. The learned keys
 * alone lost their place inside words split into several tokens, and so did a one-token match (" fo" "re"
 * "ver" and " F" "i" "re" "f" "o" "x" share "re": "spins forever" came out "spins forefox").
 */
function continuationScores(
  w: CopyHeadWeights,
  current: tf.Tensor2D,
  previous: tf.Tensor2D,
  tokens: tf.Tensor2D,
): tf.Tensor3D {
  const [B, Tq] = current.shape;
  const S = tokens.shape[1];
  const equal = (q: tf.Tensor2D, k: tf.Tensor2D) =>
    tf.cast(tf.equal(q.reshape([B, Tq, 1]), k.reshape([B, 1, S])), 'float32'); // (B, Tq, S)
  const same = equal(current, tokens);
  const sameBefore = tf.mul(same, equal(previous, shiftRight(tokens)));
  const match = w['copy.match'];
  return tf.add(
    tf.mul(same, tf.slice(match, [0], [1])),
    tf.mul(sameBefore, tf.slice(match, [1], [1])),
  ) as tf.Tensor3D;
}

/** softmax over keys, with rows that have no key to point at (position 0) set to all zeros. */
function pointerWeights(scores: tf.Tensor, bias: tf.Tensor): tf.Tensor3D {
  const hasKey = tf.cast(tf.greater(tf.max(bias, -1, true), MASKED / 2), 'float32'); // (B | 1, Tq, 1)
  return tf.mul(tf.softmax(scores), hasKey) as tf.Tensor3D;
}

/** p_copy: the pointer weights (B, Tq, S) added up by the token each slot emits, next (B, S) → (B*Tq, V). */
function pointedTokens(pointer: tf.Tensor3D, next: tf.Tensor2D, V: number): tf.Tensor2D {
  const [B, Tq, S] = pointer.shape;
  const ids = tf.tile(next.reshape([B, 1, S]), [1, Tq, 1]).reshape([B * Tq, S]) as tf.Tensor2D; // (B*Tq, S)
  return scatterRows(pointer.reshape([B * Tq, S]) as tf.Tensor2D, ids, V);
}

/**
 * The bias (B | 1, Tq, T) for the last Tq of T positions: the query at t may point at s < t (s = t would
 * emit the very token being predicted), only inside the row's prompt (s + 1 < its prompt length: the
 * emitted token x[s+1] is a prompt token), and never at a padding key.
 */
function copyBias(
  B: number,
  T: number,
  Tq: number,
  keyMask?: tf.Tensor2D,
  promptLengths?: readonly number[],
): tf.Tensor3D {
  const strict = new Float32Array(Tq * T);
  for (let q = 0; q < Tq; q++) strict.fill(MASKED, q * T + (T - Tq + q), (q + 1) * T);
  let bias: tf.Tensor = tf.tensor3d(strict, [1, Tq, T]);
  if (promptLengths) {
    if (promptLengths.length !== B)
      throw new Error(`promptLengths has ${promptLengths.length} rows, want ${B}`);
    const outside = new Float32Array(B * T);
    for (const [b, length] of promptLengths.entries()) {
      outside.fill(MASKED, b * T + Math.max(0, length - 1), (b + 1) * T);
    }
    bias = tf.add(bias, tf.tensor3d(outside, [B, 1, T]));
  }
  if (keyMask) {
    const padding = tf.mul(tf.sub(1, tf.cast(keyMask, 'float32')), MASKED).reshape([B, 1, T]); // (B, 1, T)
    bias = tf.add(bias, padding);
  }
  return bias as tf.Tensor3D;
}

/** Token ids (B, T) shifted one to the right: x[t-1], with -1 (no token) at t = 0. */
function shiftRight(ids: tf.Tensor2D): tf.Tensor2D {
  const [B, T] = ids.shape;
  return tf.concat([tf.fill([B, 1], -1, 'int32'), tf.slice(ids, [0, 0], [B, T - 1])], 1) as tf.Tensor2D;
}
