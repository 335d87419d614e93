# Raw declarations of csrc/fg_blas.h, for fastgrad's own Cython modules.
from libc.stdint cimport int64_t

cdef extern from "fg_blas.h" nogil:
    ctypedef void fg_blas_dgemm_fn(const char *transa, const char *transb, const int *m,
                                   const int *n, const int *k, const double *alpha,
                                   const double *a, const int *lda, const double *b,
                                   const int *ldb, const double *beta, double *c,
                                   const int *ldc)
    ctypedef void fg_blas_dgemv_fn(const char *trans, const int *m, const int *n,
                                   const double *alpha, const double *a, const int *lda,
                                   const double *x, const int *incx, const double *beta,
                                   double *y, const int *incy)
    ctypedef struct fg_blas:
        fg_blas_dgemm_fn *dgemm
        fg_blas_dgemv_fn *dgemv
        int64_t min_work
    enum: FG_BLAS_MIN_WORK
