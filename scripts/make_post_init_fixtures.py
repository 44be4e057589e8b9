#!/usr/bin/env python3
"""Fixture for the follow-up's closed-form impulse init (`post-impulse`): the attention statistics it gives at
init, computed in PyTorch float32 by a re-derivation of the reference's `impulse_init` (osiriszjq/
structured_initialization @7cd02f1, timm/models/vision_transformer.py L99-131, L717-728), averaged over seeds.
ViTKit's test draws its own embeddings and noise, so it compares these means within a tolerance.

    /tmp/torchref/bin/python scripts/make_post_init_fixtures.py   # writes Tests/ViTKitTests/Fixtures/post_impulse_stats.json
"""
import json
import os

import torch

ORDER = [4, 1, 5, 3, 7, 0, 2, 6, 8]
SEEDS = range(8)
CASES = [  # (grid, dim, heads, prefix rows in pos_embed)
    (8, 192, 3, 0),    # N = 64 <= hd: the fit is exact
    (14, 192, 3, 1),   # vit_tiny_patch16_224's grid, class-token row dropped
    (16, 192, 3, 0),   # vit_tiny_patch2_32's grid
    (8, 128, 8, 0),    # more heads than the identity and its 4 neighbours: taps beyond the first five
]


def targets(heads, grid):
    n = grid * grid
    h = torch.zeros(heads, n, n)
    for j in range(heads):
        tap = ORDER[j % 9]
        m, c = tap // 3 - 1, tap % 3 - 1
        for r in range(grid):
            for q in range(grid):
                if 0 <= r + m < grid and 0 <= q + c < grid:
                    h[j, r * grid + q, (r + m) * grid + (q + c)] = 1
    return h


def stats(grid, dim, heads, prefix, seed, norm_p=18.0, norm_q=7.0):
    torch.manual_seed(seed)
    n, hd = grid * grid, dim // heads
    pos_embed = torch.randn(n + prefix, dim) * 0.02 * norm_p
    pe = pos_embed[prefix:]
    h = targets(heads, grid)
    tmp = torch.empty_like(h)
    torch.nn.init.trunc_normal_(tmp, std=0.6)
    w = 1000.0 * h + 3.0 * tmp * (h == 0)
    p = torch.nn.functional.layer_norm(pe, [dim])
    u, s, v = torch.svd(p.T @ p)
    s_inv = torch.zeros_like(s)
    s_inv[:hd] = 1 / s[:hd]
    p_pinv = (v @ torch.diag(s_inv) @ u.T) @ p.T
    a = p_pinv @ w @ p_pinv.T
    u, s, v = torch.svd(a)
    root = torch.diag_embed(s[:, :hd].sqrt())
    q = u[:, :, :hd] @ root
    k = (v[:, :, :hd] @ root).transpose(-1, -2)
    q = q / q.norm(dim=(-1, -2), keepdim=True)
    k = k / k.norm(dim=(-1, -2), keepdim=True)
    out = []
    for j in range(heads):
        wq, wk = norm_q * q[j].T, norm_q * k[j]          # the q and k rows of qkv.weight
        att = torch.softmax((p @ wq.T) @ (p @ wk.T).T * hd ** -0.5, dim=-1)
        inside = h[j].sum(-1) > 0
        tgt = h[j].argmax(-1)
        out.append([att[inside].gather(1, tgt[inside, None]).mean().item(),
                    (att[inside].argmax(-1) == tgt[inside]).float().mean().item(),
                    ((att - h[j]) ** 2).mean().item()])
    return out


def main():
    cases = []
    for grid, dim, heads, prefix in CASES:
        per_seed = [stats(grid, dim, heads, prefix, s) for s in SEEDS]
        mean = [[sum(r[j][i] for r in per_seed) / len(per_seed) for i in range(3)] for j in range(heads)]
        spread = [[max(r[j][i] for r in per_seed) - min(r[j][i] for r in per_seed) for i in range(3)] for j in range(heads)]
        cases.append({"grid": grid, "dim": dim, "heads": heads, "prefix": prefix, "seeds": len(SEEDS),
                      "mean_target_mass_argmax_mse": mean, "range_over_seeds": spread})
        print(grid, dim, heads, [f"{m[0]:.3f}/{m[1]:.3f}/{m[2]:.1e}" for m in mean])
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "post_impulse_stats.json")
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)


if __name__ == "__main__":
    main()
