/* cblas_sgemm for MLX, routed by its row count M: MKL, OpenBLAS, or oscgen's own small-M kernel.
 *
 * Loaded with RTLD_GLOBAL before MLX (oscgen/_blas_rows.py), so MLX's matmuls call this one.
 * Rows in [own_from, own_to] of a plain x @ W^T call over a weight of OWN_MIN_DIM a side run on
 * the kernel below, and while it is routed so do attention's per-head products (scores q @ K^T
 * and values p @ V over heads of 64: MLX's CPU attention calls the BLAS once per row and head,
 * each call too small for MKL to split, so on one thread; on the pool the 24 layers' attention of
 * a 2-row step at 512 cache slots took 27.7 ms against 41.5, 8 rows 105 against 158, Zen 1 EPYC,
 * 2026-12-03); rows in [wide_from, wide_to] go to `wide` (OpenBLAS), and so do the
 * (W @ x^T)^T form's calls (the weight as A: M and K both >= MIN_DIM) whose columns N, the rows
 * of x, lie in [wxt_from, wxt_to]; every other call goes to `narrow` (MKL).  Why: on a 2-core
 * AMD EPYC, MKL streams a 2-row decode matmul fastest of the two libraries (67 ms over
 * musicgen-small's decoder weights against OpenBLAS's 93) while OpenBLAS streams 4-16 rows up
 * to 1.8x faster, and on a 2-core Zen 1 EPYC (2026-12-02) the kernel below streams 2 rows at
 * 1.4x MKL's speed (23 against 16 GB/s under MLX): which wins where is measured per host
 * (oscgen/calibrate.py).  Written by hand: BLAS forwarders (libblastrampoline, FlexiBLAS) pick
 * one library per process, none per call shape; and no library measured streams few rows at
 * the memory's speed on AMD (MKL takes a generic path there, OpenBLAS packs the weight, and
 * Debian's BLIS 0.9 took 29 / 37 / 66 ms at 2 / 4 / 8 rows of a 327 MB pass where this kernel
 * took 23 / 26 / 41, in one process on the Zen 1 EPYC under the same load).  The CBLAS enums are ints in the C ABI. */

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "_pool.h"

typedef void (*sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                         const float *a, int lda, const float *b, int ldb, float beta, float *c,
                         int ldc);
/* the same with 64-bit sizes: numpy's bundled OpenBLAS (scipy_cblas_sgemm64_, ILP64) */
typedef void (*sgemm64_fn)(int order, int trans_a, int trans_b, long long m, long long n,
                           long long k, float alpha, const float *a, long long lda,
                           const float *b, long long ldb, float beta, float *c, long long ldc);

static void *narrow, *wide;
static int narrow64, wide64;           /* whether each takes 64-bit sizes */
static int wide_from = 1, wide_to = 0; /* empty: every call to `narrow` */
static int wxt_from = 1, wxt_to = 0;   /* empty: no (W @ x^T)^T call to `wide` */
static int own_from = 1, own_to = 0;   /* empty: no call to the kernel */
#define MIN_DIM 1024                   /* a decoder weight's sides; EnCodec's convs are narrower */
/* the kernel's: a decoder weight's sides and the folded cross-attention's 256 (crossfold.py); MKL
 * at 2 threads splits those 1 MB GEMMs for no gain, its OpenMP worker spinning against the kernel's.
 * Attention's per-head calls (64 inputs) have their own rule (oscgen_gemm_own_attention). */
#define OWN_MIN_DIM 256
static unsigned long calls[3];         /* narrow, wide, own: for tests (racy, advisory) */

void oscgen_gemm_rows_route(void *narrow_fn, int narrow_ilp64, void *wide_fn, int wide_ilp64,
                            int from_rows, int to_rows, int wxt_from_rows, int wxt_to_rows) {
    narrow = narrow_fn;
    narrow64 = narrow_ilp64;
    wide = wide_fn;
    wide64 = wide_ilp64;
    wide_from = from_rows;
    wide_to = to_rows;
    wxt_from = wxt_from_rows;
    wxt_to = wxt_to_rows;
}

