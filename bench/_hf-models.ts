// The Hugging Face model shapes the benches build with random weights (no download): SmolLM2-135M's
// config.json (LlamaForCausalLM) as a ModelConfig. bench/hf-shapes.ts and bench/hf-memory.ts share it.

/** SmolLM2-135M: 30 layers, d 576, 9 query / 3 key-value heads of 64, SwiGLU 1536, vocab 49,152, tied. */
export const SMOLLM2_135M = {
  vocabSize: 49152,
  blockSize: 2048,
  nLayer: 30,
  nHead: 9,
  nKvHead: 3,
  headSize: 64,
  nEmbd: 576,
  mlp: 'swiglu' as const,
  mlpHidden: 1536,
  norm: 'rms' as const,
  positions: 'rope' as const,
  ropeBase: 100000,
  tiedHead: true,
};
