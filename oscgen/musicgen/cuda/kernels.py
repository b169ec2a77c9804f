"""The decode step's CUDA kernels, as ``mx.fast.cuda_kernel`` bodies (NVRTC-compiled by MLX on
first use, per template instance): layer_kernel.cu and head_kernel.cu after the helpers in
decode_step.cuh; the small embedding kernel is written here.

Three kinds, one launch each:
- ``embed``: the codebook embeddings of a position summed, plus its sinusoid (rows duplicated for
  guidance);
- ``layer``: one whole decoder layer, its stages separated by grid-wide barriers
  (decode_step.cuh says why and how);
- ``head``: final LayerNorm, the codebook heads, classifier-free guidance, top-k and the Gumbel
  draw from noise MLX made with the step's key, and the delay pattern → next tokens.

The self-attention cache is written in place by ``layer`` (it is an input: MLX's custom kernels
allocate fresh outputs, and a cache copy per step would cost more than the step).  So these
kernels may only run where each step's launches depend on the previous step's (the pipeline's
chained steps); reference.py holds the same maths in numpy, tested on the CPU.
"""

from __future__ import annotations

import ctypes
import os
from functools import cache
from pathlib import Path

import mlx.core as mx

THREADS = 512  # 16 warps a block: one block per multiprocessor must hold the layer's registers
_HERE = Path(__file__).parent
HEADER = (_HERE / "decode_step.cuh").read_text()

LAYER_INPUTS = ["x", "pos", "ln1_w", "ln1_b", "w_qkv", "cache", "w_o", "ln2_w", "ln2_b", "cross_a",
                "cross_bt", "cross_mask", "cond", "ln3_w", "ln3_b", "w_fc1", "w_fc2", "w_next", "bar"]
#: stage-boundary timestamps at the end of the layer's scratch (see stage_times)
STAMPS = 8

LAYER_SOURCE = (_HERE / "layer_kernel.cu").read_text()

HEAD_INPUTS = ["x", "lnf_w", "lnf_b", "w_head", "noise", "knobs", "topk", "pos", "frames", "delays", "w_next",
               "bar"]

HEAD_SOURCE = (_HERE / "head_kernel.cu").read_text()


def embed_source(codebooks: int) -> tuple[list[str], str]:
    """Inputs and body of the embedding kernel for ``codebooks`` tables (one input each)."""
    names = ["tokens", "pos", "table"] + [f"emb{k}" for k in range(codebooks)]
    # summed in T one table at a time, as the plain path's python sum does
    adds = "\n".join(f"  acc = from_f<T>(to_f(acc) + to_f(emb{k}[(size_t)tokens[row * KC + {k}] * D + d]));"
                     for k in range(1, codebooks))
    body = f"""
  using namespace oscgen;
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= B * D) return;
  const int b = i / D, d = i % D, row = b % N;
  T acc = emb0[(size_t)tokens[row * KC] * D + d];
{adds}
  x[i] = from_f<T>(to_f(acc) + to_f(table[(size_t)pos[0] * D + d]));
"""
    return names, body


@cache
def _kernel(kind: str, shared_memory: int, codebooks: int = 4):
    if kind == "layer":
        return mx.fast.cuda_kernel(name="oscgen_layer", input_names=LAYER_INPUTS, output_names=["out", "scratch"],
                                   source=LAYER_SOURCE, header=HEADER, shared_memory=shared_memory)
    if kind == "head":
        return mx.fast.cuda_kernel(name="oscgen_head", input_names=HEAD_INPUTS, output_names=["tokens", "logits", "raw"],
                                   source=HEAD_SOURCE, header=HEADER, shared_memory=shared_memory)
    names, body = embed_source(codebooks)
    return mx.fast.cuda_kernel(name=f"oscgen_embed{codebooks}", input_names=names, output_names=["x"],
                               source=body, header=HEADER)


