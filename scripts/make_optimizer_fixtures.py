#!/usr/bin/env python3
"""Fixture: three steps of each of timm's `--opt` choices that ViTKit has, as torch.optim computes them through
`timm.optim.create_optimizer_v2` (weight decay 0.05 on the weight, not on the bias, as timm's groups), on a
[4 x 5] weight and a [4] bias with fixed gradients.

    /tmp/torchref/bin/python scripts/make_optimizer_fixtures.py   # writes Tests/ViTKitTests/Fixtures/torch_optimizers.safetensors
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
    for opt in ["adamw", "adam", "sgd", "momentum", "nesterov"]:
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


if __name__ == "__main__":
    main()
