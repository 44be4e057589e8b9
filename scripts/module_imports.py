#!/usr/bin/env python3
"""Prints which ViTKit modules each module imports (from the `import` lines of its sources) and checks that the
graph has no cycle; exits 1 if it has one, or if a module imports one that Package.swift does not list for it.

    python3 scripts/module_imports.py
"""
import os
import re
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sources = os.path.join(root, "Sources")
package = open(os.path.join(root, "Package.swift")).read()
declared = {}
for m in re.finditer(r'\.(?:target|executableTarget)\(\s*name:\s*"([\w-]+)"\s*,\s*dependencies:\s*\[([^\]]*)\]', package):
    declared[m.group(1)] = set(re.findall(r'"(\w+)"', m.group(2)))

modules = sorted(d for d in os.listdir(sources) if os.path.isdir(os.path.join(sources, d)) and not d.startswith("C"))
imports = {}
for mod in modules:
    found = set()
    for folder, _, files in os.walk(os.path.join(sources, mod)):
        for f in files:
            if f.endswith(".swift"):
                for line in open(os.path.join(folder, f)):
                    m = re.match(r"\s*(?:@_exported\s+)?import\s+(\w+)", line)
                    if m and (m.group(1) in modules):
                        found.add(m.group(1))
    imports[mod] = found

bad = False
for mod in modules:
    undeclared = imports[mod] - declared.get(mod, set())
    note = f"   (not in Package.swift: {', '.join(sorted(undeclared))})" if undeclared else ""
    bad |= bool(undeclared)
    print(f"{mod:16s} imports {', '.join(sorted(imports[mod])) or '(no ViTKit module)'}{note}")

# a cycle is a path back to where it started; depth-first search with colours
state, stack = {}, []


def visit(m):
    global bad
    state[m] = "open"
    stack.append(m)
    for d in sorted(imports.get(m, ())):
        if state.get(d) == "open":
            print("cycle: " + " -> ".join(stack[stack.index(d):] + [d]))
            bad = True
        elif d not in state:
            visit(d)
    stack.pop()
    state[m] = "done"


for mod in modules:
    if mod not in state:
        visit(mod)
print("no cycles" if not bad else "FAILED")
sys.exit(1 if bad else 0)
