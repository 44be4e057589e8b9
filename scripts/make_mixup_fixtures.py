#!/usr/bin/env python3
"""Writes Tests/ViTKitTests/Fixtures/timm_mixup.safetensors: timm's Mixup (batch mode) with fixed draws, for the
mixup/cutmix tests: the mixed images and soft targets for mixup λ=0.3 and for cutmix λ=0.6 with the box
timm draws (stored too), plus the soft-target cross-entropy and its gradient; and the `pair` and `elem` modes with
fixed per-pair / per-image λ and cutmix choices (their boxes, drawn by timm from numpy's seeded stream, stored).

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

def per_element(mode, lams, cutmix):
    """timm's Mixup in `mode` with the given per-draw λ and cutmix choices; the boxes timm draws for them."""
    lams, cutmix = np.array(lams, dtype=np.float32), np.array(cutmix)
    np.random.seed(5)
    boxes = []
    for lam, cm in zip(lams, cutmix):
        if lam != 1 and cm:
            (yl, yh, xl, xh), lam2 = cutmix_bbox_and_lam(x[0].shape, lam, ratio_minmax=None, correct_lam=True)
            boxes.append([yl, yh, xl, xh, lam2])
        else:
            boxes.append([-1, -1, -1, -1, float(lam)])
    np.random.seed(5)
    mm = Mixup(mixup_alpha=1.0, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=K, mode=mode)
    mm._params_per_elem = lambda n: (lams.copy(), cutmix)
    xe, te = mm(x.clone(), y)
    out[f"{mode}_x"], out[f"{mode}_t"] = xe, te
    out[f"{mode}_draws"] = torch.tensor(boxes, dtype=torch.float64).float()


per_element("pair", [0.3, 0.6, 1.0], [False, True, False])
per_element("elem", [0.3, 0.6, 1.0, 0.45, 0.8, 0.5], [False, True, False, True, False, False])
save_file({k: v.contiguous() for k, v in out.items()},
          os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "timm_mixup.safetensors"))
print("box", (yl, yh, xl, xh), "lam", lam, "loss", loss.item())
