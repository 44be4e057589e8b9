#!/usr/bin/env python3
"""Writes CIFAR-10 (binary version) as an ImageFolder tree, root/{train,val}/<class>/<n>.<ext>, to measure
`vitkit train --dataset folder` against the same pictures in memory.

    python3 scripts/make_cifar_folder.py CIFAR_DIR OUT [--per-class 500] [--val-per-class 100]
                                         [--format png|jpg] [--upscale 1] [--quality 90]

`--upscale k` stores each picture k times larger (Pillow bicubic), so that the loader decodes, crops and resizes
bigger originals, as with photographs. Needs numpy and Pillow.
"""
import argparse, os
import numpy as np
from PIL import Image

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def read(path):
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)
    return raw[:, 0], raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def write(labels, images, out, per_class, args):
    count = [0] * 10
    for y, img in zip(labels, images):
        if count[y] >= per_class:
            continue
        d = os.path.join(out, CLASSES[y])
        os.makedirs(d, exist_ok=True)
        pic = Image.fromarray(img)
        if args.upscale > 1:
            pic = pic.resize((32 * args.upscale, 32 * args.upscale), Image.BICUBIC)
        name = os.path.join(d, f"{count[y]:05d}.{args.format}")
        pic.save(name, quality=args.quality) if args.format == "jpg" else pic.save(name)
        count[y] += 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cifar"); p.add_argument("out")
    p.add_argument("--per-class", type=int, default=500); p.add_argument("--val-per-class", type=int, default=100)
    p.add_argument("--format", choices=["png", "jpg"], default="png")
    p.add_argument("--upscale", type=int, default=1); p.add_argument("--quality", type=int, default=90)
    a = p.parse_args()
    parts = [read(os.path.join(a.cifar, f"data_batch_{i}.bin")) for i in range(1, 6)]
    write(np.concatenate([l for l, _ in parts]), np.concatenate([x for _, x in parts]),
          os.path.join(a.out, "train"), a.per_class, a)
    write(*read(os.path.join(a.cifar, "test_batch.bin")), os.path.join(a.out, "val"), a.val_per_class, a)


if __name__ == "__main__":
    main()
