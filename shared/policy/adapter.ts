// The contract between the policy and a weight adapter (LoRA, shared/policy/lora.ts): the model sends every
// projection through one place, which asks the adapter for a low-rank update to add. The base weights stay
// as they are (frozen while an adapter trains); the adapter owns its own variables.
//
//   y = x · W (+ b)  +  adapter.delta(weightName, x)       x (N, in), W (in, out), delta (N, out)
//
// `weightName` is the policy's own checkpoint name of W (e.g. `h.3.attn.wqkv`, `h.3.mlp.wfc`,
// `h.3.attn.wo`, `h.3.mlp.wproj`, `lm_head`); an adapter returns null for weights it does not adapt, and
// the model then does no extra work. A fused weight (q, k and v in one `attn.wqkv`) gets one delta of the
// fused width; an adapter that targets only some parts (PEFT's `q_proj`, `v_proj`) fills the others with 0.
import type * as tf from './tfjs';

export interface ProjectionAdapter {
  /** The update for projection `weightName` of input x (N, in): (N, out), or null if not adapted. */
  delta(weightName: string, x: tf.Tensor2D): tf.Tensor2D | null;
  /** The adapter's trainable variables (what an optimizer updates when only the adapter trains). */
  variables(): tf.Variable[];
}
