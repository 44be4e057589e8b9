#!/usr/bin/env bash
# The README's data-efficiency table: config `small` (sin-cos PE, avg pool) on 500 CIFAR-10 images per class,
# the same recipe for every init, one row per init and seed. Each run writes runs/data-efficiency/<init>-s<seed>/
# (summary.csv, checkpoints); the last line of each summary.csv is the table's number.
#
#   scripts/data_efficiency.sh DATA_DIR [SEEDS...]      (default seed: 42)
#
# VITKIT=path/to/vitkit runs a copy of the binary (so rebuilding the package mid-table cannot change it).
# AUG holds the augmentation flags; the default is the table's flips only (RandAugment and colour jitter off).
# AUG="" runs the paper's recipe (RandAugment rand-m9-mstd0.5-inc1).
set -euo pipefail
data_dir=${1:?usage: data_efficiency.sh DATA_DIR [SEEDS...]}
shift
seeds=("${@:-42}")
here=$(cd "$(dirname "$0")/.." && pwd)
vitkit=${VITKIT:-$here/.build/release/vitkit}
inits=${INITS:-"timm impulse3 mimetic0.7_0.7 skip impulse5"}
out=${OUT:-$here/runs/data-efficiency}
mkdir -p "$out"
read -r -a aug <<< "${AUG---aa none --color-jitter 0}"
for seed in "${seeds[@]}"; do
    for init in $inits; do
        run="$out/$init-s$seed"
        if [ -f "$run/done" ]; then continue; fi
        "$vitkit" train --config small --data-dir "$data_dir" --per-class 500 --init "$init" --seed "$seed" \
            --epochs 40 -b 128 --lr 1e-3 --warmup-epochs 5 --eval-every 5 --threads "${THREADS:-2}" \
            "${aug[@]}" --output "$run" > "$run.log" 2>&1
        touch "$run/done"
        echo "$init seed=$seed $(tail -1 "$run/summary.csv")"
    done
done
