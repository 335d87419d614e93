# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: freethreading_compatible = True
"""Bindings of csrc/fg_dual_grad.{h,c}: gradient of a dual C function.

Layers: C code (another extension, or the test callbacks here) writes f on
dual numbers; fg_dual_gradient_f64 seeds the chunks and assembles grad. The
cdef wrappers are the nogil API for embedders (_dual_grad.pxd); the Python
functions run built-in C test callbacks (Rosenbrock, sum of a table op).
"""
cimport numpy as cnp
import numpy as np
from libc.stdlib cimport malloc, free
from libc.math cimport NAN
from fastgrad._cstatus cimport (fg_status, FG_OK, FG_ERR_ARG, FG_ERR_CALLBACK,
                               FG_ERR_UNSUPPORTED, fg_status_message)

from fastgrad._cdual cimport fg_dual_unary_f64
from fastgrad._cdual_grad cimport *
from fastgrad._common cimport raise_status

cnp.import_array()


# ------------------------------------------------ exports for embedders --

cdef size_t dual_default_chunk(size_t n) noexcept nogil:
    return fg_dual_default_chunk(n)

cdef size_t dual_gradient_workspace_size(size_t n, size_t chunk) noexcept nogil:
    return fg_dual_gradient_workspace_size(n, chunk)

cdef int dual_gradient_f64(dual_scalar_fn f, void *ctx, const double *x, size_t n,
                           size_t chunk, double *value, double *grad,
                           double *work) noexcept nogil:
    return fg_dual_gradient_f64(<fg_dual_scalar_fn>f, ctx, x, n, chunk, value, grad, work)

cdef int dual_value_grad(const double *x, size_t n, double *value, double *grad,
                         void *ctx) noexcept nogil:
    return fg_dual_value_grad(x, n, value, grad, ctx)


