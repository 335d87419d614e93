# Raw declarations of csrc/fg_objective.h: how C functions (and the capsules
# that carry them) are handed to fastgrad's drivers.
from fastgrad._cstatus cimport fg_status

cdef extern from "fg_objective.h" nogil:
    ctypedef double (*fg_scalar_fn)(const double *x, size_t n, void *ctx) noexcept nogil
    ctypedef fg_status (*fg_value_grad_fn)(const double *x, size_t n, double *value,
                                           double *grad, void *ctx) noexcept nogil
    ctypedef fg_status (*fg_hessian_fn)(const double *x, size_t n, double *hess,
                                        void *ctx) noexcept nogil
    ctypedef fg_status (*fg_hvp_fn)(const double *x, const double *v, size_t n, double *hv,
                                    void *ctx) noexcept nogil
    ctypedef struct fg_scalar_callback:
        fg_scalar_fn fn
        void *ctx
        size_t n
    ctypedef struct fg_objective:
        fg_value_grad_fn value_grad
        fg_hessian_fn hessian
        void *ctx
    ctypedef struct fg_objective_callback:
        fg_objective objective
        size_t n
    ctypedef struct fg_hvp_callback:
        fg_hvp_fn fn
        void *ctx
        size_t n
    const char *FG_SCALAR_CAPSULE_NAME
    const char *FG_OBJECTIVE_CAPSULE_NAME
    const char *FG_HVP_CAPSULE_NAME
    ctypedef fg_status (*fg_batch_value_grad_fn)(const double *x, size_t n,
                                                 const void *const *data, size_t rows,
                                                 double *value, double *grad,
                                                 void *ctx) noexcept nogil
    ctypedef struct fg_batch_objective:
        fg_batch_value_grad_fn value_grad
        void *ctx
        size_t n
        size_t n_data
        const size_t *row_bytes
    const char *FG_BATCH_CAPSULE_NAME
