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
// R rows per warp in flight.  STORE(row, acc) gets the B float32 dot products on every lane.
template <typename T, int B, int K, int R, typename Store>
__device__ __forceinline__ void gemv(const T* __restrict__ W, int N, const T* xs, Store store) {
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
      if (row < N) store(row, acc[r]);
    }
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
