# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Test-only minibatch objectives for the stochastic minimize loop, built by
the tests (tests/support/build.py), never shipped: least squares and
logistic regression computed in C, each usable as minimize's compiled
``fun`` with data (``_fg_batch_capsule(row_counts)``, the capsule of
fg_objective.h) and as an ordinary callable ``f(x, X, y)`` with
``gradient`` and ``value_and_gradient`` through the same C function.

A capsule answers only the row counts it was prepared for (FG_ERR_SHAPE
otherwise, as a compiled function's does), remembers them
(``prepared``), and can be told to fail (``fail_at``: the k-th call returns
FG_ERR_ARG) to test objective errors."""
cimport numpy as cnp
import numpy as np
from libc.math cimport exp, log1p, fabs
from libc.stdint cimport int64_t
from libc.stdlib cimport calloc, free
from cpython.pycapsule cimport PyCapsule_New, PyCapsule_GetPointer
from fastgrad._cstatus cimport fg_status, FG_OK, FG_ERR_ARG, FG_ERR_SHAPE
from fastgrad._cobjective cimport *

cnp.import_array()

cdef enum:
    LEAST_SQUARES = 0
    LOGISTIC = 1
    MAX_COUNTS = 8


cdef struct batch_ctx:
    fg_batch_objective obj      # first: the capsule holds &ctx.obj == ctx
    size_t row_bytes[2]
    int kind
    size_t counts[MAX_COUNTS]   # the prepared row counts (0: none)
    long calls, fail_at         # fail_at > 0: that call fails


cdef fg_status batch_vg(const double *w, size_t n, const void *const *data, size_t rows,
                        double *value, double *grad, void *ctx) noexcept nogil:
    """least squares: f = sum_i (X_i.w - y_i)^2 / (2 rows);
    logistic: f = sum_i log(1 + exp(-s_i X_i.w)) / rows, s_i = 2 y_i - 1
    (y int64 in {0, 1}); gradients X^T r / rows."""
    cdef batch_ctx *c = <batch_ctx*>ctx
    cdef const double *X = <const double*>data[0]
    cdef size_t i, j, k
    cdef double f = 0.0, z, s, m, r
    cdef bint ok = False
    c.calls += 1
    if c.fail_at > 0 and c.calls == c.fail_at:
        return FG_ERR_ARG
    for k in range(MAX_COUNTS):
        ok = ok or (c.counts[k] == rows and rows > 0)
    if not ok:
        return FG_ERR_SHAPE
    if grad != NULL:
        for j in range(n):
            grad[j] = 0.0
    for i in range(rows):
        z = 0.0
        for j in range(n):
            z = z + X[i * n + j] * w[j]
        if c.kind == LEAST_SQUARES:
            r = z - (<const double*>data[1])[i]
            f += 0.5 * r * r
        else:
            s = 2.0 * <double>(<const int64_t*>data[1])[i] - 1.0
            m = -s * z
            f += (m if m > 0.0 else 0.0) + log1p(exp(-fabs(m)))
            # d/dz log(1 + exp(-s z)) = -s / (1 + exp(s z))
            r = -s / (1.0 + exp(s * z))
        if grad != NULL:
            for j in range(n):
                grad[j] += r * X[i * n + j]
    value[0] = f / <double>rows
    if grad != NULL:
        for j in range(n):
            grad[j] = grad[j] / <double>rows
    return FG_OK


cdef void free_ctx(object capsule) noexcept:
    free(PyCapsule_GetPointer(capsule, FG_BATCH_CAPSULE_NAME))


cdef class BatchObjective:
    """A minibatch objective f(x, X, y) computed in C (see the module doc)."""
    cdef readonly str name
    cdef readonly Py_ssize_t size
    cdef int kind
    cdef readonly object prepared     # the row counts of the last capsule
    cdef public long fail_at

    def __init__(self, str name, Py_ssize_t n_features, int kind):
        self.name = name
        self.size = n_features
        self.kind = kind
        self.prepared = None
        self.fail_at = 0

    def __repr__(self):
        return f"<test batch objective {self.name}, n={self.size}>"

    def _fg_batch_capsule(self, row_counts):
        counts = tuple(int(r) for r in row_counts)
        if len(counts) > MAX_COUNTS:
            raise ValueError("too many row counts")
        cdef batch_ctx *c = <batch_ctx*>calloc(1, sizeof(batch_ctx))
        if c == NULL:
            raise MemoryError()
        for k, r in enumerate(counts):
            c.counts[k] = r
        c.kind = self.kind
        c.fail_at = self.fail_at
        c.row_bytes[0] = <size_t>self.size * sizeof(double)
        c.row_bytes[1] = 8
        c.obj.value_grad = batch_vg
        c.obj.ctx = <void*>c
        c.obj.n = <size_t>self.size
        c.obj.n_data = 2
        c.obj.row_bytes = c.row_bytes
        self.prepared = counts
        return PyCapsule_New(<void*>c, FG_BATCH_CAPSULE_NAME, free_ctx)

    def value_and_gradient(self, x, X, y):
        """(f, grad f) at x on the rows of X, y, through the C function."""
        cdef cnp.ndarray w = np.ascontiguousarray(x, dtype=np.float64).ravel()
        cdef cnp.ndarray A = np.ascontiguousarray(X, dtype=np.float64)
        cdef cnp.ndarray b = np.ascontiguousarray(
            y, dtype=np.float64 if self.kind == LEAST_SQUARES else np.int64)
        if w.shape[0] != self.size or A.ndim != 2 or A.shape[1] != self.size \
                or b.shape[0] != A.shape[0] or A.shape[0] == 0:
            raise ValueError("shapes do not match")
        cdef cnp.ndarray g = np.empty(self.size)
        cdef double f
        cdef batch_ctx c
        cdef const void *ptrs[2]
        c.kind = self.kind
        c.fail_at = 0
        c.calls = 0
        for k in range(MAX_COUNTS):
            c.counts[k] = 0
        c.counts[0] = <size_t>A.shape[0]
        ptrs[0] = cnp.PyArray_DATA(A)
        ptrs[1] = cnp.PyArray_DATA(b)
        batch_vg(<double*>cnp.PyArray_DATA(w), self.size, ptrs, A.shape[0], &f,
                 <double*>cnp.PyArray_DATA(g), &c)
        return f, g

    def __call__(self, x, X, y):
        return self.value_and_gradient(x, X, y)[0]

    def gradient(self, x, X, y):
        return self.value_and_gradient(x, X, y)[1]


def least_squares(n_features):
    """f(w; X, y) = mean_i (X_i.w - y_i)^2 / 2, y float64."""
    return BatchObjective("least_squares", n_features, LEAST_SQUARES)


def logistic(n_features):
    """f(w; X, y) = mean_i log(1 + exp(-(2 y_i - 1) X_i.w)), y int64 in {0, 1}."""
    return BatchObjective("logistic", n_features, LOGISTIC)
