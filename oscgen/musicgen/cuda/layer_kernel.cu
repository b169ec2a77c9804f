// The body of oscgen's decoder-layer kernel.  mx.fast.cuda_kernel wraps it: MLX writes the __global__
// signature from kernels.LAYER_INPUTS (const pointers) and the outputs (out, scratch), plus the template
// constants kernels.layer() passes (T, B, D, ...), and compiles it with NVRTC after
// decode_step.cuh (the helpers).  Not compilable on its own.
  using namespace oscgen;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* xs = reinterpret_cast<T*>(smem_raw);
  constexpr int WIDEST = D > F ? (D > HT ? D : HT) : (F > HT ? F : HT);
  float* mma_red = reinterpret_cast<float*>(smem_raw + ((size_t)B * WIDEST * sizeof(T) + 15) / 16 * 16);  // gemv_mma's
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
  // 16-byte aligned (kernels.layer_scratch_size pads the same way), staged as 16-byte words
  float* hraw = scratch + (3 * B * D + B * H * S * (HD + 2) + B * HT + 3) / 4 * 4;
  T* hbuf = reinterpret_cast<T*>(hraw);          // (B, F) GELU(fc1), in T as fc2 stages it
  float* aoraw = hraw + (B * F + 3) / 4 * 4;
  T* ao = reinterpret_cast<T*>(aoraw);           // (B, D) attention output, in T (ATTN_WARP)
  unsigned int* stamps = reinterpret_cast<unsigned int*>(aoraw + (B * D + 3) / 4 * 4);  // STAMPS
  static_assert((B * F * sizeof(T)) % 16 == 0 && (B * D * sizeof(T)) % 16 == 0, "staged as 16-byte words");
  stamp(stamps, 0);
  if (PREFETCH) {  // the later stages' weights into L2 while q/k/v streams
    prefetch_l2(w_o, (size_t)D * D * sizeof(T));
    prefetch_l2(cross_a, (size_t)HT * D * sizeof(T));
    prefetch_l2(cross_bt, (size_t)D * HT * sizeof(T));
  }

  // 1. LayerNorm, q/k/v; keys and values straight into the cache at position p
  layer_norm_rows<T, B, D>([&](int i) { return to_f(x[i]); }, ln1_w, ln1_b, xs);
  gemv<T, B, D, R_QKV, KS_QKV, TC>(w_qkv, 3 * D, xs, mma_red, [&](int row, int b, float v) {
    const int which = row / D, rem = row % D;
    if (which == 0) {
      q_s[b * D + rem] = v;
    } else {
      const int h = rem / HD, f = rem % HD;
      kv[(which - 1) * plane + ((size_t)(b * H + h) * W + p) * HD + f] = from_f<T>(v);
    }
  });
  if (PREFETCH) prefetch_l2(w_fc1, (size_t)F * D * sizeof(T));
  grid_sync(sync_words);
  stamp(stamps, 1);

  // 2. attention over positions 0..p: S splits per (row, head), each a partial softmax state
  if constexpr (ATTN_WARP) {
    // one warp per (row, head, split), no block barriers: 8 (16 for float32) lanes hold a key or
    // value row, 4 (2) rows per load; the last of a pair's S warps to finish (a counter per pair
    // after the three barrier words, reset by that warp) merges its S states into ao in T
    constexpr int V = 16 / sizeof(T), LPP = HD / V, PPI = WARP / LPP, FPL = HD / WARP;
    constexpr int U = 8;  // key (then value) rows a lane has in flight
    static_assert(HD % V == 0 && WARP % LPP == 0 && V % 4 == 0 && HD % WARP == 0, "warp attention layout");
    const int n = p + 1, chunk = (n + S - 1) / S;
    float* pr = fs + warp * ((W + S - 1) / S);  // this warp's scores, chunk <= W / S
    unsigned int* pairs = sync_words + 4;
    const int sub = lane % LPP, pg = lane / LPP, c0 = sub * V;
    const float scale = 1.f / sqrtf((float)HD);
    const uint4 zero = make_uint4(0, 0, 0, 0);
    // items spread over the blocks first (consecutive items on different multiprocessors)
    for (int item = warp * gridDim.x + blockIdx.x; item < B * H * S; item += gridDim.x * warps) {
      const int s = item % S, bh = item / S, b = bh / H, h = bh % H;
      const int p0 = s * chunk, p1 = min(n, p0 + chunk);
      const T* keys = cache + (size_t)bh * W * HD;
      const T* vals = keys + plane;
      // this lane's part of rows j0 + u * PPI + pg (u < U) of keys or values, all loads in
      // flight before any is used; zero past p1
      auto load_rows = [&](uint4 (&raw)[U], const T* rows, int j0) {
#pragma unroll
        for (int u = 0; u < U; ++u) {
          const int j = j0 + u * PPI + pg;
          raw[u] = j < p1 ? ld_shared_l2(rows + (size_t)j * HD + c0) : zero;
        }
      };
      float qv[V];
#pragma unroll
      for (int e = 0; e < V; e += 4) {
        const float4 q4 = __ldcg(reinterpret_cast<const float4*>(q_s + b * D + h * HD + c0 + e));
        qv[e] = q4.x * scale;
        qv[e + 1] = q4.y * scale;
        qv[e + 2] = q4.z * scale;
        qv[e + 3] = q4.w * scale;
      }
      float m = neg_inf();
      for (int j0 = p0; j0 < p1; j0 += PPI * U) {  // the same trip count on every lane
        uint4 raw[U];
        load_rows(raw, keys, j0);
#pragma unroll
        for (int u = 0; u < U; ++u) {
          float kf[V];
          unpack<T>(raw[u], kf);
          float d = 0.f;
#pragma unroll
          for (int e = 0; e < V; ++e) d += qv[e] * kf[e];
#pragma unroll
          for (int o = LPP / 2; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
          const int j = j0 + u * PPI + pg;
          if (j < p1) {
            m = fmaxf(m, d);
            if (sub == 0) pr[j - p0] = d;
          }
        }
      }
      m = warp_max(m);
      __syncwarp();
      float l = 0.f;
      for (int j = p0 + lane; j < p1; j += WARP) {
        const float e = __expf(pr[j - p0] - m);
        pr[j - p0] = e;
        l += e;
      }
      l = warp_sum(l);
      __syncwarp();
      float acc[V];
#pragma unroll
      for (int e = 0; e < V; ++e) acc[e] = 0.f;
      for (int j0 = p0; j0 < p1; j0 += PPI * U) {
        uint4 raw[U];
        load_rows(raw, vals, j0);
#pragma unroll
        for (int u = 0; u < U; ++u) {
          const int j = j0 + u * PPI + pg;
          const float e = j < p1 ? pr[j - p0] : 0.f;
          float vf[V];
          unpack<T>(raw[u], vf);
#pragma unroll
          for (int f = 0; f < V; ++f) acc[f] += e * vf[f];
        }
      }
#pragma unroll
      for (int o = LPP; o < WARP; o <<= 1)
#pragma unroll
        for (int f = 0; f < V; ++f) acc[f] += __shfl_xor_sync(0xffffffffu, acc[f], o);
      float* out = attn + (size_t)item * (HD + 2);
      if (pg == 0)
#pragma unroll
        for (int f = 0; f < V; ++f) out[c0 + f] = acc[f];
      if (lane == 0) {
        out[HD] = m;
        out[HD + 1] = l;
      }
      __threadfence();  // every lane's state out before the pair's counter moves
      __syncwarp();
      unsigned int last = 0;
      if (lane == 0) last = atomicAdd(pairs + bh, 1u) == S - 1;
      if (__shfl_sync(0xffffffffu, last, 0)) {
        __threadfence();
        const float* st = attn + (size_t)bh * S * (HD + 2);
        float ms[S], ls[S], as[S][FPL];  // all loads in flight, then the arithmetic
#pragma unroll
        for (int k = 0; k < S; ++k) {
          ms[k] = __ldcg(st + k * (HD + 2) + HD);
          ls[k] = __ldcg(st + k * (HD + 2) + HD + 1);
#pragma unroll
          for (int f = 0; f < FPL; ++f) as[k][f] = __ldcg(st + k * (HD + 2) + lane + f * WARP);
        }
        float M = neg_inf();
#pragma unroll
        for (int k = 0; k < S; ++k) M = fmaxf(M, ms[k]);
        float L = 0.f, A[FPL];
#pragma unroll
        for (int f = 0; f < FPL; ++f) A[f] = 0.f;
#pragma unroll
        for (int k = 0; k < S; ++k) {
          const float w = __expf(ms[k] - M);
          L += w * ls[k];
#pragma unroll
          for (int f = 0; f < FPL; ++f) A[f] += w * as[k][f];
        }
#pragma unroll
        for (int f = 0; f < FPL; ++f) ao[b * D + h * HD + lane + f * WARP] = from_f<T>(A[f] / L);
        if (lane == 0) atomicExch(pairs + bh, 0u);  // for the next launch (they run in stream order)
      }
      __syncwarp();  // pr is rewritten by the next item
    }
  } else {
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

  // 3. the splits combined into the attention output (ATTN_WARP: merged already), out_proj + residual
  if constexpr (ATTN_WARP) {
    if (gemv_busy<T, KS_O, TC>(D)) stage_l2<4>(ao, xs, B * D * (int)sizeof(T) / 16);
  } else if (gemv_busy<T, KS_O, TC>(D)) {
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
  }
  __syncthreads();
  gemv<T, B, D, R_O, KS_O, TC>(w_o, D, xs, mma_red, [&](int row, int b, float v) {
    x1[b * D + row] = to_f(x[b * D + row]) + v;
  });
  if (PREFETCH) prefetch_l2(w_fc2, (size_t)D * F * sizeof(T));
  grid_sync(sync_words);
  stamp(stamps, 3);

  // 4. cross-attention, folded (crossfold.py): scores = LN(x1) @ A + mask
  layer_norm_rows<T, B, D>([&](int i) { return __ldcg(x1 + i); }, ln2_w, ln2_b, xs);
  gemv<T, B, D, R_A, KS_A, TC>(cross_a, HT, xs, mma_red, [&](int row, int b, float v) {
    sc[b * HT + row] = to_f(from_f<T>(v)) + to_f(cross_mask[row]);
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
  gemv<T, B, HT, R_BT, KS_BT, TC>(cross_bt, D, xs, mma_red, [&](int row, int b, float v) {
    x2[b * D + row] = __ldcg(x1 + b * D + row) + (cond[b] ? to_f(from_f<T>(v)) : 0.f);
  });
  if (PREFETCH) prefetch_l2(w_next, (size_t)w_next_shape[0] * w_next_shape[1] * sizeof(T));  // the next launch's
  grid_sync(sync_words);
  stamp(stamps, 5);

  // 6. LayerNorm, fc1, GELU
  layer_norm_rows<T, B, D>([&](int i) { return __ldcg(x2 + i); }, ln3_w, ln3_b, xs);
  gemv<T, B, D, R_FC1, KS_FC1, TC>(w_fc1, F, xs, mma_red, [&](int row, int b, float v) {
    hbuf[b * F + row] = from_f<T>(gelu_erf(to_f(from_f<T>(v))));
  });
  grid_sync(sync_words);
  stamp(stamps, 6);

  // 7. fc2 + residual → the layer's output
  if (gemv_busy<T, KS_FC2, TC>(D)) stage_l2<8>(hbuf, xs, B * F * (int)sizeof(T) / 16);
  __syncthreads();
  gemv<T, B, F, R_FC2, KS_FC2, TC>(w_fc2, D, xs, mma_red, [&](int row, int b, float v) {
    out[b * D + row] = from_f<T>(__ldcg(x2 + b * D + row) + v);
  });
  stamp(stamps, 7);