int oscgen_gemm_rows_wide(int m, int n, int k) {
    return wide && ((m >= wide_from && m <= wide_to) ||
                    (n >= wxt_from && n <= wxt_to && m >= MIN_DIM && k >= MIN_DIM));
}

unsigned long oscgen_gemm_rows_calls(int way) { return way >= 0 && way < 3 ? calls[way] : 0; }

/* ---- the kernel: C = x @ W^T (+ beta C) for a few rows of x, W streamed once ----------------
 * Each thread takes a share of W's rows (the outputs) and, a few rows of W at a time, computes
 * their dot products with 2 rows of x per sweep (4 rows of W: 8 accumulators, 8 FMAs per 6
 * loads) or, from 3 rows of x, 4 per sweep (3 rows of W): W comes from memory once and from
 * L1/L2 for the next rows of x.  Threads: the caller plus
 * `own_threads` - 1 workers, which spin briefly after a call and then sleep. */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define KERNEL __attribute__((target("avx2,fma")))
#define PAUSE() __builtin_ia32_pause()

KERNEL static inline float hsum(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_hadd_ps(a, a);
    return _mm_cvtss_f32(_mm_hadd_ps(a, a));
}

KERNEL static inline void store(float *c, int n, int r, int j, int mb, int nb, int width, const float *s,
                                float beta) {
    for (int u = 0; u < mb; u++)
        for (int v = 0; v < nb; v++) {
            float *out = c + (size_t)(r + u) * n + j + v;
            *out = beta == 0.0f ? s[u * width + v] : s[u * width + v] + beta * *out;
        }
}

KERNEL static void kernel_rows_2x4(int m, int n, int k, const float *x, const float *w, float beta,
                               float *c, int j0, int j1) {
    for (int j = j0; j < j1; j += 4) {
        int nb = j1 - j < 4 ? j1 - j : 4; /* a short last block repeats its last row */
        const float *w0 = w + (size_t)j * k, *w1 = w + (size_t)(j + (nb > 1)) * k;
        const float *w2 = w + (size_t)(j + (nb > 2 ? 2 : 0)) * k;
        const float *w3 = w + (size_t)(j + (nb > 3 ? 3 : 0)) * k;
        for (int r = 0; r < m; r += 2) {
            int mb = m - r < 2 ? m - r : 2;
            const float *x0 = x + (size_t)r * k, *x1 = x + (size_t)(r + mb - 1) * k;
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
            __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            for (int i = 0; i < k; i += 8) {
                __m256 b0 = _mm256_loadu_ps(w0 + i), b1 = _mm256_loadu_ps(w1 + i);
                __m256 b2 = _mm256_loadu_ps(w2 + i), b3 = _mm256_loadu_ps(w3 + i);
                __m256 p = _mm256_loadu_ps(x0 + i);
                a00 = _mm256_fmadd_ps(p, b0, a00), a01 = _mm256_fmadd_ps(p, b1, a01);
                a02 = _mm256_fmadd_ps(p, b2, a02), a03 = _mm256_fmadd_ps(p, b3, a03);
                p = _mm256_loadu_ps(x1 + i);
                a10 = _mm256_fmadd_ps(p, b0, a10), a11 = _mm256_fmadd_ps(p, b1, a11);
                a12 = _mm256_fmadd_ps(p, b2, a12), a13 = _mm256_fmadd_ps(p, b3, a13);
            }
            float s[2][4] = {{hsum(a00), hsum(a01), hsum(a02), hsum(a03)},
                             {hsum(a10), hsum(a11), hsum(a12), hsum(a13)}};
            store(c, n, r, j, mb, nb, 4, &s[0][0], beta);
        }
    }
}

/* 4 rows of x by 3 of W per sweep (12 accumulators, 12 FMAs per 7 loads): from 3 rows of x,
 * where the 2 by 4 sweep's FMAs would bind; fewer rows repeat the last one */
