#!/usr/bin/env python3
"""Loads a vitkit checkpoint into timm's VisionTransformer or ConvMixer with load_state_dict(strict=True) and
compares timm's logits (eval mode) with `vitkit predict` on the same random input.

    /tmp/torchref/bin/python scripts/check_checkpoint_in_timm.py CHECKPOINT .build/release/vitkit

The model is built from the config vitkit records in the file's metadata. With the fixed sin-cos position
embedding (the paper's), timm gets pos_embed='none' and the table as a plain attribute, as in the reference code.
A ConvMixer goes into stock timm's ConvMixer (its depthwise conv is the reference's SpatialConv2d with one filter
per channel); a softmax-init model's filters are passed through their softmax first, as its forward does.
A distilled ViT (`--distilled`, DeiT's token) goes into timm's VisionTransformerDistilled, whose evaluation logits are
the mean of its two heads, as vitkit predict's; the average-pooled distilled form has no timm class (export it with
`vitkit export --drop-distillation` first). Exits 1 if the logits differ by more than 1e-5 relative to their largest magnitude.
"""
import json, os, subprocess, sys, tempfile
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from make_fixtures import import_timm


def main(path, vitkit):
    import_timm()
    from timm.models.vision_transformer import VisionTransformer
    from timm.models.deit import VisionTransformerDistilled
    from timm.layers.pos_embed_sincos import build_sincos2d_pos_embed
    with safe_open(path, "pt") as f:
        meta = f.metadata()
    if "vitkit_convmixer_config" in meta:
        return check_convmixer(path, vitkit, json.loads(meta["vitkit_convmixer_config"]))
    cfg = json.loads(meta["vitkit_config"])
    sincos = cfg["posEmbed"] == "sincos"
    distilled = cfg.get("distilled", False)
    if distilled and (cfg["globalPool"] != "token" or sincos):
        sys.exit(f"{path}: a distilled ViT with global_pool {cfg['globalPool']} and pos_embed {cfg['posEmbed']}: timm's "
                 "VisionTransformerDistilled takes the class token and a learned embedding; export with --drop-distillation")
    model = (VisionTransformerDistilled if distilled else VisionTransformer)(
        img_size=cfg["imgSize"], patch_size=cfg["patchSize"], in_chans=cfg["inChans"], num_classes=cfg["numClasses"],
        global_pool=cfg["globalPool"], embed_dim=cfg["embedDim"], depth=cfg["depth"], num_heads=cfg["numHeads"],
        mlp_ratio=cfg["mlpRatio"], qkv_bias=cfg["qkvBias"], class_token=cfg["classToken"], reg_tokens=cfg["regTokens"],
        no_embed_class=cfg["noEmbedClass"], fc_norm=cfg.get("fcNorm"), pos_embed="none" if sincos else "learn").eval()
    state = load_file(path)
    result = model.load_state_dict(state, strict=True)
    print(f"timm {type(model).__name__} load_state_dict(strict=True): {len(state)} tensors, missing {result.missing_keys}, "
          f"unexpected {result.unexpected_keys}")
    grid = cfg["imgSize"] // cfg["patchSize"]
    if sincos:
        model.pos_embed = build_sincos2d_pos_embed([grid, grid], dim=cfg["embedDim"]).reshape(1, grid * grid, -1)
    compare(model, path, vitkit, cfg)


def check_convmixer(path, vitkit, cfg):
    from timm.models.convmixer import ConvMixer
    if 0 < cfg["spatialHeads"] < cfg["dim"]:
        sys.exit(f"{path}: {cfg['spatialHeads']} filters shared by {cfg['dim']} channels: stock timm has one per channel")
    model = ConvMixer(dim=cfg["dim"], depth=cfg["depth"], kernel_size=cfg["kernelSize"], patch_size=cfg["patchSize"],
                      in_chans=cfg["inChans"], num_classes=cfg["numClasses"]).eval()
    state = load_file(path)
    if cfg["spatialInit"] == "softmax":
        for k, w in state.items():
            if k.endswith(".0.fn.0.weight"):
                state[k] = w.flatten(2, 3).softmax(-1).reshape(w.shape)
    result = model.load_state_dict(state, strict=True)
    print(f"timm ConvMixer load_state_dict(strict=True): {len(state)} tensors, missing {result.missing_keys}, "
          f"unexpected {result.unexpected_keys}")
    compare(model, path, vitkit, cfg)


def compare(model, path, vitkit, cfg):
    x = torch.randn(8, cfg["inChans"], cfg["imgSize"], cfg["imgSize"], generator=torch.Generator().manual_seed(0))
    with tempfile.TemporaryDirectory() as tmp:
        save_file({"x": x}, os.path.join(tmp, "x.safetensors"))
        subprocess.run([vitkit, "predict", "--checkpoint", path, "--input", os.path.join(tmp, "x.safetensors"),
                        "--output", os.path.join(tmp, "logits.safetensors")], check=True)
        ours = load_file(os.path.join(tmp, "logits.safetensors"))["logits"]
    with torch.no_grad():
        theirs = model(x)
    diff = (ours - theirs).abs().max().item()
    rel = diff / theirs.abs().max().item()
    same = (ours.argmax(1) == theirs.argmax(1)).float().mean().item()
    print(f"logits on 8 random inputs: max |vitkit - timm| = {diff:.3g} ({rel:.3g} of the largest logit), "
          f"same top-1 for {same:.0%}")
    sys.exit(0 if rel <= 1e-5 else 1)


if __name__ == "__main__":
    main(*sys.argv[1:3])
