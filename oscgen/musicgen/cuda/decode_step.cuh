// oscgen: the MusicGen decode step in three kernel kinds (read by kernels.py, which passes the
// bodies to mx.fast.cuda_kernel; MLX generates the __global__ signatures around them).
//
// A decoder layer is ONE launch: its stages (LayerNorm + q/k/v GEMV + cache write, attention
// over the cache, out_proj + residual, folded cross-attention, fc1 + GELU, fc2 + residual) are
// separated by grid-wide barriers instead of kernel boundaries, because on MLX a decode step is
// bound by the host's ~11 µs per primitive, not by the GPU.  The grid is one block per
// multiprocessor, so every block is resident at once (the condition for a spinning barrier);
// every spin is bounded and a timeout is flagged in the barrier words instead of hanging.
//
// Activations staged in shared memory use the model's dtype T (where the plain path rounds its
// GEMM inputs); every accumulation is float32.

// Every launch of these kernels is THREADS (512) threads a block with one block per
// multiprocessor: cap registers for that (128), as __launch_bounds__ would.  MLX writes the
// kernel's signature itself, so the bound goes into the attribute its __global__ expands to.
#undef __global__
#define __global__ __attribute__((global)) __attribute__((launch_bounds(512, 1)))

namespace oscgen {

__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ float to_f(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T> __device__ __forceinline__ T from_f(float x);
template <> __device__ __forceinline__ float from_f<float>(float x) { return x; }
template <> __device__ __forceinline__ __half from_f<__half>(float x) { return __float2half(x); }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) { return __float2bfloat16(x); }

constexpr int WARP = 32;

__device__ __forceinline__ float neg_inf() { return -cuda::std::numeric_limits<float>::infinity(); }

// Two adjacent elements through L2 (the cache, which this launch writes).
__device__ __forceinline__ float2 ld2_l2(const float* p) { return __ldcg(reinterpret_cast<const float2*>(p)); }
template <typename T>
__device__ __forceinline__ float2 ld2_l2(const T* p) {
  const unsigned int u = __ldcg(reinterpret_cast<const unsigned int*>(p));
  const T* t = reinterpret_cast<const T*>(&u);
  return make_float2(to_f(t[0]), to_f(t[1]));
}

// 16 bytes of T through the read-only path (weights, written by no kernel of the step).
template <typename T>
__device__ __forceinline__ uint4 ld_weights(const T* p) { return __ldg(reinterpret_cast<const uint4*>(p)); }

// 16 bytes through L2 only: data other blocks of this launch wrote (L1 is not coherent).
template <typename T>
__device__ __forceinline__ uint4 ld_shared_l2(const T* p) { return __ldcg(reinterpret_cast<const uint4*>(p)); }

template <typename T>
__device__ __forceinline__ void unpack(const uint4& raw, float* out) {
  const T* v = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < 16 / (int)sizeof(T); ++i) out[i] = to_f(v[i]);
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Grid-wide barrier over a persistent (arrivals, generation, timeout) word triple.  Needs every
// block resident (one per multiprocessor) and launches that use the same words not to overlap
// (the step's launches depend on each other's outputs, so the stream serialises them).
__device__ __forceinline__ void grid_sync(unsigned int* bar) {
  __syncthreads();
  if (threadIdx.x == 0) {
    volatile unsigned int* vbar = bar;
    unsigned int generation = vbar[1];
    __threadfence();
    if (atomicAdd(&bar[0], 1u) == gridDim.x - 1) {
      atomicExch(&bar[0], 0u);
      __threadfence();
      atomicAdd(&bar[1], 1u);
    } else {
      unsigned int spins = 0;
      while (vbar[1] == generation) {
        if (++spins == (1u << 22)) {  // ~1 s: flag it, carry on (wrong numbers, no hang)
          atomicExch(&bar[2], 1u);
          break;
        }
      }
    }
    __threadfence();
  }
  __syncthreads();
}

// LayerNorm of B rows of D values (MLX's: float32 statistics, two passes) into shared memory in
// T.  One warp per row.  LOAD(i) returns element i of the flattened (B, D) input as float.
template <typename T, int B, int D, typename Load>
__device__ __forceinline__ void layer_norm_rows(Load load, const T* __restrict__ w, const T* __restrict__ bias, T* xs) {
  constexpr int PER = D / WARP;
  const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP, warps = blockDim.x / WARP;
  for (int b = warp; b < B; b += warps) {
    float v[PER];
    // every load issued before the first use: a load-use pair per element would serialise
    // PER round trips to L2 (in-order issue)
#pragma unroll
    for (int i = 0; i < PER; ++i) v[i] = load(b * D + lane + i * WARP);
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < PER; ++i) s += v[i];
    const float mean = warp_sum(s) / D;
    float q = 0.f;
#pragma unroll
    for (int i = 0; i < PER; ++i) {
      const float c = v[i] - mean;
      q += c * c;
    }
    const float rstd = rsqrtf(warp_sum(q) / D + 1e-5f);
#pragma unroll
    for (int i = 0; i < PER; ++i) {
      const int k = lane + i * WARP;
      xs[b * D + k] = from_f<T>((v[i] - mean) * rstd * to_f(w[k]) + to_f(bias[k]));
    }
  }
  __syncthreads();
}

