/* One query position's attention over a cache window, for MLX's CPU decode step
 * (oscgen/musicgen/cpu_attention.py calls it through a small MLX primitive):
 *
 *     out[b, h] = softmax(scale * K[b, h, lo..hi] q[b, h]) V[b, h, lo..hi]
 *
 * with hi = the step's position and lo = row b's first slot (0, or where a row that joined a
 * running pass starts); slots outside lo..hi are never read.  Why by hand: MLX's CPU attention
 * is five ops a layer over the whole window (scale, scores, mask, softmax, values), two BLAS
 * calls per row and head, and a softmax whose exp is scalar on x86 (~25 ns an element); this
 * reads each key and value once, in one pass per (row, head) on the shim's pool.  Each (row, head)
 * is computed by one thread from start to end, so the result does not depend on the thread count.
 * Layouts, row-major float32: q (rows, heads, dim); kv (2, rows, heads, window, dim), keys first;
 * out (rows, heads, dim). */

#include <stddef.h>

#include "_pool.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define KERNEL __attribute__((target("avx2,fma")))

/* exp for x <= 0 (scores minus their maximum): Cephes' expf, 8 lanes: 2^n * p(r), r = x - n ln 2,
 * within 2 ulp of expf over [-87, 0]; below that the result is 0 or a denormal, as expf's */
KERNEL static inline __m256 exp_nonpositive(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

KERNEL static inline float hsum(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_hadd_ps(a, a);
    return _mm_cvtss_f32(_mm_hadd_ps(a, a));
}

#define AHEAD 512 /* bytes: prefetch this far ahead of the keys and values being read */

/* the dot products of 4 keys with the (scaled) query, 8 features at a time → 4 scores */
KERNEL static inline __m128 scores4(int dim, const __m256 *qv, const float *k) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int d = 0; d < dim; d += 8) {
        a0 = _mm256_fmadd_ps(qv[d / 8], _mm256_loadu_ps(k + d), a0);
        a1 = _mm256_fmadd_ps(qv[d / 8], _mm256_loadu_ps(k + dim + d), a1);
        a2 = _mm256_fmadd_ps(qv[d / 8], _mm256_loadu_ps(k + 2 * dim + d), a2);
        a3 = _mm256_fmadd_ps(qv[d / 8], _mm256_loadu_ps(k + 3 * dim + d), a3);
    }
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3)); /* lanes: 0123 0123 */
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* out[0..64) = sum_j p[j] v[j, 0..64) over n rows of `dim` */
KERNEL static inline void values64(int n, int dim, const float *p, const float *v, float inverse, float *out) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int j = 0; j < n; j++) {
        const float *vj = v + (size_t)j * dim;
        _mm_prefetch((const char *)vj + AHEAD, _MM_HINT_T0);
        _mm_prefetch((const char *)vj + AHEAD + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)vj + AHEAD + 128, _MM_HINT_T0);
        _mm_prefetch((const char *)vj + AHEAD + 192, _MM_HINT_T0);
        __m256 w = _mm256_broadcast_ss(p + j);
        a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj), a0), a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 8), a1);
        a2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 16), a2), a3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 24), a3);
        a4 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 32), a4), a5 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 40), a5);
        a6 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 48), a6), a7 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 56), a7);
    }
    __m256 f = _mm256_set1_ps(inverse);
    _mm256_storeu_ps(out, _mm256_mul_ps(a0, f)), _mm256_storeu_ps(out + 8, _mm256_mul_ps(a1, f));
    _mm256_storeu_ps(out + 16, _mm256_mul_ps(a2, f)), _mm256_storeu_ps(out + 24, _mm256_mul_ps(a3, f));
    _mm256_storeu_ps(out + 32, _mm256_mul_ps(a4, f)), _mm256_storeu_ps(out + 40, _mm256_mul_ps(a5, f));
    _mm256_storeu_ps(out + 48, _mm256_mul_ps(a6, f)), _mm256_storeu_ps(out + 56, _mm256_mul_ps(a7, f));
}

/* the same for a last block of fewer than 64 features (a multiple of 8) */
KERNEL static void values_narrow(int n, int dim, int width, const float *p, const float *v, float inverse, float *out) {
    __m256 acc[8];
    for (int u = 0; u < width / 8; u++) acc[u] = _mm256_setzero_ps();
    for (int j = 0; j < n; j++) {
        __m256 w = _mm256_broadcast_ss(p + j);
        for (int u = 0; u < width / 8; u++) acc[u] = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + (size_t)j * dim + 8 * u), acc[u]);
    }
    for (int u = 0; u < width / 8; u++) _mm256_storeu_ps(out + 8 * u, _mm256_mul_ps(acc[u], _mm256_set1_ps(inverse)));
}

