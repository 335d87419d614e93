/* test_blas.c: fg_blas_gemm_f64 without a BLAS (the plain loops) and with
 * one, against a direct triple sum, for every combination of transposes,
 * accumulation and the NaN-safe flag, at edge sizes and padded leading
 * dimensions.
 *
 * The "BLAS" here is a column-major dgemm/dgemv written from the reference
 * BLAS's definition, which checks its arguments as the reference BLAS's
 * xerbla does (a bad call fails the test) and scales C by beta as written
 * (0 * NaN is NaN), so a caller that leaves garbage in C under beta = 0 is
 * caught. It proves the row-major to column-major translation without
 * linking a real BLAS: the core must build and run without one. */
#include "check.h"
#include "fg_blas.h"

static int bad_calls = 0;
static int gemm_calls = 0, gemv_calls = 0;

static int imax1(int v) { return v > 1 ? v : 1; }

/* C = alpha op(A) op(B) + beta C, column-major. */
static void ref_dgemm(const char *ta, const char *tb, const int *m, const int *n, const int *k,
                      const double *alpha, const double *a, const int *lda, const double *b,
                      const int *ldb, const double *beta, double *c, const int *ldc)
{
    const int na = *ta == 'T', nb = *tb == 'T';
    if ((*ta != 'N' && *ta != 'T') || (*tb != 'N' && *tb != 'T') || *m < 0 || *n < 0
        || *k < 0 || *lda < imax1(na ? *k : *m) || *ldb < imax1(nb ? *n : *k)
        || *ldc < imax1(*m)) {
        bad_calls++;
        return;
    }
    gemm_calls++;
    for (int j = 0; j < *n; j++)
        for (int i = 0; i < *m; i++) {
            double s = 0.0;
            for (int l = 0; l < *k; l++) {
                const double x = na ? a[l + i * *lda] : a[i + l * *lda];
                const double y = nb ? b[j + l * *ldb] : b[l + j * *ldb];
                s += x * y;
            }
            c[i + j * *ldc] = *alpha * s + *beta * c[i + j * *ldc];
        }
}

/* y = alpha op(A) x + beta y, column-major A (m x n). */
static void ref_dgemv(const char *t, const int *m, const int *n, const double *alpha,
                      const double *a, const int *lda, const double *x, const int *incx,
                      const double *beta, double *y, const int *incy)
{
    if ((*t != 'N' && *t != 'T') || *m < 0 || *n < 0 || *lda < imax1(*m) || *incx <= 0
        || *incy <= 0) {
        bad_calls++;
        return;
    }
    gemv_calls++;
    const int tr = *t == 'T', rows = tr ? *n : *m, cols = tr ? *m : *n;
    for (int i = 0; i < rows; i++) {
        double s = 0.0;
        for (int l = 0; l < cols; l++)
            s += (tr ? a[l + i * *lda] : a[i + l * *lda]) * x[l * *incx];
        y[i * *incy] = *alpha * s + *beta * y[i * *incy];
    }
}

/* op(A)[i, l] and op(B)[l, j] of the row-major operands. */
static double at_a(const double *a, int64_t lda, int ta, int64_t i, int64_t l)
{
    return ta ? a[l * lda + i] : a[i * lda + l];
}
static double at_b(const double *b, int64_t ldb, int tb, int64_t l, int64_t j)
{
    return tb ? b[j * ldb + l] : b[l * ldb + j];
}

/* One product by fg_blas_gemm_f64 against the direct sum, C's padding
 * (beyond n in each row) untouched. */
static void check_product(const fg_blas *blas, int flags, int64_t m, int64_t n, int64_t k,
                          uint64_t *seed)
{
    const int ta = (flags & FG_GEMM_TRANS_A) != 0, tb = (flags & FG_GEMM_TRANS_B) != 0;
    const int64_t pad = 3;
    const int64_t arows = ta ? k : m, acols = ta ? m : k;
    const int64_t brows = tb ? n : k, bcols = tb ? k : n;
    const int64_t lda = acols + pad, ldb = bcols + pad, ldc = n + pad;
    double *a = fg_test_doubles((size_t)(arows * lda), seed, -1.0, 1.0);
    double *b = fg_test_doubles((size_t)(brows * ldb), seed, -1.0, 1.0);
    double *c = fg_test_doubles((size_t)(m * ldc), seed, -1.0, 1.0);
    double *c0 = malloc((size_t)(m * ldc + 1) * sizeof *c0);
    if (!c0) abort();
    if (!(flags & FG_GEMM_ADD))   /* old contents never read */
        for (int64_t i = 0; i < m * ldc; i++)
            if (i % ldc < n) c[i] = NAN;
    memcpy(c0, c, (size_t)(m * ldc) * sizeof *c);
    fg_blas_gemm_f64(blas, flags, m, n, k, a, lda, b, ldb, c, ldc);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < ldc; j++) {
            const double got = c[i * ldc + j];
            if (j >= n) {
                CHECK(got == c0[i * ldc + j]);
                continue;
            }
            double want = (flags & FG_GEMM_ADD) ? c0[i * ldc + j] : 0.0, mag = fabs(want);
            for (int64_t l = 0; l < k; l++) {
                const double t = at_a(a, lda, ta, i, l) * at_b(b, ldb, tb, l, j);
                want += t;
                mag += fabs(t);
            }
            CHECK(fabs(got - want) <= 1e-14 * (mag + 1.0));
        }
    free(a);
    free(b);
    free(c);
    free(c0);
}

