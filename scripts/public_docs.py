#!/usr/bin/env python3
"""Checks that every public declaration of the library modules has a `///` comment above it (attributes may sit
between the two); prints each one that lacks it and exits 1 when any does. The CLI and the executables are left
out: their declarations are not library API.

    python3 scripts/public_docs.py
"""
import os
import re
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources")
skip = {"ViTKitCLI", "vitkit"}
decl = re.compile(r"^(@\w+(\([^)]*\))?\s+)*(public|open)\b(?!\s+(import|extension)\b)")
attribute = re.compile(r"^@\w+(\([^)]*\))?(\s+@\w+(\([^)]*\))?)*$")
total, missing = 0, []
for module in sorted(os.listdir(root)):
    if module in skip or module.startswith("C"):
        continue
    for folder, _, files in sorted(os.walk(os.path.join(root, module))):
        for name in sorted(f for f in files if f.endswith(".swift")):
            path = os.path.join(folder, name)
            lines = open(path, encoding="utf-8").read().split("\n")
            for i, line in enumerate(lines):
                if not decl.match(line.strip()):
                    continue
                total += 1
                j = i - 1
                while j >= 0 and attribute.match(lines[j].strip()):
                    j -= 1
                if j < 0 or not lines[j].strip().startswith("///"):
                    missing.append(f"{os.path.relpath(path, os.path.join(root, '..'))}:{i + 1}: {line.strip()}")
for m in missing:
    print("undocumented:", m)
print(f"public declarations: {total}, documented: {total - len(missing)}")
sys.exit(1 if missing else 0)
