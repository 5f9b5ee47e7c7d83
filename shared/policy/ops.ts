// Differentiable building blocks with hand-written gradients, shaped around what each tfjs backend runs
// fast. Measured on tfjs-backend-wasm 4.22 (XNNPACK, 1 thread): a plain 2-D matMul reaches ~25 GFLOP/s,
// but any transposeA/transposeB flag or a batch dimension falls back to a naive loop at ~1 GFLOP/s, and
// autodiff's matMul gradient uses exactly those flags. So on wasm every gradient matMul here transposes its
// operand explicitly (a memory copy) and then runs the fast 2-D kernel; on webgpu / webgl / cpu the
// transpose flags are free and are used as they are.
//
//   linear(x, w)              x (N, K) · w (K, M) → (N, M), gradients through fast 2-D matMuls
//   embed(table, ids)         table[ids] (N, C); gradient by scatterND, which sums duplicate ids on every
//                             backend (wasm has no UnsortedSegmentSum, gather's own gradient)
//   rotateHalf(x, R)          x (N, hs) · R for RoPE's signed permutation R (Rᵀ = −R), gradient −dy · R
//   oneHotFloat(ids, depth)   (N, depth) float32 one-hot
//   scores(q, k)              q · kᵀ per batch row, (B, Tq, C) × (B, Tk, C) → (B, Tq, Tk), fast on wasm too
//   scatterRows(w, ids, V)    Σ_s w[r, s] · onehot(ids[r, s]) per row, (R, S) → (R, V), in O(R·S)
//   logMixture(l, g, p)       log(g·softmax(l) + (1 − g)·p) per row, (N, V), with a fused gradient
//   repeatHeads(x, n)         (B, h, T, hs) → (B, h·n, T, hs), each head n times in a row (GQA's k and v)
//   geluTanh(x)               GELU's tanh approximation (GPT-2's gelu_new), element-wise
//   silu(x)                   x · sigmoid(x) (SwiGLU's gate), element-wise
import * as tf from './tfjs';

/** True where transpose flags make tf.matMul slow (tfjs-wasm). */
function transposeFlagsAreSlow(): boolean {
  return tf.getBackend() === 'wasm';
}

/** a · b with optional transposes, choosing explicit transposes where the backend needs them. */
export function matMul2d(
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  transposeA = false,
  transposeB = false,
): tf.Tensor2D {
  if (!transposeFlagsAreSlow() || (!transposeA && !transposeB))
    return tf.matMul(a, b, transposeA, transposeB);
  const left = transposeA ? tf.transpose(a) : a;
  const right = transposeB ? tf.transpose(b) : b;
  return tf.matMul(left, right);
}

export function linear(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xIn, wIn, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([xIn, wIn]);
    return {
      value: tf.matMul(xIn, wIn), // (N, M)
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as tf.Tensor2D[];
        const g = dy as tf.Tensor2D;
        return [matMul2d(g, ws, false, true), matMul2d(xs, g, true, false)]; // dx (N, K), dw (K, M)
      },
    };
  });
  return op(x, w) as tf.Tensor2D;
}

/**
 * One-hot rows as float32. Built as int32 and cast: tfjs-wasm 4.22's OneHot kernel ignores a float32 dtype
 * and writes integer bit patterns (1 reads as 1.4e-45).
 */
export function oneHotFloat(indices: tf.Tensor1D, depth: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(indices, depth), 'float32') as tf.Tensor2D;
}

export function embed(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const [rows, C] = table.shape;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [tableIn, idsIn, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([idsIn]);
    return {
      value: tf.gather(tableIn, idsIn), // (N, C)
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        // Σ of dy's rows per id: scatterND adds duplicate indices, O(N·C) instead of a (V, N)·(N, C) matMul.
        const indices = saved[0].reshape([-1, 1]); // (N, 1)
        return [tf.scatterND(indices, dy, [rows, C]), tf.zerosLike(saved[0])]; // (V, C); ids get none
      },
    };
  });
  return op(table, ids) as tf.Tensor2D;
}

/**
 * q · kᵀ for each batch row: q (B, Tq, C), k (B, Tk, C) → (B, Tq, Tk). On wasm (Tq > 1) as B 2-D
 * `linear`s, whose gradients stay on the fast kernel; elsewhere one batched matMul.
 */
export function scores(q: tf.Tensor3D, k: tf.Tensor3D): tf.Tensor3D {
  if (!transposeFlagsAreSlow() || q.shape[1] === 1) return tf.matMul(q, k, false, true);
  const [B, Tq, C] = q.shape;
  const Tk = k.shape[1];
  const qs = B === 1 ? [q] : tf.split(q, B, 0);
  const ks = B === 1 ? [k] : tf.split(k, B, 0);
  const rows = qs.map((qb, b) =>
    linear(qb.reshape([Tq, C]) as tf.Tensor2D, tf.transpose(ks[b].reshape([Tk, C])) as tf.Tensor2D),
  ); // each (Tq, Tk)
  return tf.stack(rows) as tf.Tensor3D;
}

