#!/usr/bin/env python3
"""Fixture: the images each rank takes per epoch from timm's RepeatAugSampler (`--aug-repeats`), for datasets of a
few sizes, repeat counts (3, and a fractional 2.5) and world sizes, with shuffle off (so the lists do not depend on
torch's randperm; ViTKit draws its own permutation and lays it out the same way).

    /tmp/torchref/bin/python scripts/make_sampler_fixtures.py   # writes Tests/ViTKitTests/Fixtures/timm_repeat_aug.json
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import import_timm  # noqa: E402

CASES = [(10, 3, 1), (10, 3, 2), (600, 3, 1), (600, 3, 2), (600, 2.5, 3), (300, 3, 4), (1000, 2, 2)]


def main():
    import_timm()
    from timm.data.distributed_sampler import RepeatAugSampler
    runs = []
    for n, repeats, world in CASES:
        ranks = [list(RepeatAugSampler(range(n), num_replicas=world, rank=r, shuffle=False, num_repeats=repeats))
                 for r in range(world)]
        runs.append({"count": n, "repeats": repeats, "world": world, "ranks": ranks})
        print(n, repeats, world, [len(r) for r in ranks], ranks[0][:7])
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "timm_repeat_aug.json")
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, "runs": runs}, f)


if __name__ == "__main__":
    main()
