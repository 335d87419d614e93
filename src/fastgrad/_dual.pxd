# Public Cython API of fastgrad's dual-number kernels (csrc/fg_dual.h), for
# other extensions: `from fastgrad._dual cimport dual_unary_f64` and call it
# with nogil. The pointers are fetched from fastgrad._dual at import (no
# header, no linking). Each returns an fg_status code (0 = FG_OK); `op` is a
# code from fastgrad._ops.OP_CODES. Semantics and layout: csrc/fg_dual.h.
#
# A dual kernel and its hyper-dual twin (hdual_*) take the same arguments, so
# each signature is one function type per arity and dtype; the types also
# serve as pointer types (`cdef dual_unary_f64_fn *f = hdual_unary_f64`).

ctypedef int dual_unary_f64_fn(int op, size_t n, size_t k, const double *xv, const double *xt,
                               double *yv, double *yt) noexcept nogil
ctypedef int dual_unary_f32_fn(int op, size_t n, size_t k, const float *xv, const float *xt,
                               float *yv, float *yt) noexcept nogil
ctypedef int dual_binary_f64_fn(int op, size_t n, size_t k, const double *av, const double *at,
                                size_t a_inc, const double *bv, const double *bt, size_t b_inc,
                                double *yv, double *yt) noexcept nogil
ctypedef int dual_binary_f32_fn(int op, size_t n, size_t k, const float *av, const float *at,
                                size_t a_inc, const float *bv, const float *bt, size_t b_inc,
                                float *yv, float *yt) noexcept nogil

cdef dual_unary_f64_fn dual_unary_f64, hdual_unary_f64
cdef dual_unary_f32_fn dual_unary_f32, hdual_unary_f32
cdef dual_binary_f64_fn dual_binary_f64, hdual_binary_f64
cdef dual_binary_f32_fn dual_binary_f32, hdual_binary_f32
