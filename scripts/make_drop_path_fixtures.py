#!/usr/bin/env python3
"""Fixture: a timm ViT (depth 3, drop_path_rate 0.3) in training mode with given per-sample drop-path masks:
its weights, input, the masks [depth x 2 (attention, MLP) x batch], logits, label-smoothed loss and every
gradient. timm's DropPath draws bernoulli(keep)/keep per sample; here those draws are made once and fed to both
torch (replacing each block's drop_path1/drop_path2) and ViTKit.

    /tmp/torchref/bin/python scripts/make_drop_path_fixtures.py   # writes Tests/ViTKitTests/Fixtures/timm_drop_path.safetensors

It also writes timm_dropout.safetensors: the same for timm's element dropouts, `drop_rate` (before the head) and
`pos_drop_rate` (after the position embedding), with given element masks; and timm_inner_dropout.safetensors:
`attn_drop_rate` and `proj_drop_rate` (attention weights; attention projection, MLP hidden and MLP output) with
drop path, their masks computed here by ViTKit's KeyedDropout hash (Sources/ViTKitNN/KeyedDropout.swift) from
given per-sample keys, so that ViTKit's training path draws exactly these masks.
"""
import math
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import import_timm  # noqa: E402


class GivenMask(torch.nn.Module):
    def __init__(self, mask):
        super().__init__()
        self.mask = mask

    def forward(self, x):
        return x * self.mask.view(-1, 1, 1)


def main():
    import_timm()
    from timm.models.vision_transformer import VisionTransformer
    torch.manual_seed(3)
    depth, batch, rate = 3, 4, 0.3
    model = VisionTransformer(img_size=16, patch_size=4, num_classes=5, embed_dim=32, depth=depth, num_heads=2,
                              class_token=False, global_pool="avg", pos_embed="learn", no_embed_class=True,
                              drop_path_rate=rate)
    rates = [x.item() for x in torch.linspace(0, rate, depth)]
    g = torch.Generator().manual_seed(8)
    masks = torch.zeros(depth, 2, batch)
    for i, blk in enumerate(model.blocks):
        keep = 1 - rates[i]
        for j, name in enumerate(["drop_path1", "drop_path2"]):
            m = torch.bernoulli(torch.full((batch,), keep), generator=g) / keep if keep < 1 else torch.ones(batch)
            m[0] = 1 / keep  # at least one kept and, where the rate allows, one dropped, so both paths are tested
            if keep < 1:
                m[1] = 0
            masks[i, j] = m
            setattr(blk, name, GivenMask(m))
    model.train()
    out = {f"param.{n}": p.detach().clone() for n, p in model.named_parameters()}
    x = torch.randn(batch, 3, 16, 16, generator=g)
    y = torch.tensor([1, 4, 0, 2])
    logits = model(x)
    loss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, y)
    loss.backward()
    out.update({"x": x, "y": y.float(), "masks": masks, "logits": logits.detach(), "loss": loss.detach().reshape(1)})
    out.update({f"grad.{n}": p.grad for n, p in model.named_parameters()})
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "timm_drop_path.safetensors")
    save_file(out, path, metadata={"generator": "scripts/make_drop_path_fixtures.py", "torch": torch.__version__})
    print("rates", rates, "masks", masks.tolist())


class GivenElementMask(torch.nn.Module):
    def __init__(self, mask):
        super().__init__()
        self.mask = mask

    def forward(self, x):
        return x * self.mask


def dropout_case():
    from timm.models.vision_transformer import VisionTransformer
    torch.manual_seed(4)
    batch, head_rate, pos_rate = 4, 0.25, 0.2
    model = VisionTransformer(img_size=16, patch_size=4, num_classes=5, embed_dim=32, depth=2, num_heads=2,
                              class_token=True, global_pool="token", pos_embed="learn", no_embed_class=False,
                              drop_rate=head_rate, pos_drop_rate=pos_rate)
    g = torch.Generator().manual_seed(9)
    head_mask = torch.bernoulli(torch.full((batch, 32), 1 - head_rate), generator=g) / (1 - head_rate)
    pos_mask = torch.bernoulli(torch.full((batch, 17, 32), 1 - pos_rate), generator=g) / (1 - pos_rate)
    model.head_drop, model.pos_drop = GivenElementMask(head_mask), GivenElementMask(pos_mask)
    model.train()
    out = {f"param.{n}": p.detach().clone() for n, p in model.named_parameters()}
    x = torch.randn(batch, 3, 16, 16, generator=g)
    y = torch.tensor([3, 0, 4, 1])
    logits = model(x)
    loss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, y)
    loss.backward()
    out.update({"x": x, "y": y.float(), "head_mask": head_mask, "pos_mask": pos_mask, "logits": logits.detach(),
                "loss": loss.detach().reshape(1)})
    out.update({f"grad.{n}": p.grad for n, p in model.named_parameters()})
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "timm_dropout.safetensors")
    save_file(out, path, metadata={"generator": "scripts/make_drop_path_fixtures.py", "torch": torch.__version__})
    print("dropout fixture:", len(out), "tensors")