// Rows of W (N, K) times the B shared-memory rows xs (B, K), spread over every warp of the grid,
// R rows per warp in flight, on the CUDA cores.  STORE(row, b, value) gets each float32 dot
// product once (from lane 0 of the warp that made it).
template <typename T, int B, int K, int R, typename Store>
__device__ __forceinline__ void gemv_cores(const T* __restrict__ W, int N, const T* xs, Store store) {
  constexpr int V = 16 / sizeof(T);         // elements per 16-byte load
  constexpr int FULL = K / (WARP * V);      // whole warp-wide passes over a row
  constexpr bool TAIL = (K % (WARP * V)) != 0;
  const int lane = threadIdx.x % WARP;
  const int warps = blockDim.x / WARP;
  const int gw = blockIdx.x * warps + threadIdx.x / WARP;
  const int nw = gridDim.x * warps;
  for (int r0 = gw; r0 < N; r0 += R * nw) {
    float acc[R][B];
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int b = 0; b < B; ++b) acc[r][b] = 0.f;
#pragma unroll
    for (int i = 0; i < FULL + (TAIL ? 1 : 0); ++i) {
      const int col = (i * WARP + lane) * V;
      if (TAIL && i == FULL && col >= K) break;
      uint4 raw[R];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int row = r0 + r * nw;
        raw[r] = row < N ? ld_weights(W + (size_t)row * K + col) : make_uint4(0, 0, 0, 0);
      }
#pragma unroll
      for (int r = 0; r < R; ++r) {
        float w[V];
        unpack<T>(raw[r], w);
#pragma unroll
        for (int b = 0; b < B; ++b) {
          float x[V];
          unpack<T>(*reinterpret_cast<const uint4*>(xs + b * K + col), x);
#pragma unroll
          for (int j = 0; j < V; ++j) acc[r][b] += w[j] * x[j];
        }
      }
    }
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
      for (int b = 0; b < B; ++b) acc[r][b] = warp_sum(acc[r][b]);
      const int row = r0 + r * nw;
      if (row < N && lane == 0)
#pragma unroll
        for (int b = 0; b < B; ++b) store(row, b, acc[r][b]);
    }
  }
}