def default_chunk(Py_ssize_t n):
    """fg_dual_default_chunk(n): min(n, max(8, 32768 // n)), 1 for n == 0."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return fg_dual_default_chunk(<size_t>n)


def workspace_size(Py_ssize_t n, Py_ssize_t chunk=0):
    """fg_dual_gradient_workspace_size(n, chunk): k*(n + 1) doubles, k = min(chunk, n)."""
    if n < 0 or chunk < 0:
        raise ValueError("n and chunk must be >= 0")
    return fg_dual_gradient_workspace_size(<size_t>n, <size_t>chunk)


# ------------------------------------------- built-in test callbacks --
# Each ctx counts its calls; the call numbered fail_at (from 0) returns
# FG_ERR_ARG, to exercise the driver's FG_ERR_CALLBACK path.

ctypedef struct rosen_ctx:
    long calls, fail_at

cdef fg_status rosenbrock_dual(const double *x, const double *xt, size_t n, size_t k,
                               double *value, double *vt, void *ctx) noexcept nogil:
    """sum_i 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2 with its own dual arithmetic:
    the tangent of a term is 200 a (dx[i+1] - 2 x[i] dx[i]) - 2 (1 - x[i]) dx[i]."""
    cdef rosen_ctx *c = <rosen_ctx*>ctx
    cdef size_t i, j
    cdef double a, b, s = 0.0
    c.calls += 1
    if c.calls - 1 == c.fail_at:
        return FG_ERR_ARG
    for j in range(k):
        vt[j] = 0.0
    for i in range(n - 1 if n > 0 else 0):
        a = x[i + 1] - x[i] * x[i]
        b = 1.0 - x[i]
        s += 100.0 * (a * a) + b * b
        for j in range(k):
            vt[j] += 200.0 * a * (xt[(i + 1) * k + j] - 2.0 * x[i] * xt[i * k + j]) \
                - 2.0 * b * xt[i * k + j]
    value[0] = s
    return FG_OK


ctypedef struct opsum_ctx:
    int op
    long calls, fail_at
    double *yv     # n values
    double *yt     # n*k tangent (k the widest chunk)

cdef fg_status opsum_dual(const double *x, const double *xt, size_t n, size_t k,
                          double *value, double *vt, void *ctx) noexcept nogil:
    """sum_i op(x_i) through fastgrad's fg_dual_unary_f64 kernel, then a plain
    sequential sum of values and of each tangent column."""
    cdef opsum_ctx *c = <opsum_ctx*>ctx
    cdef size_t i, j
    cdef double s = 0.0
    cdef fg_status st
    c.calls += 1
    if c.calls - 1 == c.fail_at:
        return FG_ERR_ARG
    st = <fg_status>fg_dual_unary_f64(c.op, n, k, x, xt, c.yv, c.yt)
    if st != FG_OK:
        return st
    for j in range(k):
        vt[j] = 0.0
    for i in range(n):
        s += c.yv[i]
        for j in range(k):
            vt[j] += c.yt[i * k + j]
    value[0] = s
    return FG_OK


cdef cnp.ndarray as_x(x):
    a = np.ascontiguousarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"x must be one-dimensional, got shape {a.shape}")
    return a


def rosenbrock_gradient(x, Py_ssize_t chunk=0, long fail_at=-1):
    """(value, grad, calls) of the n-D Rosenbrock function by fg_dual_gradient_f64
    on a C dual callback (GIL released). fail_at: the call that fails (-1: none).

    Example
    -------
    >>> rosenbrock_gradient([1.0, 1.0])[:2]
    (0.0, array([0., 0.]))
    """
    cdef cnp.ndarray xa = as_x(x)
    if chunk < 0:
        raise ValueError(f"chunk must be >= 0, got {chunk}")
    cdef size_t n = xa.shape[0]
    cdef size_t wlen = fg_dual_gradient_workspace_size(n, chunk)
    cdef cnp.ndarray grad = np.empty(n)
    cdef cnp.ndarray work = np.empty(max(wlen, 1))
    cdef rosen_ctx ctx
    cdef double value = NAN
    cdef fg_status st
    ctx.calls = 0
    ctx.fail_at = fail_at
    with nogil:
        st = fg_dual_gradient_f64(rosenbrock_dual, &ctx, <double*>cnp.PyArray_DATA(xa), n,
                                  chunk, &value, <double*>cnp.PyArray_DATA(grad),
                                  <double*>cnp.PyArray_DATA(work))
    if st != FG_OK:
        raise_status(st, "fg_dual_gradient_f64")
    return value, grad, ctx.calls


def op_sum_gradient(int op, x, Py_ssize_t chunk=0, long fail_at=-1):
    """(value, grad, calls) of sum(op(x)) (op a code of fastgrad._ops.OP_CODES,
    a unary row) by fg_dual_gradient_f64 on a callback built on fg_dual_unary_f64."""
    cdef cnp.ndarray xa = as_x(x)
    if chunk < 0:
        raise ValueError(f"chunk must be >= 0, got {chunk}")
    cdef size_t n = xa.shape[0]
    cdef size_t wlen = fg_dual_gradient_workspace_size(n, chunk)
    cdef size_t k = wlen // (n + 1) if n > 0 else 0
    cdef cnp.ndarray grad = np.empty(n)
    cdef cnp.ndarray work = np.empty(max(wlen, 1))
    cdef cnp.ndarray scratch = np.empty(max(n + n * k, 1))
    cdef opsum_ctx ctx
    cdef double value = NAN
    cdef fg_status st
    ctx.op = op
    ctx.calls = 0
    ctx.fail_at = fail_at
    ctx.yv = <double*>cnp.PyArray_DATA(scratch)
    ctx.yt = ctx.yv + n
    with nogil:
        st = fg_dual_gradient_f64(opsum_dual, &ctx, <double*>cnp.PyArray_DATA(xa), n,
                                  chunk, &value, <double*>cnp.PyArray_DATA(grad),
                                  <double*>cnp.PyArray_DATA(work))
    if st != FG_OK:
        raise_status(st, f"fg_dual_gradient_f64 (op {op})")
    return value, grad, ctx.calls