def rows_per_warp(rows: int, blocks: int, batch: int) -> int:
    """GEMV rows a warp keeps in flight: enough for one pass over the matrix, at most 4, and at
    most 16 accumulators (rows x batch) so the registers hold them."""
    return max(1, min(4, 16 // batch, -(-rows // (blocks * THREADS // 32))))


def split_k(rows: int, blocks: int) -> int:
    """Warps of a block that split one 16-row tile's K on the tensor cores (gemv_mma): enough
    tiles x warps to fill the grid's warps, a power of two dividing the block's 16."""
    warps, tiles = blocks * THREADS // 32, -(-rows // 16)
    ks = 1
    while ks < THREADS // 32 and tiles * ks * 2 <= warps:
        ks *= 2
    return ks


#: The GEMVs on the tensor cores (gemv_mma, 16-bit weights only) from this many activation rows
#: up (rows = takes x 2 with guidance); fewer rows stay on the CUDA cores (gemv_cores).  Measured
#: on an H200 (2026-12-02, benchmarks/RESULTS.md): at 2 rows the tensor cores are slower (1.56 vs
#: 1.43 ms a small float16 step), from 4 rows faster (8 takes: 2.53 vs 4.19 ms).
#: OSCGEN_CUDA_MMA_ROWS=N moves the threshold; 0 keeps every GEMV on the CUDA cores.
TENSOR_CORE_ROWS = int(os.environ.get("OSCGEN_CUDA_MMA_ROWS", "4")) or None


def tensor_cores(rows: int, dtype) -> bool:
    return TENSOR_CORE_ROWS is not None and dtype in (mx.float16, mx.bfloat16) and rows >= TENSOR_CORE_ROWS


def mma_scratch_bytes(rows: int) -> int:
    """gemv_mma's shared partial tiles: every warp's NT x 4 x 32 floats."""
    return (THREADS // 32) * -(-rows // 8) * 4 * 32 * 4


def staged_bytes(rows: int, width: int, itemsize: int) -> int:
    return -(-rows * width * itemsize // 16) * 16


def gemv_template(name: str, rows: int, batch: int, blocks: int) -> list:
    """The template constants of one GEMV of ``rows`` output rows: R_name (CUDA cores), KS_name
    (tensor cores)."""
    return [(f"R_{name}", rows_per_warp(rows, blocks, batch)), (f"KS_{name}", split_k(rows, blocks))]


@cache
def multiprocessors() -> int:
    """The GPU's multiprocessor count, from the driver MLX already loaded (one block each)."""
    lib = ctypes.CDLL("libcuda.so.1")
    count, device = ctypes.c_int(), ctypes.c_int()
    if lib.cuInit(0) or lib.cuDeviceGet(ctypes.byref(device), 0):
        raise RuntimeError("CUDA driver not usable")
    if lib.cuDeviceGetAttribute(ctypes.byref(count), 16, device):  # CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
        raise RuntimeError("CUDA driver did not report the multiprocessor count")
    return count.value


def layer_scratch_size(B: int, D: int, H: int, HD: int, F: int, HT: int, S: int) -> int:
    """float32 words: q, the split states, x1, cross scores, x2, then (16-byte aligned) GELU(fc1)
    and the merged attention output (each in T, room for float32), the stamps last."""
    def pad(n: int) -> int:
        return -(-n // 4) * 4
    return pad(B * D * 3 + B * H * S * (HD + 2) + B * HT) + pad(B * F) + pad(B * D) + STAMPS


def stage_times(scratch: mx.array) -> list[float]:
    """µs of each stage of one layer launch (block 0's view), from its scratch output:
    q/k/v, attention, out_proj, cross scores, cross output, fc1, fc2."""
    stamps = [int(v) for v in scratch[-STAMPS:].view(mx.uint32).tolist()]
    return [((b - a) % (1 << 32)) / 1e3 for a, b in zip(stamps, stamps[1:])]


#: Stream each stage's weights into L2 ahead of it (decode_step.cuh: prefetch_l2).  Off: on an
#: H200 (2026-12-01) it measured no faster (small 1.76-1.78 vs 1.69-1.76 ms a step, medium
#: 4.62-4.67 vs 4.51-4.52), the GEMVs being bound by their own load chains, not by HBM.
PREFETCH = False


def layer_shared_bytes(B: int, D: int, F: int, HT: int, HD: int, window: int, itemsize: int, tc: bool,
                       splits: int = 1) -> int:
    staged = staged_bytes(B, max(D, F, HT), itemsize) + (mma_scratch_bytes(B) if tc else 0)
    attention = (HD + window + (THREADS // 32) * HD + THREADS // 32) * 4
    warp_attention = (THREADS // 32) * -(-window // splits) * 4  # each warp's scores of its split
    return max(staged, attention, warp_attention)


#: Attention with one warp per (row, head, split) and up to MAX_SPLITS splits, merged by the
#: split that finishes last (layer_kernel.cu), from this many rows up; fewer rows keep one block
#: per (row, head, split), S = blocks // pairs.  At 16 rows the block path has S = 1 and half the
#: blocks take two pairs in turn, each a chain of block barriers.  Measured on an H200
#: (2026-12-02, benchmarks/RESULTS.md): at 8 takes the first layer's attention 25.4 -> 12.9 µs and
#: out_proj 12.5 -> 4.4 (it stages the merged output); at one take no faster (step 1.38-1.42 ms
#: either way), so 2 rows keep the block path.
#: OSCGEN_CUDA_WARP_ATTN_ROWS=N moves the threshold; 0 keeps the block path everywhere.
WARP_ATTENTION_ROWS = int(os.environ.get("OSCGEN_CUDA_WARP_ATTN_ROWS", "4")) or None
MAX_SPLITS = 16
#: the pair counters after the three barrier words (step.FusedStep.bar holds 4 + this many)
PAIR_COUNTERS = 4096


def warp_attention(rows: int, heads: int) -> bool:
    return WARP_ATTENTION_ROWS is not None and rows >= WARP_ATTENTION_ROWS and rows * heads <= PAIR_COUNTERS


def attention_splits(rows: int, heads: int, blocks: int, warp: bool) -> int:
    if warp:  # every warp of the grid one (row, head, split)
        return max(1, min(MAX_SPLITS, blocks * THREADS // 32 // (rows * heads)))
    return max(1, blocks // (rows * heads))


def layer_template(dtype, B: int, D: int, heads: int, HD: int, F: int, HT: int, blocks: int) -> list:
    warp = warp_attention(B, heads)
    S = attention_splits(B, heads, blocks, warp)
    template = [("T", dtype), ("B", B), ("D", D), ("H", heads), ("HD", HD), ("F", F), ("HT", HT),
                ("TEXT", HT // heads), ("S", S), ("TC", tensor_cores(B, dtype)), ("PREFETCH", PREFETCH),
                ("ATTN_WARP", warp)]
    for name, rows in (("QKV", 3 * D), ("O", D), ("A", HT), ("BT", D), ("FC1", F), ("FC2", D)):
        template += gemv_template(name, rows, B, blocks)
    return template


def head_template(dtype, B: int, prompts: int, guided: bool, D: int, codebooks: int, V: int, greedy: bool,
                  knob_rows: bool, frame_rows: bool, start_token: int, blocks: int) -> list:
    return [("T", dtype), ("B", B), ("N", prompts), ("GUIDED", guided), ("D", D), ("KC", codebooks),
            ("V", V), ("GREEDY", greedy), ("KNOB_STRIDE", 3 if knob_rows else 0),
            ("FRAME_STRIDE", 1 if frame_rows else 0), ("START", start_token), ("THREADS", THREADS),
            ("TC", tensor_cores(B, dtype)), ("PREFETCH", PREFETCH), *gemv_template("HEAD", codebooks * V, B, blocks)]


def head_shared_bytes(B: int, D: int, itemsize: int, tc: bool) -> int:
    return staged_bytes(B, D, itemsize) + (mma_scratch_bytes(B) if tc else 0)


def embed(tokens, pos, table, tables, rows: int):
    """(N, KC) tokens → (rows, D) summed embeddings + the position's sinusoid."""
    N, KC = tokens.shape
    D = table.shape[1]
    return _kernel("embed", 0, KC)(
        inputs=[tokens, pos, table, *tables],
        template=[("T", table.dtype), ("B", rows), ("N", N), ("KC", KC), ("D", D)],
        grid=(rows * D, 1, 1), threadgroup=(256, 1, 1),
        output_shapes=[(rows, D)], output_dtypes=[table.dtype])[0]


def layer(x, pos, weights: dict, cache, cross: dict, bar, heads: int, blocks: int, next_weight):
    """One decoder layer on (B, D) hidden states; writes this position's keys/values into
    ``cache`` (2, B, heads, window, head_dim) and returns (output (B, D), scratch).
    ``next_weight``: the matrix the next launch reads first (prefetched into L2)."""
    B, D = x.shape
    window, HD = cache.shape[3], cache.shape[4]
    F = weights["w_fc1"].shape[0]
    HT = cross["a"].shape[0]
    template = layer_template(x.dtype, B, D, heads, HD, F, HT, blocks)
    S, tc = dict(template)["S"], dict(template)["TC"]  # attention splits, tensor cores: the template's
    smem = layer_shared_bytes(B, D, F, HT, HD, window, x.dtype.size, tc, S)
    inputs = [x, pos, weights["ln1_w"], weights["ln1_b"], weights["w_qkv"], cache, weights["w_o"],
              weights["ln2_w"], weights["ln2_b"], cross["a"], cross["bt"], cross["mask"], cross["cond"],
              weights["ln3_w"], weights["ln3_b"], weights["w_fc1"], weights["w_fc2"], next_weight, bar]
    return _kernel("layer", smem)(
        inputs=inputs, template=template, grid=(blocks * THREADS, 1, 1), threadgroup=(THREADS, 1, 1),
        output_shapes=[(B, D), (layer_scratch_size(B, D, heads, HD, F, HT, S),)],
        output_dtypes=[x.dtype, mx.float32])


def head(x, weights: dict, noise, knobs, top_k, pos, frames, delays, next_weight, bar, *, prompts: int, guided: bool, codebooks: int,
         greedy: bool, start_token: int, blocks: int):
    """Final norm, heads, guidance, top-k, Gumbel draw, delay pattern → (tokens (prompts, KC)
    int32, guided logits (prompts, KC·V) float32).  ``knobs`` (3,) or (prompts, 3): cfg scale,
    temperature, top_p; ``frames`` () or (prompts,).  ``top_k``: int32 (1,), 0 for off; ``greedy``
    (top-k 1) skips the noise; ``delays``: int32 (KC,), each codebook's lag."""
    B, D = x.shape
    V = weights["w_head"].shape[0] // codebooks
    template = head_template(x.dtype, B, prompts, guided, D, codebooks, V, greedy, knobs.ndim == 2, frames.ndim == 1,
                             start_token, blocks)
    tc = dict(template)["TC"]
    smem = head_shared_bytes(B, D, x.dtype.size, tc)
    tokens, logits, _ = _kernel("head", smem)(
        inputs=[x, weights["lnf_w"], weights["lnf_b"], weights["w_head"], noise, knobs, top_k, pos, frames, delays,
                next_weight, bar],
        template=template, grid=(blocks * THREADS, 1, 1), threadgroup=(THREADS, 1, 1),
        output_shapes=[(prompts, codebooks), (prompts, codebooks * V), (B, codebooks * V) if tc else (1,)],
        output_dtypes=[mx.int32, mx.float32, mx.float32])
    return tokens, logits
