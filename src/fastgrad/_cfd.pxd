# Raw declarations of csrc/fg_fd.h and csrc/fg_objective.h, for fastgrad's
# own Cython modules. Embedders cimport fastgrad._fd instead (cdef nogil
# wrappers: no header and no link step needed).
cdef extern from "fg_status.h" nogil:
    ctypedef enum fg_status:
        FG_OK
        FG_ERR_ARG
        FG_ERR_NOMEM
        FG_ERR_NONFINITE
        FG_ERR_SHAPE
        FG_ERR_UNSUPPORTED
        FG_ERR_THREAD
        FG_ERR_NOT_CONVERGED
        FG_ERR_CALLBACK
    const char *fg_status_message(fg_status status)

cdef extern from "fg_objective.h" nogil:
    ctypedef double (*fg_scalar_fn)(const double *x, size_t n, void *ctx) noexcept nogil
    ctypedef fg_status (*fg_value_grad_fn)(const double *x, size_t n, double *value,
                                           double *grad, void *ctx) noexcept nogil
    ctypedef fg_status (*fg_hessian_fn)(const double *x, size_t n, double *hess,
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
    const char *FG_SCALAR_CAPSULE_NAME
    const char *FG_OBJECTIVE_CAPSULE_NAME

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
