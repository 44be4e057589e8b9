#!/usr/bin/env bash
# The study (issue 15): part 1, 100 images per class; the binary copied here so rebuilding the checkout does not touch it.
exec /work/study/vitkit sweep --inits timm,skip,mimetic0.7_0.7,impulse3,post-impulse --seeds 0,1,2 --per-class "${1:-100}" \
    --output /work/study -- --dataset cifar10 --data-dir /work/shared/data/cifar-10-batches-bin --epochs 60 -b 128 \
    --warmup-epochs 10 --eval-every 20 --threads 2 -j 1
