# Raw declarations of csrc/fg_dual_grad.h, for fastgrad's own Cython modules.
# Embedders cimport fastgrad._dual_grad instead (no header, no link step).
from fastgrad._cstatus cimport fg_status

cdef extern from "fg_dual_grad.h" nogil:
    ctypedef fg_status (*fg_dual_scalar_fn)(const double *x, const double *xt, size_t n,
                                            size_t k, double *value, double *vt,
                                            void *ctx) noexcept nogil
    ctypedef struct fg_dual_objective:
        fg_dual_scalar_fn fn
        void *ctx
        size_t chunk
        double *work
    size_t fg_dual_default_chunk(size_t n)
    size_t fg_dual_gradient_workspace_size(size_t n, size_t chunk)
    fg_status fg_dual_gradient_f64(fg_dual_scalar_fn f, void *ctx, const double *x, size_t n,
                                   size_t chunk, double *value, double *grad, double *work)
    fg_status fg_dual_value_grad(const double *x, size_t n, double *value, double *grad,
                                 void *ctx)
