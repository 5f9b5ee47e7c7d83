// Sampling from the policy: G samples per prompt, all rows batched into ONE forward per token, with a
// preallocated KV cache.
//
//   const out = await generate(policy, promptIds, { maxNewTokens, samplesPerPrompt, temperature, topK, topP,
//                                                   stopTokens, seed, useCache })
//   out[i] = { promptIndex, sample, tokens, logprobs, samplerLogprobs, finishReason }   (prompt-major order:
//            prompt 0's samples 0..G-1, then prompt 1's, ...)
//
// Which log-probabilities:
//   logprobs         log π_θ(token | prefix) under the policy's own distribution: softmax of the raw
//                    logits at temperature 1, over the whole vocabulary (no top-k / top-p truncation).
//                    This is what the RL importance ratio needs (`oldLogprobs` in policy-gradient.ts), and
//                    what the trainer recomputes from the same weights.
//   samplerLogprobs  log-probability under the distribution actually sampled from (temperature, top-k,
//                    top-p applied; 0 for greedy): for diagnostics only.
// Stop tokens are included in `tokens` (the policy must learn to emit them) and end that row.
// maxNewTokens is capped at blockSize − 1; a prompt longer than blockSize − maxNewTokens keeps its end.
//
// How: prompts are left-padded to a common length P, so every row decodes in lockstep at the same cache
// slot; a key mask hides the pads and each row's positions start at its first real token. The cache holds
// S = P + maxNewTokens slots from the start (policy.prefill), each step adds one key/value per layer into
// its slot and attends over all S slots under a mask, so a step's cost does not depend on the position.
// Each step reads the logits (B, V) back once (`await data()`) and samples on the host with a seeded RNG;
// `useCache: false` recomputes the whole prefix every step (the reference the cache is tested against).
import * as tf from './tfjs';
import { z } from 'zod';
import { createRng, deriveSeed, type Rng } from '../random';
import { disposeCache, type KVCache, type Policy } from './model';

export const SamplingOptionsSchema = z.object({
  maxNewTokens: z.number().int().min(1),
  samplesPerPrompt: z.number().int().min(1).default(1),
  /** 0 means greedy (argmax). */
  temperature: z.number().min(0).default(1),
  /** Keep only the k most likely tokens; 0 turns it off. */
  topK: z.number().int().min(0).default(0),
  /** Keep the smallest set of tokens whose probability reaches p; 1 turns it off. */
  topP: z.number().gt(0).max(1).default(1),
  stopTokens: z.array(z.number().int().min(0)).default([]),
  seed: z.number().int().default(0),
  /**
   * One seed per prompt. Row (prompt p, sample s) then draws from its own stream, seeded by
   * (promptSeeds[p], s), so a prompt's samples do not depend on which other prompts share the batch
   * (runners' calls are gathered into batches by timing). Without it every row shares `seed`'s stream.
   */
  promptSeeds: z.array(z.number().int()).optional(),
  useCache: z.boolean().default(true),
});
export type SamplingOptions = z.infer<typeof SamplingOptionsSchema>;
export type SamplingOptionsInput = z.input<typeof SamplingOptionsSchema>;

export type GeneratedSequence = {
  promptIndex: number;
  sample: number;
  tokens: number[];
  logprobs: number[];
  samplerLogprobs: number[];
  finishReason: 'stop' | 'length';
};

const MASKED = -1e9;

/**
 * Called after every decoding step with the rows as they stand (a row that has finished gets no new
 * token) and that step's raw logits (B × V, row-major, before any temperature). Streaming answers send
 * each new token from here; generation waits for the returned promise, so a writer can let the socket
 * drain. It must not keep `logits` past the call.
 */
export type StepListener = (step: {
  index: number;
  rows: readonly GeneratedSequence[];
  logits: Float32Array;
}) => void | Promise<void>;

