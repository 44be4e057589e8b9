#!/usr/bin/env python3
"""Fixture: timm's `resample_abs_pos_embed` (bicubic, antialias, as `checkpoint_filter_fn` calls it when a
checkpoint's grid differs from the model's) on a random [1, prefix + 8*8, 16] table, up to 12x12 and down to 5x5,
with one prefix token and with none.

    /tmp/torchref/bin/python scripts/make_pos_embed_fixtures.py   # writes Tests/ViTKitTests/Fixtures/timm_pos_embed_resample.safetensors
"""
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import import_timm  # noqa: E402


def main():
    import_timm()
    from timm.layers import resample_abs_pos_embed
    g = torch.Generator().manual_seed(14)
    out = {}
    for prefix in (0, 1):
        pe = torch.randn(1, prefix + 64, 16, generator=g)
        out[f"prefix{prefix}.in"] = pe
        for grid in (12, 5):
            out[f"prefix{prefix}.to{grid}"] = resample_abs_pos_embed(pe, new_size=(grid, grid), num_prefix_tokens=prefix,
                                                                    interpolation="bicubic", antialias=True)
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "timm_pos_embed_resample.safetensors")
    save_file(out, path, metadata={"generator": "scripts/make_pos_embed_fixtures.py", "torch": torch.__version__})
    print({k: list(v.shape) for k, v in out.items()})


if __name__ == "__main__":
    main()
