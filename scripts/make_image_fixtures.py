#!/usr/bin/env python3
"""Writes Tests/ViTKitTests/Fixtures/pillow_images.safetensors (+ pillow_q90.jpg): what Pillow and timm make of a
small seeded picture, for the resize, eval-transform and JPEG tests. Pixel values are stored as float32.

    python scripts/make_image_fixtures.py      (needs numpy, Pillow, torch, timm, safetensors)
"""
import io
import os
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import import_timm  # noqa: E402  (the torchvision-ops workaround)

timm = import_timm()
import timm.data  # noqa: E402

here = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures")
rng = np.random.default_rng(7)
src = rng.integers(0, 256, size=(17, 23, 3), dtype=np.uint8)
# smooth part so interpolation differences show as more than noise
yy, xx = np.mgrid[0:17, 0:23]
src[:, :12, 0] = (xx[:, :12] * 11 + yy[:, :12] * 5).astype(np.uint8)
img = Image.fromarray(src, "RGB")
out = {"src": torch.tensor(src, dtype=torch.float32)}
filters = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}
for name, f in filters.items():
    for w, h in [(40, 30), (9, 7), (23, 5), (5, 40)]:
        r = np.asarray(img.resize((w, h), f))
        out[f"resize_{name}_{w}x{h}"] = torch.tensor(r, dtype=torch.float32)
# timm's eval transform (Resize shorter side to floor(size/crop_pct), CenterCrop), uint8 CHW with the prefetcher
for size, crop, interp in [(12, 0.9, "bicubic"), (16, 1.0, "bilinear"), (8, 0.875, "bilinear")]:
    t = timm.data.create_transform(input_size=(3, size, size), is_training=False, crop_pct=crop,
                                   interpolation=interp, use_prefetcher=True)
    out[f"eval_{size}_{crop}_{interp}"] = torch.tensor(np.asarray(t(img)), dtype=torch.float32)
# JPEG: Pillow's encoder, Pillow's decoder
buf = io.BytesIO()
img.save(buf, "JPEG", quality=90, subsampling=0)
with open(os.path.join(here, "pillow_q90.jpg"), "wb") as f:
    f.write(buf.getvalue())
out["jpeg_q90_decoded"] = torch.tensor(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")),
                                       dtype=torch.float32)
save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(here, "pillow_images.safetensors"))
print(sorted(out))
