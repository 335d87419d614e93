/* fg_blas.h: matrix products of the C core, through a BLAS the caller hands in.
 *
 * The core links no BLAS. A caller that has one passes its dgemm and dgemv
 * as Fortran-ABI function pointers in an fg_blas struct (fastgrad's Python
 * layer takes SciPy's, from scipy.linalg.cython_blas, once at import). With
 * none (a NULL struct or a NULL dgemm) every product runs the plain C loops
 * of fg_blas.c, which also serve products too small for a BLAS call to pay
 * for itself (fewer than min_work multiply-adds) and sizes beyond BLAS's
 * 32-bit integers. The two agree to rounding, not bit for bit: a BLAS sums
 * in its own blocked order, with fused multiply-adds.
 *
 * Arrays are row-major (C order), as everywhere in the core; fg_blas_gemm_f64
 * translates to BLAS's column-major convention (C^T = op(B)^T op(A)^T).
 *
 * Threads: the products run on the calling thread, unless the BLAS itself
 * starts threads (OpenBLAS does for large products; its thread count is the
 * caller's to set, e.g. by threadpoolctl or OPENBLAS_NUM_THREADS). The
 * struct is read only, so one may serve any number of threads at once.
 */
#ifndef FASTGRAD_BLAS_H
#define FASTGRAD_BLAS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The reference BLAS signatures (LP64: 32-bit int), as every BLAS exports
 * them and scipy.linalg.cython_blas exposes them. */
typedef void fg_blas_dgemm_fn(const char *transa, const char *transb, const int *m,
                              const int *n, const int *k, const double *alpha, const double *a,
                              const int *lda, const double *b, const int *ldb,
                              const double *beta, double *c, const int *ldc);
typedef void fg_blas_dgemv_fn(const char *trans, const int *m, const int *n,
                              const double *alpha, const double *a, const int *lda,
                              const double *x, const int *incx, const double *beta, double *y,
                              const int *incy);

/* A BLAS and when to use it.
 *   dgemm     NULL: no BLAS, every product runs the plain loops
 *   dgemv     matrix-vector products (m or n is 1); NULL: dgemm serves them
 *   min_work  products of fewer multiply-adds (m * n * k) run the plain
 *             loops: below it a BLAS call costs more than it saves.
 *             FG_BLAS_MIN_WORK is the smallest size at which
 *             bench/bench_blas_threshold.py found OpenBLAS faster than the
 *             loops (x86-64) for every shape it tries (cubes,
 *             matrix-vector, inner dimension 4), in the value and the
 *             reverse pass; at half of it the loops still won some.
 *             0 sends every non-empty product with k >= 2 to the BLAS. */
typedef struct fg_blas {
    fg_blas_dgemm_fn *dgemm;
    fg_blas_dgemv_fn *dgemv;
    int64_t min_work;
} fg_blas;

#define FG_BLAS_MIN_WORK 1024

/* Flags of fg_blas_gemm_f64. */
enum {
    FG_GEMM_TRANS_A = 1,   /* op(A) = A^T */
    FG_GEMM_TRANS_B = 2,   /* op(B) = B^T */
    FG_GEMM_ADD = 4,       /* C += op(A) op(B); without it C = op(A) op(B) */
    FG_GEMM_NAN_SAFE = 8   /* every product a * b is 0 when a or b is 0 (so 0 times
                              an infinity or NaN contributes 0): the plain loops only */
};

/* C = op(A) op(B), or C += op(A) op(B) with FG_GEMM_ADD, row-major:
 *   C      m x n, element (i, j) at c[i*ldc + j], ldc >= n
 *   op(A)  m x k: A itself at a[i*lda + l] (lda >= k), or with
 *          FG_GEMM_TRANS_A the transpose of the k x m matrix a[l*lda + i]
 *          (lda >= m)
 *   op(B)  k x n: b[l*ldb + j] (ldb >= n), or with FG_GEMM_TRANS_B the
 *          transpose of the n x k matrix b[j*ldb + l] (ldb >= k)
 * m, n, k >= 0 (k = 0: C = 0, or C unchanged with FG_GEMM_ADD). C must not
 * overlap A or B. Without FG_GEMM_ADD, C's old contents are never read (a
 * NaN left in it does not survive, whatever the BLAS does with beta = 0).
 * blas may be NULL (the plain loops). Uses the BLAS when blas->dgemm is set,
 * m * n * k >= blas->min_work, k >= 2 (an outer product, k = 1, is one
 * multiply per element of C: the loop beat OpenBLAS's dgemm at every size
 * measured), no flag asks for
 * the plain loops and every size and stride fits a 32-bit int; a dgemv when
 * m or n is 1 and there is one. */
void fg_blas_gemm_f64(const fg_blas *blas, int flags, int64_t m, int64_t n, int64_t k,
                      const double *a, int64_t lda, const double *b, int64_t ldb, double *c,
                      int64_t ldc);

/* 1 when fg_blas_gemm_f64 with these arguments calls the BLAS, else 0. */
int fg_blas_gemm_uses_blas(const fg_blas *blas, int flags, int64_t m, int64_t n, int64_t k,
                           int64_t lda, int64_t ldb, int64_t ldc);

#ifdef __cplusplus
}
#endif
#endif /* FASTGRAD_BLAS_H */
