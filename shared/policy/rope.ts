// Rotary position tables, built once and kept: cos and sin (length, hs) and the "rotate half" matrix
// (hs, hs), per (head size, length, base) on the current backend.
//
//   ropeTables(headSize, length, base)   the cached tables (kept: a caller's tidy does not dispose them)
//   ropeTableBuilds()                    how many times tables were built (tests: once per key)
//   disposeRopeTables()                  frees every cached table
//
// The layout is Hugging Face Llama's (transformers models/llama: cos / sin of [freqs, freqs] and rotate_half
// on each head's first and second halves, not interleaved pairs); test/unit/policy/hf-parity.test.ts checks
// it against an independent numpy forward.
//
// Why a cache: the policy used to upload both (blockSize, hs) tables and the (hs, hs) matrix on every
// forward and every decoded token — three host → backend copies per token for tables that never change.
// On webgpu the decode step's kernels (fused/decode-rope.ts) read the cos and sin tables at each row's
// position themselves, so a decoded token gathers and tiles nothing from them.
// A tensor belongs to the backend that made it: when `tf.backend()` is a different instance (another
// backend selected, or the same name re-registered after `tf.engine().reset()`), the old tables are
// disposed and rebuilt on the new one rather than left for tfjs to move between backends on every read.
import * as tf from './tfjs';

export type RopeTables = {
  /** (length, hs): cos(p · base^(−2j/hs)), the two halves of each row sharing frequencies j. */
  cos: tf.Tensor2D;
  /** (length, hs): sin of the same angles. */
  sin: tf.Tensor2D;
  /** (hs, hs): the signed permutation R with [x1, x2] · R = [−x2, x1]. */
  rotate: tf.Tensor2D;
};

const cache = new Map<string, RopeTables>();
let owner: tf.KernelBackend | null = null;
let builds = 0;

export function ropeTables(headSize: number, length: number, base: number): RopeTables {
  const backend = tf.backend();
  if (backend !== owner) {
    disposeRopeTables();
    owner = backend;
  }
  const key = `${headSize}/${length}/${base}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const values = ropeValues(headSize, length, base);
  // tf.keep: the first call usually runs inside a forward's tidy, which would otherwise dispose them.
  const tables: RopeTables = {
    cos: tf.keep(tf.tensor2d(values.cos, [length, headSize])),
    sin: tf.keep(tf.tensor2d(values.sin, [length, headSize])),
    rotate: tf.keep(tf.tensor2d(values.rotate, [headSize, headSize])),
  };
  cache.set(key, tables);
  builds++;
  return tables;
}

export function ropeTableBuilds(): number {
  return builds;
}

/** Frees the cached tables (disposing one already freed, e.g. by an engine reset, does nothing). */
export function disposeRopeTables(): void {
  for (const tables of cache.values()) tf.dispose([tables.cos, tables.sin, tables.rotate]);
  cache.clear();
  owner = null;
}

function ropeValues(hs: number, length: number, base: number) {
  const half = hs / 2;
  const cos = new Float32Array(length * hs);
  const sin = new Float32Array(length * hs);
  for (let p = 0; p < length; p++) {
    for (let j = 0; j < half; j++) {
      const angle = p / base ** ((2 * j) / hs);
      cos[p * hs + j] = cos[p * hs + j + half] = Math.cos(angle);
      sin[p * hs + j] = sin[p * hs + j + half] = Math.sin(angle);
    }
  }
  // rotate_half([x1, x2]) = [-x2, x1] as x @ R.
  const rotate = new Float32Array(hs * hs);
  for (let j = 0; j < half; j++) {
    rotate[(j + half) * hs + j] = -1;
    rotate[j * hs + j + half] = 1;
  }
  return { cos, sin, rotate };
}
