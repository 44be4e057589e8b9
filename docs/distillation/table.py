#!/usr/bin/env python3
"""The distillation table: final test top-1 of each run's summary.csv (this folder's distilled runs, the study's
undistilled ones of the same cells), mean ± sample std over seeds; writes results.csv and results.md here.

    python3 docs/distillation/table.py
"""
import csv, os, statistics

HERE = os.path.dirname(os.path.abspath(__file__))
STUDY = os.path.join(HERE, "..", "study", "runs")


def final_top1(folder):
    path = os.path.join(folder, "summary.csv")
    if not os.path.exists(path):
        return None
    rows = [r for r in csv.DictReader(open(path)) if r["eval_top1"]]
    return float(rows[-1]["eval_top1"]) if rows else None


rows, cells = [], {}
for init in ("timm", "impulse3"):
    for kind in ("none", "hard", "soft"):
        for seed in (0, 1, 2):
            folder = (os.path.join(STUDY, f"{init}-seed{seed}-n50") if kind == "none"
                      else os.path.join(HERE, f"{init}-{kind}-seed{seed}-n50"))
            top1 = final_top1(folder)
            if top1 is not None:
                rows.append(dict(init=init, distill=kind, seed=seed, per_class=50, final_top1=top1))
                cells.setdefault((init, kind), []).append(top1)
with open(os.path.join(HERE, "results.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader(); w.writerows(rows)
teacher = final_top1(os.path.join(HERE, "teacher20"))
# the soft column's teacher: the same command rerun on a later build (teacher20-soft)
soft_teacher = final_top1(os.path.join(HERE, "teacher20-soft"))
lines = [f"Final test top-1 (%), `small`, 50 CIFAR-10 images per class, 60 epochs, the first paper's recipe; teacher "
         f"`convmixer_256_8_3_train` at {teacher:.2f} % (hard) and {soft_teacher:.2f} % (soft: the same command on a later "
         f"build). Mean ± std over seeds (n).", "",
         "| init | no teacher | hard | soft |", "|---|---|---|---|"]
for init in ("timm", "impulse3"):
    out = []
    for kind in ("none", "hard", "soft"):
        v = cells.get((init, kind), [])
        out.append("—" if not v else f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f} ({len(v)})" if len(v) > 1
                   else f"{v[0]:.2f} (1)")
    lines.append(f"| {init} | " + " | ".join(out) + " |")
open(os.path.join(HERE, "results.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
