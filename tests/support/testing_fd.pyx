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
from fastgrad._fd cimport fd_value_grad_fn
from fastgrad._fd_common cimport fd_gradient_arrays, fd_hessian_array
from fastgrad._common cimport float_array

cnp.import_array()


# Capsule providers for the tests and benchmarks of the C-callback path.
# Each is also an ordinary NumPy callable over the last axis (so it works
# with vectorized=True), and _fg_scalar_capsule() returns a fresh capsule
# owning its context (fg_objective.h's contract).

cdef fg_status rosenbrock_value_grad(const double *x, size_t n, double *value,
                                     double *grad, void *ctx) noexcept nogil:
    """Value and (grad not NULL) exact gradient in one pass over the terms."""
    cdef double s = 0.0, a, b
    cdef size_t i
    if grad != NULL:
        for i in range(n):
            grad[i] = 0.0
    for i in range(n - 1 if n > 0 else 0):
        a = x[i + 1] - x[i] * x[i]
        b = 1.0 - x[i]
        s += 100.0 * a * a + b * b
        if grad != NULL:
            grad[i] += -400.0 * x[i] * a - 2.0 * b
            grad[i + 1] += 200.0 * a
    value[0] = s
    return FG_OK

cdef double rosenbrock_fn(const double *x, size_t n, void *ctx) noexcept nogil:
    cdef double value
    rosenbrock_value_grad(x, n, &value, NULL, ctx)
    return value

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


# Calls of the cdef exports of fastgrad._fd (fd_*_f64 and their workspace
# sizes, fetched from fastgrad._fd at import as an embedder's are), through
# the same array helpers fastgrad._fd's capsule drivers use.

cdef cnp.ndarray float64_point(object x):
    cdef cnp.ndarray xa = float_array(x, "x", False)
    if cnp.PyArray_TYPE(xa) != cnp.NPY_DOUBLE:
        raise TypeError("x must be float64")
    return xa


def rosenbrock_hessian_c(x, int method, steps=None):
    """Hessian of Rosenbrock at x (in: contiguous float64) by differences of
    its exact C gradient: exercises fg_fd_hessian_f64 through the cdef export
    fd_hessian_f64 (what embedders call), with the GIL released."""
    return fd_hessian_array(<fd_value_grad_fn>rosenbrock_value_grad, NULL, float64_point(x),
                            method, steps)


def rosenbrock_gradient_c(x, int method, bint want_err=False):
    """CRosenbrock's gradient through the cdef export fd_gradient_f64."""
    grad, err = fd_gradient_arrays(rosenbrock_fn, NULL, float64_point(x), method, None, want_err)
    return (grad, err) if want_err else grad
