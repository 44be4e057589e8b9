#!/usr/bin/env python3
"""Fixtures for distillation (issue 17), made by timm 1.0.x / torch:

1. distill_deit.safetensors: timm's VisionTransformerDistilled (deit.py; img 16, patch 4, dim 32, depth 2, heads 2,
   5 classes; class and distillation tokens, learned pos_embed over every token); its eval logits, and those of
   timm's plain VisionTransformer given its weights without the distillation token (`plain_logits`). `avg.*`: in training with
   distilled_training False (the heads' mean), label-smoothed cross-entropy and every gradient. `split.*`: with
   set_distilled_training(True), both heads' logits, DeiT's DistillationLoss (soft, tau 2, alpha 0.3, base
   LabelSmoothingCrossEntropy 0.1) against fixed teacher logits, and every gradient.
2. distill_avgpool.safetensors: ViTKit's distilled form of the paper's average-pooled model (no class token): a
   distillation token in front of the patches, left out of the average, read by head_dist through the same
   fc_norm. Built from timm's VisionTransformer with one register token standing for the distillation token
   (a prefix token that avg pooling leaves out and no_embed_class keeps out of the position embedding), plus a
   head_dist Linear. Both heads' logits, DeiT's hard DistillationLoss (alpha 0.5) with a soft-target base loss
   (SoftTargetCrossEntropy, as with mixup), and every gradient.
3. distill_loss.safetensors: the loss alone on random logits: DeiT's soft (numel), vit-pytorch's DistillWrapper
   soft (KL batchmean x tau^2) and DeiT's hard, each with its value and the gradients of both heads' logits.

DistillationLoss below is facebookresearch/deit losses.py's forward as written there (soft: kl_div of
log-softmaxes, reduction sum, log_target, x tau^2 / numel; hard: cross-entropy to the teacher's argmax).

    /tmp/torchref/bin/python scripts/make_distillation_fixtures.py
"""
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import import_timm  # noqa: E402

HERE = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures")


def deit_distillation_loss(base_criterion, outputs, outputs_kd, labels, teacher_outputs, kind, alpha, tau):
    base_loss = base_criterion(outputs, labels)
    if kind == "none":
        return base_loss
    if kind == "soft":
        T = tau
        distillation_loss = F.kl_div(F.log_softmax(outputs_kd / T, dim=1), F.log_softmax(teacher_outputs / T, dim=1),
                                     reduction="sum", log_target=True) * (T * T) / outputs_kd.numel()
    else:
        distillation_loss = F.cross_entropy(outputs_kd, teacher_outputs.argmax(dim=1))
    return base_loss * (1 - alpha) + distillation_loss * alpha


def vit_pytorch_soft(student_logits, distill_logits, labels, teacher_logits, alpha, T):
    # lucidrains/vit-pytorch distill.py DistillWrapper.forward (hard=False); its base loss is plain cross-entropy
    loss = F.cross_entropy(student_logits, labels)
    distill_loss = F.kl_div(F.log_softmax(distill_logits / T, dim=-1), F.softmax(teacher_logits / T, dim=-1).detach(),
                            reduction="batchmean") * T ** 2
    return loss * (1 - alpha) + distill_loss * alpha


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if p.ndim > 1 else 0.1) + (1.0 if "norm" in n and n.endswith("weight") else 0.0))


def deit():
    from timm.models.deit import VisionTransformerDistilled
    from timm.loss import LabelSmoothingCrossEntropy
    torch.manual_seed(0)
    model = VisionTransformerDistilled(img_size=16, patch_size=4, num_classes=5, embed_dim=32, depth=2, num_heads=2)
    randomize(model, 1)
    model.train()
    g = torch.Generator().manual_seed(2)
    x = torch.randn(3, 3, 16, 16, generator=g)
    y = torch.tensor([4, 0, 2])
    out = {f"param.{n}": p.detach().clone() for n, p in model.named_parameters()}
    out.update({"x": x, "y": y.float()})
    logits = model(x)
    loss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, y)
    loss.backward()
    out.update({"logits": logits.detach(), "loss": loss.detach().reshape(1)})
    out.update({f"grad.{n}": p.grad.clone() for n, p in model.named_parameters()})
    model.zero_grad()
    model.set_distilled_training(True)
    cls, dist = model(x)
    teacher = torch.randn(3, 5, generator=g) * 2
    loss = deit_distillation_loss(LabelSmoothingCrossEntropy(0.1), cls, dist, y, teacher, "soft", 0.3, 2.0)
    loss.backward()
    out.update({"split.cls": cls.detach(), "split.dist": dist.detach(), "split.teacher": teacher, "split.loss": loss.detach().reshape(1)})
    out.update({f"split.grad.{n}": p.grad.clone() for n, p in model.named_parameters()})
    model.eval()
    out["eval_logits"] = model(x).detach()
    # the plain ViT inside (vit-pytorch's to_vit()): timm's VisionTransformer given the weights without dist_token,
    # head_dist and the distillation token's pos_embed row
    from timm.models.vision_transformer import VisionTransformer
    plain = VisionTransformer(img_size=16, patch_size=4, num_classes=5, embed_dim=32, depth=2, num_heads=2)
    sd = {k: v for k, v in model.state_dict().items() if not k.startswith(("dist_token", "head_dist"))}
    sd["pos_embed"] = torch.cat([sd["pos_embed"][:, :1], sd["pos_embed"][:, 2:]], dim=1)
    plain.load_state_dict(sd, strict=True)
    plain.eval()
    out["plain_logits"] = plain(x).detach()
    save_file(out, os.path.join(HERE, "distill_deit.safetensors"),
              metadata={"generator": "scripts/make_distillation_fixtures.py", "torch": torch.__version__})
    print("deit", sorted(k for k in out if k.startswith("param.")))


