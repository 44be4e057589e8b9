#!/usr/bin/env python3
"""Fixture: a timm ViT (depth 3, drop_path_rate 0.3) in training mode with given per-sample drop-path masks:
its weights, input, the masks [depth x 2 (attention, MLP) x batch], logits, label-smoothed loss and every
gradient. timm's DropPath draws bernoulli(keep)/keep per sample; here those draws are made once and fed to both
torch (replacing each block's drop_path1/drop_path2) and ViTKit.

    /tmp/torchref/bin/python scripts/make_drop_path_fixtures.py   # writes Tests/ViTKitTests/Fixtures/timm_drop_path.safetensors

It also writes timm_dropout.safetensors: the same for timm's element dropouts, `drop_rate` (before the head) and
`pos_drop_rate` (after the position embedding), with given element masks.
"""
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


if __name__ == "__main__":
    main()
    dropout_case()
