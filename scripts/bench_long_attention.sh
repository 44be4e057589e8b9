#!/usr/bin/env bash
# Issue 18's measurement, side by side in one run with the PyTorch + timm reference (torch_vit_bench.py):
#
#  1. vit_tiny_patch2_32 (dim 192, depth 12, heads 3, learned pos_embed, average pooling) trained at 32x32 (256
#     tokens) and 64x64 (1024 tokens), batch 8, on 1 and 2 threads: PAIRS alternating torch/vitkit runs each, the
#     img/s and peak-RSS ratios with their spread, the 1024/256 slow-down of each program, and vitkit's share of the
#     FMA peak;
#  2. `small` at batch 128 on 2 threads, with and without a competing process pinned to core 1 (a busy core).
#
#   scripts/bench_long_attention.sh PATH/TO/torch_vit_bench.py [PYTHON] [PAIRS]
set -euo pipefail
torch_bench=${1:?usage: bench_long_attention.sh PATH/TO/torch_vit_bench.py [PYTHON] [PAIRS]}
python=${2:-python3}; pairs=${3:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${VITKIT:-}" ]; then swift build -c release --package-path "$here" --product vitkit >/dev/null; fi
vitkit=${VITKIT:-$here/.build/release/vitkit}  # VITKIT=path: that binary, no build
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
summary() {  # label, then lines "vitkit_img_s torch_img_s vitkit_rss torch_rss"
    awk -v l="$1" '{ r = $1 / $2; m = $3 / $4; s += r; sm += m; if (NR == 1 || r < lo) lo = r; if (NR == 1 || r > hi) hi = r
                     v += $1; t += $2 }
        END { printf "%s: speed vitkit/torch %.2fx (%.2f-%.2f over %d pairs), rss vitkit/torch %.2f, mean img/s vitkit %.2f torch %.2f\n",
              l, s / NR, lo, hi, NR, sm / NR, v / NR, t / NR }'
}
pair() {  # torch config, vitkit args, threads
    local t v
    t=$("$python" "$torch_bench" --config "$1" --batch "$3" --threads "$4" --warmup 1 --steps "$5" | tail -1)
    v=$("$vitkit" bench --config vit_tiny_patch2_32 --pos-embed learn $2 --batch "$3" --threads "$4" --warmup 1 --steps "$5" | tail -1)
    echo "$t" >&2; echo "$v" >&2
    echo "$(echo "$v" | field img_per_s) $(echo "$t" | field img_per_s) $(echo "$v" | field peak_rss_mib) $(echo "$t" | field peak_rss_mib)"
}
echo "# $(date -u +%FT%TZ) $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for threads in 1 2; do
    declare -A mean=()
    for size in "tok256 32 6" "tok1024 64 3"; do
        set -- $size
        for i in $(seq 1 "$pairs"); do pair "$1" "--img-size $2" 8 "$threads" "$3"; done > /tmp/bench_long.$$
        line=$(summary "vit_tiny_patch2_32 ${2}x${2} ($1) b8 threads=$threads" < /tmp/bench_long.$$)
        echo "$line"
        mean[$1]=$(echo "$line" | sed -n 's/.*mean img\/s vitkit \([0-9.]*\) torch \([0-9.]*\).*/\1 \2/p')
    done
    set -- ${mean[tok256]} ${mean[tok1024]}
    awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" -v t="$threads" \
        'BEGIN { printf "slow-down 256 -> 1024 tokens, threads=%d: vitkit %.2fx, torch %.2fx\n", t, a / c, b / d }'
done
rm -f /tmp/bench_long.$$
for busy in no yes; do
    if [ $busy = yes ]; then taskset -c 1 sh -c 'while :; do :; done' & hog=$!; fi
    for i in $(seq 1 "$pairs"); do
        t=$("$python" "$torch_bench" --config small --batch 128 --threads 2 | tail -1)
        v=$("$vitkit" bench --config small --pos-embed learn --batch 128 --threads 2 | tail -1)
        echo "$t" >&2; echo "$v" >&2
        echo "$(echo "$v" | field img_per_s) $(echo "$t" | field img_per_s) $(echo "$v" | field peak_rss_mib) $(echo "$t" | field peak_rss_mib)"
    done | summary "small b128 threads=2, competing process on core 1: $busy"
    if [ $busy = yes ]; then kill $hog; wait $hog 2>/dev/null || true; fi
done
