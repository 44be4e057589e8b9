#!/usr/bin/env bash
# Coverage-guided fuzzing of one parser with libFuzzer and AddressSanitizer:
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer options …]      (TARGET: safetensors checkpoint npy npz mat tar targz jpeg png image
#                                                              yaml randaugment initmode, or "all")
# Builds vitkit-fuzz with VITKIT_FUZZ=1 into .build-fuzz (a separate build: coverage, ASan, Swift's checks on), starts
# from the committed seeds in Fuzz/corpus/TARGET plus what earlier runs found (.build-fuzz/corpus/TARGET), and writes
# any crashing input to .build-fuzz/crashes/TARGET/. The last line says the target, runs, coverage and crashes; the
# status is non-zero when an input crashed. Reproduce one: .build-fuzz/release/vitkit-fuzz TARGET CRASH_FILE
set -euo pipefail
cd "$(dirname "$0")/.."
targets="safetensors checkpoint npy npz mat tar targz jpeg png image yaml randaugment initmode"
[ $# -ge 2 ] || { echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options …]; targets: $targets, all" >&2; exit 2; }
target=$1 seconds=$2; shift 2
case " $targets all " in *" $target "*) ;; *) echo "scripts/fuzz.sh: unknown target '$target'; targets: $targets, all" >&2; exit 2;; esac
scratch=.build-fuzz
if [ -z "${VITKIT_FUZZ_NO_BUILD:-}" ]; then
    VITKIT_FUZZ=1 swift build -c release --sanitize=fuzzer --product vitkit-fuzz --scratch-path "$scratch" 2>&1 \
        | grep -v "Cannot export local symbol" | tail -2
fi
if [ "$target" = all ]; then
    status=0
    for t in $targets; do VITKIT_FUZZ_NO_BUILD=1 "$0" "$t" "$seconds" "$@" || status=1; done
    exit $status
fi
corpus=$scratch/corpus/$target crashes=$scratch/crashes/$target logs=$scratch/logs
mkdir -p "$corpus" "$crashes" "$logs"
dict=()
[ -f "Fuzz/dict/$target.dict" ] && dict=(-dict="Fuzz/dict/$target.dict")
log=$logs/$target.log
# Swift's own backtracer would wait on a crashing child; libFuzzer prints the stack instead
status=0
SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$scratch/release/vitkit-fuzz" "$target" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "${dict[@]}" "$@" "$corpus" "Fuzz/corpus/$target" >"$log" 2>&1 || status=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -1)
cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last"); ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
units=$(ls "$corpus" | wc -l)
found=$(ls "$crashes" | wc -l)
echo "fuzz $target: ${seconds} s, ${runs:-?} runs, coverage ${cov:-?} edges (${ft:-?} features), corpus $units inputs, status $status, crash files $found (log $log)"
[ "$status" -eq 0 ] || { grep -E "ERROR|SUMMARY|Fatal error|runtime failure|#[0-9]+ 0x.* in \\\$s" "$log" | head -12; }
exit $status
