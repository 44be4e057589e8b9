#!/usr/bin/env python3
"""Fixtures for attention at 64, 256, 1024 and 1030 tokens (issue 18), made by torch / timm 1.0.x:

long_attention.safetensors
  attn{T}.{qkv,dy,y,dqkv}: the attention core alone, softmax(scale Q Kᵀ) V from a fused qkv [1, T, 3·16] with 2
      heads, its output and the gradient of qkv for a random upstream gradient; T = 1030 leaves a partial tile.
  vit{T}.*: timm's VisionTransformer (patch 2, dim 16, depth 1, heads 2, 5 classes, the paper's layout: no class
      token, average pooling, learned pos_embed) at 16x16, 32x32 and 64x64 (64, 256 and 1024 tokens): random
      parameters (`param.*`), a batch of 2 (`x`, `y`), logits, the label-smoothed (0.1) cross-entropy `loss` and
      every gradient (`grad.*`).

    /tmp/torchref/bin/python scripts/make_long_attention_fixtures.py
"""
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import import_timm  # noqa: E402

HERE = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures")


def attention(out, g, T, D=16, H=2):
    qkv = (torch.randn(1, T, 3 * D, generator=g) * 1.5).requires_grad_()
    q, k, v = qkv.reshape(1, T, 3, H, D // H).permute(2, 0, 3, 1, 4).unbind(0)
    a = torch.softmax((q @ k.transpose(-2, -1)) * (D // H) ** -0.5, dim=-1)
    o = (a @ v).transpose(1, 2).reshape(1, T, D)
    dy = torch.randn(1, T, D, generator=g)
    o.backward(dy)
    for name, t in dict(qkv=qkv, dy=dy, y=o, dqkv=qkv.grad).items():
        out[f"attn{T}.{name}"] = t.detach().contiguous().clone()


def vit(out, g, img):
    from timm.models.vision_transformer import VisionTransformer
    T = (img // 2) ** 2
    model = VisionTransformer(img_size=img, patch_size=2, num_classes=5, embed_dim=16, depth=1, num_heads=2,
                              class_token=False, global_pool="avg", no_embed_class=True, pos_embed="learn")
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if p.ndim > 1 else 0.1)
                    + (1.0 if "norm" in n and n.endswith("weight") else 0.0))
    model.train()
    x = torch.randn(2, 3, img, img, generator=g)
    y = torch.tensor([3, 1])
    logits = model(x)
    loss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, y)
    loss.backward()
    p = f"vit{T}."
    out.update({p + f"param.{n}": t.detach().clone() for n, t in model.named_parameters()})
    out.update({p + f"grad.{n}": t.grad.clone() for n, t in model.named_parameters()})
    out.update({p + "x": x, p + "y": y.float(), p + "logits": logits.detach(), p + "loss": loss.detach().reshape(1)})


def main():
    import_timm()
    g = torch.Generator().manual_seed(18)
    out = {}
    for T in (64, 256, 1024, 1030):
        attention(out, g, T)
    for img in (16, 32, 64):
        vit(out, g, img)
    save_file(out, os.path.join(HERE, "long_attention.safetensors"),
              metadata={"generator": "scripts/make_long_attention_fixtures.py", "torch": torch.__version__})
    print(len(out), "tensors")


if __name__ == "__main__":
    main()
