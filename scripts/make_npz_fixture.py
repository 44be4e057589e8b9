#!/usr/bin/env python3
"""Writes a small random ViT in Google's JAX `.npz` layout (the key names and shapes of the official
checkpoints that timm's `_load_weights` and jeonsworld/ViT-pytorch's `load_from` read), and the logits timm gives
after `_load_weights`:

  Tests/ViTKitTests/Fixtures/google_vit.npz                   embed 32, depth 2, 2 heads, patch 4, 16x16 input
  Tests/ViTKitTests/Fixtures/google_vit_reference.safetensors x16, logits16 (same grid), x24, logits24 (timm
                                                              loads it into a 24x24 model: 6x6 grid, pos_embed
                                                              resampled), and the loaded timm state_dict (param.*)

Run: /tmp/torchref/bin/python scripts/make_npz_fixture.py   (torch, timm, numpy, safetensors)
"""
import os
import numpy as np
import torch
from safetensors.torch import save_file
from make_fixtures import import_timm

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "ViTKitTests", "Fixtures")
VIT = dict(patch_size=4, embed_dim=32, depth=2, num_heads=2, mlp_ratio=4.0, qkv_bias=True, num_classes=10)


def google_layout(m, heads):
    """The inverse of timm's _load_weights: torch tensors to JAX/Flax arrays and names."""
    t = lambda x: x.detach().numpy().astype(np.float32)
    d = m.embed_dim
    hd = d // heads
    w = {"embedding/kernel": t(m.patch_embed.proj.weight).transpose(2, 3, 1, 0),
         "embedding/bias": t(m.patch_embed.proj.bias), "cls": t(m.cls_token),
         "Transformer/posembed_input/pos_embedding": t(m.pos_embed),
         "Transformer/encoder_norm/scale": t(m.norm.weight), "Transformer/encoder_norm/bias": t(m.norm.bias),
         "head/kernel": t(m.head.weight).T, "head/bias": t(m.head.bias)}
    for i, b in enumerate(m.blocks):
        p = f"Transformer/encoderblock_{i}/"
        w[p + "LayerNorm_0/scale"], w[p + "LayerNorm_0/bias"] = t(b.norm1.weight), t(b.norm1.bias)
        w[p + "LayerNorm_2/scale"], w[p + "LayerNorm_2/bias"] = t(b.norm2.weight), t(b.norm2.bias)
        qkv_w, qkv_b = t(b.attn.qkv.weight), t(b.attn.qkv.bias)
        for j, n in enumerate(("query", "key", "value")):
            w[p + f"MultiHeadDotProductAttention_1/{n}/kernel"] = qkv_w[j * d:(j + 1) * d].T.reshape(d, heads, hd)
            w[p + f"MultiHeadDotProductAttention_1/{n}/bias"] = qkv_b[j * d:(j + 1) * d].reshape(heads, hd)
        w[p + "MultiHeadDotProductAttention_1/out/kernel"] = t(b.attn.proj.weight).reshape(d, heads, hd).transpose(1, 2, 0)
        w[p + "MultiHeadDotProductAttention_1/out/bias"] = t(b.attn.proj.bias)
        for r, fc in enumerate((b.mlp.fc1, b.mlp.fc2)):
            w[p + f"MlpBlock_3/Dense_{r}/kernel"], w[p + f"MlpBlock_3/Dense_{r}/bias"] = t(fc.weight).T, t(fc.bias)
    return w


def main():
    import_timm()
    from timm.models.vision_transformer import VisionTransformer, _load_weights
    g = torch.Generator().manual_seed(9)
    src = VisionTransformer(img_size=16, **VIT).eval()
    with torch.no_grad():
        for n, p in src.named_parameters():
            p.copy_((1.0 if n.endswith("weight") and p.ndim == 1 else 0.0) + (0.2 if p.ndim == 1 else 0.3) * torch.randn(p.shape, generator=g))
    path = os.path.join(OUT, "google_vit.npz")
    np.savez(path, **google_layout(src, VIT["num_heads"]))
    ref = {}
    for size in (16, 24):
        m = VisionTransformer(img_size=size, **VIT).eval()
        _load_weights(m, path)
        x = torch.randn(2, 3, size, size, generator=g)
        ref[f"x{size}"], ref[f"logits{size}"] = x, m(x).detach()
        if size == 24:
            for n, p in m.state_dict().items():
                ref[f"param24.{n}"] = p.detach().clone()
    save_file({k: v.contiguous() for k, v in ref.items()}, os.path.join(OUT, "google_vit_reference.safetensors"))
    print(sorted(k for k in ref if not k.startswith("param")), os.path.getsize(path), "bytes of npz")


if __name__ == "__main__":
    main()
