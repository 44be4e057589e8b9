#!/usr/bin/env python3
"""Fixture: three steps of each of timm's `--opt` choices that ViTKit has, as torch.optim computes them through
`timm.optim.create_optimizer_v2` (weight decay 0.05 on the weight, not on the bias, as timm's groups), on a
[4 x 5] weight and a [4] bias with fixed gradients.

    /tmp/torchref/bin/python scripts/make_optimizer_fixtures.py   # writes Tests/ViTKitTests/Fixtures/torch_optimizers.safetensors

It also writes torch_layer_decay.safetensors: timm's `--layer-decay` parameter groups (each tensor's lr_scale and
weight decay from create_optimizer_v2(..., layer_decay=0.75)) for a ViT with `norm`, a ViT with `fc_norm` and a
ConvMixer, and three AdamW steps of the first with those groups, each group's lr set as timm's scheduler sets it
(lr x lr_scale).
"""
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import import_timm  # noqa: E402


def main():
    import_timm()
    from timm.optim import create_optimizer_v2
    g = torch.Generator().manual_seed(11)
    w0, b0 = torch.randn(4, 5, generator=g), torch.randn(4, generator=g)
    grads = [(torch.randn(4, 5, generator=g), torch.randn(4, generator=g)) for _ in range(3)]
    out = {"w0": w0, "b0": b0}
    for s, (gw, gb) in enumerate(grads):
        out[f"gw{s}"], out[f"gb{s}"] = gw, gb
    for opt in ["adamw", "adam", "sgd", "momentum", "nesterov", "lamb"]:
        model = torch.nn.Linear(5, 4)
        with torch.no_grad():
            model.weight.copy_(w0); model.bias.copy_(b0)
        o = create_optimizer_v2(model, opt, lr=0.1, weight_decay=0.05, momentum=0.9, eps=1e-3, betas=(0.9, 0.99))
        for s, (gw, gb) in enumerate(grads):
            model.weight.grad, model.bias.grad = gw.clone(), gb.clone()
            o.step()
            out[f"{opt}.w{s + 1}"], out[f"{opt}.b{s + 1}"] = model.weight.detach().clone(), model.bias.detach().clone()
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "torch_optimizers.safetensors")
    save_file(out, path, metadata={"generator": "scripts/make_optimizer_fixtures.py", "torch": torch.__version__})
    print("wrote", len(out), "tensors")


def layer_decay():
    from timm.models.vision_transformer import VisionTransformer
    from timm.models.convmixer import ConvMixer
    from timm.optim import create_optimizer_v2
    torch.manual_seed(12)
    models = {
        "vit_norm": VisionTransformer(img_size=8, patch_size=4, num_classes=3, embed_dim=8, depth=3, num_heads=2,
                                      class_token=True, global_pool="token", pos_embed="learn", no_embed_class=False),
        "vit_fc_norm": VisionTransformer(img_size=8, patch_size=4, num_classes=3, embed_dim=8, depth=2, num_heads=2,
                                         class_token=False, global_pool="avg", pos_embed="learn", no_embed_class=True),
        "convmixer": ConvMixer(dim=8, depth=2, kernel_size=3, patch_size=2, num_classes=3),
    }
    out = {}
    for key, model in models.items():
        o = create_optimizer_v2(model, "adamw", lr=0.01, weight_decay=0.05, layer_decay=0.75)
        for group in o.param_groups:
            ids = {id(p) for p in group["params"]}
            for n, p in model.named_parameters():
                if id(p) in ids:
                    out[f"{key}.scale.{n}"] = torch.tensor([group["lr_scale"]])
                    out[f"{key}.wd.{n}"] = torch.tensor([group["weight_decay"]])
    model = models["vit_norm"]
    o = create_optimizer_v2(model, "adamw", lr=0.01, weight_decay=0.05, layer_decay=0.75, eps=1e-3)
    for group in o.param_groups:
        group["lr"] = 0.01 * group["lr_scale"]
    g = torch.Generator().manual_seed(13)
    for n, p in model.named_parameters():
        out[f"start.{n}"] = p.detach().clone()
    for s in range(3):
        for n, p in model.named_parameters():
            p.grad = torch.randn(p.shape, generator=g)
            out[f"grad{s}.{n}"] = p.grad.clone()
        o.step()
    for n, p in model.named_parameters():
        out[f"step3.{n}"] = p.detach().clone()
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "torch_layer_decay.safetensors")
    save_file(out, path, metadata={"generator": "scripts/make_optimizer_fixtures.py", "torch": torch.__version__})
    print("layer decay: wrote", len(out), "tensors")
    for k, v in out.items():
        if k.startswith("vit_norm.scale.") or k.startswith("convmixer.scale."):
            print(k, round(v.item(), 4))


if __name__ == "__main__":
    main()
    layer_decay()
