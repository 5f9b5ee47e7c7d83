// What the decode-step kernels (kv-append.ts, decode-attention.ts's decodeAttentionQkv) share: reading one
// head's element straight out of the fused q | k | v projection and rotating it for the row's position.
//
//   roped(row, start, d) = x[d]·cos[p, d] + x̃[d]·sin[p, d],   x = qkv[row, start : start + hs], p = positions[row]
//   x̃ = rotate_half(x) = [−x2, x1] on the head's two halves (Hugging Face Llama's layout, as rope.ts builds
//   the tables and model.ts's applyRope rotates with a matMul)
//
// and, with `rotary` 0 (learned positions, or the values), roped = x. The tables are rope.ts's cached
// (length, hs) cos and sin, read at the row's position: the kernel gathers the row itself where the
// composite model path gathers and tiles the tables into (B, 1, n·hs) first (4–6 programs per token).
import * as tf from '../tfjs';

/** The tables and positions a decode kernel rotates with; null for learned positions (no rotation). */
export type DecodeRope = {
  /** (L, hs): rope.ts's cos table, L ≥ every position. */
  cos: tf.Tensor2D;
  /** (L, hs): the sin table. */
  sin: tf.Tensor2D;
  /** (B) int32: each row's position. */
  positions: tf.Tensor1D;
};

/**
 * The kernels' inputs for `rope`: the tables and positions, or (rope null) stand-ins the program binds but
 * never reads: tfjs-webgpu compiles with layout 'auto', so every declared input must stay referenced in the
 * WGSL, and a rotary flag in the uniforms (not the shader text) keeps one pipeline for both.
 */
export function ropeInputs(
  rope: DecodeRope | null,
  qkv: tf.Tensor2D,
): { cosTable: tf.Tensor; sinTable: tf.Tensor; positions: tf.Tensor; rotary: number } {
  if (rope) {
    const positions = rope.positions.dtype === 'int32' ? rope.positions : tf.cast(rope.positions, 'int32');
    return { cosTable: rope.cos, sinTable: rope.sin, positions, rotary: 1 };
  }
  // Never read (rotary 0); int32 so the WGSL indexing with positions[row] type-checks either way.
  return { cosTable: qkv, sinTable: qkv, positions: tf.zeros([1], 'int32'), rotary: 0 };
}

/** The input names, in the order the programs declare them after their own. */
export const ROPE_INPUT_NAMES = ['cosTable', 'sinTable', 'positions'] as const;

/**
 * WGSL: `fn roped(row, start, d, hs) -> f32`, the formula above on the program's `qkv`, `cosTable`,
 * `sinTable` and `positions` inputs and its `rotary` uniform.
 */
export const ROPED_WGSL = `
    fn roped(row : i32, start : i32, d : i32, hs : i32) -> f32 {
      let base = row * uniforms.qkvShape[1] + start;
      let x = qkv[base + d];
      if (uniforms.rotary == 0) {
        return x;
      }
      let half = hs / 2;
      var partner = 0.0;
      if (d < half) {
        partner = -qkv[base + d + half];
      } else {
        partner = qkv[base + d - half];
      }
      let at = i32(positions[row]) * hs + d;
      return x * cosTable[at] + partner * sinTable[at];
    }`;

/**
 * The composite: columns [start, start + n·hs) of qkv (B, W) as n heads, rotated (or not): (B, n, hs).
 */
export function ropedHeadsComposite(
  qkv: tf.Tensor2D,
  start: number,
  heads: number,
  hs: number,
  rope: DecodeRope | null,
): tf.Tensor3D {
  const B = qkv.shape[0];
  const x = tf.slice(qkv, [0, start], [B, heads * hs]).reshape([B, heads, hs]) as tf.Tensor3D; // (B, n, hs)
  if (!rope) return x;
  const half = hs / 2;
  const rotated = tf.concat(
    [tf.neg(tf.slice(x, [0, 0, half], [B, heads, half])), tf.slice(x, [0, 0, 0], [B, heads, half])],
    2,
  ); // (B, n, hs): [−x2, x1]
  const positions = rope.positions.dtype === 'int32' ? rope.positions : tf.cast(rope.positions, 'int32');
  const cos = tf.gather(rope.cos, positions).reshape([B, 1, hs]); // (B, 1, hs)
  const sin = tf.gather(rope.sin, positions).reshape([B, 1, hs]);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor3D; // (B, n, hs)
}

/** Throws unless the tables are (L, hs) and the positions (B): the shapes the kernels index by. */
export function checkRope(op: string, rope: DecodeRope | null, B: number, hs: number): void {
  if (!rope) return;
  const ok =
    rope.cos.rank === 2 &&
    rope.cos.shape[1] === hs &&
    rope.sin.rank === 2 &&
    rope.sin.shape.every((d, i) => d === rope.cos.shape[i]) &&
    rope.positions.rank === 1 &&
    rope.positions.shape[0] === B &&
    hs % 2 === 0;
  if (!ok)
    throw new Error(
      `${op}: expected rope tables (L, ${hs}) with an even head size and positions (${B}); got cos [${rope.cos.shape}], sin [${rope.sin.shape}], positions [${rope.positions.shape}]`,
    );
  if (rope.cos.dtype !== 'float32' || rope.sin.dtype !== 'float32')
    throw new Error(`${op}: the rope tables must be float32`);
}
