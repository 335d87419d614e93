# Raw declarations of csrc/fg_dual.h for fastgrad's own Cython modules.
# Embedders cimport fastgrad._dual instead (no header, no link step).
from fastgrad._cstatus cimport fg_status

cdef extern from "fg_dual.h" nogil:
    fg_status fg_dual_unary_f64(int op, size_t n, size_t k, const double *xv,
                                const double *xt, double *yv, double *yt)
    fg_status fg_dual_unary_f32(int op, size_t n, size_t k, const float *xv,
                                const float *xt, float *yv, float *yt)
    fg_status fg_dual_binary_f64(int op, size_t n, size_t k, const double *av,
                                 const double *at, size_t a_inc, const double *bv,
                                 const double *bt, size_t b_inc, double *yv, double *yt)
    fg_status fg_dual_binary_f32(int op, size_t n, size_t k, const float *av,
                                 const float *at, size_t a_inc, const float *bv,
                                 const float *bt, size_t b_inc, float *yv, float *yt)
    fg_status fg_hdual_unary_f64(int op, size_t n, size_t k, const double *xv,
                                 const double *xt, double *yv, double *yt)
    fg_status fg_hdual_unary_f32(int op, size_t n, size_t k, const float *xv,
                                 const float *xt, float *yv, float *yt)
    fg_status fg_hdual_binary_f64(int op, size_t n, size_t k, const double *av,
                                  const double *at, size_t a_inc, const double *bv,
                                  const double *bt, size_t b_inc, double *yv, double *yt)
    fg_status fg_hdual_binary_f32(int op, size_t n, size_t k, const float *av,
                                  const float *at, size_t a_inc, const float *bv,
                                  const float *bt, size_t b_inc, float *yv, float *yt)
