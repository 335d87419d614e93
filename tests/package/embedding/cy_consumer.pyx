# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""A third-party Cython extension that calls fastgrad's kernels nogil.

It cimports fastgrad's .pxd exports (function pointers fetched from the
fastgrad modules at import: no link step) and minimizes its OWN cdef
objective, the n-D Rosenbrock function, with fastgrad's C minimize driver,
all inside `with nogil:`. Needs include_dirs=[fastgrad.get_include()] only
because _minimize.pxd takes its structs from fg_minimize.h.
"""
import array

from cython cimport floating
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free
from fastgrad._optim cimport adam_step_f64
from fastgrad._fd cimport fd_gradient_f64, fd_gradient_workspace_size
from fastgrad._dual_grad cimport (dual_gradient_f64, dual_gradient_workspace_size,
                                  dual_objective, dual_value_grad)
from fastgrad._minimize cimport minimize_options_init, minimize_workspace_size, minimize_run_f64
from fastgrad._cminimize cimport (fg_objective, fg_value_grad_fn, fg_minimize_options,
                                  fg_minimize_result, fg_minimize_method)
# The module-style cimport and the package-level re-exports (fastgrad/__init__.pxd):
from fastgrad cimport _optim
from fastgrad cimport adam_step_f32, dual_gradient_f64 as pkg_dual_gradient_f64


# ---------------------------------------------------- my own objective --
# f(x) = sum_{i<n-1} 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, in three forms.

cdef double rosen(const double *x, size_t n, void *ctx) noexcept nogil:
    cdef double s = 0.0, a, b
    cdef size_t i
    for i in range(n - 1 if n > 0 else 0):
        a = x[i + 1] - x[i] * x[i]
        b = 1.0 - x[i]
        s += 100.0 * (a * a) + b * b
    return s

cdef int rosen_value_grad(const double *x, size_t n, double *value, double *grad,
                          void *ctx) noexcept nogil:
    """Analytic gradient: g[i] = -400 x[i] a[i] - 2 b[i] + 200 a[i-1]."""
    cdef size_t i
    cdef double a, b
    value[0] = rosen(x, n, ctx)
    if grad == NULL:
        return 0
    for i in range(n):
        grad[i] = 0.0
    for i in range(n - 1 if n > 0 else 0):
        a = x[i + 1] - x[i] * x[i]
        b = 1.0 - x[i]
        grad[i] += -400.0 * x[i] * a - 2.0 * b
        grad[i + 1] += 200.0 * a
    return 0

cdef int rosen_dual(const double *x, const double *xt, size_t n, size_t k, double *value,
                    double *vt, void *ctx) noexcept nogil:
    """On duals: the tangent of a term is 200 a da + 2 b db,
    da = dx[i+1] - 2 x[i] dx[i], db = -dx[i]."""
    cdef size_t i, j
    cdef double a, b
    for j in range(k):
        vt[j] = 0.0
    for i in range(n - 1 if n > 0 else 0):
        a = x[i + 1] - x[i] * x[i]
        b = 1.0 - x[i]
        for j in range(k):
            vt[j] += 200.0 * a * (xt[(i + 1) * k + j] - 2.0 * x[i] * xt[i * k + j]) \
                - 2.0 * b * xt[i * k + j]
    value[0] = rosen(x, n, ctx)
    return 0


cdef int run(const fg_objective *obj, double[::1] x, double[::1] grad, int method, double lr,
             long maxiter, double tol, fg_minimize_result *res) noexcept nogil:
    cdef fg_minimize_options opt
    cdef size_t n = x.shape[0]
    cdef int st = minimize_options_init(&opt, sizeof(opt), <fg_minimize_method>method)
    cdef size_t wlen = minimize_workspace_size(n, &opt) if st == 0 else 0
    cdef double *work = <double*>malloc(wlen * sizeof(double) + 8)
    if work == NULL:
        return 2
    if st == 0:
        opt.lr = lr
        opt.maxiter = maxiter
        opt.tol = tol
        st = minimize_run_f64(obj, &x[0], n, &opt, work, wlen, &grad[0], res)
    free(work)
    return st


def minimize(double[::1] x, int method, double lr, long maxiter, double tol, bint dual=False):
    """Minimize my Rosenbrock from x (in/out) with fastgrad's C driver, nogil;
    the gradient is analytic, or (dual=True) forward mode on rosen_dual.
    Returns (status, f, grad, nit, stop)."""
    cdef fg_objective obj
    cdef fg_minimize_result res
    cdef dual_objective dobj
    cdef int st
    cdef size_t n = x.shape[0]
    cdef double[::1] grad = array.array("d", bytes(8 * n))
    with nogil:
        obj.hessian = NULL
        if dual:
            dobj.fn = rosen_dual
            dobj.ctx = NULL
            dobj.chunk = 0
            dobj.work = <double*>malloc(dual_gradient_workspace_size(n, 0) * sizeof(double) + 8)
            obj.value_grad = <fg_value_grad_fn>dual_value_grad
            obj.ctx = &dobj
        else:
            obj.value_grad = <fg_value_grad_fn>rosen_value_grad
            obj.ctx = NULL
        st = run(&obj, x, grad, method, lr, maxiter, tol, &res)
        if dual:
            free(dobj.work)
    return st, res.f, list(grad), res.nit, <int>res.stop


def fd_gradient(double[::1] x, int method):
    """(status, grad) of my Rosenbrock by fastgrad's C finite differences."""
    cdef size_t n = x.shape[0]
    cdef double[::1] grad = array.array("d", bytes(8 * n))
    cdef double *work
    cdef int st = 2
    with nogil:
        work = <double*>malloc(fd_gradient_workspace_size(method, n) * sizeof(double) + 8)
        if work != NULL:
            st = fd_gradient_f64(rosen, NULL, &x[0], n, method, NULL, &grad[0], NULL, work)
            free(work)
    return st, list(grad)


