#!/usr/bin/env python3
"""Writes Tests/ViTKitTests/Fixtures/torch_reference.safetensors: PyTorch + timm reference values that the Swift
tests compare against (forward outputs and gradients of each layer and of whole small ViTs, AdamW steps, the
LR schedule, the sin-cos position embedding).

Set-up: python3 -m venv /tmp/torchref && /tmp/torchref/bin/pip install "torch==2.13.0+cpu" timm safetensors
Run:    /tmp/torchref/bin/python scripts/make_fixtures.py
"""
import math
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file


def import_timm():
    """timm imports torchvision, whose PyPI wheel may register ops a CPU-only torch lacks; define the two
    schemas it needs so the import works (no torchvision op is used here)."""
    try:
        import timm  # noqa: F401
    except RuntimeError as err:
        if "torchvision::nms" not in str(err):
            raise
        for mod in [m for m in sys.modules if m.startswith(("torchvision", "timm"))]:
            del sys.modules[mod]
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import_timm.keep = lib
    import timm
    return timm


out = {}


def put(name, t):
    out[name] = t.detach().to(torch.float32).contiguous().clone()


def layers(g):
    # linear
    x = torch.randn(5, 7, generator=g, requires_grad=True)
    lin = torch.nn.Linear(7, 6)
    y = lin(x)
    dy = torch.randn(5, 6, generator=g)
    y.backward(dy)
    for k, v in dict(x=x, w=lin.weight, b=lin.bias, dy=dy, y=y, dx=x.grad, dw=lin.weight.grad, db=lin.bias.grad).items():
        put(f"linear.{k}", v)
    # layer norm (a dim with a SIMD tail)
    for dim in (12, 32):
        x = (torch.randn(5, dim, generator=g) * 2 + 0.5).requires_grad_()
        ln = torch.nn.LayerNorm(dim, eps=1e-6)
        with torch.no_grad():
            ln.weight.copy_(1 + 0.3 * torch.randn(dim, generator=g))
            ln.bias.copy_(0.3 * torch.randn(dim, generator=g))
        y = ln(x)
        dy = torch.randn(5, dim, generator=g)
        y.backward(dy)
        for k, v in dict(x=x, w=ln.weight, b=ln.bias, dy=dy, y=y, dx=x.grad, dw=ln.weight.grad, db=ln.bias.grad).items():
            put(f"layernorm{dim}.{k}", v)
    # gelu (exact erf form)
    x = torch.linspace(-7, 7, 203).requires_grad_()
    y = F.gelu(x)
    dy = torch.randn(203, generator=g)
    y.backward(dy)
    for k, v in dict(x=x, dy=dy, y=y, dx=x.grad).items():
        put(f"gelu.{k}", v)
    # attention core: qkv [B, T, 3D] -> out [B, T, D]; T = 10 exercises the SIMD tails
    B, T, D, H = 2, 10, 16, 2
    qkv = (torch.randn(B, T, 3 * D, generator=g) * 1.5).requires_grad_()
    q, k, v = qkv.reshape(B, T, 3, H, D // H).permute(2, 0, 3, 1, 4).unbind(0)
    a = torch.softmax((q @ k.transpose(-2, -1)) * (D // H) ** -0.5, dim=-1)
    o = (a @ v).transpose(1, 2).reshape(B, T, D)
    dy = torch.randn(B, T, D, generator=g)
    o.backward(dy)
    for k_, v_ in dict(qkv=qkv, dy=dy, y=o, dqkv=qkv.grad).items():
        put(f"attention.{k_}", v_)
    # label-smoothed cross-entropy
    logits = (torch.randn(4, 10, generator=g) * 3).requires_grad_()
    labels = torch.tensor([3, 0, 9, 3])
    loss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, labels)
    loss.backward()
    for k, v in dict(logits=logits, labels=labels, loss=loss.reshape(1), dlogits=logits.grad).items():
        put(f"xent.{k}", v)
    # patch embedding conv
    img = torch.randn(2, 3, 8, 8, generator=g)
    conv = torch.nn.Conv2d(3, 5, 4, 4)
    y = conv(img).flatten(2).transpose(1, 2)
    dy = torch.randn_like(y)
    y.backward(dy)
    for k, v in dict(x=img, w=conv.weight, b=conv.bias, dy=dy, y=y, dw=conv.weight.grad, db=conv.bias.grad).items():
        put(f"patch.{k}", v)


VIT = dict(img_size=16, patch_size=4, embed_dim=32, depth=2, num_heads=2, mlp_ratio=4.0, qkv_bias=True, num_classes=10)
CASES = {
    # the paper's layout with a learned position embedding
    "vit_avg_learn": dict(class_token=False, global_pool="avg", no_embed_class=True),
    # timm's stock ViT: class token, token pooling, pos_embed covering the class token, final norm
    "vit_token_learn": dict(class_token=True, global_pool="token", no_embed_class=False),
    # the paper's model: fixed sin-cos position embedding, average pooling, fc_norm
    "vit_avg_sincos": dict(class_token=False, global_pool="avg", no_embed_class=True, sincos=True),
    # register tokens, class token, avg pooling with the final norm before pooling (fc_norm off)
    "vit_reg_avg_norm": dict(class_token=True, reg_tokens=2, global_pool="avg", no_embed_class=True, fc_norm=False),
}


def build(timm_vt, case, g):
    kw = dict(CASES[case])
    sincos = kw.pop("sincos", False)
    model = timm_vt(**VIT, **kw)
    with torch.no_grad():  # move every parameter away from 0/1 so nothing is trivially right
        for n, p in model.named_parameters():
            if n.endswith("norm1.weight") or n.endswith("norm2.weight") or n.startswith(("norm.", "fc_norm.")) and n.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif n.endswith(".bias") or n in ("cls_token", "reg_token"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif n == "pos_embed":
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / p[0].numel() ** 0.5))
    if sincos:
        from timm.layers.pos_embed_sincos import build_sincos2d_pos_embed
        grid = VIT["img_size"] // VIT["patch_size"]
        pe = build_sincos2d_pos_embed([grid, grid], dim=VIT["embed_dim"]).reshape(1, grid * grid, -1)
        model.pos_embed = torch.nn.Parameter(pe, requires_grad=False)
        put(f"{case}.sincos_pe", pe[0])
    return model


def models(g):
    timm = import_timm()
    from timm.models.vision_transformer import VisionTransformer
    put("meta.timm_version_major", torch.tensor([float(timm.__version__.split(".")[0])]))
    for case in CASES:
        model = build(VisionTransformer, case, g)
        x = torch.randn(3, 3, 16, 16, generator=g)
        y = torch.tensor([1, 7, 4])
        logits = model(x)
        loss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, y)
        loss.backward()
        put(f"{case}.x", x)
        put(f"{case}.y", y)
        put(f"{case}.logits", logits)
        put(f"{case}.loss", loss.reshape(1))
        for n, p in model.named_parameters():
            if p.requires_grad:
                put(f"{case}.param.{n}", p)
                put(f"{case}.grad.{n}", p.grad)
        if case == "vit_avg_learn":
            train_steps(model, case, x, y)


