#!/usr/bin/env python3
"""Writes Tests/ViTKitTests/Fixtures/torch_convmixer.safetensors: PyTorch + timm reference values for the ConvMixer
layers (depthwise conv with 'same' padding for k = 3, 5, 7, 9, the patch stem, the 1x1 conv, BatchNorm2d over two
training steps and in eval mode, the softmax-reparametrised depthwise conv with shared filters) and for a small
whole timm ConvMixer (logits, loss, every gradient, running statistics after the step, eval logits).
Tensors are NCHW, as torch has them; the Swift tests turn them channels-last.

Set-up: python3 -m venv /tmp/torchref && /tmp/torchref/bin/pip install "torch==2.13.0+cpu" timm safetensors
Run:    cd scripts && /tmp/torchref/bin/python make_convmixer_fixtures.py
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from make_fixtures import import_timm

out = {}


def put(name, t):
    out[name] = t.detach().to(torch.float32).contiguous().clone()


def depthwise(g):
    for k, c in ((3, 40), (5, 40), (7, 12), (9, 12)):
        x = torch.randn(2, c, 5, 6, generator=g, requires_grad=True)
        conv = torch.nn.Conv2d(c, c, k, groups=c, padding="same")
        with torch.no_grad():
            conv.weight.copy_(torch.randn(c, 1, k, k, generator=g) / k)
            conv.bias.copy_(torch.randn(c, generator=g) * 0.1)
        y = conv(x)
        dy = torch.randn(y.shape, generator=g)
        y.backward(dy)
        for n, v in dict(x=x, w=conv.weight, b=conv.bias, dy=dy, y=y, dx=x.grad, dw=conv.weight.grad,
                         db=conv.bias.grad).items():
            put(f"dw{k}.{n}", v)


def softmax_shared(g):
    """The reference's SpatialConv2d with init='softmax' and num_heads=3 < C=10: channel c uses filter choice[c]."""
    c, k, heads = 10, 3, 3
    choice = torch.tensor([0, 2, 1, 1, 0, 2, 2, 0, 1, 0])
    weight = torch.randn(heads, 1, k, k, generator=g, requires_grad=True)
    bias = (torch.randn(c, generator=g) * 0.1).requires_grad_()
    x = torch.randn(2, c, 4, 5, generator=g, requires_grad=True)
    w = weight.flatten(2, 3).softmax(-1).reshape(weight.shape)[choice]
    y = F.conv2d(x, w, bias, padding="same", groups=c)
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    for n, v in dict(x=x, w=weight, b=bias, dy=dy, y=y, dx=x.grad, dw=weight.grad, db=bias.grad,
                     choice=choice.float()).items():
        put(f"softmax.{n}", v)


def stem_and_pointwise(g):
    x = torch.randn(2, 3, 8, 8, generator=g, requires_grad=True)
    conv = torch.nn.Conv2d(3, 16, kernel_size=2, stride=2)
    y = conv(x)
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    for n, v in dict(x=x, w=conv.weight, b=conv.bias, dy=dy, y=y, dw=conv.weight.grad, db=conv.bias.grad).items():
        put(f"stem.{n}", v)
    x = torch.randn(2, 16, 4, 3, generator=g, requires_grad=True)
    conv = torch.nn.Conv2d(16, 12, kernel_size=1)
    y = conv(x)
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    for n, v in dict(x=x, w=conv.weight, b=conv.bias, dy=dy, y=y, dx=x.grad, dw=conv.weight.grad,
                     db=conv.bias.grad).items():
        put(f"pw.{n}", v)


def batchnorm(g):
    c = 12
    bn = torch.nn.BatchNorm2d(c)
    with torch.no_grad():
        bn.weight.copy_(1 + 0.3 * torch.randn(c, generator=g))
        bn.bias.copy_(0.3 * torch.randn(c, generator=g))
    put("bn.w", bn.weight); put("bn.b", bn.bias)
    bn.train()
    for step in (1, 2):
        x = (torch.randn(4, c, 3, 5, generator=g) * 2 + 0.7).requires_grad_()
        y = bn(x)
        dy = torch.randn(y.shape, generator=g)
        bn.weight.grad = None; bn.bias.grad = None
        y.backward(dy)
        for n, v in dict(x=x, dy=dy, y=y, dx=x.grad, dw=bn.weight.grad, db=bn.bias.grad).items():
            put(f"bn.step{step}.{n}", v)
    put("bn.running_mean", bn.running_mean); put("bn.running_var", bn.running_var)
    put("bn.num_batches_tracked", bn.num_batches_tracked)
    bn.eval()
    x = torch.randn(3, c, 2, 2, generator=g)
    put("bn.eval.x", x); put("bn.eval.y", bn(x))


def whole_model(g):
    timm = import_timm()
    from timm.loss import LabelSmoothingCrossEntropy
    m = timm.models.convmixer.ConvMixer(dim=16, depth=2, kernel_size=3, patch_size=2, num_classes=5)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("fn.2.weight") or name.endswith(".3.weight") or name.endswith("stem.2.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))  # BN weights away from 1
            elif ".2.bias" in name or ".3.bias" in name:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
    for name, t in m.state_dict().items():
        put(f"cm.sd.{name}", t)
    x = torch.randn(4, 3, 8, 8, generator=g)
    y = torch.tensor([0, 3, 1, 4])
    m.train()
    logits = m(x)
    loss = LabelSmoothingCrossEntropy(0.1)(logits, y)
    loss.backward()
    put("cm.x", x); put("cm.y", y.float()); put("cm.logits", logits); put("cm.loss", loss.reshape(1))
    for name, p in m.named_parameters():
        put(f"cm.grad.{name}", p.grad)
    for name, t in m.state_dict().items():
        if "running" in name or "num_batches" in name:
            put(f"cm.after.{name}", t)
    m.eval()
    with torch.no_grad():
        put("cm.eval_logits", m(x))


g = torch.Generator().manual_seed(0)
depthwise(g)
softmax_shared(g)
stem_and_pointwise(g)
batchnorm(g)
whole_model(g)
path = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "torch_convmixer.safetensors")
save_file(out, path)
print(f"wrote {len(out)} tensors to {os.path.normpath(path)}")
