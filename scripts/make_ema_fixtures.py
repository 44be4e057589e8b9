#!/usr/bin/env python3
"""Fixture: timm's ModelEmaV3 over five updates, with and without decay warmup: the decay at each step and the
EMA of a Linear(5, 4) + BatchNorm1d(4) whose weights and buffers are set to fresh random values before each
update (num_batches_tracked counts up), flattened in state_dict order.

    /tmp/torchref/bin/python scripts/make_ema_fixtures.py   # writes Tests/ViTKitTests/Fixtures/timm_model_ema.safetensors
"""
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import import_timm  # noqa: E402


def main():
    import_timm()
    from timm.utils import ModelEmaV3
    g = torch.Generator().manual_seed(5)
    out = {}
    for warm in (False, True):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.BatchNorm1d(4))
        floats = lambda m: torch.cat([v.flatten().float() for k, v in m.state_dict().items() if v.is_floating_point()])
        ema = ModelEmaV3(model, decay=0.9, use_warmup=warm)
        tag = "warmup" if warm else "plain"
        out[f"{tag}.start"] = floats(ema.module)
        for step in range(1, 6):
            with torch.no_grad():
                for k, v in model.state_dict().items():
                    if v.is_floating_point():
                        v.copy_(torch.randn(v.shape, generator=g))
                    else:
                        v.add_(1)
            out[f"{tag}.model{step}"] = floats(model)
            out[f"{tag}.decay{step}"] = torch.tensor([ema.get_decay(step)], dtype=torch.float32)
            ema.update(model, step=step)
            out[f"{tag}.ema{step}"] = floats(ema.module)
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "timm_model_ema.safetensors")
    save_file(out, path, metadata={"generator": "scripts/make_ema_fixtures.py", "torch": torch.__version__})
    print("wrote", len(out), "tensors;", [out[f"warmup.decay{s}"].item() for s in range(1, 6)])


if __name__ == "__main__":
    main()
