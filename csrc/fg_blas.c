/* fg_blas.c: row-major matrix products through the caller's BLAS or the
 * plain loops (see fg_blas.h).
 *
 * The plain loops keep their innermost loop contiguous in memory for each
 * combination of transposes, and test the NaN-safe flag once per call (a
 * loop-invariant branch the compiler hoists). */
#include <limits.h>
#include <string.h>
#include "fg_blas.h"
#include "fg_config.h"
#include "fg_elem.h"   /* FG_NS, the one NaN-safe product */

#define FG_MUL(p, t, ns) ((ns) ? FG_NS(p, t) : (p) * (t))

/* ------------------------------------------------------- the plain loops */

/* C[i, j] += sum_l A[i, l] B[l, j]: rows of C accumulate rows of B (a
 * column of C, n == 1, becomes row dot products). */
static void loop_nn(int64_t m, int64_t n, int64_t k, const double *FG_RESTRICT a, int64_t lda,
                    const double *FG_RESTRICT b, int64_t ldb, double *FG_RESTRICT c,
                    int64_t ldc, int ns)
{
    if (n == 1) {
        for (int64_t i = 0; i < m; i++) {
            const double *ar = a + i * lda;
            double acc = 0.0;
            for (int64_t l = 0; l < k; l++) acc += FG_MUL(ar[l], b[l * ldb], ns);
            c[i * ldc] += acc;
        }
        return;
    }
    for (int64_t i = 0; i < m; i++) {
        double *cr = c + i * ldc;
        for (int64_t l = 0; l < k; l++) {
            const double s = a[i * lda + l];
            const double *br = b + l * ldb;
            for (int64_t j = 0; j < n; j++) cr[j] += FG_MUL(s, br[j], ns);
        }
    }
}

/* C[i, j] += sum_l A[i, l] B[j, l]: row dot products. */
static void loop_nt(int64_t m, int64_t n, int64_t k, const double *FG_RESTRICT a, int64_t lda,
                    const double *FG_RESTRICT b, int64_t ldb, double *FG_RESTRICT c,
                    int64_t ldc, int ns)
{
    for (int64_t i = 0; i < m; i++) {
        const double *ar = a + i * lda;
        for (int64_t j = 0; j < n; j++) {
            const double *br = b + j * ldb;
            double acc = 0.0;
            for (int64_t l = 0; l < k; l++) acc += FG_MUL(ar[l], br[l], ns);
            c[i * ldc + j] += acc;
        }
    }
}

/* C[i, j] += sum_l A[l, i] B[l, j]: for each l, rows of C accumulate row l
 * of B scaled by row l of A. */
static void loop_tn(int64_t m, int64_t n, int64_t k, const double *FG_RESTRICT a, int64_t lda,
                    const double *FG_RESTRICT b, int64_t ldb, double *FG_RESTRICT c,
                    int64_t ldc, int ns)
{
    for (int64_t l = 0; l < k; l++) {
        const double *ar = a + l * lda, *br = b + l * ldb;
        if (n == 1) {
            const double s = br[0];
            for (int64_t i = 0; i < m; i++) c[i * ldc] += FG_MUL(ar[i], s, ns);
            continue;
        }
        for (int64_t i = 0; i < m; i++) {
            const double s = ar[i];
            double *cr = c + i * ldc;
            for (int64_t j = 0; j < n; j++) cr[j] += FG_MUL(s, br[j], ns);
        }
    }
}

/* C[i, j] += sum_l A[l, i] B[j, l] (both transposed: no layout helps). */
static void loop_tt(int64_t m, int64_t n, int64_t k, const double *FG_RESTRICT a, int64_t lda,
                    const double *FG_RESTRICT b, int64_t ldb, double *FG_RESTRICT c,
                    int64_t ldc, int ns)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (int64_t l = 0; l < k; l++) acc += FG_MUL(a[l * lda + i], b[j * ldb + l], ns);
            c[i * ldc + j] += acc;
        }
}

/* C[i, j] += A[i] B[j] (k = 1, an outer product, in any layout: x and y
 * are op(A)'s column and op(B)'s row with their strides): rows of C
 * accumulate y scaled, whichever operand was transposed. */
static void loop_outer(int64_t m, int64_t n, const double *FG_RESTRICT x, int64_t incx,
                       const double *FG_RESTRICT y, int64_t incy, double *FG_RESTRICT c,
                       int64_t ldc, int ns)
{
    for (int64_t i = 0; i < m; i++) {
        const double s = x[i * incx];
        double *cr = c + i * ldc;
        if (incy == 1)
            for (int64_t j = 0; j < n; j++) cr[j] += FG_MUL(s, y[j], ns);
        else
            for (int64_t j = 0; j < n; j++) cr[j] += FG_MUL(s, y[j * incy], ns);
    }
}

