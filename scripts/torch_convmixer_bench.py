#!/usr/bin/env python3
"""PyTorch + timm CPU reference for ConvMixer training throughput, the same measurement as
torch_vit_bench.py (which this follows) for timm's ConvMixer, to run side by side with `vitkit bench`.

Set-up: python3 -m venv /tmp/torchref && /tmp/torchref/bin/pip install "torch==2.13.0+cpu" timm
Run:    /tmp/torchref/bin/python scripts/torch_convmixer_bench.py --dim 256 --depth 8 --kernel 5 --patch 2 --batch 64

A training step = forward (train mode: BatchNorm batch statistics) + label-smoothed cross-entropy + backward +
AdamW step, fp32, on a fixed random batch of 32x32 pictures. Prints one line:
    torch train model=convmixer_<dim>_<depth>_k<k>_p<p> batch=… threads=… img_per_s=<median> step_ms=<min>/<median>/<max> peak_rss_mib=… params=…
--frozen freezes the depthwise convs (requires_grad False, as the reference's _random/_impulse/_box models).
"""
import argparse
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import import_timm  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--kernel", type=int, default=5)
    ap.add_argument("--patch", type=int, default=2)
    ap.add_argument("--img", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--frozen", action="store_true")
    a = ap.parse_args()

    import torch
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    timm = import_timm()
    from timm.models.convmixer import ConvMixer

    model = ConvMixer(dim=a.dim, depth=a.depth, kernel_size=a.kernel, patch_size=a.patch, num_classes=10)
    if a.frozen:
        for i in range(a.depth):
            for p in model.blocks[i][0].fn[0].parameters():
                p.requires_grad_(False)
    params = sum(p.numel() for p in model.parameters())
    x = torch.randn(a.batch, 3, a.img, a.img)
    y = torch.randint(0, 10, (a.batch,))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3, eps=1e-3, weight_decay=0.01)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    model.train()
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    name = f"convmixer_{a.dim}_{a.depth}_k{a.kernel}_p{a.patch}" + ("_frozen" if a.frozen else "")
    print(f"torch train model={name} batch={a.batch} threads={a.threads} img_per_s={a.batch / med:.1f} "
          f"step_ms={min(times) * 1e3:.0f}/{med * 1e3:.0f}/{max(times) * 1e3:.0f} peak_rss_mib={rss:.0f} "
          f"params={params} torch={torch.__version__} timm={timm.__version__}")


if __name__ == "__main__":
    main()