export async function generate(
  policy: Policy,
  promptIds: number[][],
  optionsInput: SamplingOptionsInput,
  onStep?: StepListener,
): Promise<GeneratedSequence[]> {
  const options = SamplingOptionsSchema.parse(optionsInput);
  const { blockSize, vocabSize, padId } = policy.config;
  if (!Array.isArray(promptIds) || promptIds.length === 0)
    throw new Error('generate needs at least one prompt');
  promptIds.forEach((p, i) => {
    if (!Array.isArray(p) || p.length === 0)
      throw new Error(`prompt ${i} is empty: start it with at least one token`);
    for (const id of p) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
        throw new Error(`prompt ${i} has token ${id} outside the vocabulary`);
    }
  });
  const maxNew = Math.min(options.maxNewTokens, blockSize - 1);
  // Keep the end of over-long prompts so prompt + reply fits the context.
  const prompts = promptIds.map((p) => p.slice(Math.max(0, p.length - (blockSize - maxNew))));
  const G = options.samplesPerPrompt;
  const rows = prompts.flatMap((p, promptIndex) =>
    Array.from({ length: G }, (_, sample) => ({ p, promptIndex, sample })),
  );
  const B = rows.length;
  const P = Math.max(...prompts.map((p) => p.length));
  const S = P + maxNew;
  const padCount = rows.map((r) => P - r.p.length);

  const ids = new Int32Array(B * P).fill(padId);
  const keyMask = new Float32Array(B * P);
  const positions = new Int32Array(B * P);
  rows.forEach((r, b) => {
    for (let t = 0; t < P; t++) {
      const real = t >= padCount[b];
      if (real) ids[b * P + t] = r.p[t - padCount[b]];
      keyMask[b * P + t] = real ? 1 : 0;
      positions[b * P + t] = Math.max(0, t - padCount[b]);
    }
  });

  const outputs: GeneratedSequence[] = rows.map((r) => ({
    promptIndex: r.promptIndex,
    sample: r.sample,
    tokens: [],
    logprobs: [],
    samplerLogprobs: [],
    finishReason: 'length',
  }));
  const finished = new Array<boolean>(B).fill(false);
  const stop = new Set(options.stopTokens);
  if (options.promptSeeds && options.promptSeeds.length !== prompts.length)
    throw new Error(`promptSeeds has ${options.promptSeeds.length} seeds for ${prompts.length} prompts`);
  const shared = createRng(options.seed);
  const rowRng: Rng[] = rows.map((r) =>
    options.promptSeeds
      ? createRng(deriveSeed(options.promptSeeds[r.promptIndex], `sample:${r.sample}`))
      : shared,
  );

  let cache: KVCache | null = null;
  let logits: tf.Tensor2D;
  if (options.useCache) {
    const out = tf.tidy(() =>
      policy.prefill(tf.tensor2d(ids, [B, P], 'int32'), prefixOptions(keyMask, positions, B, P), S),
    );
    logits = out.logits;
    cache = out.cache;
  } else {
    logits = forwardPrefix(policy, ids, keyMask, positions, B, P, P);
  }

  // Host copies of the growing prefix for the no-cache path.
  let prefixIds: Int32Array<ArrayBufferLike> = ids;
  let prefixMask: Float32Array<ArrayBufferLike> = keyMask;
  let prefixPositions: Int32Array<ArrayBufferLike> = positions;
  try {
    for (let step = 0; step < maxNew; step++) {
      const values = (await logits.data()) as Float32Array;
      logits.dispose();
      const next = new Int32Array(B).fill(padId);
      for (let b = 0; b < B; b++) {
        if (finished[b]) continue;
        const pick = sampleRow(values, b * vocabSize, vocabSize, options, rowRng[b]);
        const out = outputs[b];
        out.tokens.push(pick.token);
        out.logprobs.push(pick.logprob);
        out.samplerLogprobs.push(pick.samplerLogprob);
        next[b] = pick.token;
        if (stop.has(pick.token)) {
          finished[b] = true;
          out.finishReason = 'stop';
        }
      }
      if (onStep) await onStep({ index: step, rows: outputs, logits: values });
      if (step === maxNew - 1 || finished.every(Boolean)) break;
      const slot = P + step; // the cache slot (and column) of the token just sampled
      const nextPositions = new Int32Array(B);
      for (let b = 0; b < B; b++) nextPositions[b] = slot - padCount[b];
      if (cache) {
        // Row b may attend to its real prompt slots and every generated slot up to this one.
        const bias = new Float32Array(B * S).fill(MASKED);
        for (let b = 0; b < B; b++) for (let j = padCount[b]; j <= slot; j++) bias[b * S + j] = 0;
        const previous: KVCache = cache;
        const stepOut = tf.tidy(() =>
          policy.decodeStep(
            tf.tensor1d(next, 'int32'),
            tf.tensor1d(nextPositions, 'int32'),
            slot,
            tf.tensor4d(bias, [B, 1, 1, S]),
            previous,
          ),
        );
        disposeCache(previous);
        cache = stepOut.cache;
        logits = stepOut.logits;
      } else {
        const L = slot + 1;
        prefixIds = appendColumn(prefixIds, next, B, L - 1) as Int32Array;
        prefixMask = appendColumn(prefixMask, new Float32Array(B).fill(1), B, L - 1) as Float32Array;
        prefixPositions = appendColumn(prefixPositions, nextPositions, B, L - 1) as Int32Array;
        logits = forwardPrefix(policy, prefixIds, prefixMask, prefixPositions, B, L, P);
      }
    }
  } finally {
    if (!logits.isDisposed) logits.dispose();
    if (cache) disposeCache(cache);
  }
  return outputs;
}

