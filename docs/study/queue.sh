#!/usr/bin/env bash
# The rest of the study, one job at a time after the running sweep: PyTorch's timm and impulse3 on the same
# cells (100 per class, seeds 0-2), then the sweep's 50-per-class column. Each step skips what is done.
while pgrep -f "vitkit sweep" >/dev/null; do sleep 30; done
cd /work/shared/reference
for s in 0 1 2; do
    for i in timm impulse3; do
        log=/work/study/torch/$i-seed$s-n100.log
        grep -q "^epoch=60 " "$log" 2>/dev/null && continue
        /tmp/torchref/bin/python torch_train_ref.py --data-dir /work/shared/data/cifar-10-batches-bin --config small --sincos \
            --per-class 100 --epochs 60 --batch 128 --warmup-epochs 10 --flip --aa rand-m9-mstd0.5-inc1 --seed $s \
            --init $i --eval-every 20 --threads 2 > "$log.part" 2>&1 && mv "$log.part" "$log"
    done
done
/work/study/run.sh 50,100
