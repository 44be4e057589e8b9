#!/usr/bin/env bash
# Training throughput of vitkit and of the PyTorch + timm reference, side by side in one run, as ratios.
#
#   scripts/bench_vs_torch.sh PATH/TO/torch_vit_bench.py [PYTHON]
#
# Each configuration runs in its own process (so peak RSS belongs to it alone), vitkit right after torch, both on
# the same model: no class token, average pooling, a learned position embedding (the reference's model), so the
# parameter counts agree. Set STEPS/WARMUP to change the number of timed/untimed steps (default 6/2).
set -euo pipefail
torch_bench=${1:?usage: bench_vs_torch.sh PATH/TO/torch_vit_bench.py [PYTHON]}
python=${2:-python3}
steps=${STEPS:-6}; warmup=${WARMUP:-2}; threads=${THREADS:-2}
here=$(cd "$(dirname "$0")/.." && pwd)
swift build -c release --package-path "$here" >/dev/null
vitkit="$here/.build/release/vitkit"

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
for pair in "small small 128" "main vit_tiny_patch2_32 64"; do
    set -- $pair
    t=$("$python" "$torch_bench" --config "$1" --batch "$3" --threads "$threads" --warmup "$warmup" --steps "$steps" | tail -1)
    v=$("$vitkit" bench --config "$2" --pos-embed learn --batch "$3" --threads "$threads" --warmup "$warmup" --steps "$steps" | tail -1)
    echo "$t"
    echo "$v"
    awk -v a="$(echo "$v" | field img_per_s)" -v b="$(echo "$t" | field img_per_s)" \
        -v m="$(echo "$v" | field peak_rss_mib)" -v n="$(echo "$t" | field peak_rss_mib)" -v c="$2" \
        'BEGIN { printf "ratio config=%s speed_vitkit_over_torch=%.2fx rss_vitkit_over_torch=%.2f\n", c, a / b, m / n }'
done