def dual_gradient(double[::1] x, size_t chunk, bint package_style=False):
    """(status, value, grad) of my Rosenbrock by fastgrad's dual driver, cimported
    by name from fastgrad._dual_grad or, with package_style, through
    `from fastgrad cimport dual_gradient_f64` (fastgrad/__init__.pxd)."""
    cdef size_t n = x.shape[0]
    cdef double[::1] grad = array.array("d", bytes(8 * n))
    cdef double value = 0.0
    cdef double *work
    cdef int st = 2
    gradient_f64 = pkg_dual_gradient_f64 if package_style else dual_gradient_f64
    with nogil:
        work = <double*>malloc(dual_gradient_workspace_size(n, chunk) * sizeof(double) + 8)
        if work != NULL:
            st = gradient_f64(rosen_dual, NULL, &x[0], n, chunk, &value, &grad[0], work)
            free(work)
    return st, value, list(grad)


def adam_steps(floating[::1] p, floating[::1] g, floating[::1] m, floating[::1] v, long steps,
               double lr, bint module_style=False):
    """`steps` Adam updates with a constant gradient, entirely without the GIL.
    float64 calls the kernel cimported by name (`from fastgrad._optim cimport
    adam_step_f64`) or, with module_style, as `_optim.adam_step_f64` after
    `from fastgrad cimport _optim`; float32 calls the package-level re-export
    (`from fastgrad cimport adam_step_f32`)."""
    cdef int (*step_fn)(floating *, const floating *, floating *, floating *, floating *, size_t,
                        int64_t, double, double, double, double, double, bint, bint,
                        bint) noexcept nogil
    if floating is float:
        step_fn = adam_step_f32
    else:
        step_fn = _optim.adam_step_f64 if module_style else adam_step_f64
    cdef int st = 0
    cdef long t
    with nogil:
        for t in range(1, steps + 1):
            st = step_fn(&p[0], &g[0], &m[0], &v[0], NULL, p.shape[0], t, lr,
                         0.9, 0.999, 1e-8, 0.0, False, False, False)
            if st != 0:
                break
    return st