M32 = 0xFFFFFFFF


def mix(x):
    x = x & M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    x ^= x >> 16
    return x


def keyed_mask(keys, site, per_sample, rate):
    """KeyedDropout: element e of sample b at `site` is kept when mix(mix(e + site*0x9E3779B9) ^ key[b]) >> 8 is
    below round(keep * 2^24); kept elements are 1/keep (as float32)."""
    import numpy as np
    e = (np.arange(per_sample, dtype=np.uint64) + np.uint64((site * 0x9E3779B9) & M32)) & np.uint64(M32)
    threshold = math.floor((1 - rate) * 16777216 + 0.5)
    out = []
    for k in keys:
        h = mix(mix(e) ^ np.uint64(k)) >> np.uint64(8)
        out.append(np.where(h < threshold, np.float32(1 / (1 - rate)), np.float32(0)))
    return torch.from_numpy(np.stack(out).astype(np.float32))


def inner_dropout_case():
    from timm.models.vision_transformer import VisionTransformer
    torch.manual_seed(5)
    batch, depth, tokens, dim, heads, hid = 3, 2, 17, 32, 2, 128
    attn_rate, proj_rate, path_rate = 0.2, 0.15, 0.25
    model = VisionTransformer(img_size=16, patch_size=4, num_classes=5, embed_dim=dim, depth=depth, num_heads=heads,
                              class_token=True, global_pool="token", pos_embed="learn", no_embed_class=False,
                              attn_drop_rate=attn_rate, proj_drop_rate=proj_rate, drop_path_rate=path_rate)
    keys = [0x9E3779B9, 0x12345678, 0xFEDCBA01]
    g = torch.Generator().manual_seed(10)
    path_masks = torch.ones(depth, 2, batch)
    path_masks[1] = torch.tensor([[1 / 0.75, 0, 1 / 0.75], [0, 1 / 0.75, 1 / 0.75]])
    for l, blk in enumerate(model.blocks):
        blk.attn.fused_attn = False
        blk.attn.attn_drop = GivenElementMask(keyed_mask(keys, l * 4, heads * tokens * tokens, attn_rate).view(batch, heads, tokens, tokens))
        blk.attn.proj_drop = GivenElementMask(keyed_mask(keys, l * 4 + 1, tokens * dim, proj_rate).view(batch, tokens, dim))
        blk.mlp.drop1 = GivenElementMask(keyed_mask(keys, l * 4 + 2, tokens * hid, proj_rate).view(batch, tokens, hid))
        blk.mlp.drop2 = GivenElementMask(keyed_mask(keys, l * 4 + 3, tokens * dim, proj_rate).view(batch, tokens, dim))
        blk.drop_path1, blk.drop_path2 = GivenMask(path_masks[l, 0]), GivenMask(path_masks[l, 1])
    model.train()
    out = {f"param.{n}": p.detach().clone() for n, p in model.named_parameters()}
    x = torch.randn(batch, 3, 16, 16, generator=g)
    y = torch.tensor([2, 0, 4])
    logits = model(x)
    loss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, y)
    loss.backward()
    kept = float(model.blocks[0].attn.attn_drop.mask.gt(0).float().mean())
    out.update({"x": x, "y": y.float(), "path_masks": path_masks, "logits": logits.detach(), "loss": loss.detach().reshape(1),
                "keys_hi": torch.tensor([k >> 16 for k in keys], dtype=torch.float32),
                "keys_lo": torch.tensor([k & 0xFFFF for k in keys], dtype=torch.float32),
                "attn_mask0": model.blocks[0].attn.attn_drop.mask.reshape(-1)})
    out.update({f"grad.{n}": p.grad for n, p in model.named_parameters()})
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "timm_inner_dropout.safetensors")
    save_file(out, path, metadata={"generator": "scripts/make_drop_path_fixtures.py", "torch": torch.__version__})
    print("inner dropout fixture:", len(out), "tensors; attention mask kept share", kept)


if __name__ == "__main__":
    main()
    dropout_case()
    inner_dropout_case()
