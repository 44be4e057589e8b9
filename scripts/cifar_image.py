#!/usr/bin/env python3
"""Writes image INDEX of a CIFAR-10 binary batch file as a PNG (for `vitkit init --image`; needs Pillow).

    python scripts/cifar_image.py DATA_DIR/test_batch.bin INDEX OUT.png
"""
import sys

from PIL import Image

path, index, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "rb") as f:
    f.seek(index * 3073)
    record = f.read(3073)
if len(record) != 3073:
    sys.exit(f"{path}: no image {index} (a record is 3073 bytes)")
label, planes = record[0], record[1:]
pixels = bytes(planes[c * 1024 + i] for i in range(1024) for c in range(3))
Image.frombytes("RGB", (32, 32), pixels).save(out)
print(f"{out}: image {index} of {path}, label {label}")
