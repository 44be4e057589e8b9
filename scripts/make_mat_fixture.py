#!/usr/bin/env python3
"""Writes Tests/ViTKitTests/Fixtures/svhn_scipy.mat: a 4-image SVHN-shaped MATLAB v5 file made by scipy
(compressed elements, as MATLAB's -v7 default), so the reader is checked against a real writer.

X[r, c, ch, i] = (7r + 3c + 50ch + 11i) mod 256 (uint8, 32x32x3x4), y = [1, 10, 3, 5] (double, 4x1).

    python scripts/make_mat_fixture.py      (needs numpy and scipy)
"""
import os

import numpy as np
import scipy.io

r, c, ch, i = np.meshgrid(np.arange(32), np.arange(32), np.arange(3), np.arange(4), indexing="ij")
X = ((7 * r + 3 * c + 50 * ch + 11 * i) % 256).astype(np.uint8)
y = np.array([[1], [10], [3], [5]], dtype=np.float64)
out = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "svhn_scipy.mat")
scipy.io.savemat(out, {"X": X, "y": y}, do_compression=True, format="5")
print(out, os.path.getsize(out), "bytes")