def train_steps(model, case, x, y):
    """3 full training steps on one batch: loss, backward, clip to 1.0, AdamW (timm's decay groups: not on
    ndim <= 1, biases, or the model's no_weight_decay() set, as timm.optim.param_groups_weight_decay)."""
    skip = model.no_weight_decay()
    exempt = lambda n, p: p.ndim <= 1 or n.endswith(".bias") or n in skip
    decay = [p for n, p in model.named_parameters() if not exempt(n, p)]
    rest = [p for n, p in model.named_parameters() if exempt(n, p)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-2, eps=1e-3, betas=(0.9, 0.999))
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    put(f"{case}.train3.losses", torch.tensor(losses))
    for n, p in model.named_parameters():
        put(f"{case}.train3.param.{n}", p)


def adamw(g):
    """AdamW alone: a weight (decayed) and a bias (not), 3 steps with given gradients."""
    w = torch.randn(4, 5, generator=g).requires_grad_()
    b = torch.randn(5, generator=g).requires_grad_()
    put("adamw.w0", w)
    put("adamw.b0", b)
    opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}],
                            lr=0.05, betas=(0.9, 0.999), eps=1e-3)
    for s in range(3):
        gw, gb = torch.randn(4, 5, generator=g), torch.randn(5, generator=g) * 0.01
        w.grad, b.grad = gw, gb
        opt.step()
        put(f"adamw.gw{s}", gw)
        put(f"adamw.gb{s}", gb)
        put(f"adamw.w{s + 1}", w)
        put(f"adamw.b{s + 1}", b)


def schedule():
    """timm's CosineLRScheduler with the paper's settings, stepped per epoch as timm's train.py does."""
    from timm.scheduler import CosineLRScheduler
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = CosineLRScheduler(opt, t_initial=200, lr_min=1e-6, warmup_t=10, warmup_lr_init=1e-5, cycle_limit=1,
                              t_in_epochs=True, warmup_prefix=False)
    lrs = []
    for epoch in range(205):
        sched.step(epoch)
        lrs.append(opt.param_groups[0]["lr"])
    out["schedule.lr"] = torch.tensor(lrs, dtype=torch.float64).to(torch.float32)


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1234)
    layers(g)
    models(g)
    adamw(g)
    schedule()
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "torch_reference.safetensors")
    save_file(out, path, metadata={"generator": "scripts/make_fixtures.py", "torch": torch.__version__})
    print(f"wrote {len(out)} tensors to {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
