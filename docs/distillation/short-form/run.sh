#!/usr/bin/env bash
# Issue 17's measurement, short form: a ConvMixer teacher on 1000 images per class, then the study's 50-per-class
# cell (small, 60 epochs, seed 0) for timm and impulse3 with hard distillation from it; the undistilled runs are the
# study's own records of the same cells.
set -e
D=/work/shared/data/cifar-10-batches-bin; V=/work/distill/vitkit
[ -f /work/distill/teacher/last.safetensors ] || $V train --model convmixer_256_8_3_train --dataset cifar10 --data-dir $D --per-class 1000 \
    --epochs 6 -b 128 --lr 0.005 --warmup-epochs 1 --eval-every 6 --threads 2 -j 1 --seed 0 --output /work/distill/teacher
for i in timm impulse3; do
  $V train --model small --init $i --dataset cifar10 --data-dir $D --per-class 50 --seed 0 --epochs 60 -b 128 --warmup-epochs 10 \
      --eval-every 20 --threads 2 -j 1 --distill-teacher /work/distill/teacher/last.safetensors --distill-type hard --output /work/distill/$i-hard-seed0-n50
done
