#!/usr/bin/env python3
"""Fixture: the learning rate at every optimiser update of whole runs, as timm's scheduler factory
(`create_scheduler_v2`) and train.py's loop give it (scheduler.step_update after each update,
scheduler.step(epoch + 1) after each epoch, the loop over the epoch count the factory returns), and as
jeonsworld/ViT-pytorch's per-step WarmupCosineSchedule / WarmupLinearSchedule (LambdaLR, stepped after each
update) give it, re-derived from that repository's utils/scheduler.py. `plateau` cases feed the scheduler a fixed
sequence of evaluation top-1 values (None: that epoch was not evaluated), as train.py passes eval_metrics['top1'].

    /tmp/torchref/bin/python scripts/make_schedule_fixtures.py   # writes Tests/ViTKitTests/Fixtures/timm_schedules.json
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import import_timm  # noqa: E402

BASE = dict(lr=1e-3, epochs=30, warmup_epochs=3, warmup_lr=1e-5, min_lr=1e-6, updates=7)
CASES = [
    dict(sched="cosine"),
    dict(sched="cosine", cooldown_epochs=4),
    dict(sched="cosine", warmup_prefix=True),
    dict(sched="cosine", sched_on_updates=True),
    dict(sched="cosine", warmup_epochs=0),
    dict(sched="step", decay_epochs=8, decay_rate=0.5),
    dict(sched="step", decay_epochs=8, decay_rate=0.5, warmup_prefix=True, sched_on_updates=True),
    dict(sched="multistep", decay_milestones=[10, 20], decay_rate=0.1),
    dict(sched="multistep", decay_milestones=[10, 20], decay_rate=0.1, sched_on_updates=True),
    dict(sched="poly", decay_rate=2.0),
    dict(sched="poly", decay_rate=0.5, cooldown_epochs=2, sched_on_updates=True),
    dict(sched="constant"),
]
# top-1 after each epoch: rises, stalls (patience runs out twice), rises again; None where not evaluated
METRICS = [10, 20, 30, 35, 35.001, 34, 33, 40, 41, 41, 41, 41, 41, 42, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40,
           39, 38, 37, 36, 35, 34, 33, 32]
PLATEAU = [
    dict(sched="plateau", patience_epochs=2, decay_rate=0.5, metrics=METRICS),
    dict(sched="plateau", patience_epochs=1, decay_rate=0.1, warmup_epochs=0, min_lr=2e-6, metrics=METRICS),
    dict(sched="plateau", patience_epochs=2, decay_rate=0.5, warmup_prefix=True,
         metrics=[m if i % 2 else None for i, m in enumerate(METRICS)]),
]
CASES += PLATEAU
JEONSWORLD = [dict(sched="warmup-cosine", warmup_steps=20), dict(sched="warmup-linear", warmup_steps=20)]


def timm_run(case):
    timm = import_timm()
    from timm.scheduler import create_scheduler_v2
    c = {**BASE, **case}
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=c["lr"])
    sched, num_epochs = create_scheduler_v2(
        opt, sched=c["sched"], num_epochs=c["epochs"], decay_epochs=c.get("decay_epochs", 90),
        decay_milestones=c.get("decay_milestones", [90, 180, 270]), cooldown_epochs=c.get("cooldown_epochs", 0),
        decay_rate=c.get("decay_rate", 0.1), min_lr=c["min_lr"], warmup_lr=c["warmup_lr"], warmup_epochs=c["warmup_epochs"],
        warmup_prefix=c.get("warmup_prefix", False), step_on_epochs=not c.get("sched_on_updates", False),
        updates_per_epoch=c["updates"], patience_epochs=c.get("patience_epochs", 10), plateau_mode="max")
    lrs, num_updates = [], 0
    for epoch in range(num_epochs):
        for _ in range(c["updates"]):
            lrs.append(opt.param_groups[0]["lr"])
            num_updates += 1
            sched.step_update(num_updates=num_updates)
        if "metrics" in c:
            sched.step(epoch + 1, c["metrics"][epoch])
        else:
            sched.step(epoch + 1)
    return {"case": c, "num_epochs": num_epochs, "lrs": lrs}


def jeonsworld_run(case):
    c = {**BASE, **case}
    total, warmup = c["epochs"] * c["updates"], c["warmup_steps"]

    def cosine(step, cycles=0.5):
        if step < warmup:
            return float(step) / float(max(1.0, warmup))
        progress = float(step - warmup) / float(max(1, total - warmup))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * progress)))

    def linear(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        return max(0.0, float(total - step) / float(max(1.0, total - warmup)))

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=c["lr"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine if c["sched"] == "warmup-cosine" else linear)
    lrs = []
    for _ in range(total):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return {"case": c, "num_epochs": c["epochs"], "lrs": lrs}


def main():
    runs = [timm_run(c) for c in CASES] + [jeonsworld_run(c) for c in JEONSWORLD]
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "timm_schedules.json")
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, "runs": runs}, f)
    for r in runs:
        print(r["case"]["sched"], r["num_epochs"], len(r["lrs"]), r["lrs"][:2], r["lrs"][-1])


if __name__ == "__main__":
    main()