// One m16n8k16 tensor-core product (the first argument picks the input type), 16-bit inputs (T: __half or __nv_bfloat16), float32
// accumulators: c (16 x 8) += a (16 x 16, row-major) * b (16 x 8, column-major), in the PTX
// fragment layout (a: 4 registers of 2 values, b: 2, c: 4 per lane).
__device__ __forceinline__ void mma16816(__half, float (&c)[4], unsigned a0, unsigned a1, unsigned a2, unsigned a3,
                                         unsigned b0, unsigned b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma16816(__nv_bfloat16, float (&c)[4], unsigned a0, unsigned a1, unsigned a2, unsigned a3,
                                         unsigned b0, unsigned b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// The same product on the tensor cores, for batches of rows (B up to 16: takes x guidance).  A
// warp owns a tile of 16 rows of W and a slice of K: KS warps of a block split each tile's K
// and add their partial tiles through shared memory ``red`` (warps x NT x 4 x 32 floats).
// Per 32 columns a lane loads 16 bytes of each of its two rows of W and 16 bytes of its batch
// row of xs; a dot product may take its K terms in any order as long as both sides use the same
// one, so the 8 contiguous values a lane holds fill its fragment slots of two k16 steps
// (logical column 2t, 2t+1, 2t+8, 2t+9 of step j <-> physical 8t + 4j + 0..3): no shuffles, no
// conversions.  Needs K % 8 == 0 (16-byte loads; a short last slice reads zeros).
template <typename T, int B, int K, int KS, typename Store>
__device__ __forceinline__ void gemv_mma(const T* __restrict__ W, int N, const T* xs, float* red, Store store) {
  constexpr int NT = (B + 7) / 8;  // n-tiles of 8 batch rows
  constexpr int ST = (K + 31) / 32;  // 32-column slices
  constexpr int U = 4;  // slices a warp has in flight
  static_assert(K % 8 == 0, "gemv_mma: K must be a multiple of 8");
  const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP, warps = blockDim.x / WARP;
  const int g = lane >> 2, t = lane & 3;
  const int groups = warps / KS, grp = warp / KS, ks = warp % KS;
  const int tiles = (N + 15) / 16;
  const int rounds = (tiles + gridDim.x * groups - 1) / (gridDim.x * groups);
  const uint4 zero = make_uint4(0, 0, 0, 0);
  for (int round = 0; round < rounds; ++round) {  // the same count for every warp of the block
    const int tile = (round * gridDim.x + blockIdx.x) * groups + grp;
    float c[NT][4];
#pragma unroll
    for (int n = 0; n < NT; ++n)
#pragma unroll
      for (int i = 0; i < 4; ++i) c[n][i] = 0.f;
    const int row0 = tile * 16 + g, row1 = row0 + 8;
    if (tile < tiles) {
      for (int s0 = ks; s0 < ST; s0 += KS * U) {
        uint4 ra[U], rb[U], xb[U][NT];
#pragma unroll
        for (int u = 0; u < U; ++u) {
          const int col = (s0 + u * KS) * 32 + t * 8;
          const bool in = s0 + u * KS < ST && col < K;
          ra[u] = in && row0 < N ? ld_weights(W + (size_t)row0 * K + col) : zero;
          rb[u] = in && row1 < N ? ld_weights(W + (size_t)row1 * K + col) : zero;
#pragma unroll
          for (int n = 0; n < NT; ++n) {
            const int b = n * 8 + g;
            xb[u][n] = in && b < B ? *reinterpret_cast<const uint4*>(xs + b * K + col) : zero;
          }
        }
#pragma unroll
        for (int u = 0; u < U; ++u)
#pragma unroll
          for (int n = 0; n < NT; ++n) {
            mma16816(T{}, c[n], ra[u].x, rb[u].x, ra[u].y, rb[u].y, xb[u][n].x, xb[u][n].y);
            mma16816(T{}, c[n], ra[u].z, rb[u].z, ra[u].w, rb[u].w, xb[u][n].z, xb[u][n].w);
          }
      }
    }
    if (KS > 1) {
#pragma unroll
      for (int n = 0; n < NT; ++n)
#pragma unroll
        for (int i = 0; i < 4; ++i) red[((warp * NT + n) * 4 + i) * WARP + lane] = c[n][i];
      __syncthreads();
      // the group's KS warps add its KS partial tiles together, one value a thread (KS loads in
      // flight, in warp order as one warp adding them would), instead of one warp doing them all
      constexpr int VALUES = NT * 4 * WARP;  // value v: fragment slot (n, i) = v / 32 of lane v % 32
      const float* part = red + (size_t)grp * KS * VALUES;
      for (int v = ks * WARP + lane; v < VALUES; v += KS * WARP) {
        float sum = 0.f;
#pragma unroll
        for (int o = 0; o < KS; ++o) sum += part[o * VALUES + v];
        const int n = v / (4 * WARP), i = (v / WARP) % 4, l = v % WARP;
        const int row = tile * 16 + (l >> 2) + (i < 2 ? 0 : 8), b = n * 8 + 2 * (l & 3) + (i & 1);
        if (tile < tiles && row < N && b < B) store(row, b, sum);
      }
    } else if (tile < tiles) {
      // c[n][i]: row g (+8 for i >= 2) of the tile, batch row 8n + 2t + (i & 1)
#pragma unroll
      for (int n = 0; n < NT; ++n)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int row = (i < 2 ? row0 : row1), b = n * 8 + 2 * t + (i & 1);
          if (row < N && b < B) store(row, b, c[n][i]);
        }
    }
    if (KS > 1) __syncthreads();  // red is reused by the next round
  }
}

// Whether this block has any of a GEMV's rows (gemv_mma packs its N / 16 tiles into the first
// blocks, gemv_cores its rows into the first warps): the others need not stage its input.
template <typename T, int KS, bool TC>
__device__ __forceinline__ bool gemv_busy(int N) {
  const int warps = blockDim.x / WARP;
  if constexpr (TC && sizeof(T) == 2) return (int)blockIdx.x * (warps / KS) < (N + 15) / 16;
  return (int)blockIdx.x * warps < N;
}

// Copy ``count`` 16-byte words other blocks of this launch wrote (through L2) into shared memory,
// U loads a thread in flight: a load-use pair per word would serialise an L2 round trip each.
// The caller syncs the block before reading ``dst``.
template <int U>
__device__ __forceinline__ void stage_l2(const void* src, void* dst, int count) {
  const uint4* s = static_cast<const uint4*>(src);
  uint4* d = static_cast<uint4*>(dst);
  for (int i0 = threadIdx.x; i0 < count; i0 += U * blockDim.x) {
    uint4 v[U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int i = i0 + u * blockDim.x;
      if (i < count) v[u] = __ldcg(s + i);
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int i = i0 + u * blockDim.x;
      if (i < count) d[i] = v[u];
    }
  }
}

// W (N, K) times the B rows xs: on the tensor cores when TC (16-bit T), else on the CUDA cores.
template <typename T, int B, int K, int R, int KS, bool TC, typename Store>
__device__ __forceinline__ void gemv(const T* __restrict__ W, int N, const T* xs, float* red, Store store) {
  if constexpr (TC && sizeof(T) == 2) {
    gemv_mma<T, B, K, KS>(W, N, xs, red, store);
  } else {
    gemv_cores<T, B, K, R>(W, N, xs, store);
  }
}

// Block-wide max / sum (every thread gets the result; deterministic order).  stat: warps floats.
__device__ __forceinline__ float block_max(float v, float* stat) {
  v = warp_max(v);
  if (threadIdx.x % WARP == 0) stat[threadIdx.x / WARP] = v;
  __syncthreads();
  float r = neg_inf();
  for (int w = 0; w < (int)(blockDim.x / WARP); ++w) r = fmaxf(r, stat[w]);
  __syncthreads();
  return r;
}

__device__ __forceinline__ float block_sum(float v, float* stat) {
  v = warp_sum(v);
  if (threadIdx.x % WARP == 0) stat[threadIdx.x / WARP] = v;
  __syncthreads();
  float r = 0.f;
  for (int w = 0; w < (int)(blockDim.x / WARP); ++w) r += stat[w];
  __syncthreads();
  return r;
}

// float32 → a key whose unsigned order is the float order (for the top-k threshold search);
// -0 + 0 is +0, so the two zeros get one key, as they compare equal.
__device__ __forceinline__ unsigned int order_key(float v) {
  const unsigned int u = __float_as_uint(v + 0.f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// Pull ``bytes`` of a matrix into L2, spread over every thread of the grid, without waiting: a
// later stage's (or the next launch's) weights stream from HBM while this stage works, so its
// GEMV waits on L2 latency instead of HBM latency (L2 keeps them across launches).
__device__ __forceinline__ void prefetch_l2(const void* base, size_t bytes) {
  const char* p = static_cast<const char*>(base);
  const size_t stride = (size_t)gridDim.x * blockDim.x * 128;
  for (size_t off = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * 128; off < bytes; off += stride)
    asm volatile("prefetch.global.L2 [%0];" ::"l"(p + off));
}

// The stage boundaries' times (ns, low 32 bits of %globaltimer), written by block 0 only.
__device__ __forceinline__ void stamp(unsigned int* stamps, int i) {
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    stamps[i] = (unsigned int)t;
  }
}

__device__ __forceinline__ float gelu_erf(float x) { return 0.5f * x * (1.f + erff(x * 0.70710678118654752f)); }

}  // namespace oscgen