KERNEL static void kernel_rows_4x3(int m, int n, int k, const float *x, const float *w, float beta,
                                   float *c, int j0, int j1) {
    for (int j = j0; j < j1; j += 3) {
        int nb = j1 - j < 3 ? j1 - j : 3;
        const float *w0 = w + (size_t)j * k, *w1 = w + (size_t)(j + (nb > 1)) * k;
        const float *w2 = w + (size_t)(j + (nb > 2 ? 2 : 0)) * k;
        for (int r = 0; r < m; r += 4) {
            int mb = m - r < 4 ? m - r : 4;
            const float *x0 = x + (size_t)r * k, *x1 = x + (size_t)(r + (mb > 1)) * k;
            const float *x2 = x + (size_t)(r + (mb > 2 ? 2 : 0)) * k;
            const float *x3 = x + (size_t)(r + (mb > 3 ? 3 : 0)) * k;
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
            __m256 a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
            for (int i = 0; i < k; i += 8) {
                __m256 b0 = _mm256_loadu_ps(w0 + i), b1 = _mm256_loadu_ps(w1 + i), b2 = _mm256_loadu_ps(w2 + i);
                __m256 p = _mm256_loadu_ps(x0 + i);
                a00 = _mm256_fmadd_ps(p, b0, a00), a01 = _mm256_fmadd_ps(p, b1, a01), a02 = _mm256_fmadd_ps(p, b2, a02);
                p = _mm256_loadu_ps(x1 + i);
                a10 = _mm256_fmadd_ps(p, b0, a10), a11 = _mm256_fmadd_ps(p, b1, a11), a12 = _mm256_fmadd_ps(p, b2, a12);
                p = _mm256_loadu_ps(x2 + i);
                a20 = _mm256_fmadd_ps(p, b0, a20), a21 = _mm256_fmadd_ps(p, b1, a21), a22 = _mm256_fmadd_ps(p, b2, a22);
                p = _mm256_loadu_ps(x3 + i);
                a30 = _mm256_fmadd_ps(p, b0, a30), a31 = _mm256_fmadd_ps(p, b1, a31), a32 = _mm256_fmadd_ps(p, b2, a32);
            }
            float s[4][3] = {{hsum(a00), hsum(a01), hsum(a02)}, {hsum(a10), hsum(a11), hsum(a12)},
                             {hsum(a20), hsum(a21), hsum(a22)}, {hsum(a30), hsum(a31), hsum(a32)}};
            store(c, n, r, j, mb, nb, 3, &s[0][0], beta);
        }
    }
}

KERNEL static void kernel_rows(int m, int n, int k, const float *x, const float *w, float beta,
                               float *c, int j0, int j1) {
    (m <= 2 ? kernel_rows_2x4 : kernel_rows_4x3)(m, n, k, x, w, beta, c, j0, j1);
}

/* x @ W for a few rows of x and a W of (k, 64), row-major (attention's probabilities times one
 * head's values): W's rows i0..i1 into 64-wide partial sums, one per row of x; the caller adds
 * the chunks' partials in their order, so the result does not depend on the thread count */
KERNEL static void kernel_values(int m, int k, const float *x, const float *w, int i0, int i1, float *partial) {
    for (int r = 0; r < m; r++) {
        const float *xr = x + (size_t)r * k;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int i = i0; i < i1; i++) {
            const float *wi = w + (size_t)i * 64;
            __m256 p = _mm256_broadcast_ss(xr + i);
            a0 = _mm256_fmadd_ps(p, _mm256_loadu_ps(wi), a0), a1 = _mm256_fmadd_ps(p, _mm256_loadu_ps(wi + 8), a1);
            a2 = _mm256_fmadd_ps(p, _mm256_loadu_ps(wi + 16), a2), a3 = _mm256_fmadd_ps(p, _mm256_loadu_ps(wi + 24), a3);
            a4 = _mm256_fmadd_ps(p, _mm256_loadu_ps(wi + 32), a4), a5 = _mm256_fmadd_ps(p, _mm256_loadu_ps(wi + 40), a5);
            a6 = _mm256_fmadd_ps(p, _mm256_loadu_ps(wi + 48), a6), a7 = _mm256_fmadd_ps(p, _mm256_loadu_ps(wi + 56), a7);
        }
        float *o = partial + r * 64;
        _mm256_storeu_ps(o, a0), _mm256_storeu_ps(o + 8, a1), _mm256_storeu_ps(o + 16, a2), _mm256_storeu_ps(o + 24, a3);
        _mm256_storeu_ps(o + 32, a4), _mm256_storeu_ps(o + 40, a5), _mm256_storeu_ps(o + 48, a6), _mm256_storeu_ps(o + 56, a7);
    }
}

