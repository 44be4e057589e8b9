#!/usr/bin/env bash
# Data-parallel cost on this machine, side by side in one run: for `small` (global batch 128) and
# `vit_tiny_patch2_32` (global batch 64), PAIRS alternating pairs of
#   1 rank × 2 threads:   vitkit bench -b B --threads 2
#   2 ranks × 1 thread:   mpirun -np 2 vitkit bench -b B/2 --threads 1   (each step all-reduces the gradients)
# Prints each run's line (img/s over all ranks, the all-reduce's median time, bus bandwidth and share of the
# step) and the scaling efficiency (2 ranks' img/s over 1 rank's).
#
#   scripts/bench_data_parallel.sh [PAIRS] [path/to/vitkit]
set -euo pipefail
pairs=${1:-3}
cd "$(dirname "$0")/.."
vitkit=${2:-.build/release/vitkit}
mpi=(mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2)
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
for cfg in "small 128 6" "vit_tiny_patch2_32 64 4"; do
    set -- $cfg
    model=$1 batch=$2 steps=$3
    effs=()
    for i in $(seq 1 "$pairs"); do
        one=$("$vitkit" bench --config "$model" -b "$batch" --threads 2 --steps "$steps")
        two=$("${mpi[@]}" "$vitkit" bench --config "$model" -b $((batch / 2)) --threads 1 --steps "$steps")
        a=$(echo "$one" | field img_per_s) b=$(echo "$two" | field global_img_per_s)
        e=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
        effs+=("$e")
        echo "$model pair $i: 1x2 $a img/s | 2x1 $b img/s, allreduce $(echo "$two" | field allreduce_ms) ms," \
             "$(echo "$two" | field allreduce_bus_gbps) GB/s bus, share $(echo "$two" | field allreduce_share)," \
             "$(echo "$two" | field grad_mib) MiB | efficiency $e"
    done
    printf '%s\n' "${effs[@]}" | awk -v m="$model" '{ s += $1; if (NR == 1 || $1 < lo) lo = $1; if (NR == 1 || $1 > hi) hi = $1 }
        END { printf "%s: 2 ranks x 1 thread / 1 rank x 2 threads = %.3f (%.3f to %.3f over %d pairs)\n", m, s / NR, lo, hi, NR }'
done
