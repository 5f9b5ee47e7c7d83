#!/usr/bin/env python3
"""Writes tiny random Hugging Face causal LMs (config.json + model.safetensors, F32) for the parity tests.

README: `python3 scripts/hf-reference/tiny_models.py OUT_DIR` writes OUT_DIR/{gpt2,llama-gqa,llama-tied,qwen2}/,
each a folder in the layout transformers' from_pretrained reads; `reference.py` then computes their logits.
Only numpy is needed: the safetensors file is written by hand from the format's definition
(huggingface/safetensors README): an 8-byte little-endian u64 header length N, N bytes of JSON
({name: {dtype, shape, data_offsets: [begin, end]}}, offsets relative to the end of the header, padded
with spaces), then the raw little-endian tensor bytes.

Key names and shapes are those of transformers' GPT2LMHeadModel (Conv1D weights stored (in, out); the
causal-mask buffer `h.{i}.attn.bias` saved alongside) and LlamaForCausalLM / Qwen2ForCausalLM (nn.Linear
weights stored (out, in)). Weights are random with realistic spreads (std 0.02-0.2), norm gains near 1
and non-zero biases, so a wrong transpose, bias or gain shows up in the logits.
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np


def write_safetensors(path: Path, tensors: dict) -> None:
    header = {}
    offset = 0
    blobs = []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def normal(rng, shape, std):
    return rng.normal(0.0, std, size=shape).astype(np.float32)


def gain(rng, n):
    return (1.0 + rng.normal(0.0, 0.1, size=n)).astype(np.float32)


def gpt2(rng):
    V, P, C, L, nh = 96, 64, 32, 2, 4
    config = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": V,
        "n_positions": P,
        "n_ctx": P,
        "n_embd": C,
        "n_layer": L,
        "n_head": nh,
        "n_inner": None,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5,
        "tie_word_embeddings": True,
    }
    t = {"wte.weight": normal(rng, (V, C), 0.2), "wpe.weight": normal(rng, (P, C), 0.05)}
    for i in range(L):
        h = f"h.{i}"
        t[f"{h}.ln_1.weight"] = gain(rng, C)
        t[f"{h}.ln_1.bias"] = normal(rng, C, 0.05)
        t[f"{h}.attn.c_attn.weight"] = normal(rng, (C, 3 * C), 0.15)  # Conv1D: (in, out)
        t[f"{h}.attn.c_attn.bias"] = normal(rng, 3 * C, 0.05)
        t[f"{h}.attn.c_proj.weight"] = normal(rng, (C, C), 0.1)
        t[f"{h}.attn.c_proj.bias"] = normal(rng, C, 0.05)
        t[f"{h}.attn.bias"] = np.tril(np.ones((P, P), np.float32)).reshape(1, 1, P, P)  # buffer
        t[f"{h}.ln_2.weight"] = gain(rng, C)
        t[f"{h}.ln_2.bias"] = normal(rng, C, 0.05)
        t[f"{h}.mlp.c_fc.weight"] = normal(rng, (C, 4 * C), 0.15)
        t[f"{h}.mlp.c_fc.bias"] = normal(rng, 4 * C, 0.05)
        t[f"{h}.mlp.c_proj.weight"] = normal(rng, (4 * C, C), 0.1)
        t[f"{h}.mlp.c_proj.bias"] = normal(rng, C, 0.05)
    t["ln_f.weight"] = gain(rng, C)
    t["ln_f.bias"] = normal(rng, C, 0.05)
    return config, t


def llama(rng, model_type, C, nh, nkv, head_dim, H, tied, qkv_bias, theta):
    V, P, L = 96, 64, 2
    hs = head_dim or C // nh
    config = {
        "architectures": ["LlamaForCausalLM" if model_type == "llama" else "Qwen2ForCausalLM"],
        "model_type": model_type,
        "vocab_size": V,
        "hidden_size": C,
        "intermediate_size": H,
        "num_hidden_layers": L,
        "num_attention_heads": nh,
        "num_key_value_heads": nkv,
        "hidden_act": "silu",
        "max_position_embeddings": P,
        "rms_norm_eps": 1e-6,
        "rope_theta": theta,
        "rope_scaling": None,
        "tie_word_embeddings": tied,
    }
    if head_dim:
        config["head_dim"] = head_dim
    if model_type == "llama":
        config["attention_bias"] = False
        config["mlp_bias"] = False
    t = {"model.embed_tokens.weight": normal(rng, (V, C), 0.2)}
    for i in range(L):
        h = f"model.layers.{i}"
        t[f"{h}.input_layernorm.weight"] = gain(rng, C)
        t[f"{h}.self_attn.q_proj.weight"] = normal(rng, (nh * hs, C), 0.15)  # nn.Linear: (out, in)
        t[f"{h}.self_attn.k_proj.weight"] = normal(rng, (nkv * hs, C), 0.15)
        t[f"{h}.self_attn.v_proj.weight"] = normal(rng, (nkv * hs, C), 0.15)
        if qkv_bias:
            t[f"{h}.self_attn.q_proj.bias"] = normal(rng, nh * hs, 0.1)
            t[f"{h}.self_attn.k_proj.bias"] = normal(rng, nkv * hs, 0.1)
            t[f"{h}.self_attn.v_proj.bias"] = normal(rng, nkv * hs, 0.1)
        t[f"{h}.self_attn.o_proj.weight"] = normal(rng, (C, nh * hs), 0.1)
        t[f"{h}.post_attention_layernorm.weight"] = gain(rng, C)
        t[f"{h}.mlp.gate_proj.weight"] = normal(rng, (H, C), 0.15)
        t[f"{h}.mlp.up_proj.weight"] = normal(rng, (H, C), 0.15)
        t[f"{h}.mlp.down_proj.weight"] = normal(rng, (C, H), 0.1)
    t["model.norm.weight"] = gain(rng, C)
    if not tied:
        t["lm_head.weight"] = normal(rng, (V, C), 0.2)
    return config, t


MODELS = {
    "gpt2": lambda rng: gpt2(rng),
    # GQA: 6 query heads over 2 key/value heads, SwiGLU 80 wide, untied head.
    "llama-gqa": lambda rng: llama(rng, "llama", 48, 6, 2, None, 80, False, False, 10000.0),
    # Tied head, and head_dim 16 wider than hidden_size / heads (48 / 4 = 12).
    "llama-tied": lambda rng: llama(rng, "llama", 48, 4, 2, 16, 64, True, False, 10000.0),
    # Qwen2: q, k, v biases, a large rope_theta, tied head.
    "qwen2": lambda rng: llama(rng, "qwen2", 48, 6, 2, None, 72, True, True, 1000000.0),
}


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: tiny_models.py OUT_DIR")
    out = Path(sys.argv[1])
    for seed, (name, build) in enumerate(MODELS.items()):
        config, tensors = build(np.random.default_rng(1000 + seed))
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        write_safetensors(folder / "model.safetensors", tensors)
    print(json.dumps(sorted(MODELS)))


if __name__ == "__main__":
    main()
