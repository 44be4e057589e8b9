#!/usr/bin/env bash
# Issue 17's measurement: a ConvMixer teacher trained for 20 epochs on 1000 CIFAR-10 images per class, then the
# study's 50-per-class cell (small, 60 epochs, the first paper's recipe) for timm and impulse3 over seeds 0-2, with
# hard and then soft distillation from it. The undistilled runs are the study's own records of the same cells
# (docs/study/runs/*-n50), made with the same arguments less the distillation ones. Finished runs are skipped;
# KINDS=soft runs only the soft column.
set -e
D=${DATA:-/work/shared/data/cifar-10-batches-bin}; V=${VITKIT:-/work/distill/vitkit}; W=${WORK:-/work/distill}
T=$W/teacher20
[ -f $T/last.safetensors ] || $V train --model convmixer_256_8_3_train --dataset cifar10 --data-dir $D --per-class 1000 \
    --epochs 20 -b 128 --lr 0.005 --warmup-epochs 2 --eval-every 5 --threads 2 -j 1 --seed 0 --output $T
for kind in ${KINDS:-hard soft}; do
  for seed in 0 1 2; do
    for i in timm impulse3; do
      out=$W/$i-$kind-seed$seed-n50
      [ -f $out/last.safetensors ] && continue
      $V train --model small --init $i --dataset cifar10 --data-dir $D --per-class 50 --seed $seed --epochs 60 -b 128 \
          --warmup-epochs 10 --eval-every 20 --threads 2 -j 1 --distill-teacher $T/last.safetensors --distill-type $kind \
          --output $out
    done
  done
done
