# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Test-only C objectives for the minimize driver, built by the tests
(tests/support/build.py), never shipped: a quadratic and the n-D Rosenbrock
function computed in C, each usable as minimize's compiled ``fun`` (a
capsule of fg_objective.h, the way an embedder's objective reaches the C
loop) and as an ordinary callable with ``gradient`` and ``hessian``."""
cimport numpy as cnp
import numpy as np
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memcpy
from cpython.pycapsule cimport PyCapsule_New, PyCapsule_GetPointer
from fastgrad._cstatus cimport fg_status, FG_OK
from fastgrad._cobjective cimport *

cnp.import_array()


cdef enum:
    OBJ_QUADRATIC = 0
    OBJ_ROSENBROCK = 1

cdef struct builtin_ctx:
    fg_objective_callback cb    # first: the capsule holds &ctx.cb == ctx
    int kind
    int diag                    # quadratic: mat holds the diagonal only
    double a, b                 # Rosenbrock's a and b
    double *mat                 # quadratic: n (diag) or n*n (row-major) values
    double *lin                 # quadratic: the linear term b, n values


cdef fg_status quad_vg(const double *x, size_t n, double *value, double *grad,
                       void *ctx) noexcept nogil:
    """f = x^T A x + b.x,  grad = (A + A^T) x + b."""
    cdef builtin_ctx *c = <builtin_ctx*>ctx
    cdef size_t i, j
    cdef double f = 0.0, ri, ci
    if c.diag:
        for i in range(n):
            f += c.mat[i] * x[i] * x[i] + c.lin[i] * x[i]
            if grad != NULL:
                grad[i] = 2.0 * c.mat[i] * x[i] + c.lin[i]
    else:
        for i in range(n):
            ri = 0.0
            ci = 0.0
            for j in range(n):
                ri = ri + c.mat[i * n + j] * x[j]
                ci = ci + c.mat[j * n + i] * x[j]
            f += x[i] * ri + c.lin[i] * x[i]
            if grad != NULL:
                grad[i] = ri + ci + c.lin[i]
    value[0] = f
    return FG_OK


cdef fg_status quad_hess(const double *x, size_t n, double *hess, void *ctx) noexcept nogil:
    cdef builtin_ctx *c = <builtin_ctx*>ctx
    cdef size_t i, j
    for i in range(n):
        for j in range(n):
            if c.diag:
                hess[i * n + j] = 2.0 * c.mat[i] if i == j else 0.0
            else:
                hess[i * n + j] = c.mat[i * n + j] + c.mat[j * n + i]
    return FG_OK


cdef fg_status rosen_vg(const double *x, size_t n, double *value, double *grad,
                        void *ctx) noexcept nogil:
    """f = sum_{i<n-1} b (x_{i+1} - x_i^2)^2 + (a - x_i)^2."""
    cdef builtin_ctx *c = <builtin_ctx*>ctx
    cdef double a = c.a, b = c.b, f = 0.0, r, s
    cdef size_t i
    if grad != NULL:
        for i in range(n):
            grad[i] = 0.0
    for i in range(n - 1 if n else 0):
        r = x[i + 1] - x[i] * x[i]
        s = a - x[i]
        f += b * r * r + s * s
        if grad != NULL:
            grad[i] += -4.0 * b * x[i] * r - 2.0 * s
            grad[i + 1] += 2.0 * b * r
    value[0] = f
    return FG_OK


cdef fg_status rosen_hess(const double *x, size_t n, double *hess, void *ctx) noexcept nogil:
    cdef builtin_ctx *c = <builtin_ctx*>ctx
    cdef double b = c.b
    cdef size_t i
    for i in range(n * n):
        hess[i] = 0.0
    for i in range(n - 1 if n else 0):
        hess[i * n + i] += 12.0 * b * x[i] * x[i] - 4.0 * b * x[i + 1] + 2.0
        hess[(i + 1) * n + i + 1] += 2.0 * b
        hess[i * n + i + 1] = -4.0 * b * x[i]
        hess[(i + 1) * n + i] = -4.0 * b * x[i]
    return FG_OK


cdef void free_builtin(object capsule) noexcept:
    cdef builtin_ctx *c = <builtin_ctx*>PyCapsule_GetPointer(capsule, FG_OBJECTIVE_CAPSULE_NAME)
    if c != NULL:
        free(c.mat)
        free(c.lin)
        free(c)


cdef class BuiltinObjective:
    """A test objective computed in C, usable as ``minimize``'s compiled ``fun``.

    ``obj(x)`` is the value, ``obj.gradient(x)`` and ``obj.hessian(x)`` the
    derivatives (all through the same C functions the driver calls), and
    ``obj._fg_objective_capsule()`` the capsule of fg_objective.h.
    """
    cdef readonly str name
    cdef readonly Py_ssize_t n
    cdef int kind
    cdef double a, b
    cdef object mat, lin

    def __init__(self, str name, Py_ssize_t n, int kind, double a=0.0, double b=0.0,
                 mat=None, lin=None):
        self.name = name
        self.n = n
        self.kind = kind
        self.a = a
        self.b = b
        self.mat = mat
        self.lin = lin

    def __repr__(self):
        return f"<fastgrad built-in C objective {self.name}, n={self.n}>"

    def _fg_objective_capsule(self):
        """A fresh capsule owning its context (see fg_objective.h)."""
        cdef builtin_ctx *c = <builtin_ctx*>calloc(1, sizeof(builtin_ctx))
        cdef cnp.ndarray m, l
        if c == NULL:
            raise MemoryError()
        c.kind = self.kind
        c.a = self.a
        c.b = self.b
        c.cb.n = <size_t>self.n
        c.cb.objective.ctx = <void*>c
        if self.kind == OBJ_QUADRATIC:
            m = self.mat
            l = self.lin
            c.diag = cnp.PyArray_NDIM(m) == 1
            c.mat = <double*>malloc(max(cnp.PyArray_NBYTES(m), 1))
            c.lin = <double*>malloc(max(cnp.PyArray_NBYTES(l), 1))
            if c.mat == NULL or c.lin == NULL:
                free(c.mat); free(c.lin); free(c)
                raise MemoryError()
            memcpy(c.mat, cnp.PyArray_DATA(m), cnp.PyArray_NBYTES(m))
            memcpy(c.lin, cnp.PyArray_DATA(l), cnp.PyArray_NBYTES(l))
            c.cb.objective.value_grad = quad_vg
            c.cb.objective.hessian = quad_hess
        else:
            c.cb.objective.value_grad = rosen_vg
            c.cb.objective.hessian = rosen_hess
        return PyCapsule_New(<void*>c, FG_OBJECTIVE_CAPSULE_NAME, free_builtin)

    cdef cnp.ndarray _vector(self, x):
        cdef cnp.ndarray a = np.ascontiguousarray(x, dtype=np.float64).ravel()
        if cnp.PyArray_SIZE(a) != self.n:
            raise ValueError(f"x has {cnp.PyArray_SIZE(a)} elements, expected {self.n}")
        return a

    def value_and_gradient(self, x):
        """(f(x), grad f(x)) from the C callback."""
        cdef cnp.ndarray a = self._vector(x)
        cdef cnp.ndarray g = np.empty(self.n)
        cdef double f
        cap = self._fg_objective_capsule()
        cdef fg_objective_callback *cb = <fg_objective_callback*>PyCapsule_GetPointer(
            cap, FG_OBJECTIVE_CAPSULE_NAME)
        cb.objective.value_grad(<double*>cnp.PyArray_DATA(a), self.n, &f,
                                <double*>cnp.PyArray_DATA(g), cb.objective.ctx)
        return f, g

    def __call__(self, x):
        return self.value_and_gradient(x)[0]

    def gradient(self, x):
        return self.value_and_gradient(x)[1]

    def hessian(self, x):
        cdef cnp.ndarray a = self._vector(x)
        cdef cnp.ndarray h = np.empty((self.n, self.n))
        cap = self._fg_objective_capsule()
        cdef fg_objective_callback *cb = <fg_objective_callback*>PyCapsule_GetPointer(
            cap, FG_OBJECTIVE_CAPSULE_NAME)
        cb.objective.hessian(<double*>cnp.PyArray_DATA(a), self.n,
                             <double*>cnp.PyArray_DATA(h), cb.objective.ctx)
        return h


def quadratic(a, b=None):
    """f(x) = x^T A x + b.x, A = diag(a) for 1-D a, else the (n, n) matrix a.

    3x^2 + y^2 is ``quadratic([3, 1])``; x^2 + y^2 + xy is
    ``quadratic([[1, 0.5], [0.5, 1]])``."""
    m = np.array(a, dtype=np.float64, order="C")
    if m.ndim not in (1, 2) or (m.ndim == 2 and m.shape[0] != m.shape[1]):
        raise ValueError("a must be a 1-D diagonal or a square matrix")
    n = m.shape[0]
    lin = np.zeros(n) if b is None else np.array(b, dtype=np.float64).ravel()
    if lin.shape != (n,):
        raise ValueError(f"b must have {n} elements")
    return BuiltinObjective("quadratic", n, OBJ_QUADRATIC, mat=m, lin=lin)


def rosenbrock(n=2, a=1.0, b=100.0):
    """f(x) = sum_{i<n-1} b (x_{i+1} - x_i^2)^2 + (a - x_i)^2; minimum at (a, a^2, ...)
    for n = 2, at ones for a = 1."""
    if n < 2:
        raise ValueError("rosenbrock needs n >= 2")
    return BuiltinObjective("rosenbrock", n, OBJ_ROSENBROCK, a=a, b=b)
