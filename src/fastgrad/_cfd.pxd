# Raw declarations of csrc/fg_fd.h and csrc/fg_objective.h, for fastgrad's
# own Cython modules. Embedders cimport fastgrad._fd instead (cdef nogil
# wrappers: no header and no link step needed).
from fastgrad._cstatus cimport fg_status
from fastgrad._cobjective cimport *

cdef extern from "fg_fd.h" nogil:
    ctypedef enum fg_fd_method:
        FG_FD_FORWARD
        FG_FD_BACKWARD
        FG_FD_CENTRAL
        FG_FD_FIVE_POINT
        FG_FD_RICHARDSON
    int FG_FD_RICHARDSON_LEVELS
    int FG_FD_MAX_OFFSETS

    size_t fg_fd_offsets(fg_fd_method method, int with_error, double *offsets)
    int fg_fd_uses_base(fg_fd_method method, int with_error)
    size_t fg_fd_stencil_rows(fg_fd_method method, size_t n, int with_error)
    double fg_fd_default_scale_f64(fg_fd_method method)
    double fg_fd_default_scale_f32(fg_fd_method method)
    fg_status fg_fd_steps_f64(const double *x, size_t n, fg_fd_method method,
                              const double *steps, double *h)
    fg_status fg_fd_steps_f32(const float *x, size_t n, fg_fd_method method,
                              const float *steps, float *h)
    fg_status fg_fd_stencil_f64(const double *x, size_t n, fg_fd_method method, int with_error,
                                const double *steps, double *points)
    fg_status fg_fd_stencil_f32(const float *x, size_t n, fg_fd_method method, int with_error,
                                const float *steps, float *points)
    fg_status fg_fd_combine_f64(const double *x, size_t n, fg_fd_method method, int with_error,
                                const double *points, const double *fvals, size_t p,
                                double *jac, double *err)
    fg_status fg_fd_combine_f32(const float *x, size_t n, fg_fd_method method, int with_error,
                                const float *points, const double *fvals, size_t p,
                                float *jac, float *err)
    size_t fg_fd_gradient_workspace_size(fg_fd_method method, size_t n)
    fg_status fg_fd_gradient_f64(fg_scalar_fn f, void *ctx, const double *x, size_t n,
                                 fg_fd_method method, const double *steps, double *grad,
                                 double *err, double *work)
    fg_status fg_fd_directional_f64(fg_scalar_fn f, void *ctx, const double *x,
                                    const double *v, size_t n, fg_fd_method method,
                                    double step, double *deriv, double *err, double *work)
    size_t fg_fd_hessian_workspace_size(fg_fd_method method, size_t n)
    fg_status fg_fd_hessian_f64(fg_value_grad_fn value_grad, void *ctx, const double *x,
                                size_t n, fg_fd_method method, const double *steps,
                                double *hess, double *work)