def avgpool():
    from timm.models.vision_transformer import VisionTransformer
    from timm.loss import SoftTargetCrossEntropy
    torch.manual_seed(0)
    model = VisionTransformer(img_size=16, patch_size=4, num_classes=5, embed_dim=32, depth=2, num_heads=2,
                              class_token=False, global_pool="avg", reg_tokens=1, no_embed_class=True, pos_embed="learn")
    head_dist = torch.nn.Linear(32, 5)
    randomize(model, 3)
    randomize(head_dist, 4)
    model.train()
    g = torch.Generator().manual_seed(5)
    x = torch.randn(4, 3, 16, 16, generator=g)
    targets = torch.softmax(torch.randn(4, 5, generator=g) * 2, dim=1)  # mixup-like soft targets
    feats = model.forward_features(x)
    cls = model.head(model.fc_norm(feats[:, model.num_prefix_tokens:].mean(dim=1)))
    dist = head_dist(model.fc_norm(feats[:, 0]))
    teacher = torch.randn(4, 5, generator=g) * 2
    loss = deit_distillation_loss(SoftTargetCrossEntropy(), cls, dist, targets, teacher, "hard", 0.5, 1.0)
    loss.backward()
    rename = {"reg_token": "dist_token"}
    named = [(rename.get(n, n), p) for n, p in model.named_parameters()] + [(f"head_dist.{n}", p) for n, p in head_dist.named_parameters()]
    out = {f"param.{n}": p.detach().clone() for n, p in named}
    out.update({f"grad.{n}": p.grad.clone() for n, p in named})
    out.update({"x": x, "targets": targets, "cls": cls.detach(), "dist": dist.detach(), "teacher": teacher, "loss": loss.detach().reshape(1)})
    save_file(out, os.path.join(HERE, "distill_avgpool.safetensors"),
              metadata={"generator": "scripts/make_distillation_fixtures.py", "torch": torch.__version__})
    print("avgpool", sorted(k for k in out if k.startswith("param.")))


def losses():
    from timm.loss import LabelSmoothingCrossEntropy
    g = torch.Generator().manual_seed(6)
    out = {}
    cls0 = torch.randn(6, 7, generator=g) * 3
    dist0 = torch.randn(6, 7, generator=g) * 3
    teacher = torch.randn(6, 7, generator=g) * 3
    y = torch.tensor([0, 6, 3, 3, 1, 5])
    out.update({"cls": cls0, "dist": dist0, "teacher": teacher, "y": y.float()})
    cases = {
        "soft": lambda c, d: deit_distillation_loss(LabelSmoothingCrossEntropy(0.1), c, d, y, teacher, "soft", 0.4, 3.0),
        "hard": lambda c, d: deit_distillation_loss(LabelSmoothingCrossEntropy(0.1), c, d, y, teacher, "hard", 0.4, 3.0),
        "batchmean": lambda c, d: vit_pytorch_soft(c, d, y, teacher, 0.4, 3.0),
    }
    for name, f in cases.items():
        c = cls0.clone().requires_grad_(True)
        d = dist0.clone().requires_grad_(True)
        loss = f(c, d)
        loss.backward()
        out.update({f"{name}.loss": loss.detach().reshape(1), f"{name}.dcls": c.grad, f"{name}.ddist": d.grad})
        print(name, float(loss))
    save_file(out, os.path.join(HERE, "distill_loss.safetensors"),
              metadata={"generator": "scripts/make_distillation_fixtures.py", "torch": torch.__version__})


if __name__ == "__main__":
    import_timm()
    deit()
    avgpool()
    losses()
