// projectFused(x (N, in), W (in, out), { bias, residual, adapter, name }) → (N, out): the model's
// projection (model.ts `project`) on webgpu, in fewer programs than its composite:
//
//   out = residual + x·W + bias + Δ(x)          each term optional; Δ the adapter's update of weight `name`
//
// - The residual (or, without one, the bias) rides in tfjs's fused matMul (`tf.fused.matMul` with `bias`:
//   tfjs-backend-webgpu adds it in the matMul program's write-out, `getBiasByOutputCoords`, broadcasting
//   any shape to the output's), so the model's residual add after the attention and MLP output
//   projections is no program of its own: 2 fewer per layer.
// - A LoRA adapter (shared/policy/lora.ts) whose one part covers the whole weight runs as loraLinear
//   (lora-linear.ts: x·W with the residual, x·A, then one program for scale·(x·A)·B + the base): 3
//   programs where the matMul, `adapter.delta` and its add take 4–5. Other adapters (several parts
//   of a fused weight, such as PEFT's q_proj + v_proj on attn.wqkv; dropout while training; any other
//   ProjectionAdapter) add their `delta` as the composite does.
//
// Gradients are tfjs's own (fused matMul) and loraLinear's hand-written one. cpu and wasm never come here:
// model.ts keeps their op sequence bit for bit.
import type { ProjectionAdapter } from '../adapter';
import * as tf from '../tfjs';
import { loraLinear } from './lora-linear';

/** What lora.ts's Lora shows of itself (its public fields), read structurally: no import cycle. */
type LowRankAdapter = {
  scale: number;
  config: { dropout: number };
  parts: ReadonlyArray<{ weightName: string; start: number; width: number; A: tf.Tensor2D; B: tf.Tensor2D }>;
};

/** The adapter's single (A (in, r), B (r, out)) pair covering all `out` columns of weight `name`, if any. */
export function wholeLowRank(
  adapter: ProjectionAdapter | null,
  name: string,
  out: number,
): { A: tf.Tensor2D; B: tf.Tensor2D; scale: number } | null {
  const candidate = adapter as Partial<LowRankAdapter> | null;
  if (!candidate || typeof candidate.scale !== 'number' || !Array.isArray(candidate.parts)) return null;
  // Lora.delta applies dropout to x while a gradient tape records; the fused path has none, so it steps aside.
  if ((candidate.config?.dropout ?? 0) > 0 && tf.engine().isTapeOn()) return null;
  const parts = candidate.parts.filter((p) => p.weightName === name);
  if (parts.length !== 1) return null;
  const [part] = parts;
  if (part.start !== 0 || part.width !== out) return null;
  return { A: part.A, B: part.B, scale: candidate.scale };
}

export function projectFused(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  options: { bias?: tf.Tensor; residual?: tf.Tensor2D; adapter: ProjectionAdapter | null; name: string },
): tf.Tensor2D {
  const { bias, residual, adapter, name } = options;
  const lowRank = wholeLowRank(adapter, name, w.shape[1]);
  const addend = residual ?? bias; // (N, out) or (out): added inside the x·W matMul program
  let y: tf.Tensor2D; // (N, out)
  if (lowRank) {
    y = loraLinear(x, w, lowRank.A, lowRank.B, lowRank.scale, addend); // + scale·(x·A)·B, 3 programs
  } else {
    y = tf.fused.matMul({ a: x, b: w, bias: addend }) as tf.Tensor2D;
    const delta = adapter?.delta(name, x); // (N, out) or null
    if (delta) y = tf.add(y, delta);
  }
  return residual && bias ? tf.add(y, bias) : y;
}