/* one (row, head): n = hi - lo + 1 keys and values of `dim` features (a multiple of 8, at most 256) */
KERNEL static void attend(int n, int dim, const float *q, const float *k, const float *v, float scale, float *out) {
    if (n < 1) { /* a row whose first slot is still ahead (no slot to attend): zeros */
        for (int d = 0; d < dim; d++) out[d] = 0.0f;
        return;
    }
    float s[n + 8]; /* the scores, then the weights; n is at most the window (cpu_attention.py) */
    __m256 qv[32];
    for (int d = 0; d < dim; d += 8) qv[d / 8] = _mm256_mul_ps(_mm256_loadu_ps(q + d), _mm256_set1_ps(scale));
    __m128 top4 = _mm_set1_ps(-__builtin_inff());
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const char *ahead = (const char *)(k + (size_t)j * dim) + AHEAD;
        for (int b = 0; b < 4 * dim * 4; b += 64) _mm_prefetch(ahead + b, _MM_HINT_T0);
        __m128 s4 = scores4(dim, qv, k + (size_t)j * dim);
        _mm_storeu_ps(s + j, s4);
        top4 = _mm_max_ps(top4, s4);
    }
    float top4s[4], top;
    _mm_storeu_ps(top4s, top4);
    top = top4s[0] > top4s[1] ? top4s[0] : top4s[1];
    top = top > top4s[2] ? top : top4s[2];
    top = top > top4s[3] ? top : top4s[3];
    for (; j < n; j++) { /* the last 1-3 keys */
        const float *kj = k + (size_t)j * dim;
        __m256 a = _mm256_setzero_ps();
        for (int d = 0; d < dim; d += 8) a = _mm256_fmadd_ps(qv[d / 8], _mm256_loadu_ps(kj + d), a);
        s[j] = hsum(a);
        top = s[j] > top ? s[j] : top;
    }
    for (j = n; j < n + 8; j++) s[j] = -__builtin_inff(); /* a whole last vector: e^-87 each, below the total's rounding */
    __m256 total = _mm256_setzero_ps(), m = _mm256_set1_ps(top);
    for (j = 0; j < n; j += 8) {
        __m256 p = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(s + j), m));
        _mm256_storeu_ps(s + j, p);
        total = _mm256_add_ps(total, p);
    }
    float inverse = 1.0f / hsum(total);
    for (int d0 = 0; d0 < dim; d0 += 64) /* the values, 64 features (8 registers) at a time */
        if (dim - d0 >= 64)
            values64(n, dim, s, v + d0, inverse, out + d0);
        else
            values_narrow(n, dim, dim - d0, s, v + d0, inverse, out + d0);
}

int oscgen_attention_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
static void attend(int n, int dim, const float *q, const float *k, const float *v, float scale, float *out) {}
int oscgen_attention_supported(void) { return 0; }
#endif

#define POOL_MIN_KEYS (1 << 16) /* key floats (256 KB) from which a call is split over the pool */

struct call {
    int rows, heads, window, dim, position;
    const float *q, *kv;
    const int *offsets;
    float scale, *out;
};

static void attend_part(void *context, int part, int parts) { /* a contiguous share of the (row, head) pairs */
    const struct call *c = context;
    int pairs = c->rows * c->heads;
    size_t cache = (size_t)c->window * c->dim;
    for (int i = pairs * part / parts; i < pairs * (part + 1) / parts; i++) {
        int lo = c->offsets ? c->offsets[i / c->heads] : 0;
        const float *k = c->kv + (size_t)i * cache + (size_t)lo * c->dim;
        attend(c->position - lo + 1, c->dim, c->q + (size_t)i * c->dim, k, k + (size_t)pairs * cache, c->scale,
               c->out + (size_t)i * c->dim);
    }
}

/* offsets: per row its first slot (NULL: 0), 0 <= lo; position < window */
void oscgen_attention_decode(int rows, int heads, int window, int dim, const float *q, const float *kv,
                             int position, const int *offsets, float scale, float *out) {
    struct call c = {rows, heads, window, dim, position, q, kv, offsets, scale, out};
    /* a small call (a tiny model's, the first steps') costs less than waking the pool */
    if ((long long)rows * heads * (position + 1) * dim >= POOL_MIN_KEYS && oscgen_pool_begin()) {
        oscgen_pool_run(attend_part, &c);
        oscgen_pool_end();
    } else { /* small, or another thread holds the pool */
        attend_part(&c, 0, 1);
    }
}
