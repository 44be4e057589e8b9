#!/usr/bin/env bash
# The full impulse initialisation of vit_tiny_patch2_32 (16×16 grid, dim 192, 3 heads, 10 000 Adam iterations),
# vitkit and the PyTorch reference side by side in one run, as a ratio.
#
#   scripts/impulse_vs_torch.sh PATH/TO/impulse_reference_torch.py [PYTHON]
set -euo pipefail
torch_ref=${1:?usage: impulse_vs_torch.sh PATH/TO/impulse_reference_torch.py [PYTHON]}
python=${2:-python3}
threads=${THREADS:-2}; iters=${ITERS:-10000}
here=$(cd "$(dirname "$0")/.." && pwd)
swift build -c release --package-path "$here" >/dev/null
for k in 3 5; do
    t=$("$python" "$torch_ref" --kernel "$k" --iters "$iters" --threads "$threads" | awk "NR == 1")
    v=$("$here/.build/release/vitkit" init --config vit_tiny_patch2_32 --init "impulse$k" --impulse-iterations "$iters" \
        --threads "$threads" | tail -1)
    echo "$t"
    echo "$v"
    awk -v a="$(echo "$t" | sed -n 's/.* seconds=\([0-9.]*\).*/\1/p')" -v b="$(echo "$v" | sed -n 's/.* seconds=\([0-9.]*\).*/\1/p')" \
        -v k="$k" 'BEGIN { printf "ratio impulse%s torch_seconds_over_vitkit=%.2fx\n", k, a / b }'
done
