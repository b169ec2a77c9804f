"""The decode step's CUDA kernels, as ``mx.fast.cuda_kernel`` bodies (NVRTC-compiled by MLX on
first use, per template instance).

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
from functools import cache
from pathlib import Path

import mlx.core as mx

THREADS = 512  # 16 warps a block: one block per multiprocessor must hold the layer's registers
HEADER = (Path(__file__).with_name("decode_step.cuh")).read_text()

LAYER_INPUTS = ["x", "pos", "ln1_w", "ln1_b", "w_qkv", "cache", "w_o", "ln2_w", "ln2_b", "cross_a",
                "cross_bt", "cross_mask", "cond", "ln3_w", "ln3_b", "w_fc1", "w_fc2", "w_next", "bar"]
#: stage-boundary timestamps at the end of the layer's scratch (see stage_times)
STAMPS = 8

LAYER_SOURCE = r"""
  using namespace oscgen;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* xs = reinterpret_cast<T*>(smem_raw);
  float* fs = reinterpret_cast<float*>(smem_raw);
  unsigned int* sync_words = const_cast<unsigned int*>(bar);
  T* kv = const_cast<T*>(cache);
  const int p = pos[0];
  const int W = cache_shape[3];
  const int tid = threadIdx.x, lane = tid % WARP, warp = tid / WARP, warps = blockDim.x / WARP;
  const size_t plane = (size_t)B * H * W * HD;  // keys, then values
  float* q_s = scratch;                          // (B, D)
  float* attn = q_s + B * D;                     // (B, H, S, HD + 2): partial softmax states
  float* x1 = attn + B * H * S * (HD + 2);       // (B, D) after self-attention
  float* sc = x1 + B * D;                        // (B, HT) cross-attention scores
  float* x2 = sc + B * HT;                       // (B, D) after cross-attention
  float* hbuf = x2 + B * D;                      // (B, F) GELU(fc1)
  unsigned int* stamps = reinterpret_cast<unsigned int*>(hbuf + B * F);  // STAMPS
  stamp(stamps, 0);
  if (PREFETCH) {  // the later stages' weights into L2 while q/k/v streams
    prefetch_l2(w_o, (size_t)D * D * sizeof(T));
    prefetch_l2(cross_a, (size_t)HT * D * sizeof(T));
    prefetch_l2(cross_bt, (size_t)D * HT * sizeof(T));
  }

  // 1. LayerNorm, q/k/v; keys and values straight into the cache at position p
  layer_norm_rows<T, B, D>([&](int i) { return to_f(x[i]); }, ln1_w, ln1_b, xs);
  gemv<T, B, D, R_QKV>(w_qkv, 3 * D, xs, [&](int row, const float* acc) {
    if (lane != 0) return;
    const int which = row / D, rem = row % D;
    if (which == 0) {
      for (int b = 0; b < B; ++b) q_s[b * D + rem] = acc[b];
    } else {
      const int h = rem / HD, f = rem % HD;
      for (int b = 0; b < B; ++b)
        kv[(which - 1) * plane + ((size_t)(b * H + h) * W + p) * HD + f] = from_f<T>(acc[b]);
    }
  });
  if (PREFETCH) prefetch_l2(w_fc1, (size_t)F * D * sizeof(T));
  grid_sync(sync_words);
  stamp(stamps, 1);

  // 2. attention over positions 0..p: S splits per (row, head), each a partial softmax state
  {
    const int n = p + 1, chunk = (n + S - 1) / S;
    float* qh = fs;                 // HD
    float* prob = qh + HD;          // chunk <= W
    float* red = prob + W;          // warps * HD
    float* stat = red + warps * HD; // warps
    const float scale = 1.f / sqrtf((float)HD);
    constexpr int V = 16 / sizeof(T);
    for (int item = blockIdx.x; item < B * H * S; item += gridDim.x) {
      const int s = item % S, bh = item / S, b = bh / H, h = bh % H;
      const int p0 = s * chunk, p1 = min(n, p0 + chunk);
      const T* keys = cache + (size_t)bh * W * HD;
      const T* vals = keys + plane;
      if (tid < HD) qh[tid] = __ldcg(q_s + b * D + h * HD + tid) * scale;
      __syncthreads();
      float m = neg_inf();
      for (int j = p0 + tid; j < p1; j += blockDim.x) {
        uint4 raw[HD / V];  // the whole key row in flight before the dot product
#pragma unroll
        for (int c = 0; c < HD / V; ++c) raw[c] = ld_shared_l2(keys + (size_t)j * HD + c * V);
        float dot = 0.f;
#pragma unroll
        for (int c = 0; c < HD / V; ++c) {
          float kf[V];
          unpack<T>(raw[c], kf);
#pragma unroll
          for (int e = 0; e < V; ++e) dot += qh[c * V + e] * kf[e];
        }
        prob[j - p0] = dot;
        m = fmaxf(m, dot);
      }
      m = block_max(m, stat);
      float l = 0.f;
      for (int j = p0 + tid; j < p1; j += blockDim.x) {
        const float e = __expf(prob[j - p0] - m);
        prob[j - p0] = e;
        l += e;
      }
      l = block_sum(l, stat);  // its barrier also publishes prob
      float a0 = 0.f, a1 = 0.f;
      constexpr int U = 8;  // value rows a warp has in flight
      for (int j0 = p0 + warp; j0 < p1; j0 += warps * U) {
        float2 v[U];
#pragma unroll
        for (int u = 0; u < U; ++u) {
          const int j = j0 + u * warps;
          v[u] = j < p1 ? ld2_l2(vals + (size_t)j * HD + 2 * lane) : make_float2(0.f, 0.f);
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
          const int j = j0 + u * warps;
          const float e = j < p1 ? prob[j - p0] : 0.f;
          a0 += e * v[u].x;
          a1 += e * v[u].y;
        }
      }
      red[warp * HD + 2 * lane] = a0;
      red[warp * HD + 2 * lane + 1] = a1;
      __syncthreads();
      float* out = attn + (size_t)item * (HD + 2);
      if (tid < HD) {
        float acc = 0.f;
        for (int w = 0; w < warps; ++w) acc += red[w * HD + tid];
        out[tid] = acc;
      }
      if (tid == 0) {
        out[HD] = m;
        out[HD + 1] = l;
      }
      __syncthreads();
    }
  }
  grid_sync(sync_words);
  stamp(stamps, 2);

  // 3. the splits combined into the attention output, out_proj + residual
  for (int i = tid; i < B * D; i += blockDim.x) {
    const int b = i / D, h = (i % D) / HD, f = i % HD;
    const float* st = attn + (size_t)(b * H + h) * S * (HD + 2);
    float ms[S], ls[S], as[S];  // all 3·S loads in flight, then the arithmetic
#pragma unroll
    for (int s = 0; s < S; ++s) {
      ms[s] = __ldcg(st + s * (HD + 2) + HD);
      ls[s] = __ldcg(st + s * (HD + 2) + HD + 1);
      as[s] = __ldcg(st + s * (HD + 2) + f);
    }
    float M = neg_inf();
#pragma unroll
    for (int s = 0; s < S; ++s) M = fmaxf(M, ms[s]);
    float L = 0.f, A = 0.f;
#pragma unroll
    for (int s = 0; s < S; ++s) {
      const float w = __expf(ms[s] - M);
      L += w * ls[s];
      A += w * as[s];
    }
    xs[i] = from_f<T>(A / L);
  }
  __syncthreads();
  gemv<T, B, D, R_O>(w_o, D, xs, [&](int row, const float* acc) {
    if (lane != 0) return;
    for (int b = 0; b < B; ++b) x1[b * D + row] = to_f(x[b * D + row]) + acc[b];
  });
  if (PREFETCH) prefetch_l2(w_fc2, (size_t)D * F * sizeof(T));
  grid_sync(sync_words);
  stamp(stamps, 3);

  // 4. cross-attention, folded (crossfold.py): scores = LN(x1) @ A + mask
  layer_norm_rows<T, B, D>([&](int i) { return __ldcg(x1 + i); }, ln2_w, ln2_b, xs);
  gemv<T, B, D, R_A>(cross_a, HT, xs, [&](int row, const float* acc) {
    if (lane != 0) return;
    for (int b = 0; b < B; ++b) sc[b * HT + row] = to_f(from_f<T>(acc[b])) + to_f(cross_mask[row]);
  });
  grid_sync(sync_words);
  stamp(stamps, 4);

  // 5. softmax over the text per (row, head), output = Bᵀ p on the conditional rows + residual
  for (int r = tid; r < B * H; r += blockDim.x) {
    const float* row = sc + r * TEXT;
    float v[TEXT];  // loaded once, all in flight
#pragma unroll
    for (int t = 0; t < TEXT; ++t) v[t] = __ldcg(row + t);
    float m = neg_inf();
#pragma unroll
    for (int t = 0; t < TEXT; ++t) m = fmaxf(m, v[t]);
    float sum = 0.f;
#pragma unroll
    for (int t = 0; t < TEXT; ++t) {
      v[t] = __expf(v[t] - m);
      sum += v[t];
    }
#pragma unroll
    for (int t = 0; t < TEXT; ++t) xs[r * TEXT + t] = from_f<T>(v[t] / sum);
  }
  __syncthreads();
  gemv<T, B, HT, R_BT>(cross_bt, D, xs, [&](int row, const float* acc) {
    if (lane != 0) return;
    for (int b = 0; b < B; ++b) x2[b * D + row] = __ldcg(x1 + b * D + row) + (cond[b] ? to_f(from_f<T>(acc[b])) : 0.f);
  });
  if (PREFETCH) prefetch_l2(w_next, (size_t)w_next_shape[0] * w_next_shape[1] * sizeof(T));  // the next launch's
  grid_sync(sync_words);
  stamp(stamps, 5);

  // 6. LayerNorm, fc1, GELU
  layer_norm_rows<T, B, D>([&](int i) { return __ldcg(x2 + i); }, ln3_w, ln3_b, xs);
  gemv<T, B, D, R_FC1>(w_fc1, F, xs, [&](int row, const float* acc) {
    if (lane != 0) return;
    for (int b = 0; b < B; ++b) hbuf[b * F + row] = gelu_erf(to_f(from_f<T>(acc[b])));
  });
  grid_sync(sync_words);
  stamp(stamps, 6);

  // 7. fc2 + residual → the layer's output
  for (int i = tid; i < B * F; i += blockDim.x) xs[i] = from_f<T>(__ldcg(hbuf + i));
  __syncthreads();
  gemv<T, B, F, R_FC2>(w_fc2, D, xs, [&](int row, const float* acc) {
    if (lane != 0) return;
    for (int b = 0; b < B; ++b) out[b * D + row] = from_f<T>(__ldcg(x2 + b * D + row) + acc[b]);
  });
  stamp(stamps, 7);
