"""Compile the CUDA decode step's kernels here, without a GPU: each template instance the
pipeline launches, wrapped as MLX's mx.fast.cuda_kernel wraps it (mlx/backend/cuda/custom_kernel.cpp:
the __global__ signature from the input/output names, template constants as constexprs), built
by nvcc for sm_90a (the H200) with ptxas' register and spill report.  A syntax error or a spill
found here costs no device time.

    python benchmarks/cuda_compile.py [--rows 2 16] [--dtypes float16 bfloat16 float32] [--model small medium]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mlx.core as mx  # noqa: E402

from oscgen.musicgen.cuda import kernels  # noqa: E402

CUDA_TYPES = {mx.float16: "__half", mx.bfloat16: "__nv_bfloat16", mx.float32: "float", mx.int32: "int32_t",
              mx.uint32: "uint32_t"}
# (hidden, heads, ffn, text tokens) per model; head_dim 64, 4 codebooks of 2048
MODELS = {"small": (1024, 16, 4096, 19), "medium": (1536, 24, 6144, 19)}
BLOCKS = 132  # the H200's multiprocessors

PRELUDE = """
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cuda/std/limits>
#include <cstdint>
#include <cooperative_groups.h>
struct Shape { int32_t v[10]; __device__ int32_t operator[](int i) const { return v[i]; } };
"""


def wrap(name: str, header: str, source: str, inputs: list, outputs: list, template: list) -> str:
    """The kernel as MLX generates it: inputs (name, dtype) as const pointers (+ name_shape where
    the source uses it), outputs as pointers, template constants first in the body."""
    params = []
    for arg, dtype in inputs:
        params.append(f"    const {CUDA_TYPES[dtype]}* {arg}")
        if f"{arg}_shape" in source:
            params.append(f"    const __grid_constant__ Shape {arg}_shape")
    params += [f"    {CUDA_TYPES[dtype]}* {arg}" for arg, dtype in outputs]
    constants = []
    for key, value in template:
        if isinstance(value, bool):
            constants.append(f"  constexpr bool {key} = {'true' if value else 'false'};")
        elif isinstance(value, int):
            constants.append(f"  constexpr int {key} = {value};")
        else:
            constants.append(f"  using {key} = {CUDA_TYPES[value]};")
    return (PRELUDE + header + "namespace mlx::core::cu {\nnamespace cg = cooperative_groups;\n"
            f"__global__ void {name}(\n" + ",\n".join(params) + ") {\n" + "\n".join(constants) + "\n"
            + source + "\n}\n}\n")


def instances(models, rows_list, dtypes):
    for model in models:
        D, H, F, text = MODELS[model]
        HT = H * text
        for rows in rows_list:
            for dtype in dtypes:
                T = dtype
                layer_in = [(n, {"pos": mx.int32, "cond": mx.int32, "bar": mx.uint32}.get(n, T)) for n in kernels.LAYER_INPUTS]
                yield (f"{model}-layer-B{rows}-{str(dtype).split('.')[-1]}", "oscgen_layer", kernels.LAYER_SOURCE, layer_in,
                       [("out", T), ("scratch", mx.float32)], kernels.layer_template(T, rows, D, H, 64, F, HT, BLOCKS))
                ints = {"pos", "frames", "delays", "topk"}
                head_in = [(n, mx.int32 if n in ints else mx.uint32 if n == "bar" else
                            mx.float32 if n in ("noise", "knobs") else T) for n in kernels.HEAD_INPUTS]
                yield (f"{model}-head-B{rows}-{str(dtype).split('.')[-1]}", "oscgen_head", kernels.HEAD_SOURCE, head_in,
                       [("tokens", mx.int32), ("logits", mx.float32), ("raw", mx.float32)],
                       kernels.head_template(T, rows, rows // 2, True, D, 4, 2048, False, False, False, 2048, BLOCKS))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2, 16])
    parser.add_argument("--dtypes", nargs="+", default=["float16", "bfloat16", "float32"])
    parser.add_argument("--model", nargs="+", default=["small"], choices=sorted(MODELS))
    parser.add_argument("--mma-rows", type=int, default=4,
                        help="rows from which the GEMVs use the tensor cores (kernels.TENSOR_CORE_ROWS)")
    args = parser.parse_args()
    kernels.TENSOR_CORE_ROWS = args.mma_rows
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        print("nvcc not found", file=sys.stderr)
        return 2
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for tag, name, source, inputs, outputs, template in instances(args.model, args.rows,
                                                                      [getattr(mx, d) for d in args.dtypes]):
            path = Path(tmp) / f"{tag}.cu"
            path.write_text(wrap(name, kernels.HEADER, source, inputs, outputs, template))
            run = subprocess.run([nvcc, "-arch=sm_90a", "-cubin",
                                  "-Xptxas", "-v", "-o", str(path.with_suffix(".cubin")), str(path)],
                                 capture_output=True, text=True)
            report = run.stderr
            regs = re.findall(r"Used (\d+) registers", report)
            spills = re.findall(r"(\d+) bytes spill stores", report)
            ok = run.returncode == 0
            failed += not ok
            tc = "tensor cores" if dict(template)["TC"] else "CUDA cores"
            print(f"{tag:32s} {tc:12s} {'ok' if ok else 'FAILED'}  registers {','.join(regs) or '-'}  spill stores {','.join(spills) or '-'}")
            if not ok:
                print(report[-4000:])
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
