#!/usr/bin/env bash
# The distilled step's cost: vitkit bench --model small -b 128 --threads 2 without and with the teacher
# (docs/distillation/run.sh's teacher20), 3 alternating pairs in one run.
set -euo pipefail
V=${VITKIT:-/work/distill/vitkit}; T=${TEACHER:-/work/distill/teacher20/last.safetensors}
echo "# $(date -u +%FT%TZ) vitkit bench --model small -b 128 --threads 2, without and with --distill-teacher $T; load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in 1 2 3; do
    a=$($V bench --model small -b 128 --threads 2 | tail -1); echo "$a"
    b=$($V bench --model small -b 128 --threads 2 --distill-teacher "$T" | tail -1); echo "$b"
    echo "$a" "$b" | sed -n 's/.*img_per_s=\([0-9.]*\).*img_per_s=\([0-9.]*\).*/\1 \2/p' >> /tmp/distill_bench.$$
done
awk '{ r = $2 / $1; s += r; if (NR == 1 || r < lo) lo = r; if (NR == 1 || r > hi) hi = r }
     END { printf "# with/without teacher: %.2f (%.2f-%.2f over %d pairs)\n", s / NR, lo, hi, NR }' /tmp/distill_bench.$$
rm -f /tmp/distill_bench.$$
