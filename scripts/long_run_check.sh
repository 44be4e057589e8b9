#!/usr/bin/env bash
# Issue 20, item 5: a run of STEPS training steps (default 2000) with an output folder (summary.csv, curves.png and
# three checkpoints rewritten every epoch), sampling the process's resident memory (VmRSS) and open file
# descriptors (/proc/PID/fd) once a second; prints the samples and the first/last/max of each.
#   scripts/long_run_check.sh [STEPS]      (VITKIT=path to the binary, default .build/release/vitkit)
set -e
STEPS=${1:-2000}; V=${VITKIT:-.build/release/vitkit}
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
EPOCHS=$(( (STEPS + 7) / 8 ))  # 256 images at batch 32: 8 steps an epoch
"$V" train --embed-dim 64 --depth 2 --num-heads 2 --synthetic-train 256 --synthetic-test 64 -b 32 --threads 1 -j 1 \
    --epochs $EPOCHS --eval-every 1 --output "$OUT/run" > "$OUT/log" 2>&1 &
PID=$!
echo "seconds,epoch,rss_kib,fds"
t=0
while kill -0 $PID 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' /proc/$PID/status 2>/dev/null || true)
  fds=$(ls /proc/$PID/fd 2>/dev/null | wc -l)
  ep=$(grep -c '^epoch=' "$OUT/log" || true)
  [ -n "$rss" ] && echo "$t,$ep,$rss,$fds"
  sleep 1; t=$((t + 1))
done
wait $PID
echo "# $(grep -c '^epoch=' "$OUT/log") epochs = $(( $(grep -c '^epoch=' "$OUT/log") * 8 )) steps; exit 0"