/**
 * Per row r, the weights w[r, :] added up by token id: out[r, v] = Σ_s w[r, s] · [ids[r, s] = v].
 * w (R, S) float, ids (R, S) int32 → (R, V). scatterND adds duplicate (row, id) pairs, and the gradient
 * reads dy back at the same pairs (gatherND): O(R·S), where the dense form, w · onehot(ids), is a
 * batched (S, V) matMul — measured 0.5 s against 5 ms for one tiny-preset batch on wasm.
 */
export function scatterRows(weights: tf.Tensor2D, ids: tf.Tensor2D, V: number): tf.Tensor2D {
  const [R, S] = weights.shape;
  const rows = tf.tile(tf.range(0, R, 1, 'int32').reshape([R, 1]), [1, S]); // (R, S)
  const pairs = tf.stack([rows, ids], 2).reshape([R * S, 2]); // (R·S, 2): [row, id]
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [w, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([pairs]);
    return {
      value: tf.scatterND(pairs, w.reshape([R * S]), [R, V]) as tf.Tensor2D, // (R, V)
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.gatherND(dy, saved[0]).reshape([R, S]), // (R, S)
    };
  });
  return op(weights) as tf.Tensor2D;
}

/**
 * log(g · softmax(logits) + (1 − g) · probs) for logits and probs (N, V) and gate g (N, 1): the copy
 * head's mixture. One custom op keeps three (N, V) tensors for the backward pass (softmax, probs and
 * the mixture) where autodiff kept seven — at an RL batch of 32 × 256 tokens each is 65 MB, and the
 * unfused version ran tfjs-wasm out of memory. With m the mixture, s the softmax and r = dy / m:
 *   d logits = g · (r·s − s · Σ_v r·s),   d g = Σ_v r · (s − probs),   d probs = (1 − g) · r.
 * A floor of 1e-20 keeps the log finite where both parts underflow (far below any sampled token).
 */
export function logMixture(logits: tf.Tensor2D, gate: tf.Tensor2D, probs: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [l, g, p, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    const soft = tf.softmax(l); // (N, V)
    const mixture = tf.add(tf.add(tf.mul(g, soft), tf.mul(tf.sub(1, g), p)), 1e-20); // (N, V)
    save([soft, p, mixture, g]);
    return {
      value: tf.log(mixture) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [s, pc, m, gs] = saved;
        const r = tf.div(dy, m); // (N, V)
        const rs = tf.mul(r, s); // (N, V)
        const dLogits = tf.mul(gs, tf.sub(rs, tf.mul(s, tf.sum(rs, -1, true)))); // (N, V)
        const dGate = tf.sum(tf.mul(r, tf.sub(s, pc)), -1, true); // (N, 1)
        return [dLogits, dGate, tf.mul(r, tf.sub(1, gs))];
      },
    };
  });
  return op(logits, gate, probs) as tf.Tensor2D;
}

export function rotateHalf(x: tf.Tensor2D, rotation: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xIn, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([rotation]); // kept for the backward pass (the caller's tidy disposes the original)
    return {
      value: tf.matMul(xIn, rotation), // (N, hs)
      // dy · Rᵀ = −dy · R
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.neg(tf.matMul(dy as tf.Tensor2D, saved[0] as tf.Tensor2D)),
    };
  });
  return op(x) as tf.Tensor2D;
}

/**
 * Causal self-attention core, softmax(q·kᵀ + bias)·v, for q (B, nh, Tq, hs) (pre-scaled), k and v
 * (B, nh, Tk, hs) and an additive bias broadcastable to (B, 1, Tq, Tk) → (B, nh, Tq, hs).
 * On wasm with Tq > 1 each head runs as 2-D matMuls with a hand-written backward pass (the batched
 * kernel is ~20× slower there); elsewhere, and for one-token decoding, one batched matMul does it.
 */
export function attention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor): tf.Tensor4D {
  if (!transposeFlagsAreSlow() || q.shape[2] === 1) {
    const scores = tf.add(tf.matMul(q, k, false, true), bias); // (B, nh, Tq, Tk)
    return tf.matMul(tf.softmax(scores), v) as tf.Tensor4D; // (B, nh, Tq, hs)
  }
  return perHeadAttention(q, k, v, bias);
}

/** (B, nh, T, hs) → B·nh tensors (T, hs), splitting by row first: a wasm slice copies its whole source. */
function splitHeads(x: tf.Tensor): tf.Tensor2D[] {
  const [B, nh, T, hs] = x.shape;
  const rows = B === 1 ? [x] : tf.split(x.reshape([B, nh * T * hs]), B, 0);
  return rows.flatMap((row) =>
    nh === 1
      ? [row.reshape([T, hs]) as tf.Tensor2D]
      : (tf.split(row.reshape([nh * T, hs]), nh, 0) as tf.Tensor2D[]),
  );
}

function perHeadAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor): tf.Tensor4D {
  const [B, nh, Tq, hs] = q.shape;
  const Tk = k.shape[2];
  const G = B * nh;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qIn, kIn, vIn, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    const qs = splitHeads(qIn);
    const ks = splitHeads(kIn);
    const vs = splitHeads(vIn);
    const fullBias = tf.broadcastTo(bias, [bias.shape[0], 1, Tq, Tk]);
    const biases =
      bias.shape[0] === 1
        ? [fullBias.reshape([Tq, Tk])]
        : tf.split(fullBias.reshape([B, Tq * Tk]), B, 0).map((x) => x.reshape([Tq, Tk]));
    const probs: tf.Tensor2D[] = [];
    const outs: tf.Tensor2D[] = [];
    for (let g = 0; g < G; g++) {
      const b = Math.floor(g / nh);
      const scores = tf.add(tf.matMul(qs[g], tf.transpose(ks[g])), biases[biases.length === 1 ? 0 : b]); // (Tq, Tk)
      const p = tf.softmax(scores) as tf.Tensor2D; // (Tq, Tk)
      probs.push(p);
      outs.push(tf.matMul(p, vs[g])); // (Tq, hs)
    }
    save([...qs, ...ks, ...vs, ...probs]);
    return {
      value: tf.concat(outs, 0).reshape([B, nh, Tq, hs]) as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const dys = splitHeads(dy);
        const dq: tf.Tensor[] = [];
        const dk: tf.Tensor[] = [];
        const dv: tf.Tensor[] = [];
        for (let g = 0; g < G; g++) {
          const [qg, kg, vg, p] = [
            saved[g],
            saved[G + g],
            saved[2 * G + g],
            saved[3 * G + g],
          ] as tf.Tensor2D[];
          const dp = tf.matMul(dys[g], tf.transpose(vg)); // (Tq, Tk)
          const ds = tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true))); // softmax backward, (Tq, Tk)
          dq.push(tf.matMul(ds, kg)); // (Tq, hs)
          dk.push(tf.matMul(tf.transpose(ds), qg)); // (Tk, hs)
          dv.push(tf.matMul(tf.transpose(p), dys[g])); // (Tk, hs)
        }
        return [
          tf.concat(dq, 0).reshape([B, nh, Tq, hs]),
          tf.concat(dk, 0).reshape([B, nh, Tk, hs]),
          tf.concat(dv, 0).reshape([B, nh, Tk, hs]),
        ];
      },
    };
  });
  return op(q, k, v) as tf.Tensor4D;
}

/**
 * Concatenates along axis 0 a few tensors at a time: a WebGPU adapter may allow as few as 8 storage
 * buffers per shader (SwiftShader does), and tfjs-webgpu gives a many-input kernel (AddN, Concat) one
 * buffer per input.
 */
export function concatInGroups(tensors: tf.Tensor[], group = 4): tf.Tensor {
  if (tensors.length === 0) throw new Error('nothing to concatenate');
  let parts = tensors;
  while (parts.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < parts.length; i += group) {
      const chunk = parts.slice(i, i + group);
      next.push(chunk.length === 1 ? chunk[0] : tf.concat(chunk, 0));
    }
    parts = next;
  }
  return parts[0];
}

/** Sum of many tensors of one shape, pairwise (see concatInGroups for why not tf.addN). */
export function sumAll(tensors: tf.Tensor[]): tf.Tensor {
  if (tensors.length === 0) throw new Error('nothing to sum');
  return tensors.reduce((acc, t) => tf.add(acc, t));
}

/**
 * Each head repeated n times in a row: x (B, h, T, hs) → (B, h·n, T, hs), head j of the result being head
 * floor(j / n) of x — HF's repeat_kv (transformers models/llama/modeling_llama.py), so query head j reads
 * key/value head floor(j / (nHead / nKvHead)). A tile on a rank-4 view: tile's gradient (a sum of slices)
 * runs on every backend, where gather's needs UnsortedSegmentSum, which tfjs-wasm lacks.
 */
export function repeatHeads(x: tf.Tensor4D, n: number): tf.Tensor4D {
  if (n === 1) return x;
  const [B, h, T, hs] = x.shape;
  const tiled = tf.tile(x.reshape([B, h, 1, T * hs]), [1, 1, n, 1]); // (B, h, n, T·hs)
  return tiled.reshape([B, h * n, T, hs]) as tf.Tensor4D;
}

/** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): GELU's tanh form, GPT-2's `gelu_new` (Hendrycks & Gimpel 2016). */
export function geluTanh(x: tf.Tensor2D): tf.Tensor2D {
  const cube = tf.mul(x, tf.square(x)); // (N, H)
  const inner = tf.mul(tf.add(x, tf.mul(cube, 0.044715)), Math.sqrt(2 / Math.PI)); // (N, H)
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1)) as tf.Tensor2D;
}

/** x · sigmoid(x) (Llama's `silu` activation). */
export function silu(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.sigmoid(x)) as tf.Tensor2D;
}
