#!/usr/bin/env python3
"""The README's fuzzing table from scripts/fuzz.sh's logs: target, seconds, runs, coverage, corpus, crashes.

    python3 scripts/fuzz_table.py .build-fuzz/logs [more log folders …]
"""
import os
import re
import sys

# found and fixed in the first rounds (each input in Fuzz/regressions/<target>/)
fixed = {"tar": "1 (negative size)", "mat": "1 (dimensions overflow)", "randaugment": "1 (a hang: millions of ops)",
         "yaml": "1 (Yams traps on a non-scalar key)", "initmode": "1 (description overflowed Int)",
         "npz": "1 (ZIPFoundation's in-memory archive; not ViTKit's path)"}
order = ["safetensors", "checkpoint", "npy", "npz", "mat", "tar", "targz", "jpeg", "png", "image", "yaml", "randaugment", "initmode"]
logs = {}
for folder in sys.argv[1:]:
    for name in os.listdir(folder):
        if name.endswith(".log"):
            logs[name[:-4]] = os.path.join(folder, name)
print("| target | seconds | runs | runs/s | coverage: edges (features) | corpus | crashes in this run | found and fixed before |")
print("|---|---|---|---|---|---|---|---|")
for target in order:
    if target not in logs:
        continue
    text = open(logs[target], errors="replace").read()
    done = re.findall(r"^Done (\d+) runs in (\d+) second", text, re.M)
    cov = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)/", text)
    crashed = "ERROR: libFuzzer" in text or "ERROR: AddressSanitizer" in text
    runs, seconds = (int(done[-1][0]), int(done[-1][1])) if done else (None, None)
    edges, features, corpus = cov[-1] if cov else ("?", "?", "?")
    print(f"| {target} | {seconds or '?'} | {runs if runs is not None else '?'} | "
          f"{round(runs / seconds) if runs and seconds else '?'} | {edges} ({features}) | {corpus} | "
          f"{'yes' if crashed else 0} | {fixed.get(target, 0)} |")
