"""Vocalis's stage decoder for GPT-SoVITS: one graph for the prompt pass and for every step.

Upstream's ONNX export has two graphs that each carry the whole 24-layer transformer
(t2s_fsdec for the prompt, t2s_sdec per token), and t2s_sdec takes the whole KV cache in and
returns it grown by one row, so every step copies the cache several times (pad, concat per
layer, stack, out to the caller): the cost per token grows with length and the weights are
held twice. This module computes the same thing (upstream's AR/models/t2s_model.py
`infer_panel_naive` with `process_prompt` / `decode_next_token`, post-norm blocks) as one graph:

  inputs   x          f32[1, Nx, 512]  text positions from t2s_encoder (Nx = 0 in steps)
           y          i64[1, M]        new audio tokens (the prompt in the first pass, the last
                                       sampled token in a step; M = 0 for a run without prompt)
           y_start    i64[1]           audio position of y[0] (0 first, prompt length + i later)
           attn_bias  f32[Nx+M, n+Nx+M] 0 where a new position may attend, -inf elsewhere
           k_cache_l, v_cache_l  f32[n, 512] for l in 0..layers-1: the cache so far, one
                                       contiguous [positions, 512] block per layer (n = 0 first)
  outputs  logits     f32[1, 1025]     for the last new position
           k_new, v_new f32[layers, Nx+M, 512]  the new positions' keys/values

The caller keeps the cache in per-layer buffers with spare capacity and passes views of the
filled prefix, so nothing is copied into the graph; only the new rows come out. Attention over
cache and new rows is one softmax over their concatenated scores, so the big cache is never
concatenated either. Sampling is left to the caller (upstream's sampler, seeded there).

Weights are upstream's own modules (built and loaded by upstream's code); nothing here
re-trains or re-shapes them.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F


class KvStageDecoder(nn.Module):
    def __init__(self, t2s):
        """`t2s`: upstream's Text2SemanticDecoder (AR/models/t2s_model.py) with weights loaded."""
        super().__init__()
        self.layers = t2s.h.layers
        self.num_layers = len(self.layers)
        self.heads = t2s.num_head
        self.dim = t2s.model_dim
        self.audio_embedding = t2s.ar_audio_embedding
        self.audio_position = t2s.ar_audio_position
        self.predict = t2s.ar_predict_layer
        half = torch.arange(0, self.dim, 2, dtype=torch.float32)
        self.register_buffer("div_term", torch.exp(half * -(math.log(10000.0) / self.dim)), persistent=False)

    def _position(self, start, count):
        """Upstream's SinePositionalEmbedding rows start..start+count-1 (sin on even, cos on odd dims)."""
        pos = (start + torch.arange(count, dtype=torch.int64)).to(torch.float32).unsqueeze(1)
        angle = pos * self.div_term
        return torch.stack([torch.sin(angle), torch.cos(angle)], dim=2).reshape(count, self.dim)

    def forward(self, x, y, y_start, attn_bias, *caches):
        y_emb = self.audio_embedding(y)[0]
        y_pos = y_emb * self.audio_position.x_scale + self.audio_position.alpha * self._position(y_start, y.shape[1])
        h = torch.cat([x[0], y_pos], dim=0)  # [Q, d]
        q_len = h.shape[0]
        heads, head_dim = self.heads, self.dim // self.heads
        scale = 1.0 / math.sqrt(head_dim)
        k_new, v_new = [], []
        for i, layer in enumerate(self.layers):
            attn = layer.self_attn
            q, k, v = F.linear(h, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
            k_new.append(k)
            v_new.append(v)
            k_cache, v_cache = caches[i], caches[self.num_layers + i]
            qh = q.reshape(q_len, heads, head_dim).transpose(0, 1)  # [H, Q, dh]
            # Explicit sizes, not -1: ONNX Runtime (node 1.30) dies with SIGFPE inferring -1 for
            # the empty cache of the first pass.
            cached = k_cache.shape[0]
            scores = torch.cat(
                [
                    qh @ k_cache.reshape(cached, heads, head_dim).permute(1, 2, 0),  # [H, Q, n]
                    qh @ k.reshape(q_len, heads, head_dim).permute(1, 2, 0),  # [H, Q, Q]
                ],
                dim=-1,
            )
            probs = torch.softmax(scores * scale + attn_bias, dim=-1)
            out = probs[:, :, :cached] @ v_cache.reshape(cached, heads, head_dim).transpose(0, 1) + probs[:, :, cached:] @ v.reshape(
                q_len, heads, head_dim
            ).transpose(0, 1)
            out = F.linear(out.transpose(0, 1).reshape(q_len, self.dim), attn.out_proj.weight, attn.out_proj.bias)
            h = F.layer_norm(h + out, [self.dim], layer.norm1.weight, layer.norm1.bias, layer.norm1.eps)
            mlp = F.linear(F.relu(F.linear(h, layer.linear1.weight, layer.linear1.bias)), layer.linear2.weight, layer.linear2.bias)
            h = F.layer_norm(h + mlp, [self.dim], layer.norm2.weight, layer.norm2.bias, layer.norm2.eps)
        logits = self.predict(h[-1:])
        return logits, torch.stack(k_new), torch.stack(v_new)

    def input_names(self):
        return ["x", "y", "y_start", "attn_bias"] + [f"k_cache_{i}" for i in range(self.num_layers)] + [f"v_cache_{i}" for i in range(self.num_layers)]


def prompt_bias(text_len, prompt_len):
    """The first pass's mask as upstream builds it: text sees text, audio sees text and earlier audio."""
    total = text_len + prompt_len
    bias = torch.zeros(total, total)
    bias[:text_len, text_len:] = float("-inf")
    causal = torch.triu(torch.ones(prompt_len, prompt_len, dtype=torch.bool), diagonal=1)
    bias[text_len:, text_len:][causal] = float("-inf")
    return bias
