#!/usr/bin/env bash
# Copies the study's records (not its checkpoints) from the sweep folder into docs/study/.
#   docs/study/collect.sh /work/study
set -euo pipefail
from=${1:?usage: docs/study/collect.sh SWEEP_FOLDER}
to=$(cd "$(dirname "$0")" && pwd)
cp "$from"/results.csv "$from"/results.md "$from"/results.png "$to"/ 2>/dev/null || true
for run in "$from"/runs/*/; do
    name=$(basename "$run"); mkdir -p "$to/runs/$name"
    for f in summary.csv args.yaml run.json curves.png; do [ -f "$run/$f" ] && cp "$run/$f" "$to/runs/$name/"; done
done
[ -d "$from/torch" ] && { mkdir -p "$to/torch"; cp "$from"/torch/*.log "$to/torch/" 2>/dev/null || true; }
cp "$from"/run.sh "$from"/queue.sh "$to"/ 2>/dev/null || true
echo "records in $to"
