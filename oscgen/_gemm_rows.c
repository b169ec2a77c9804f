/* cblas_sgemm for MLX, routed by its row count M to one of two BLAS libraries.
 *
 * Loaded with RTLD_GLOBAL before MLX (oscgen/_blas_rows.py), so MLX's matmuls call this one.
 * Rows in [wide_from, wide_to] go to `wide`, and so do the (W @ x^T)^T form's calls (the weight
 * as A: M and K both >= WXT_MIN_DIM) whose columns N, the rows of x, lie in [wxt_from, wxt_to];
 * every other call goes to `narrow`.  Why: on a 2-core
 * AMD EPYC, MKL streams a 2-row decode matmul fastest (67 ms over musicgen-small's decoder
 * weights against OpenBLAS's 93) while OpenBLAS streams 4-16 rows up to 1.8x faster (76-81 ms
 * against MKL's 109-150), and which wins where is measured per host (oscgen/calibrate.py).
 * Written by hand: BLAS forwarders (libblastrampoline, FlexiBLAS) pick one library per
 * process, none per call shape.  The CBLAS enums are ints in the C ABI. */

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
#define WXT_MIN_DIM 1024               /* a decoder weight's sides; EnCodec's convs are narrower */
static unsigned long calls[2];         /* narrow, wide: for tests (racy, advisory) */

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
                    (n >= wxt_from && n <= wxt_to && m >= WXT_MIN_DIM && k >= WXT_MIN_DIM));
}

unsigned long oscgen_gemm_rows_calls(int to_wide) { return calls[to_wide != 0]; }

void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    int w = oscgen_gemm_rows_wide(m, n, k);
    calls[w]++;
    if (w ? wide64 : narrow64)
        ((sgemm64_fn)(w ? wide : narrow))(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
                                          beta, c, ldc);
    else
        ((sgemm_fn)(w ? wide : narrow))(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
                                        beta, c, ldc);
}