int oscgen_gemm_own_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
static void kernel_rows(int m, int n, int k, const float *x, const float *w, float beta, float *c,
                        int j0, int j1) {}
static void kernel_values(int m, int k, const float *x, const float *w, int i0, int i1, float *partial) {}
int oscgen_gemm_own_supported(void) { return 0; }
#define PAUSE()
#endif

#define MAX_THREADS 64
#define SPIN_NS 200000 /* a worker's spin after a call before it sleeps: the next linear is close */

#define VALUES_CHUNK 128 /* rows of W per partial sum of the values kernel */
#define VALUES_ROWS 4
#define VALUES_CHUNKS 64 /* k up to 8192 */
static struct {
    int m, n, k;
    const float *x, *w;
    float beta, *c;
    int parts, values; /* values: x @ W (kernel_values) instead of x @ W^T */
    void (*task)(void *context, int part, int parts); /* another kernel's job (_pool.h), or NULL */
    void *context;
} job;
static float partials[VALUES_CHUNKS][VALUES_ROWS * 64];
static int own_threads = 1, workers; /* workers started (own_threads - 1 at most) */
static atomic_uint generation, finished;
static unsigned first_seen[MAX_THREADS]; /* the generation before a worker's first call */
static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER; /* one call on the pool at a time */
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;

static void run_part(int part) { /* x @ W^T: the part's rows of W, in blocks of 4; x @ W: its chunks */
    if (job.task) {
        job.task(job.context, part, job.parts);
        return;
    }
    if (job.values) {
        int chunks = (job.k + VALUES_CHUNK - 1) / VALUES_CHUNK;
        for (int q = chunks * part / job.parts; q < chunks * (part + 1) / job.parts; q++) {
            int i1 = (q + 1) * VALUES_CHUNK < job.k ? (q + 1) * VALUES_CHUNK : job.k;
            kernel_values(job.m, job.k, job.x, job.w, q * VALUES_CHUNK, i1, partials[q]);
        }
        return;
    }
    int blocks = (job.n + 3) / 4, j0 = blocks * part / job.parts * 4, j1 = blocks * (part + 1) / job.parts * 4;
    kernel_rows(job.m, job.n, job.k, job.x, job.w, job.beta, job.c, j0, j1 < job.n ? j1 : job.n);
}

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *worker(void *arg) {
    int index = (int)(size_t)arg;
    unsigned seen = first_seen[index];
    for (;;) {
        long long until = now_ns() + SPIN_NS;
        unsigned g;
        while ((g = atomic_load(&generation)) == seen && now_ns() < until)
            for (int i = 0; i < 64; i++) PAUSE();
        if (g == seen) {
            pthread_mutex_lock(&sleep_lock);
            while ((g = atomic_load(&generation)) == seen) pthread_cond_wait(&wake, &sleep_lock);
            pthread_mutex_unlock(&sleep_lock);
        }
        seen = g;
        if (index < job.parts) run_part(index);
        atomic_fetch_add(&finished, 1);
    }
    return NULL;
}

static void after_fork(void) { workers = 0; } /* a child has no workers: they start again */

