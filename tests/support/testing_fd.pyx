# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Test-only C objectives for the finite-difference drivers, built by the
tests (tests/support/build.py), never shipped: capsule providers that reach
fastgrad's C path the way an embedder's objective does, and calls of the
cdef exports of fastgrad._fd (what embedders cimport)."""
cimport numpy as cnp
import numpy as np
from support.problems import rosen_grad
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from libc.math cimport log, NAN
from cpython.pycapsule cimport PyCapsule_New, PyCapsule_GetPointer
from fastgrad._cstatus cimport *
from fastgrad._cobjective cimport *
from fastgrad._fd cimport (fd_value_grad_fn, fd_gradient_workspace_size, fd_gradient_f64,
                           fd_hessian_workspace_size, fd_hessian_f64)
from fastgrad._common cimport raise_status, float_array

cnp.import_array()


cdef int raise_fd_status(fg_status st, str what) except -1:
    """As fastgrad._fd: the only array fg_fd checks for finiteness is x."""
    if st == FG_ERR_NONFINITE:
        raise ValueError(f"x must be finite (it holds NaN or infinity) "
                         f"[{what}: {fg_status_message(st).decode()}]")
    return raise_status(st, what)


cdef void *optional_steps(object steps, cnp.ndarray x) except? NULL:
    if steps is None:
        return NULL
    cdef cnp.ndarray s = float_array(steps, "step", False)
    if cnp.PyArray_TYPE(s) != cnp.PyArray_TYPE(x) or cnp.PyArray_SIZE(s) != cnp.PyArray_SIZE(x):
        raise ValueError(f"step must hold {cnp.PyArray_SIZE(x)} values of dtype {x.dtype}")
    return cnp.PyArray_DATA(s)


# Capsule providers for the tests and benchmarks of the C-callback path.
# Each is also an ordinary NumPy callable over the last axis (so it works
# with vectorized=True), and _fg_scalar_capsule() returns a fresh capsule
# owning its context (fg_objective.h's contract).

cdef double rosenbrock_fn(const double *x, size_t n, void *ctx) noexcept nogil:
    cdef double s = 0.0, a, b
    cdef size_t i
    for i in range(n - 1 if n > 0 else 0):
        a = x[i + 1] - x[i] * x[i]
        b = 1.0 - x[i]
        s += 100.0 * a * a + b * b
    return s

cdef double quadratic_fn(const double *x, size_t n, void *ctx) noexcept nogil:
    # ctx: A (n*n, row-major) then b (n): 0.5 x'Ax + b'x
    cdef const double *A = <const double*>ctx
    cdef const double *b = A + n * n
    cdef double s = 0.0, row
    cdef size_t i, j
    for i in range(n):
        row = 0.0
        for j in range(n):
            row += A[i * n + j] * x[j]
        s += x[i] * (0.5 * row + b[i])
    return s

cdef double logsum_fn(const double *x, size_t n, void *ctx) noexcept nogil:
    cdef double s = 0.0
    cdef size_t i
    for i in range(n):
        if x[i] <= 0.0:
            return NAN    # outside the domain: the failure signal
        s += log(x[i])
    return s

cdef fg_status rosenbrock_value_grad(const double *x, size_t n, double *value,
                                     double *grad, void *ctx) noexcept nogil:
    cdef size_t i
    cdef double t
    value[0] = rosenbrock_fn(x, n, NULL)
    if grad != NULL:
        for i in range(n):
            grad[i] = 0.0
        for i in range(n - 1 if n > 0 else 0):
            t = x[i + 1] - x[i] * x[i]
            grad[i] += -400.0 * x[i] * t - 2.0 * (1.0 - x[i])
            grad[i + 1] += 200.0 * t
    return FG_OK


cdef void free_objective_capsule(object capsule) noexcept:
    free(PyCapsule_GetPointer(capsule, FG_OBJECTIVE_CAPSULE_NAME))


cdef void free_scalar_capsule(object capsule) noexcept:
    cdef fg_scalar_callback *cb = <fg_scalar_callback*>PyCapsule_GetPointer(
        capsule, FG_SCALAR_CAPSULE_NAME)
    if cb != NULL:
        free(cb.ctx)
        free(cb)

cdef object make_scalar_capsule(fg_scalar_fn fn, size_t n, const double *ctx_data,
                                size_t ctx_len):
    cdef fg_scalar_callback *cb = <fg_scalar_callback*>malloc(sizeof(fg_scalar_callback))
    if cb == NULL:
        raise MemoryError()
    cb.fn = fn
    cb.n = n
    cb.ctx = NULL
    if ctx_len:
        cb.ctx = malloc(ctx_len * sizeof(double))
        if cb.ctx == NULL:
            free(cb)
            raise MemoryError()
        memcpy(cb.ctx, ctx_data, ctx_len * sizeof(double))
    return PyCapsule_New(cb, FG_SCALAR_CAPSULE_NAME, free_scalar_capsule)


class CRosenbrock:
    """sum(100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2) in C, for n inputs."""

    def __init__(self, n):
        self.n = int(n)

    def __call__(self, x):
        x = np.asarray(x)
        return np.sum(100.0 * (x[..., 1:] - x[..., :-1] ** 2) ** 2
                      + (1.0 - x[..., :-1]) ** 2, axis=-1)

    def gradient(self, x):
        return rosen_grad(np.asarray(x, dtype=float))

    def _fg_scalar_capsule(self):
        return make_scalar_capsule(rosenbrock_fn, self.n, NULL, 0)

    def _fg_objective_capsule(self):
        cdef fg_objective_callback *cb = <fg_objective_callback*>malloc(
            sizeof(fg_objective_callback))
        if cb == NULL:
            raise MemoryError()
        cb.objective.value_grad = rosenbrock_value_grad
        cb.objective.hessian = NULL
        cb.objective.ctx = NULL
        cb.n = self.n
        return PyCapsule_New(cb, FG_OBJECTIVE_CAPSULE_NAME, free_objective_capsule)


class CQuadratic:
    """0.5 x'Ax + b'x in C (A, b copied into the capsule's context)."""

    def __init__(self, A, b):
        self.A = np.ascontiguousarray(A, dtype=np.float64)
        self.b = np.ascontiguousarray(b, dtype=np.float64)
        self.n = self.b.size

    def __call__(self, x):
        x = np.asarray(x)
        return 0.5 * np.einsum("...i,ij,...j->...", x, self.A, x) + x @ self.b

    def gradient(self, x):
        return 0.5 * (self.A + self.A.T) @ np.asarray(x, dtype=float) + self.b

    def _fg_scalar_capsule(self):
        cdef cnp.ndarray data = np.concatenate([self.A.ravel(), self.b])
        return make_scalar_capsule(quadratic_fn, self.n, <double*>cnp.PyArray_DATA(data),
                                   cnp.PyArray_SIZE(data))


class CLogSum:
    """sum(log(x)) in C; returns NaN (the callback failure signal) for x <= 0."""

    def __init__(self, n):
        self.n = int(n)

    def __call__(self, x):
        return np.sum(np.log(np.asarray(x)), axis=-1)

    def _fg_scalar_capsule(self):
        return make_scalar_capsule(logsum_fn, self.n, NULL, 0)


def rosenbrock_hessian_c(x, int method, steps=None):
    """Hessian of Rosenbrock at x (in: contiguous float64) by differences of
    its exact C gradient: exercises fg_fd_hessian_f64 through the cdef export
    fd_hessian_f64 (what embedders call), with the GIL released."""
    cdef cnp.ndarray xa = float_array(x, "x", False)
    if cnp.PyArray_TYPE(xa) != cnp.NPY_DOUBLE:
        raise TypeError("x must be float64")
    cdef int m = method
    cdef void *sp = optional_steps(steps, xa)
    cdef size_t n = cnp.PyArray_SIZE(xa)
    cdef cnp.ndarray hess = np.empty((n, n))
    cdef cnp.ndarray work = np.empty(fd_hessian_workspace_size(m, n))
    cdef double *xp = <double*>cnp.PyArray_DATA(xa)
    cdef double *hp = <double*>cnp.PyArray_DATA(hess)
    cdef double *wp = <double*>cnp.PyArray_DATA(work)
    cdef int st
    with nogil:
        st = fd_hessian_f64(<fd_value_grad_fn>rosenbrock_value_grad, NULL, xp, n, m,
                            <double*>sp, hp, wp)
    if st != FG_OK:
        raise_fd_status(<fg_status>st, "finite-difference Hessian")
    return hess


def rosenbrock_gradient_c(x, int method, bint want_err=False):
    """CRosenbrock's gradient through the cdef export fd_gradient_f64."""
    cdef cnp.ndarray xa = float_array(x, "x", False)
    cdef int m = method
    cdef size_t n = cnp.PyArray_SIZE(xa)
    cdef cnp.ndarray grad = np.empty(n)
    cdef cnp.ndarray err = np.empty(n)
    cdef cnp.ndarray work = np.empty(fd_gradient_workspace_size(m, n))
    cdef int st
    with nogil:
        st = fd_gradient_f64(rosenbrock_fn, NULL, <double*>cnp.PyArray_DATA(xa), n, m, NULL,
                             <double*>cnp.PyArray_DATA(grad),
                             <double*>cnp.PyArray_DATA(err) if want_err else NULL,
                             <double*>cnp.PyArray_DATA(work))
    if st != FG_OK:
        raise_fd_status(<fg_status>st, "finite-difference gradient")
    return (grad, err) if want_err else grad