static const int64_t SIZES[] = {0, 1, 2, 3, 5, 17};

static void test_every_layout(const fg_blas *blas)
{
    uint64_t seed = 7;
    const size_t ns = sizeof SIZES / sizeof SIZES[0];
    for (int flags = 0; flags < 16; flags++)
        for (size_t im = 0; im < ns; im++)
            for (size_t in = 0; in < ns; in++)
                for (size_t ik = 0; ik < ns; ik++)
                    check_product(blas, flags, SIZES[im], SIZES[in], SIZES[ik], &seed);
}

/* Which products go to the BLAS. */
static void test_route(void)
{
    fg_blas none = {NULL, NULL, 0};
    fg_blas all = {ref_dgemm, ref_dgemv, 0};
    fg_blas some = {ref_dgemm, NULL, 1000};
    CHECK(!fg_blas_gemm_uses_blas(NULL, 0, 10, 10, 10, 10, 10, 10));
    CHECK(!fg_blas_gemm_uses_blas(&none, 0, 10, 10, 10, 10, 10, 10));
    CHECK(fg_blas_gemm_uses_blas(&all, 0, 10, 10, 10, 10, 10, 10));
    CHECK(fg_blas_gemm_uses_blas(&all, 0, 1, 1, 2, 2, 1, 1));
    CHECK(!fg_blas_gemm_uses_blas(&all, 0, 10, 10, 1, 1, 10, 10));      /* outer product */
    CHECK(!fg_blas_gemm_uses_blas(&all, 0, 0, 10, 10, 10, 10, 10));     /* empty */
    CHECK(!fg_blas_gemm_uses_blas(&all, FG_GEMM_NAN_SAFE, 10, 10, 10, 10, 10, 10));
    CHECK(fg_blas_gemm_uses_blas(&some, 0, 10, 10, 10, 10, 10, 10));    /* 1000 >= 1000 */
    CHECK(!fg_blas_gemm_uses_blas(&some, 0, 10, 10, 9, 10, 10, 10));
    CHECK(!fg_blas_gemm_uses_blas(&some, 0, 1, 1, 999, 999, 1, 1));
    /* sizes and strides beyond BLAS's 32-bit ints stay in the loops, and
     * m * n * k beyond 2^63 does not overflow the threshold test */
    CHECK(!fg_blas_gemm_uses_blas(&all, 0, 3, 3, 3, (int64_t)1 << 31, 3, 3));
    CHECK(!fg_blas_gemm_uses_blas(&all, 0, (int64_t)1 << 31, 2, 2, 2, 2, 2));
    fg_blas big = {ref_dgemm, ref_dgemv, (int64_t)1 << 62};
    CHECK(fg_blas_gemm_uses_blas(&big, 0, 2147483647, 2147483647, 2147483647, 2147483647,
                                 2147483647, 2147483647));
    CHECK(!fg_blas_gemm_uses_blas(&big, 0, 2147483647, 2, 2, 2, 2, 2));
    fg_blas most = {ref_dgemm, ref_dgemv, INT64_MAX};
    CHECK(fg_blas_gemm_uses_blas(&most, 0, 2147483647, 2147483647, 2147483647, 2147483647,
                                 2147483647, 2147483647));   /* 2^93 multiply-adds */
    CHECK(!fg_blas_gemm_uses_blas(&most, 0, 2, 2, 2147483647, 2147483647, 2, 2));
}

/* 0 times an infinity or NaN: IEEE NaN without the flag, by the loops and
 * the BLAS alike; 0 with FG_GEMM_NAN_SAFE (the loops). */
static void test_special_values(const fg_blas *blas)
{
    /* A = [[0, 1], [2, 3]], B = [[inf, 1], [1, NaN]] */
    const double a[4] = {0.0, 1.0, 2.0, 3.0}, b[4] = {INFINITY, 1.0, 1.0, NAN};
    double c[4];
    fg_blas_gemm_f64(blas, 0, 2, 2, 2, a, 2, b, 2, c, 2);
    CHECK(isnan(c[0]) && c[0] != c[0]);   /* 0 * inf + 1 * 1 */
    CHECK(isnan(c[1]));                  /* 0 * 1 + 1 * NaN */
    CHECK(isinf(c[2]) && c[2] > 0);      /* 2 * inf + 3 * 1 */
    CHECK(isnan(c[3]));
    fg_blas_gemm_f64(blas, FG_GEMM_NAN_SAFE, 2, 2, 2, a, 2, b, 2, c, 2);
    CHECK(c[0] == 1.0);
    CHECK(isnan(c[1]));                  /* 1 * NaN stays NaN */
    CHECK(isinf(c[2]));
    CHECK(isnan(c[3]));
}

int main(void)
{
    test_route();
    test_every_layout(NULL);
    fg_blas none = {NULL, ref_dgemv, 0};
    test_every_layout(&none);
    CHECK(gemv_calls == 0);
    fg_blas gemm_only = {ref_dgemm, NULL, 0};
    test_every_layout(&gemm_only);
    CHECK(gemm_calls > 0 && gemv_calls == 0);
    fg_blas both = {ref_dgemm, ref_dgemv, 0};
    test_every_layout(&both);
    CHECK(gemv_calls > 0);
    fg_blas threshold = {ref_dgemm, ref_dgemv, 64};
    test_every_layout(&threshold);
    test_special_values(NULL);
    test_special_values(&both);
    CHECK(bad_calls == 0);
    return TEST_EXIT();
}
