#!/usr/bin/env python3
"""Fixture: which parameters timm's optimiser factory decays. For a few ViT configurations (class token, register
tokens, learned or no position embedding), the parameter names in the weight-decay and the no-decay groups of
`timm.optim.create_optimizer_v2(model, 'adamw', weight_decay=0.05)`.

    /tmp/torchref/bin/python scripts/make_weight_decay_fixtures.py   # writes Tests/ViTKitTests/Fixtures/timm_weight_decay_groups.json
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import import_timm  # noqa: E402

CASES = {
    "token_learned": dict(class_token=True, global_pool="token", pos_embed="learn", no_embed_class=False),
    "avg_learned": dict(class_token=False, global_pool="avg", pos_embed="learn", no_embed_class=True),
    "registers": dict(class_token=True, global_pool="token", reg_tokens=2, pos_embed="learn", no_embed_class=True),
    "sincos_like_no_pos_embed": dict(class_token=False, global_pool="avg", pos_embed="none", no_embed_class=True),
}


def main():
    timm = import_timm()
    from timm.models.vision_transformer import VisionTransformer
    from timm.optim import create_optimizer_v2
    out = {"timm": timm.__version__, "cases": {}}
    for name, kw in CASES.items():
        model = VisionTransformer(img_size=16, patch_size=4, num_classes=10, embed_dim=32, depth=2, num_heads=2, **kw)
        opt = create_optimizer_v2(model, "adamw", lr=1e-3, weight_decay=0.05)
        names = {id(p): n for n, p in model.named_parameters()}
        groups = {"decay": [], "no_decay": []}
        for g in opt.param_groups:
            groups["decay" if g["weight_decay"] > 0 else "no_decay"] += sorted(names[id(p)] for p in g["params"])
        out["cases"][name] = {"config": kw, **groups}
        print(name, "no decay:", [n for n in groups["no_decay"] if not n.endswith(".bias")])
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "timm_weight_decay_groups.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
