#!/usr/bin/env python3
"""Fixture: a non-square timm ViT (img_size=(16, 24), patch 4: a 4x6 grid; class token, learned position
embedding) in eval mode: weights, input, logits, label-smoothed loss and every gradient; and timm's
build_sincos2d_pos_embed for the rectangular grids [4, 6] and [6, 4]; and timm's eval transform for input size
(16, 24) at crop_pct 0.875 (ResizeKeepRatio((18, 27)), CenterCrop((16, 24)), bicubic) on a random 21x33 RGB
picture; and for one-channel models, that picture in grey (Pillow's convert("L"), as timm's datasets give it with
input_img_mode='L') and timm's eval transform for input size (1, 16, 16) on the grey picture.

    /tmp/torchref/bin/python scripts/make_nonsquare_fixtures.py   # writes Tests/ViTKitTests/Fixtures/timm_nonsquare.safetensors
"""
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import import_timm  # noqa: E402


def main():
    import_timm()
    from timm.models.vision_transformer import VisionTransformer
    from timm.layers import build_sincos2d_pos_embed
    torch.manual_seed(6)
    model = VisionTransformer(img_size=(16, 24), patch_size=4, num_classes=5, embed_dim=32, depth=2, num_heads=2,
                              class_token=True, global_pool="token", pos_embed="learn", no_embed_class=False)
    model.eval()
    out = {f"param.{n}": p.detach().clone() for n, p in model.named_parameters()}
    g = torch.Generator().manual_seed(7)
    x = torch.randn(3, 3, 16, 24, generator=g)
    y = torch.tensor([4, 0, 2])
    logits = model(x)
    loss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, y)
    loss.backward()
    out.update({"x": x, "y": y.float(), "logits": logits.detach(), "loss": loss.detach().reshape(1)})
    out.update({f"grad.{n}": p.grad for n, p in model.named_parameters()})
    out["sincos_4x6"] = build_sincos2d_pos_embed([4, 6], dim=32, temperature=10000.)
    out["sincos_6x4"] = build_sincos2d_pos_embed([6, 4], dim=32, temperature=10000.)
    import numpy as np
    from PIL import Image
    from timm.data import create_transform
    rng = np.random.default_rng(8)
    picture = rng.integers(0, 256, size=(21, 33, 3), dtype=np.uint8)
    t = create_transform(input_size=(3, 16, 24), is_training=False, crop_pct=0.875, interpolation="bicubic",
                         mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    out["eval_picture"] = torch.from_numpy(picture.astype(np.float32))
    out["eval_out"] = t(Image.fromarray(picture))
    print(t)
    grey = Image.fromarray(picture).convert("L")
    out["grey"] = torch.from_numpy(np.asarray(grey).astype(np.float32))
    tg = create_transform(input_size=(1, 16, 16), is_training=False, crop_pct=0.875, interpolation="bicubic",
                          mean=(0.5,), std=(0.5,))
    out["grey_eval_out"] = tg(grey)
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "timm_nonsquare.safetensors")
    save_file(out, path, metadata={"generator": "scripts/make_nonsquare_fixtures.py", "torch": torch.__version__})
    print("pos_embed", list(model.pos_embed.shape), "logits", logits.shape)


if __name__ == "__main__":
    main()
