# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Test-only calls into the tape VM, built by the tests
(tests/support/build.py), never shipped: the capsules of a compiled
function called without the GIL the way a C driver calls them, and a loop
of evaluations through the cdef exports of fastgrad._tape (what embedders
cimport), for the C cost per call without Python's call overhead."""
cimport numpy as cnp
import numpy as np
from cpython.pycapsule cimport PyCapsule_GetPointer
from fastgrad._cstatus cimport *
from fastgrad._cobjective cimport *
from fastgrad._tape cimport (Tape, tape_ws_create, tape_ws_free, tape_eval_f64,
                             tape_value_grad_f64, tape_value_grad_reverse_f64,
                             tape_hessian_f64, tape_hessian_reverse_f64)
from fastgrad._common cimport raise_status

cnp.import_array()


def call_scalar_capsule(capsule, x):
    """Evaluate a "fastgrad.scalar_callback" capsule at x (float64 vector),
    without the GIL, the way the finite-difference driver does."""
    cdef fg_scalar_callback *cb = <fg_scalar_callback*>PyCapsule_GetPointer(
        capsule, FG_SCALAR_CAPSULE_NAME)
    cdef cnp.ndarray a = np.ascontiguousarray(x, dtype=np.float64)
    cdef double value
    with nogil:
        value = cb.fn(<const double*>cnp.PyArray_DATA(a), cnp.PyArray_SIZE(a), cb.ctx)
    return value


def call_objective_capsule(capsule, x):
    """(value, grad, hessian) from a "fastgrad.objective_callback" capsule,
    called without the GIL, the way the minimize driver does."""
    cdef fg_objective_callback *cb = <fg_objective_callback*>PyCapsule_GetPointer(
        capsule, FG_OBJECTIVE_CAPSULE_NAME)
    cdef cnp.ndarray a = np.ascontiguousarray(x, dtype=np.float64).ravel()
    cdef size_t n = cnp.PyArray_SIZE(a)
    cdef cnp.ndarray g = np.empty(n)
    cdef cnp.ndarray h = np.empty((n, n))
    cdef double value
    cdef fg_status st1, st2
    with nogil:
        st1 = cb.objective.value_grad(<const double*>cnp.PyArray_DATA(a), n, &value,
                                      <double*>cnp.PyArray_DATA(g), cb.objective.ctx)
        st2 = cb.objective.hessian(<const double*>cnp.PyArray_DATA(a), n,
                                   <double*>cnp.PyArray_DATA(h), cb.objective.ctx)
    if st1 != FG_OK:
        raise_status(st1, "value_grad")
    if st2 != FG_OK:
        raise_status(st2, "hessian")
    return value, g, h


def repeat_eval(Tape tape, x, size_t reps, str mode="value"):
    """Run reps evaluations of the tape at x in one nogil C loop, on a
    workspace of its own. mode: "value", "grad" (dual), "reverse",
    "hessian" (hyper-dual) or "hessian_reverse". Returns the last value."""
    cdef cnp.ndarray a = np.ascontiguousarray(x, dtype=np.float64)
    if cnp.PyArray_SIZE(a) != tape.n:
        raise ValueError(f"x must have {tape.n} elements")
    cdef const double *xp = <const double*>cnp.PyArray_DATA(a)
    cdef int m = {"value": 0, "grad": 1, "hessian": 2, "reverse": 3,
                  "hessian_reverse": 4}[mode]
    cdef cnp.ndarray g = np.empty(tape.n * tape.n if m in (2, 4) else tape.n)
    cdef double *gp = <double*>cnp.PyArray_DATA(g)
    cdef void *ws = tape_ws_create(tape.ptr, tape.chunk)
    if ws == NULL:
        raise MemoryError("cannot allocate a tape workspace")
    cdef double value = 0.0
    cdef size_t r
    cdef int st = 0
    with nogil:
        for r in range(reps):
            if m == 0:
                st = tape_eval_f64(tape.ptr, ws, xp, NULL, &value)
            elif m == 1:
                st = tape_value_grad_f64(tape.ptr, ws, xp, NULL, &value, gp)
            elif m == 3:
                st = tape_value_grad_reverse_f64(tape.ptr, ws, xp, NULL, &value, gp)
            elif m == 4:
                st = tape_hessian_reverse_f64(tape.ptr, ws, xp, NULL, gp)
            else:
                st = tape_hessian_f64(tape.ptr, ws, xp, NULL, gp)
    tape_ws_free(ws)
    if st != FG_OK:
        raise_status(<fg_status>st, mode)
    return value
