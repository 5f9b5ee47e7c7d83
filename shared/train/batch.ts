// Packing variable-length (prompt, completion) pairs into one right-padded batch for teacher forcing.
//
// Row b holds prompt ⧺ completion; the model reads tokens 0..L-2 and predicts 1..L-1. `lossMask` is 1
// exactly at the positions whose target is a completion token, so prompts and padding never count.
// Right padding needs no attention mask: under the causal mask no real token attends to a later pad.
// Over-long rows lose prompt tokens from the left (the completion is what is trained on); a completion
// that alone does not fit is cut at the end, together with its per-token values.
import { z } from 'zod';

export const SequencePairSchema = z.object({
  promptIds: z.array(z.number().int().min(0)).min(1),
  completionIds: z.array(z.number().int().min(0)).min(1),
});
export type SequencePair = z.infer<typeof SequencePairSchema>;

export type PackedBatch = {
  /** Rows and padded length: inputs are (B, T). */
  B: number;
  T: number;
  /** (B*T) model inputs, padded with padId. */
  inputs: Int32Array;
  /** (B*T) next-token targets (padId where masked). */
  targets: Int32Array;
  /** (B*T) 1 where the target is a completion token. */
  lossMask: Float32Array;
  /** Per row: flat index of its first completion target and how many completion tokens were kept. */
  completionStart: number[];
  completionLength: number[];
  /** Per row: how many of its leading tokens are prompt (what a copy head may point into). */
  promptLength: number[];
};

/** Lengths are rounded up to a multiple of this (≤ blockSize) so backends see few distinct shapes. */
const LENGTH_QUANTUM = 16;

export function packBatch(pairs: SequencePair[], blockSize: number, padId: number): PackedBatch {
  if (pairs.length === 0) throw new Error('cannot pack an empty batch');
  const rows = pairs.map(({ promptIds, completionIds }) => {
    // The model reads at most blockSize inputs, i.e. blockSize + 1 tokens of prompt ⧺ completion, and at
    // least one prompt token is needed to predict the first completion token.
    const completion = completionIds.slice(0, blockSize);
    const promptRoom = blockSize + 1 - completion.length;
    const prompt = promptIds.slice(Math.max(0, promptIds.length - promptRoom));
    const tokens = [...prompt, ...completion];
    return { tokens, promptLength: prompt.length };
  });
  const longest = Math.max(...rows.map((r) => r.tokens.length - 1));
  const T = Math.min(blockSize, Math.ceil(longest / LENGTH_QUANTUM) * LENGTH_QUANTUM);
  const B = rows.length;
  const inputs = new Int32Array(B * T).fill(padId);
  const targets = new Int32Array(B * T).fill(padId);
  const lossMask = new Float32Array(B * T);
  const completionStart: number[] = [];
  const completionLength: number[] = [];
  const promptLengths: number[] = [];
  rows.forEach(({ tokens, promptLength }, b) => {
    for (let t = 0; t < tokens.length - 1; t++) {
      inputs[b * T + t] = tokens[t];
      targets[b * T + t] = tokens[t + 1];
      if (t + 1 >= promptLength) lossMask[b * T + t] = 1;
    }
    completionStart.push(b * T + promptLength - 1);
    completionLength.push(tokens.length - promptLength);
    promptLengths.push(promptLength);
  });
  return { B, T, inputs, targets, lossMask, completionStart, completionLength, promptLength: promptLengths };
}

/**
 * At most this many (row × position) tokens go through one forward/backward pass; larger batches are
 * split by rows and their gradients added up. Every (B·T, V) tensor of the output layer and the loss
 * scales with it: a 32 × 256 RL batch in one pass took 3.6 GB of tfjs-wasm's 4 GB heap for the tiny
 * preset (measured), and a copy head's mixture ran it out of memory.
 */
export const CHUNK_TOKENS = 2048;

/** Rows [start, end) of a packed batch. */
export type RowRange = [start: number, end: number];

/**
 * WebGPU's default maxStorageBufferBindingSize (128 MiB): a pass's (rows·T, V) float32 logits stay
 * within it, so a large vocabulary gets fewer tokens per pass. Measured (bench hf-memory): at
 * SmolLM2-135M's vocabulary (49,152) a 2,048-token pass made 384 MiB logits buffers, over the default
 * limits (tfjs asks the adapter for more; where it cannot, the bind groups fail silently). The presets'
 * 2,048-token vocabulary allows 16,384 tokens, so CHUNK_TOKENS still decides for them.
 */
const MAX_LOGITS_BYTES = 128 * 1024 * 1024;

/** Tokens per pass for a vocabulary of `vocabSize`: CHUNK_TOKENS (or `maxTokens`), fewer for a large vocabulary. */
export function passTokens(vocabSize: number, maxTokens = CHUNK_TOKENS): number {
  return Math.min(maxTokens, Math.floor(MAX_LOGITS_BYTES / (4 * vocabSize)));
}

/**
 * Row ranges of a (B, T) batch with at most passTokens(vocabSize, maxTokens) tokens each (always ≥ 1
 * row: a single row longer than that is one pass).
 */
export function rowChunks(B: number, T: number, vocabSize: number, maxTokens = CHUNK_TOKENS): RowRange[] {
  const rows = Math.max(1, Math.floor(passTokens(vocabSize, maxTokens) / T));
  const chunks: RowRange[] = [];
  for (let start = 0; start < B; start += rows) chunks.push([start, Math.min(B, start + rows)]);
  return chunks;
}

/** Rows [start, end) of a per-token (B·T) array: a view, no copy. */
export function sliceRows<A extends Int32Array | Float32Array>(
  data: A,
  T: number,
  [start, end]: RowRange,
): A {
  return data.subarray(start * T, end * T) as A;
}

/** Scatter per-completion-token values (e.g. old log-probs) into the packed (B*T) layout. */
export function scatterPerToken(packed: PackedBatch, perRow: number[][]): Float32Array {
  const out = new Float32Array(packed.B * packed.T);
  perRow.forEach((values, b) => {
    const start = packed.completionStart[b];
    const n = packed.completionLength[b];
    if (values.length < n)
      throw new Error(`row ${b} has ${values.length} per-token values for ${n} completion tokens`);
    for (let i = 0; i < n; i++) out[start + i] = values[i];
  });
  return out;
}
