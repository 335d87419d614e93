# Finite differences for other Cython code: `from fastgrad._fd cimport ...`
# gives these functions (fetched through fastgrad._fd.__pyx_capi__ at import,
# so no header and no link step). They are thin nogil wrappers over
# csrc/fg_fd.h (see it for formulas, workspaces and return codes); `method`
# is an fg_fd_method code (fastgrad._fd.METHOD_CODES), the return value an
# fg_status code (0 = FG_OK). No NumPy here.
ctypedef double (*fd_scalar_fn)(const double *x, size_t n, void *ctx) noexcept nogil
ctypedef int (*fd_value_grad_fn)(const double *x, size_t n, double *value, double *grad,
                                 void *ctx) noexcept nogil

cdef size_t fd_gradient_workspace_size(int method, size_t n) noexcept nogil
cdef int fd_gradient_f64(fd_scalar_fn f, void *ctx, const double *x, size_t n, int method,
                         const double *steps, double *grad, double *err,
                         double *work) noexcept nogil
cdef int fd_directional_f64(fd_scalar_fn f, void *ctx, const double *x, const double *v,
                            size_t n, int method, double step, double *deriv, double *err,
                            double *work) noexcept nogil
cdef size_t fd_hessian_workspace_size(int method, size_t n) noexcept nogil
cdef int fd_hessian_f64(fd_value_grad_fn value_grad, void *ctx, const double *x, size_t n,
                        int method, const double *steps, double *hess,
                        double *work) noexcept nogil
