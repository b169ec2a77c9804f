#!/bin/bash
# The NVIDIA benchmark, run on the lent GPU machine (the `device` tool) in one warm lease.
# MLX's CUDA wheel (~90 MB) is over one call's 64 MiB, so it travels in two parts
# (../shared/gpu/prepare-mlx-cuda.sh puts them in .gpu1/ and .gpu2/):
#
#   call 1 (carry .gpu1):  bash benchmarks/gpu_lease.sh stage1 [small|medium ...]
#       stashes part 1, reports the machine, writes the random checkpoints (default: both)
#   call 2 (carry .gpu2, right after call 1, while the machine is warm):
#                          bash benchmarks/gpu_lease.sh stage2 [bench|profile|kernels|batch|mma|batchbench|batchref|stages|verify|compare]
#       installs MLX-CUDA and every other wheel in .gpu2 (soundfile, which the image lacks and
#       oscgen.api imports: put it there once with `python3 -m pip download --no-deps
#       --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64 --platform
#       manylinux_2_17_x86_64 --platform any -d .gpu2 soundfile cffi pycparser`), then runs the benchmarks against
#       transformers (bench, the default), checks the CUDA step's kernels against the portable
#       step and times both (kernels: benchmarks/cuda_check.py, then the small bench), or
#       profiles the decode step (profile: kernel census
#       from MLX's CUDA graph dumps, MLX_MAX_OPS_PER_BUFFER sweep, then the small bench)
#   call 3 (optional, carry nothing, still warm): bash benchmarks/gpu_lease.sh stage2 medium
#       the CUDA kernels' check and the bench at musicgen-medium (stage2 kernels did small)
#   or: bash benchmarks/gpu_lease.sh stage3
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
  shift
  for size in ${@:-small medium}; do
    python3 -m oscgen.bench build $size $OSCGEN_CACHE/bench/musicgen-$size-random > $OUT/build-$size.log 2>&1 &
  done
  wait
  tail -n 3 $OUT/build-*.log
  du -sh $OSCGEN_CACHE/bench/*
  ;;
stage2)
  if [ -d .gpu2 ]; then  # a later call in the same warm lease carries nothing: installed already
    name=$(cat .gpu2/NAME)
    cat /root/stash/part.aa .gpu2/part.ab > /root/stash/$name || exit 1
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site /root/stash/$name .gpu2/*.whl || exit 1
  fi
  python3 -c "import mlx.core as mx; a = mx.random.normal((1024, 1024)); print('mlx', mx.__version__, mx.default_device(), float((a @ a).sum()))" || exit 1
  small=$OSCGEN_CACHE/bench/musicgen-small-random
  if [ "${2:-bench}" = kernels ]; then
    # the CUDA step's kernels against the portable step on this GPU (exit 1 on a failed check),
    # their timing in the pipeline's loop; then, if they pass, the bench on them
    timeout 300 python3 benchmarks/cuda_check.py $small --json $OUT/cuda-check-small.json 2>&1 | tee $OUT/cuda-check-small.log | tail -n 30
    [ "${PIPESTATUS[0]}" = 0 ] || exit 1
    bench --model small --dtype float16 --reference-dtype float32 --json $OUT/gpu-small-f16.json 2>&1 | tee $OUT/gpu-small-f16.log | tail -n 25
  elif [ "${2:-bench}" = batch ]; then
    # the CUDA step at 8 takes of one prompt (16 rows with guidance) against the portable step,
    # and its step at 1 and 8 takes (issue 17's "8 takes <= 1.3x the step of one")
    timeout 400 python3 benchmarks/cuda_check.py $small --batch 8 --json $OUT/cuda-check-batch8.json 2>&1 | tee $OUT/cuda-check-batch8.log | tail -n 20
  elif [ "${2:-bench}" = mma ]; then
    # the GEMVs on the tensor cores (kernels.TENSOR_CORE_ROWS, off by default until this passes):
    # checked against the portable step at 1 take (forced on at 2 rows) and 8, then the step of
    # 8 takes with and without them against one take's
    for rows in 2 4; do
      OSCGEN_CUDA_MMA_ROWS=$rows timeout 200 python3 benchmarks/cuda_check.py $small --dtypes float16 bfloat16 --steps 120 \
        --batch $([ $rows = 2 ] && echo 1 || echo 8) --json $OUT/cuda-check-mma-rows$rows.json 2>&1 | tee $OUT/cuda-check-mma-rows$rows.log | tail -n 14
    done
    timeout 150 python3 benchmarks/cuda_check.py $small --dtypes float16 --batch 8 --steps 60 --json $OUT/cuda-check-cores-batch8.json 2>&1 | tail -n 8
  elif [ "${2:-bench}" = batchbench ]; then
    # issue 17's bench on the GPU: 1/2/4/8 takes of 10 s in one pass against transformers' batched
    # generate, both float16; once with the tensor-core GEMVs (rows >= 4) and once without
    for rows in 4 0; do
      OSCGEN_CUDA_MMA_ROWS=$rows timeout 280 python3 -m oscgen bench --device gpu --batch 1,2,4,8 --duration 10 \
        --dtype float16 --reference-dtype float16 $([ $rows = 0 ] && echo --no-reference) \
        --json $OUT/gpu-batch-small-f16-mma$rows.json 2>&1 | tee $OUT/gpu-batch-mma$rows.log | tail -n 12
    done
  elif [ "${2:-bench}" = batchref ]; then
    # issue 17's comparison alone: 1/2/4/8 takes of 5 s against transformers' batched generate,
    # both float16 (batchbench's 10 s takes with transformers ran past its 280 s)
    timeout 540 python3 -m oscgen bench --device gpu --batch 1,2,4,8 --duration 5 --dtype float16 \
      --reference-dtype float16 --json $OUT/gpu-batch-small-f16-vs-tf.json 2>&1 | tee $OUT/gpu-batch-vs-tf.log | tail -n 14
  elif [ "${2:-bench}" = stages ]; then
    # the first layer's per-stage µs at 1, 2, 4 and 8 takes (where 8 takes' extra step time goes)
    timeout 300 python3 benchmarks/cuda_check.py $small --stages 1 2 4 8 --json $OUT/cuda-stages-by-takes.json 2>&1 | tail -n 80
  elif [ "${2:-bench}" = verify ]; then
    # a short re-check of the current code: one take and eight, float16, fewer steps
    timeout 200 python3 benchmarks/cuda_check.py $small --dtypes float16 --steps 120 --json $OUT/cuda-check-verify.json 2>&1 | tee $OUT/cuda-check-verify.log | tail -n 12
    timeout 150 python3 benchmarks/cuda_check.py $small --batch 8 --steps 60 --json $OUT/cuda-check-verify-batch8.json 2>&1 | tail -n 8
  elif [ "${2:-bench}" = compare ]; then
    # this code against base/ (an earlier commit's oscgen/ and benchmarks/, where carried): the
    # checks at 1 and 8 takes, the first layer's stages at 1 and 8 takes, the steps, then the
    # whole job at 1 and 8 takes; JSON and logs under $OUT, a digest printed
    digest() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); t=d.get('timing'); c=d.get('check', d.get('checks'))
print('check', json.dumps(c)); [print('timing', r['prompts'], 'fused' if r['fused'] else 'portable', {k: v for k, v in r.items() if 'ms' in k}) for r in t or []]" "$1"; }
    stages() { python3 -c "import json,sys; d=json.load(open(sys.argv[1]))
for n, by in d.items():
  for p, vs in by.items():
    for v, st in vs.items(): print(n, 'takes pos', p, v, st)" "$1"; }
    timeout 230 python3 benchmarks/cuda_check.py $small --dtypes float16 --steps 120 --json $OUT/verify1.json > $OUT/log-new.txt 2>&1
    echo "verify 1 take: rc $?"; tail -n 3 $OUT/log-new.txt; digest $OUT/verify1.json
    timeout 100 python3 benchmarks/cuda_check.py $small --batch 8 --steps 60 --json $OUT/verify8.json >> $OUT/log-new.txt 2>&1
    echo "verify 8 takes: rc $?"; tail -n 1 $OUT/log-new.txt; digest $OUT/verify8.json
    timeout 80 python3 benchmarks/cuda_check.py $small --stages 1 8 --json $OUT/stages-new.json >> $OUT/log-new.txt 2>&1
    echo "stages new: rc $?"; stages $OUT/stages-new.json
    if [ -d base ]; then
      (cd base && PYTHONPATH=/tmp/site:$PWD timeout 100 python3 benchmarks/cuda_check.py $small --batch 8 --steps 60 --json $OUT/base-verify8.json >> $OUT/log-new.txt 2>&1
       echo "base 8 takes: rc $?"; digest $OUT/base-verify8.json
       PYTHONPATH=/tmp/site:$PWD timeout 80 python3 benchmarks/cuda_check.py $small --stages 1 8 --json $OUT/base-stages.json >> $OUT/log-new.txt 2>&1
       echo "base stages: rc $?"; stages $OUT/base-stages.json)
    fi
    # one take with the warp attention too (checked, then its step)
    OSCGEN_CUDA_WARP_ATTN_ROWS=1 timeout 70 python3 benchmarks/cuda_check.py $small --batch 1 --steps 60 \
      --json $OUT/warp1.json >> $OUT/log-new.txt 2>&1
    echo "1 take, warp attention: rc $?"; digest $OUT/warp1.json
    timeout 90 python3 -m oscgen bench --device gpu --batch 1,8 --duration 10 --dtype float16 --no-reference \
      --json $OUT/bench-new.json 2>&1 | tail -n 8
  elif [ "${2:-bench}" = medium ]; then
    # (a later call, the machine still warm: MLX-CUDA is installed) the same at musicgen-medium
    medium=$OSCGEN_CACHE/bench/musicgen-medium-random
    timeout 300 python3 benchmarks/cuda_check.py $medium --dtypes float16 --json $OUT/cuda-check-medium.json 2>&1 | tee $OUT/cuda-check-medium.log | tail -n 30
    [ "${PIPESTATUS[0]}" = 0 ] || exit 1
    bench --model medium --steps 503 --dtype float16 --reference-dtype float32 --json $OUT/gpu-medium-f16.json 2>&1 | tee $OUT/gpu-medium-f16.log | tail -n 25
  elif [ "${2:-bench}" = profile ]; then
    # one step's kernels, from the CUDA graphs MLX dumps (one graph per step: no op limit); this
    # first process also pays MLX's kernel compilation on a fresh machine (warm_up_first_s)
    mkdir -p /tmp/dot
    MLX_SAVE_CUDA_GRAPHS_DOT_FILE=/tmp/dot/g MLX_MAX_OPS_PER_BUFFER=100000 \
      python3 benchmarks/step_profile.py $small --no-variants --steps 100 --json $OUT/census.json | head -c 6000
    for ops in 100 300 1000; do  # ops per CUDA graph MLX submits (its H100/H200 default: 100)
      MLX_MAX_OPS_PER_BUFFER=$ops python3 benchmarks/step_profile.py $small --json $OUT/ops$ops.json | grep -E '"(wall|host)|mlx"|matmul"'
    done
    bench --model small --dtype float16 --reference-dtype float32 --json $OUT/gpu-small-f16.json 2>&1 | tee $OUT/gpu-small-f16.log | tail -n 25
  else
    bench --model small --dtype float16 --reference-dtype float32 --json $OUT/gpu-small-f16.json 2>&1 | tee $OUT/gpu-small-f16.log | tail -n 25
    bench --model medium --steps 503 --dtype float16 --reference-dtype float32 --json $OUT/gpu-medium-f16.json 2>&1 | tee $OUT/gpu-medium-f16.log | tail -n 25
    python3 benchmarks/step_profile.py $small --json $OUT/profile-small-f16.json | head -c 3500
    mkdir -p /tmp/dot
    MLX_SAVE_CUDA_GRAPHS_DOT_FILE=/tmp/dot/g MLX_MAX_OPS_PER_BUFFER=100000 \
      python3 benchmarks/step_profile.py $small --no-variants --steps 100 --json $OUT/census.json | grep -E '"(graphs|labels)_per_step|fused'
  fi
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
