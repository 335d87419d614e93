# cython: language_level=3, boundscheck=False, wraparound=False
"""Test-only calls of a compiled function's batch capsule
("fastgrad.batch_objective", fg_objective.h), built by the tests
(tests/support/build.py), never shipped: the objective called without the
GIL on raw row pointers, the way the stochastic minimize loop calls it."""
cimport numpy as cnp
import numpy as np
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdlib cimport malloc, free
from fastgrad._cstatus cimport *
from fastgrad._cobjective cimport *

cnp.import_array()


def batch_layout(capsule):
    """(n, n_data, row_bytes) of a batch capsule."""
    cdef fg_batch_objective *b = <fg_batch_objective*>PyCapsule_GetPointer(
        capsule, FG_BATCH_CAPSULE_NAME)
    return b.n, b.n_data, [b.row_bytes[j] for j in range(b.n_data)]


def call_batch_capsule(capsule, x, data, size_t start, size_t rows, bint with_grad=True):
    """(status, value, grad) of the capsule at x on rows [start, start +
    rows) of every array in data (C-contiguous, float64 or int64), pointed
    to in place; the call runs without the GIL."""
    cdef fg_batch_objective *b = <fg_batch_objective*>PyCapsule_GetPointer(
        capsule, FG_BATCH_CAPSULE_NAME)
    cdef cnp.ndarray xa = np.ascontiguousarray(x, dtype=np.float64).ravel()
    cdef cnp.ndarray g = np.full(b.n, np.nan)
    cdef const void **ptrs = <const void**>malloc(max(len(data), 1) * sizeof(void*))
    cdef cnp.ndarray a
    cdef double value = np.nan
    cdef fg_status st
    keep = []
    if ptrs == NULL:
        raise MemoryError()
    try:
        for j, arr in enumerate(data):
            a = np.ascontiguousarray(arr)
            keep.append(a)
            ptrs[j] = <const char*>cnp.PyArray_DATA(a) + start * b.row_bytes[j]
        with nogil:
            st = b.value_grad(<const double*>cnp.PyArray_DATA(xa), cnp.PyArray_SIZE(xa), ptrs,
                              rows, &value, <double*>cnp.PyArray_DATA(g) if with_grad else NULL,
                              b.ctx)
    finally:
        free(ptrs)
    return int(st), value, g
