# Forward-mode gradient of a dual C function for other Cython code:
#     from fastgrad._dual_grad cimport dual_gradient_f64, dual_gradient_workspace_size
# The pointers are fetched from fastgrad._dual_grad at import (no header, no
# link step). Thin nogil wrappers over csrc/fg_dual_grad.h (formula, layout,
# workspace and return codes there); statuses are fg_status codes (0 = FG_OK).
# dual_objective has fg_dual_objective's layout: with dual_value_grad it turns a
# dual function into an objective for fastgrad._minimize's driver. No NumPy here.

# f on a dual input: x (n values), xt (n*k tangent, xt[i*k + j]) -> *value, vt[0..k).
ctypedef int (*dual_scalar_fn)(const double *x, const double *xt, size_t n, size_t k,
                               double *value, double *vt, void *ctx) noexcept nogil

ctypedef struct dual_objective:
    dual_scalar_fn fn
    void *ctx
    size_t chunk          # 0: dual_default_chunk(n)
    double *work          # dual_gradient_workspace_size(n, chunk) doubles

cdef size_t dual_default_chunk(size_t n) noexcept nogil
cdef size_t dual_gradient_workspace_size(size_t n, size_t chunk) noexcept nogil
cdef int dual_gradient_f64(dual_scalar_fn f, void *ctx, const double *x, size_t n,
                           size_t chunk, double *value, double *grad,
                           double *work) noexcept nogil
# An fg_value_grad_fn: ctx is a dual_objective * (cast it into fg_objective.value_grad).
cdef int dual_value_grad(const double *x, size_t n, double *value, double *grad,
                         void *ctx) noexcept nogil
