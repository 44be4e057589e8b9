#!/usr/bin/env python3
"""Writes timm-written checkpoints that the Swift tests load, with timm's logits on a fixed input:

  Tests/ViTKitTests/Fixtures/timm_vit_token.safetensors     stock timm ViT (class token, learned pos_embed), F32
  Tests/ViTKitTests/Fixtures/timm_vit_avg_bf16.safetensors  the paper's layout (no class token, avg pool, fc_norm,
                                                            fixed sin-cos PE kept out of the state_dict), BF16
  Tests/ViTKitTests/Fixtures/timm_checkpoints.safetensors   x and each model's logits

Run: /tmp/torchref/bin/python scripts/make_checkpoint_fixtures.py   (torch, timm, safetensors)
"""
import os
import torch
from safetensors.torch import save_file
from make_fixtures import import_timm

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "ViTKitTests", "Fixtures")
VIT = dict(img_size=16, patch_size=4, embed_dim=32, depth=2, num_heads=2, mlp_ratio=4.0, qkv_bias=True, num_classes=10)


def randomize(model, g):
    with torch.no_grad():
        for n, p in model.named_parameters():
            scale = 0.2 if p.ndim == 1 else 1.5 / p[0].numel() ** 0.5
            p.copy_((1.0 if n.endswith("norm1.weight") or n.endswith("norm2.weight") or n.endswith("norm.weight") else 0.0)
                    + scale * torch.randn(p.shape, generator=g))


def main():
    import_timm()
    from timm.models.vision_transformer import VisionTransformer
    from timm.layers.pos_embed_sincos import build_sincos2d_pos_embed
    g = torch.Generator().manual_seed(5)
    x = torch.randn(3, 3, 16, 16, generator=g)
    ref = {"x": x}

    token = VisionTransformer(**VIT).eval()
    randomize(token, g)
    save_file({k: v.contiguous() for k, v in token.state_dict().items()}, os.path.join(OUT, "timm_vit_token.safetensors"))
    ref["token.logits"] = token(x).detach()

    # the reference code's model: pos_embed is a plain tensor attribute, not in the state_dict
    avg = VisionTransformer(**VIT, class_token=False, global_pool="avg", no_embed_class=True, pos_embed="none").eval()
    randomize(avg, g)
    state = {k: v.to(torch.bfloat16).contiguous() for k, v in avg.state_dict().items()}
    save_file(state, os.path.join(OUT, "timm_vit_avg_bf16.safetensors"))
    avg.load_state_dict({k: v.float() for k, v in state.items()})  # what the file holds
    avg.pos_embed = build_sincos2d_pos_embed([4, 4], dim=32).reshape(1, 16, 32)
    ref["avg.logits"] = avg(x).detach()
    save_file({k: v.contiguous() for k, v in ref.items()}, os.path.join(OUT, "timm_checkpoints.safetensors"))
    print({k: tuple(v.shape) for k, v in ref.items()}, "keys in token model:", len(token.state_dict()))


if __name__ == "__main__":
    main()
