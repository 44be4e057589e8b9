#!/usr/bin/env python3
"""Writes Tests/ViTKitTests/Fixtures/timm_augment.safetensors: what timm's RandAugment ops (Pillow underneath),
torchvision's resized crop and colour-jitter adjustments make of small seeded pictures, with fixed parameters.
Pixel values are stored as float32 [H, W, 3]; the metadata holds, as JSON, the list of cases (op, argument,
interpolation, source picture) and timm's level-to-argument table.

    python scripts/make_augment_fixtures.py      (needs numpy, Pillow, torch, torchvision, timm, safetensors)
"""
import json
import os
import random
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import import_timm  # noqa: E402  (the torchvision-ops workaround)

timm = import_timm()
import timm.data.auto_augment as aa  # noqa: E402
import torchvision.transforms.functional as F  # noqa: E402

here = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures")
rng = np.random.default_rng(11)

# a: 32x32, smooth ramps, a hard-edged block and noise, so geometric ops and filters show
yy, xx = np.mgrid[0:32, 0:32]
a = np.stack([xx * 7 + yy * 2, 255 - yy * 6, (xx * yy) % 256], -1).astype(np.float64)
a[8:20, 10:22] = [230, 40, 90]
a = np.clip(a + rng.normal(0, 12, a.shape), 0, 255).astype(np.uint8)
# b: 27 wide, 20 high, low contrast (for autocontrast/equalize), not square (for the geometry conventions)
b = rng.integers(60, 171, size=(20, 27, 3)).astype(np.uint8)
b[:, :13, 1] = 90 + (np.mgrid[0:20, 0:13][1] * 3)
# c: 40 wide, 28 high, for resized crops
c = rng.integers(0, 256, size=(28, 40, 3)).astype(np.uint8)
c[:, 20:, :] = (np.mgrid[0:28, 0:20][0][..., None] * 9).astype(np.uint8)
sources = {"a": a, "b": b, "c": c}
fill = (125, 123, 114)  # timm's img_mean for the CIFAR mean: round(255 * m)
interps = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}

out = {name: torch.tensor(v, dtype=torch.float32) for name, v in sources.items()}
cases = []


def add(op, arg, interp, src, result):
    key = f"case{len(cases)}"
    cases.append({"key": key, "op": op, "arg": arg, "interp": interp, "src": src})
    out[key] = torch.tensor(np.asarray(result), dtype=torch.float32)


for src in ["a", "b"]:
    img = Image.fromarray(sources[src], "RGB")
    for op in ["AutoContrast", "Equalize", "Invert"]:
        add(op, None, None, src, aa.NAME_TO_OP[op](img))
    # Pillow >= 11 refuses bits=0 (timm's PosterizeIncreasing at magnitude 10); the Pillow of the reference code
    # kept i & ~255 = 0, a black picture, and so does ViTKit
    add("Posterize", 0, None, src, np.zeros_like(np.asarray(img)))
    for bits in [1, 2, 3, 4]:
        add("Posterize", bits, None, src, aa.posterize(img, bits))
    for thresh in [256, 200, 128, 26, 0]:
        add("Solarize", thresh, None, src, aa.solarize(img, thresh))
    for add_ in [0, 40, 99, 110]:
        add("SolarizeAdd", add_, None, src, aa.solarize_add(img, add_))
    for op in ["Color", "Contrast", "Brightness", "Sharpness"]:
        for f in [0.1, 0.19, 0.55, 1.0, 1.37, 1.9]:
            add(op, f, None, src, aa.NAME_TO_OP[op](img, f))
    for iname, interp in interps.items():
        kw = dict(fillcolor=fill, resample=interp)
        for deg in [27.0, -13.5, 7.3, -30.0, 90.0]:
            add("Rotate", deg, iname, src, aa.rotate(img, deg, **kw))
        for f in [0.27, -0.3, 0.05]:
            add("ShearX", f, iname, src, aa.shear_x(img, f, **kw))
            add("ShearY", f, iname, src, aa.shear_y(img, f, **kw))
        for p in [0.405, -0.45, 0.1, -0.0123]:
            add("TranslateXRel", p, iname, src, aa.translate_x_rel(img, p, **kw))
            add("TranslateYRel", p, iname, src, aa.translate_y_rel(img, p, **kw))

# torchvision's resized crop on PIL (crop, then Image.resize), as RandomResizedCropAndInterpolation calls it
img_c = Image.fromarray(c, "RGB")
for (i, j, h, w) in [(0, 0, 28, 40), (3, 5, 20, 17), (10, 30, 9, 10), (0, 8, 28, 28), (27, 39, 1, 1)]:
    for iname, interp in interps.items():
        r = F.resized_crop(img_c, i, j, h, w, [32, 32], F.InterpolationMode(iname))
        add("ResizedCrop", [i, j, h, w], iname, "c", r)

# colour jitter: torchvision's adjustments in a given order (ColorJitter draws the order and the factors)
img_a = Image.fromarray(a, "RGB")
for order, (bf, cf, sf) in [([0, 1, 2], (1.3, 0.7, 1.2)), ([2, 0, 1], (0.65, 1.38, 0.61)), ([1, 2, 0], (1.0, 1.1, 0.9))]:
    r = img_a
    for k in order:
        r = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation][k](r, [bf, cf, sf][k])
    add("ColorJitter", {"order": order, "factors": [bf, cf, sf]}, None, "a", r)

# level -> argument, with _randomly_negate forced each way
levels = []
real_random = random.random
for inc in [True, False]:
    names = aa._RAND_INCREASING_TRANSFORMS if inc else aa._RAND_TRANSFORMS
    for name in names:
        fn = aa.LEVEL_TO_ARG[name]
        for m in [0.0, 3.7, 9.0, 9.8, 10.0]:
            for negate in [False, True]:
                random.random = (lambda: 0.9) if negate else (lambda: 0.1)
                arg = fn(m, {"translate_pct": 0.45}) if fn else ()
                levels.append({"op": name, "magnitude": m, "negate": negate, "arg": list(arg)})
random.random = real_random

save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(here, "timm_augment.safetensors"),
          metadata={"cases": json.dumps(cases), "levels": json.dumps(levels), "fill": json.dumps(fill)})
print(len(cases), "cases,", len(levels), "levels")
