#!/usr/bin/env bash
# ConvMixer training throughput of vitkit and of PyTorch + timm, side by side in one run, as ratios.
#
#   scripts/bench_convmixer_vs_torch.sh [PYTHON]
#
# ConvMixer-256/8, patch 2, on 32×32 at batch 64 (Trockman & Kolter's CIFAR model), kernel 5 and 3, learned and
# frozen depthwise filters; each configuration in its own process, vitkit right after torch. THREADS (default 2),
# STEPS/WARMUP (default 6/2) change the run.
set -euo pipefail
python=${1:-python3}
steps=${STEPS:-6}; warmup=${WARMUP:-2}; threads=${THREADS:-2}
here=$(cd "$(dirname "$0")/.." && pwd)
swift build -c release --package-path "$here" >/dev/null
vitkit="$here/.build/release/vitkit"

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
for pair in "5 train" "5 frozen" "3 train"; do
    set -- $pair
    frozen=(); freeze=()
    if [ "$2" = frozen ]; then frozen=(--frozen); freeze=(--freeze-spatial --spatial-init impulse); fi
    t=$("$python" "$here/scripts/torch_convmixer_bench.py" --dim 256 --depth 8 --kernel "$1" --patch 2 --batch 64 \
        --threads "$threads" --warmup "$warmup" --steps "$steps" "${frozen[@]}" | tail -1)
    v=$("$vitkit" bench --model convmixer --embed-dim 256 --depth 8 --kernel-size "$1" --patch-size 2 --batch 64 \
        --threads "$threads" --warmup "$warmup" --steps "$steps" "${freeze[@]}" | tail -1)
    echo "$t"
    echo "$v"
    awk -v a="$(echo "$v" | field img_per_s)" -v b="$(echo "$t" | field img_per_s)" \
        -v m="$(echo "$v" | field peak_rss_mib)" -v n="$(echo "$t" | field peak_rss_mib)" -v c="convmixer_256_8_k$1_$2" \
        'BEGIN { printf "ratio model=%s speed_vitkit_over_torch=%.2fx rss_vitkit_over_torch=%.2f\n", c, a / b, m / n }'
done