"""

HEAD_INPUTS = ["x", "lnf_w", "lnf_b", "w_head", "noise", "knobs", "topk", "pos", "frames", "delays", "w_next",
               "bar"]

HEAD_SOURCE = r"""
  using namespace oscgen;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* xs = reinterpret_cast<T*>(smem_raw);
  unsigned int* sync_words = const_cast<unsigned int*>(bar);
  const int tid = threadIdx.x, lane = tid % WARP, warp = tid / WARP;
  const int TOPK = topk[0];  // 0: off
  // knobs (cfg, temperature, top_p) and frames: one for the job (stride 0) or one per prompt

  // 1. final LayerNorm, the codebook heads, guidance: logits (N, KC * V) float32
  layer_norm_rows<T, B, D>([&](int i) { return to_f(x[i]); }, lnf_w, lnf_b, xs);
  gemv<T, B, D, R_HEAD>(w_head, KC * V, xs, [&](int row, const float* acc) {
    if (lane != 0) return;
    for (int i = 0; i < N; ++i) {
      const float c = to_f(from_f<T>(acc[i]));
      float g = c;
      if (GUIDED) {
        const float u = to_f(from_f<T>(acc[i + N]));
        g = u + (c - u) * knobs[i * KNOB_STRIDE];
      }
      logits[(size_t)i * KC * V + row] = g;
    }
  });
  if (PREFETCH) prefetch_l2(w_next, (size_t)w_next_shape[0] * w_next_shape[1] * sizeof(T));  // next step's first
  grid_sync(sync_words);

  // 2. one block per (prompt, codebook): the top-k threshold (the k-th largest score, found bit
  // by bit), then argmax of score / temperature + Gumbel noise over the scores >= it
  constexpr int PER = (V + THREADS - 1) / THREADS;
  __shared__ float best_s[THREADS / WARP];
  __shared__ int best_i[THREADS / WARP];
  for (int job = blockIdx.x; job < N * KC; job += gridDim.x) {
    const int i = job / KC, k = job % KC;
    const float temperature = knobs[i * KNOB_STRIDE + 1];
    const float* row = logits + (size_t)i * KC * V + (size_t)k * V;
    float val[PER];
    unsigned int key[PER];
#pragma unroll
    for (int e = 0; e < PER; ++e) {
      const int id = tid + e * THREADS;
      val[e] = id < V ? __ldcg(row + id) : neg_inf();
    }
#pragma unroll
    for (int e = 0; e < PER; ++e) key[e] = tid + e * THREADS < V ? order_key(val[e]) : 0u;
    unsigned int threshold = 0u;
    if (TOPK > 0 && TOPK < V) {
      for (int bit = 31; bit >= 0; --bit) {
        const unsigned int cand = threshold | (1u << bit);
        int count = 0;
#pragma unroll
        for (int e = 0; e < PER; ++e) count += __syncthreads_count(key[e] >= cand);
        if (count >= TOPK) threshold = cand;
      }
    }
    float best = neg_inf();
    int best_id = V;
#pragma unroll
    for (int e = 0; e < PER; ++e) {
      const int id = tid + e * THREADS;
      if (id < V && key[e] >= threshold) {
        const float s = GREEDY ? val[e] : val[e] / temperature + noise[((size_t)i * KC + k) * V + id];
        if (s > best || (s == best && id < best_id)) {
          best = s;
          best_id = id;
        }
      }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float os = __shfl_xor_sync(0xffffffffu, best, o);
      const int oi = __shfl_xor_sync(0xffffffffu, best_id, o);
      if (os > best || (os == best && oi < best_id)) {
        best = os;
        best_id = oi;
      }
    }
    if (lane == 0) {
      best_s[warp] = best;
      best_i[warp] = best_id;
    }
    __syncthreads();
    if (tid == 0) {
      for (int w = 1; w < THREADS / WARP; ++w)
        if (best_s[w] > best || (best_s[w] == best && best_i[w] < best_id)) {
          best = best_s[w];
          best_id = best_i[w];
        }
      // the delay pattern: codebook k holds codes at positions d_k+1 .. frames+d_k
      const int next = pos[0] + 1;
      const bool inside = next > delays[k] && next <= frames[i * FRAME_STRIDE] + delays[k];
      tokens[i * KC + k] = inside ? best_id : START;
    }
    __syncthreads();
  }