void oscgen_gemm_own_route(int from_rows, int to_rows, int threads) {
    static int registered;
    if (!registered) registered = !pthread_atfork(NULL, NULL, after_fork);
    own_from = oscgen_gemm_own_supported() ? from_rows : 1;
    own_to = oscgen_gemm_own_supported() ? to_rows : 0;
    own_threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
}

int oscgen_gemm_own_rows(int m, int n, int k) {
    return m >= own_from && m <= own_to && n >= OWN_MIN_DIM && k >= OWN_MIN_DIM && k % 8 == 0;
}

/* attention's per-head products while the kernel is routed: scores q @ K^T (a query row or a few,
 * 64 inputs, a window of 256+ keys) and values p @ V (64 outputs) */
int oscgen_gemm_own_attention(int m, int n, int k, int values) {
    if (own_from > own_to || m < 1 || m > VALUES_ROWS) return 0;
    return values ? n == 64 && k >= OWN_MIN_DIM && k <= VALUES_CHUNK * VALUES_CHUNKS
                  : n >= OWN_MIN_DIM && k == 64;
}

int oscgen_pool_begin(void) {
    if (pthread_mutex_trylock(&busy) != 0) return 0; /* another thread's call is on the pool */
    while (workers < own_threads - 1) {
        pthread_t t;
        first_seen[workers + 1] = atomic_load(&generation);
        if (pthread_create(&t, NULL, worker, (void *)(size_t)(workers + 1)) != 0) break;
        pthread_detach(t);
        workers++;
    }
    job.parts = workers + 1 < own_threads ? workers + 1 : own_threads;
    job.task = NULL;
    return job.parts;
}

void oscgen_pool_run(void (*task)(void *context, int part, int parts), void *context) {
    job.task = task, job.context = context;
    atomic_store(&finished, 0);
    pthread_mutex_lock(&sleep_lock);
    atomic_fetch_add(&generation, 1);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&sleep_lock);
    run_part(0);
    while (atomic_load(&finished) < (unsigned)workers) PAUSE(); /* idle workers count too */
}

void oscgen_pool_end(void) { pthread_mutex_unlock(&busy); }

static int own_gemm(int m, int n, int k, const float *x, const float *w, float beta, float *c, int values) {
    if (!oscgen_pool_begin()) return 0;
    job.m = m, job.n = n, job.k = k, job.x = x, job.w = w, job.beta = beta, job.c = c;
    job.values = values;
    oscgen_pool_run(NULL, NULL);
    if (values) /* the chunks' partial sums, in chunk order */
        for (int r = 0; r < m; r++)
            for (int j = 0; j < 64; j++) {
                float sum = 0.0f;
                for (int q = 0; q * VALUES_CHUNK < k; q++) sum += partials[q][r * 64 + j];
                c[r * 64 + j] = beta == 0.0f ? sum : sum + beta * c[r * 64 + j];
            }
    oscgen_pool_end();
    return 1;
}

void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    /* row-major x (m, k) @ W^T with W (n, k) row-major, packed: what MLX's x @ W.T passes */
    if (order == 101 && trans_a == 111 && trans_b == 112 && alpha == 1.0f && lda == k && ldb == k &&
        ldc == n && (oscgen_gemm_own_rows(m, n, k) || oscgen_gemm_own_attention(m, n, k, 0)) &&
        own_gemm(m, n, k, a, b, beta, c, 0)) {
        calls[2]++;
        return;
    }
    if (order == 101 && trans_a == 111 && trans_b == 111 && alpha == 1.0f && lda == k && ldb == n &&
        ldc == n && oscgen_gemm_own_attention(m, n, k, 1) && own_gemm(m, n, k, a, b, beta, c, 1)) {
        calls[2]++;
        return;
    }
    int w = oscgen_gemm_rows_wide(m, n, k);
    calls[w]++;
    if (w ? wide64 : narrow64)
        ((sgemm64_fn)(w ? wide : narrow))(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
                                          beta, c, ldc);
    else
        ((sgemm_fn)(w ? wide : narrow))(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
                                        beta, c, ldc);
}
