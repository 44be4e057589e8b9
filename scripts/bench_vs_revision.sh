#!/usr/bin/env bash
# Training throughput of this checkout against another revision, side by side in one run: both `vitkit` binaries
# are built the same way (swift build -c release), then `vitkit bench` runs alternately, PAIRS times per model,
# for `small` (batch 128) and `vit_tiny_patch2_32` (batch 64). Prints each pair and the new/old ratio.
#
#   scripts/bench_vs_revision.sh fbb5754 3
set -euo pipefail
rev=${1:?usage: scripts/bench_vs_revision.sh REVISION [PAIRS]}
pairs=${2:-3}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'git worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add -q "$work/old" "$rev"
echo "building $rev and the working tree (release)..."
(cd "$work/old" && swift build -c release --product vitkit >/dev/null)
swift build -c release --product vitkit --scratch-path "$work/new-build" >/dev/null
old="$work/old/.build/release/vitkit" new="$work/new-build/release/vitkit"
rate() { "$1" bench --config "$2" --batch "$3" 2>&1 | sed -n 's/.*img_per_s=\([0-9.]*\).*/\1/p'; }
echo "model batch pair old_img_s new_img_s new/old"
for cfg in "small 128" "vit_tiny_patch2_32 64"; do
    set -- $cfg
    ratios=()
    for i in $(seq 1 "$pairs"); do
        o=$(rate "$old" "$1" "$2"); n=$(rate "$new" "$1" "$2")
        r=$(awk -v a="$o" -v b="$n" 'BEGIN { printf "%.3f", b / a }')
        ratios+=("$r")
        echo "$1 $2 $i $o $n $r"
    done
    printf '%s\n' "${ratios[@]}" | awk -v m="$1" '{ s += $1; if (NR == 1 || $1 < lo) lo = $1; if (NR == 1 || $1 > hi) hi = $1 }
        END { printf "%s: mean new/old %.3f (%.3f to %.3f over %d pairs)\n", m, s / NR, lo, hi, NR }'
done