/* ------------------------------------------------------------ the BLAS */

static int fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

int fg_blas_gemm_uses_blas(const fg_blas *blas, int flags, int64_t m, int64_t n, int64_t k,
                           int64_t lda, int64_t ldb, int64_t ldc)
{
    if (!blas || !blas->dgemm || (flags & FG_GEMM_NAN_SAFE) || m <= 0 || n <= 0 || k < 2)
        return 0;
    if (!fits_int(m) || !fits_int(n) || !fits_int(k) || !fits_int(lda) || !fits_int(ldb)
        || !fits_int(ldc))
        return 0;
    /* m * n * k >= min_work without overflow (m * n < 2^62; any min_work) */
    const int64_t mn = m * n;
    return blas->min_work <= 0 || k > (blas->min_work - 1) / mn;
}

/* The product by the BLAS (fg_blas_gemm_uses_blas holds); C already zeroed
 * when not accumulating. Row-major C = op(A) op(B) is column-major
 * C^T = op(B)^T op(A)^T: the BLAS sees B first, with the sizes swapped. */
static void blas_gemm(const fg_blas *blas, int flags, int m, int n, int k, const double *a,
                      int lda, const double *b, int ldb, double *c, int ldc)
{
    const double one = 1.0, beta = (flags & FG_GEMM_ADD) ? 1.0 : 0.0;
    const int ta = flags & FG_GEMM_TRANS_A, tb = flags & FG_GEMM_TRANS_B;
    if (blas->dgemv && (n == 1 || m == 1)) {
        const int inc1 = 1;
        if (n == 1) {
            /* c (stride ldc) = op(A) x, x the column op(B)[:, 0]; row-major A
             * (m x k) is the column-major k x m matrix, so op(A) = A asks the
             * BLAS for its transpose. */
            const int incx = tb ? 1 : ldb;
            if (ta) blas->dgemv("N", &m, &k, &one, a, &lda, b, &incx, &beta, c, &ldc);
            else blas->dgemv("T", &k, &m, &one, a, &lda, b, &incx, &beta, c, &ldc);
        } else {
            /* the row c = op(B)^T y, y the row op(A)[0, :] */
            const int incy = ta ? lda : 1;
            if (tb) blas->dgemv("T", &k, &n, &one, b, &ldb, a, &incy, &beta, c, &inc1);
            else blas->dgemv("N", &n, &k, &one, b, &ldb, a, &incy, &beta, c, &inc1);
        }
        return;
    }
    blas->dgemm(tb ? "T" : "N", ta ? "T" : "N", &n, &m, &k, &one, b, &ldb, a, &lda, &beta, c,
                &ldc);
}

void fg_blas_gemm_f64(const fg_blas *blas, int flags, int64_t m, int64_t n, int64_t k,
                      const double *a, int64_t lda, const double *b, int64_t ldb, double *c,
                      int64_t ldc)
{
    if (m <= 0 || n <= 0) return;
    if (!(flags & FG_GEMM_ADD)) {
        /* Zeroed even before a BLAS call with beta = 0: a BLAS that scales
         * C by beta would keep a NaN left there by an earlier call. */
        if (ldc == n) memset(c, 0, (size_t)(m * n) * sizeof(double));
        else for (int64_t i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(double));
    }
    if (fg_blas_gemm_uses_blas(blas, flags, m, n, k, lda, ldb, ldc)) {
        blas_gemm(blas, flags, (int)m, (int)n, (int)k, a, (int)lda, b, (int)ldb, c, (int)ldc);
        return;
    }
    const int ns = (flags & FG_GEMM_NAN_SAFE) != 0;
    if (k == 1) {
        loop_outer(m, n, a, (flags & FG_GEMM_TRANS_A) ? 1 : lda, b,
                   (flags & FG_GEMM_TRANS_B) ? ldb : 1, c, ldc, ns);
        return;
    }
    switch (flags & (FG_GEMM_TRANS_A | FG_GEMM_TRANS_B)) {
    case 0: loop_nn(m, n, k, a, lda, b, ldb, c, ldc, ns); break;
    case FG_GEMM_TRANS_B: loop_nt(m, n, k, a, lda, b, ldb, c, ldc, ns); break;
    case FG_GEMM_TRANS_A: loop_tn(m, n, k, a, lda, b, ldb, c, ldc, ns); break;
    default: loop_tt(m, n, k, a, lda, b, ldb, c, ldc, ns); break;
    }
}
