#!/usr/bin/env python3
"""Writes Tests/ViTKitTests/Fixtures/timm_mixup.safetensors: timm's Mixup (batch mode) with fixed draws, for the
mixup/cutmix tests: the mixed images and soft targets for mixup λ=0.3 and for cutmix λ=0.6 with the box
timm draws (stored too), plus the soft-target cross-entropy and its gradient.

    python scripts/make_mixup_fixtures.py      (needs numpy, torch, timm, safetensors)
"""
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import import_timm  # noqa: E402

timm = import_timm()
from timm.data.mixup import Mixup, cutmix_bbox_and_lam  # noqa: E402
from timm.loss import SoftTargetCrossEntropy  # noqa: E402

torch.manual_seed(0)
B, C, S, K = 6, 3, 7, 4
x = torch.randn(B, C, S, S)
y = torch.tensor([0, 3, 1, 1, 2, 0])
out = {"x": x.clone(), "labels": y.float()}

m = Mixup(mixup_alpha=1.0, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=K)
m._params_per_batch = lambda: (0.3, False)
xm, tm = m(x.clone(), y)
out["mixup_x"], out["mixup_t"] = xm, tm

np.random.seed(3)
(yl, yh, xl, xh), lam = cutmix_bbox_and_lam(x.shape, 0.6, ratio_minmax=None, correct_lam=True)
np.random.seed(3)
m._params_per_batch = lambda: (0.6, True)
xc, tc = m(x.clone(), y)
out["cutmix_x"], out["cutmix_t"] = xc, tc
out["cutmix_box_lam"] = torch.tensor([yl, yh, xl, xh, lam], dtype=torch.float64).float()

logits = torch.randn(B, K, requires_grad=True)
loss = SoftTargetCrossEntropy()(logits, tc)
loss.backward()
out["logits"], out["soft_loss"], out["soft_dlogits"] = logits.detach(), loss.detach().reshape(1), logits.grad
save_file({k: v.contiguous() for k, v in out.items()},
          os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "timm_mixup.safetensors"))
print("box", (yl, yh, xl, xh), "lam", lam, "loss", loss.item())
