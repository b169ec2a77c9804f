// The body of oscgen's head (norm, codebook heads, guidance, top-k draw) kernel.  mx.fast.cuda_kernel wraps it: MLX writes the __global__
// signature from kernels.HEAD_INPUTS (const pointers) and the outputs (tokens, logits, raw), plus the template
// constants kernels.head() passes (T, B, D, ...), and compiles it with NVRTC after
// decode_step.cuh (the helpers).  Not compilable on its own.
  using namespace oscgen;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* xs = reinterpret_cast<T*>(smem_raw);
  unsigned int* sync_words = const_cast<unsigned int*>(bar);
  const int tid = threadIdx.x, lane = tid % WARP, warp = tid / WARP;
  const int TOPK = topk[0];  // 0: off
  // knobs (cfg, temperature, top_p) and frames: one for the job (stride 0) or one per prompt

  // 1. final LayerNorm, the codebook heads, guidance: logits (N, KC * V) float32, each head
  // output rounded to T as the plain path's is.  On the CUDA cores a row's products arrive on one
  // lane, b in order, so the conditional score is parked in logits until its unconditional one
  // comes; on the tensor cores they land on different lanes, so the raw rows (B, KC * V) are
  // kept and guidance is applied per (prompt, codebook) in 2.
  float* mma_red = reinterpret_cast<float*>(smem_raw + ((size_t)B * D * sizeof(T) + 15) / 16 * 16);  // gemv_mma's
  layer_norm_rows<T, B, D>([&](int i) { return to_f(x[i]); }, lnf_w, lnf_b, xs);
  gemv<T, B, D, R_HEAD, KS_HEAD, TC>(w_head, KC * V, xs, mma_red, [&](int row, int b, float v) {
    const float r = to_f(from_f<T>(v));
    if (TC) {
      raw[(size_t)b * KC * V + row] = r;
    } else if (b < N) {
      logits[(size_t)b * KC * V + row] = r;
    } else {  // GUIDED: the unconditional row of prompt b - N, after its conditional one
      float* g = logits + (size_t)(b - N) * KC * V + row;
      *g = r + (*g - r) * knobs[(b - N) * KNOB_STRIDE];
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
    const float cfg = knobs[i * KNOB_STRIDE];
    float* row = logits + (size_t)i * KC * V + (size_t)k * V;
    float val[PER];
    unsigned int key[PER];
    if (TC) {  // the guided logits from the raw rows (see 1), written out for the caller
      const float* cond_row = raw + (size_t)i * KC * V + (size_t)k * V;
      const float* uncond_row = raw + (size_t)(i + N) * KC * V + (size_t)k * V;
#pragma unroll
      for (int e = 0; e < PER; ++e) {  // every load issued before the first use
        const int id = tid + e * THREADS;
        val[e] = id < V ? __ldcg(cond_row + id) : neg_inf();
        key[e] = GUIDED && id < V ? __float_as_uint(__ldcg(uncond_row + id)) : 0u;
      }
#pragma unroll
      for (int e = 0; e < PER; ++e) {
        const int id = tid + e * THREADS;
        if (GUIDED && id < V) {
          const float u = __uint_as_float(key[e]);
          val[e] = u + (val[e] - u) * cfg;
        }
        if (id < V) row[id] = val[e];
      }
    } else {
#pragma unroll
      for (int e = 0; e < PER; ++e) {
        const int id = tid + e * THREADS;
        val[e] = id < V ? __ldcg(row + id) : neg_inf();
      }
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