function prefixOptions(keyMask: Float32Array, positions: Int32Array, B: number, L: number) {
  return {
    keyMask: tf.tensor2d(keyMask, [B, L]),
    positions: tf.tensor2d(positions, [B, L], 'int32'),
  };
}

function forwardPrefix(
  policy: Policy,
  ids: Int32Array,
  keyMask: Float32Array,
  positions: Int32Array,
  B: number,
  L: number,
  P: number,
): tf.Tensor2D {
  return tf.tidy(() =>
    policy.forward(tf.tensor2d(ids, [B, L], 'int32'), {
      ...prefixOptions(keyMask, positions, B, L),
      lastOnly: true,
      promptLengths: new Array(B).fill(P), // a copy head points into the (left-padded) prompt only
    }),
  );
}

/** (B, L) row-major → (B, L + 1) with `column` appended. */
function appendColumn(data: Int32Array | Float32Array, column: ArrayLike<number>, B: number, L: number) {
  const out = data instanceof Int32Array ? new Int32Array(B * (L + 1)) : new Float32Array(B * (L + 1));
  for (let b = 0; b < B; b++) {
    out.set(data.subarray(b * L, (b + 1) * L), b * (L + 1));
    out[b * (L + 1) + L] = column[b];
  }
  return out;
}

/** Samples one token from a row of logits; returns it with its policy and sampler log-probabilities. */
export function sampleRow(
  logits: Float32Array,
  offset: number,
  V: number,
  options: Pick<SamplingOptions, 'temperature' | 'topK' | 'topP'>,
  rng: Rng,
): { token: number; logprob: number; samplerLogprob: number } {
  let max = Number.NEGATIVE_INFINITY;
  let argmax = 0;
  for (let i = 0; i < V; i++) {
    const l = logits[offset + i];
    if (l > max) {
      max = l;
      argmax = i;
    }
  }
  let sumExp = 0;
  for (let i = 0; i < V; i++) sumExp += Math.exp(logits[offset + i] - max);
  const logZ = max + Math.log(sumExp);
  const policyLogprob = (token: number) => logits[offset + token] - logZ;
  if (options.temperature === 0) return { token: argmax, logprob: policyLogprob(argmax), samplerLogprob: 0 };

  // Candidates in descending logit order only when a truncation needs the order.
  const inv = 1 / options.temperature;
  let candidates: number[];
  if (options.topK > 0 || options.topP < 1) {
    candidates = Array.from({ length: V }, (_, i) => i).sort(
      (a, b) => logits[offset + b] - logits[offset + a],
    );
    if (options.topK > 0) candidates = candidates.slice(0, options.topK);
  } else {
    candidates = Array.from({ length: V }, (_, i) => i);
  }
  let weights = candidates.map((i) => Math.exp((logits[offset + i] - max) * inv));
  if (options.topP < 1) {
    const total = weights.reduce((a, w) => a + w, 0);
    let cumulative = 0;
    let keep = weights.length;
    for (let j = 0; j < weights.length; j++) {
      cumulative += weights[j] / total;
      if (cumulative >= options.topP) {
        keep = j + 1;
        break;
      }
    }
    candidates = candidates.slice(0, keep);
    weights = weights.slice(0, keep);
  }
  const total = weights.reduce((a, w) => a + w, 0);
  let u = rng.next() * total;
  let chosen = candidates.length - 1;
  for (let j = 0; j < candidates.length; j++) {
    u -= weights[j];
    if (u < 0) {
      chosen = j;
      break;
    }
  }
  const token = candidates[chosen];
  return { token, logprob: policyLogprob(token), samplerLogprob: Math.log(weights[chosen] / total) };
}
