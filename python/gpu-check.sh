#!/usr/bin/env bash
# The PyTorch engine's checks on a CUDA machine, as one script: the test suite on that machine's torch
# (FSDP included where torch >= 2), then short training runs on the GPU — bf16 and fp16 autocast, DDP and
# FSDP over NCCL started by torchrun — and a validation of the last checkpoint. Everything it prints goes to
# standard output and to $OUT (default ./gpu-check-out); a step that fails is reported and the others still run.
#
# Needs: the generated model files and a dataset made by the .NET CLI on any machine first:
#   segmenter make-dataset --out artifacts/gpu/ade --layout ade20k --train 48 --val 8 --min-size 256 --max-size 512
#   for m in SegT16 SegTMask16 SegB16; do segmenter emit $m --target pytorch --out artifacts/gpu/$m.py; done
# Usage (from the repository root): bash python/gpu-check.sh [artifacts/gpu]
set -u
INPUTS=$(realpath "${1:-artifacts/gpu}")
OUT=$(realpath -m "${OUT:-gpu-check-out}")
RUNS=$(realpath -m "${RUNS:-/tmp/segmenter-gpu-runs}")   # checkpoints stay here; their metrics are copied to $OUT
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
cd "$(dirname "$0")"
export PYTHONPATH=$PWD PYTHONFAULTHANDLER=1   # a step stopped at its limit prints where each thread was
failures=0

step() {   # step NAME SECONDS COMMAND...: runs one check with a time limit, logs it, records pass or fail
    local name=$1 limit=$2; shift 2
    echo "=== $name: $*" | tee -a "$OUT/summary.txt"
    local start=$SECONDS
    timeout -s ABRT -k 10 "$limit" "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    tail -n 25 "$OUT/$name.log"
    echo "--- $name: exit $rc in $((SECONDS - start)) s" | tee -a "$OUT/summary.txt"
    [ $rc -eq 0 ] || failures=$((failures + 1))
}

{ nvidia-smi -L; "$PYTHON" -c "import torch, platform; print('python', platform.python_version(), 'torch', torch.__version__, 'cuda', torch.version.cuda, 'nccl', torch.distributed.is_nccl_available(), torch.cuda.get_device_name(0))"; } 2>&1 | tee "$OUT/machine.txt"

step pytest 150 "$PYTHON" -m pytest -q -p no:cacheprovider tests

train() {   # train NAME MODEL EXTRA...: a short run on the GPU, validated at the end
    local name=$1 model=$2; shift 2
    step "$name" 80 "$PYTHON" -m segmenter_torch.train --model "$INPUTS/$model.py" --data "$INPUTS/ade" --dataset ade20k \
        --iters 30 --batch 8 --lr 0.001 --crop 512 --log-every 10 --workers 4 --seed 0 --device cuda \
        --out "$RUNS/$name" "$@"
}
train t16-bf16 SegT16 --amp bf16
train t16-fp16 SegT16 --amp fp16
train t16-fsdp SegT16 --amp bf16 --strategy fsdp
step tmask16-ddp-nccl 90 "$PYTHON" -m torch.distributed.run --standalone --nproc_per_node 1 -m segmenter_torch.train \
    --model "$INPUTS/SegTMask16.py" --data "$INPUTS/ade" --dataset ade20k --iters 30 --batch 8 --crop 512 --log-every 10 \
    --workers 4 --device cuda --amp bf16 --out "$RUNS/tmask16-ddp"
step b16-fsdp-nccl 120 "$PYTHON" -m torch.distributed.run --standalone --nproc_per_node 1 -m segmenter_torch.train \
    --model "$INPUTS/SegB16.py" --data "$INPUTS/ade" --dataset ade20k --iters 30 --batch 8 --crop 512 --log-every 10 \
    --workers 4 --device cuda --amp bf16 --strategy fsdp --out "$RUNS/b16-fsdp"
step t16-evaluate 60 "$PYTHON" -m segmenter_torch.evaluate --model "$INPUTS/SegT16.py" --checkpoint "$RUNS/t16-bf16/last.safetensors" \
    --data "$INPUTS/ade" --dataset ade20k --mode slide --device cuda --json

for run in "$RUNS"/*/; do
    mkdir -p "$OUT/runs/$(basename "$run")" && cp "$run"/metrics.jsonl "$run"/config.json "$OUT/runs/$(basename "$run")/" 2>/dev/null
done
cp "$RUNS/t16-bf16/last.safetensors" "$OUT/runs/t16-bf16/" 2>/dev/null   # for the .NET engine to evaluate
echo "failures: $failures" | tee -a "$OUT/summary.txt"
exit $failures
