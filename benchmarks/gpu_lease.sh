#!/bin/bash
# The NVIDIA benchmark, run on the lent GPU machine (the `device` tool) in one warm lease.
# MLX's CUDA wheel (~90 MB) is over one call's 64 MiB, so it travels in two parts
# (../shared/gpu/prepare-mlx-cuda.sh puts them in .gpu1/ and .gpu2/):
#
#   call 1 (carry .gpu1):  bash benchmarks/gpu_lease.sh stage1
#       stashes part 1, reports the machine, writes the random small/medium checkpoints
#   call 2 (carry .gpu2, right after call 1, while the machine is warm):
#                          bash benchmarks/gpu_lease.sh stage2
#       installs MLX-CUDA (+ soundfile, not in the image) and runs the benchmarks
#   call 3 (optional, carry nothing, still warm): bash benchmarks/gpu_lease.sh stage3
#       the oscgen-only variants and the quality measurement
#
# Everything worth keeping is written under $OUT (JSON + logs).
set -uo pipefail
export OSCGEN_CACHE=/root/oscgen-cache PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
export PYTHONPATH=/tmp/site:$PWD
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
bench() { python3 -m oscgen bench --device gpu "$@"; }

case "${1:-}" in
stage1)
  mkdir -p /root/stash && cp .gpu1/* /root/stash/ || exit 1
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  python3 -V
  python3 -c "import torch, transformers, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(), 'transformers', transformers.__version__, 'numpy', numpy.__version__)"
  ls; git log -1 --oneline 2>/dev/null || true
  mkdir -p $OSCGEN_CACHE/bench
  # numpy writer, one process per size, in parallel (16 cores here)
  python3 -m oscgen.bench build small $OSCGEN_CACHE/bench/musicgen-small-random > $OUT/build-small.log 2>&1 &
  python3 -m oscgen.bench build medium $OSCGEN_CACHE/bench/musicgen-medium-random > $OUT/build-medium.log 2>&1 &
  wait
  tail -3 $OUT/build-*.log
  du -sh $OSCGEN_CACHE/bench/*
  ;;
stage2)
  name=$(cat .gpu2/NAME)
  cat /root/stash/part.aa .gpu2/part.ab > /root/stash/$name || exit 1
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site /root/stash/$name .gpu2/*.whl || exit 1
  python3 -c "import mlx.core as mx; a = mx.random.normal((1024, 1024)); print('mlx', mx.__version__, mx.default_device(), float((a @ a).sum()))" || exit 1
  small=$OSCGEN_CACHE/bench/musicgen-small-random
  # where the step's time goes (host vs device), fold on/off, EnCodec kernels; then one MLX knob
  python3 benchmarks/step_profile.py $small --json $OUT/profile-small-f16.json 2>&1 | tail -45
  MLX_MAX_OPS_PER_BUFFER=400 python3 benchmarks/step_profile.py $small --json $OUT/profile-small-f16-ops400.json 2>&1 | grep -E "wall_ms|host_" | head -4
  bench --model small --dtype float16 --reference-dtype float32 --json $OUT/gpu-small-f16.json 2>&1 | tee $OUT/gpu-small-f16.log | tail -30
  bench --model medium --steps 503 --dtype float16 --reference-dtype float32 --json $OUT/gpu-medium-f16.json 2>&1 | tee $OUT/gpu-medium-f16.log | tail -30
  ;;
stage3)
  for v in "--dtype float32" "--dtype bfloat16" "--quantize 8" "--quantize 4"; do
    tag=$(echo $v | tr -d ' -')
    bench --model small --no-reference $v --json $OUT/gpu-small-$tag.json 2>&1 | tail -22
  done
  python3 benchmarks/quality.py --model small --seconds 10 --device gpu --json $OUT/gpu-quality-small.json 2>&1 | tail -6
  ;;
*)
  echo "usage: $0 stage1|stage2|stage3" >&2
  exit 2
  ;;
esac