"""


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
        return mx.fast.cuda_kernel(name="oscgen_head", input_names=HEAD_INPUTS, output_names=["tokens", "logits"],
                                   source=HEAD_SOURCE, header=HEADER, shared_memory=shared_memory)
    names, body = embed_source(codebooks)
    return mx.fast.cuda_kernel(name=f"oscgen_embed{codebooks}", input_names=names, output_names=["x"],
                               source=body, header=HEADER)


def rows_per_warp(rows: int, blocks: int, batch: int) -> int:
    """GEMV rows a warp keeps in flight: enough for one pass over the matrix, at most 4, and at
    most 16 accumulators (rows x batch) so the registers hold them."""
    return max(1, min(4, 16 // batch, -(-rows // (blocks * THREADS // 32))))


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
    return B * D * 3 + B * H * S * (HD + 2) + B * HT + B * F + STAMPS


def stage_times(scratch: mx.array) -> list[float]:
    """µs of each stage of one layer launch (block 0's view), from its scratch output:
    q/k/v, attention, out_proj, cross scores, cross output, fc1, fc2."""
    stamps = [int(v) for v in scratch[-STAMPS:].view(mx.uint32).tolist()]
    return [((b - a) % (1 << 32)) / 1e3 for a, b in zip(stamps, stamps[1:])]


#: Stream each stage's weights into L2 ahead of it (decode_step.cuh: prefetch_l2).  Off: on an
#: H200 (2026-12-01) it measured no faster (small 1.76-1.78 vs 1.69-1.76 ms a step, medium
#: 4.62-4.67 vs 4.51-4.52), the GEMVs being bound by their own load chains, not by HBM.
PREFETCH = False


def layer_shared_bytes(B: int, D: int, F: int, HT: int, HD: int, window: int, itemsize: int) -> int:
    staged = B * max(D, F, HT) * itemsize
    attention = (HD + window + (THREADS // 32) * HD + THREADS // 32) * 4
    return max(staged, attention)


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
    text = HT // heads
    S = max(1, blocks // (B * heads))
    smem = layer_shared_bytes(B, D, F, HT, HD, window, x.dtype.size)
    template = [("T", x.dtype), ("B", B), ("D", D), ("H", heads), ("HD", HD), ("F", F), ("HT", HT),
                ("TEXT", text), ("S", S), ("R_QKV", rows_per_warp(3 * D, blocks, B)), ("R_O", rows_per_warp(D, blocks, B)),
                ("R_A", rows_per_warp(HT, blocks, B)), ("R_BT", rows_per_warp(D, blocks, B)),
                ("R_FC1", rows_per_warp(F, blocks, B)), ("R_FC2", rows_per_warp(D, blocks, B)), ("PREFETCH", PREFETCH)]
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
    template = [("T", x.dtype), ("B", B), ("N", prompts), ("GUIDED", guided), ("D", D), ("KC", codebooks),
                ("V", V), ("GREEDY", greedy), ("KNOB_STRIDE", 3 if knobs.ndim == 2 else 0),
                ("FRAME_STRIDE", 1 if frames.ndim == 1 else 0), ("START", start_token), ("THREADS", THREADS),
                ("R_HEAD", rows_per_warp(codebooks * V, blocks, B)), ("PREFETCH", PREFETCH)]
    return _kernel("head", B * D * x.dtype.size)(
        inputs=[x, weights["lnf_w"], weights["lnf_b"], weights["w_head"], noise, knobs, top_k, pos, frames, delays,
                next_weight, bar],
        template=template, grid=(blocks * THREADS, 1, 1), threadgroup=(THREADS, 1, 1),
        output_shapes=[(prompts, codebooks), (prompts, codebooks * V)], output_dtypes=[mx.int32, mx.float32])
