#!/usr/bin/env python3
"""An independent float64 numpy forward pass for the tiny Hugging Face models tiny_models.py writes.

README: `python3 scripts/hf-reference/reference.py DIR --ids 1,2,3 [--greedy N]` prints JSON
{"logits": [[...V] per position], "greedy": [N token ids]}: the logits for the ids and a greedy
continuation of N tokens (argmax of the last position, the full sequence run again each step).

Written from the architectures' definitions, not from this project's TypeScript:
- GPT-2 (Radford et al. 2019; transformers models/gpt2): token + learned position embeddings; pre-LayerNorm
  blocks; Conv1D projections x @ W + b with W stored (in, out); attention scaled by 1/sqrt(head size);
  MLP gelu_new = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); final LayerNorm; logits = h @ wte^T.
- Llama / Qwen2 (transformers models/llama, models/qwen2): RMSNorm x / sqrt(mean(x^2) + eps) * w;
  nn.Linear x @ W^T (+ b); rotary embeddings with inv_freq = 1 / theta^(arange(0, d, 2) / d),
  emb = cat(freqs, freqs), q * cos + rotate_half(q) * sin, rotate_half(x) = cat(-x2, x1); grouped-query
  attention by repeat_kv (each key/value head repeated n_rep times in a row); MLP
  down(silu(gate(x)) * up(x)); logits = h @ lm_head^T (or embed_tokens^T when tied).
The safetensors file is read by hand from the format's definition (see tiny_models.py).
"""
import argparse
import json
import math
import struct
from pathlib import Path

import numpy as np


def read_safetensors(path: Path) -> dict:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{name}: only F32 is read here, not {info['dtype']}")
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + begin : base + end], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return out


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def causal_attention(q, k, v):
    """q, k, v: (heads, T, hs) -> (heads, T, hs)."""
    T, hs = q.shape[1], q.shape[2]
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(hs)
    scores = np.where(np.tril(np.ones((T, T), bool)), scores, -np.inf)
    return softmax(scores) @ v


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gpt2_logits(cfg, t, ids):
    T = len(ids)
    C, nh, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    hs = C // nh
    x = t["wte.weight"][ids] + t["wpe.weight"][np.arange(T)]
    for i in range(cfg["n_layer"]):
        p = f"h.{i}."
        a = layer_norm(x, t[p + "ln_1.weight"], t[p + "ln_1.bias"], eps)
        qkv = a @ t[p + "attn.c_attn.weight"] + t[p + "attn.c_attn.bias"]
        q, k, v = (m.reshape(T, nh, hs).transpose(1, 0, 2) for m in np.split(qkv, 3, axis=1))
        y = causal_attention(q, k, v).transpose(1, 0, 2).reshape(T, C)
        x = x + y @ t[p + "attn.c_proj.weight"] + t[p + "attn.c_proj.bias"]
        m = layer_norm(x, t[p + "ln_2.weight"], t[p + "ln_2.bias"], eps)
        h = m @ t[p + "mlp.c_fc.weight"] + t[p + "mlp.c_fc.bias"]
        h = 0.5 * h * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * h**3)))
        x = x + h @ t[p + "mlp.c_proj.weight"] + t[p + "mlp.c_proj.bias"]
    x = layer_norm(x, t["ln_f.weight"], t["ln_f.bias"], eps)
    return x @ t["wte.weight"].T


def rms_norm(x, w, eps):
    return x / np.sqrt((x**2).mean(-1, keepdims=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def llama_logits(cfg, t, ids):
    T = len(ids)
    C, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads") or nh
    hs = cfg.get("head_dim") or C // nh
    eps, theta = cfg["rms_norm_eps"], cfg.get("rope_theta", 10000.0)
    inv_freq = 1.0 / theta ** (np.arange(0, hs, 2, dtype=np.float64) / hs)
    freqs = np.outer(np.arange(T, dtype=np.float64), inv_freq)  # (T, hs/2)
    emb = np.concatenate([freqs, freqs], axis=-1)  # (T, hs)
    cos, sin = np.cos(emb), np.sin(emb)

    def linear(x, name):
        y = x @ t[name + ".weight"].T
        return y + t[name + ".bias"] if name + ".bias" in t else y

    x = t["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = rms_norm(x, t[p + "input_layernorm.weight"], eps)
        q = linear(a, p + "self_attn.q_proj").reshape(T, nh, hs).transpose(1, 0, 2)
        k = linear(a, p + "self_attn.k_proj").reshape(T, nkv, hs).transpose(1, 0, 2)
        v = linear(a, p + "self_attn.v_proj").reshape(T, nkv, hs).transpose(1, 0, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = np.repeat(k, nh // nkv, axis=0)  # repeat_kv: kv head j serves query heads j*n_rep .. j*n_rep+n_rep-1
        v = np.repeat(v, nh // nkv, axis=0)
        y = causal_attention(q, k, v).transpose(1, 0, 2).reshape(T, nh * hs)
        x = x + linear(y, p + "self_attn.o_proj")
        m = rms_norm(x, t[p + "post_attention_layernorm.weight"], eps)
        gate = linear(m, p + "mlp.gate_proj")
        x = x + linear(gate / (1.0 + np.exp(-gate)) * linear(m, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms_norm(x, t["model.norm.weight"], eps)
    head = t["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else t["lm_head.weight"]
    return x @ head.T


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", type=Path)
    parser.add_argument("--ids", required=True, help="comma-separated token ids")
    parser.add_argument("--greedy", type=int, default=0, help="greedy tokens to generate")
    args = parser.parse_args()
    cfg = json.loads((args.dir / "config.json").read_text())
    tensors = read_safetensors(args.dir / "model.safetensors")
    forward = gpt2_logits if cfg["model_type"] == "gpt2" else llama_logits
    ids = [int(s) for s in args.ids.split(",")]
    logits = forward(cfg, tensors, ids)
    greedy = []
    seq = list(ids)
    for _ in range(args.greedy):
        nxt = int(np.argmax(forward(cfg, tensors, seq)[-1]))
        greedy.append(nxt)
        seq.append(nxt)
    print(json.dumps({"logits": logits.tolist(), "greedy": greedy}))


if __name__ == "__main__":
    main()
