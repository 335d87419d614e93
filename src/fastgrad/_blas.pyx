# cython: language_level=3
# cython: freethreading_compatible = True
"""Bindings of csrc/fg_blas.{h,c}: the BLAS behind the compiled tapes'
matrix products.

Layers: the C core links no BLAS; a tape takes an fg_blas struct of
Fortran-ABI dgemm/dgemv pointers when it is built. This module fills one
from SciPy's ``scipy.linalg.cython_blas`` (the BLAS SciPy ships, OpenBLAS
in its wheels), on the first request, not at ``import fastgrad``: importing
``scipy.linalg`` costs a few hundred milliseconds. The pointers come from
the capsules Cython exports in that module's ``__pyx_capi__``, with their
signatures checked, as a ``cimport`` would at import; so SciPy is needed at
run time only, not to build fastgrad.
"""
import re
import threading

from cpython.pycapsule cimport PyCapsule_CheckExact, PyCapsule_GetName, PyCapsule_GetPointer
from libc.stdint cimport int64_t

from fastgrad._cblas cimport fg_blas, fg_blas_dgemm_fn, fg_blas_dgemv_fn, FG_BLAS_MIN_WORK

MIN_WORK = FG_BLAS_MIN_WORK
"""Products of fewer multiply-adds run fastgrad's own loops (csrc/fg_blas.h)."""

# The routines' C signatures as Cython names them in a capsule, with SciPy's
# `d` typedef spelled double (see _signature).
_SIGNATURES = {
    "dgemm": "void (char *, char *, int *, int *, int *, double *, double *, int *, "
             "double *, int *, double *, double *, int *)",
    "dgemv": "void (char *, int *, int *, double *, double *, int *, double *, int *, "
             "double *, double *, int *)",
}

cdef fg_blas _scipy                  # filled once by _load, read only after
cdef bint _loaded = False
_lock = threading.Lock()
_state = {"available": False, "reason": "not loaded yet"}


def _signature(name):
    """A capsule name with SciPy's typedefs of double (``ctypedef double d``
    in cython_blas.pxd, mangled by Cython) spelled ``double``."""
    return re.sub(r"__pyx_t_\w*?cython_blas_d\b", "double", name)


cdef void *_routine(dict capi, str name) except? NULL:
    """The function pointer of `name` in capi, or NULL with the reason in
    _state when its signature is not the expected one."""
    cap = capi.get(name)
    if cap is None or not PyCapsule_CheckExact(cap):
        _state["reason"] = f"scipy.linalg.cython_blas has no {name}"
        return NULL
    cdef const char *cname = PyCapsule_GetName(cap)
    found = _signature(cname.decode())
    if found != _SIGNATURES[name]:
        _state["reason"] = f"scipy.linalg.cython_blas.{name} has the signature {found!r}"
        return NULL
    return PyCapsule_GetPointer(cap, cname)


cdef int _load() except -1:
    global _loaded
    cdef void *gemm
    cdef void *gemv
    with _lock:
        if _loaded:
            return 0
        try:
            from scipy.linalg import cython_blas
        except ImportError as e:
            _state["reason"] = f"cannot import scipy.linalg.cython_blas ({e})"
        else:
            capi = getattr(cython_blas, "__pyx_capi__", {})
            gemm = _routine(capi, "dgemm")
            gemv = _routine(capi, "dgemv")
            if gemm != NULL and gemv != NULL:
                _scipy.dgemm = <fg_blas_dgemm_fn*>gemm
                _scipy.dgemv = <fg_blas_dgemv_fn*>gemv
                _state["available"] = True
                _state["reason"] = ""
        _loaded = True
    return 0


cdef fg_blas scipy_blas(long long min_work) except *:
    """SciPy's BLAS with the threshold min_work (see fg_blas.h); dgemm NULL
    when it is unavailable (the plain loops then serve)."""
    _load()
    cdef fg_blas b = _scipy
    b.min_work = min_work
    return b


def info():
    """The BLAS compiled functions use for their matrix products.

    Returns
    -------
    dict
        ``available`` (bool): SciPy's BLAS was found; ``source``: where the
        routines come from; ``min_work``: products of fewer multiply-adds
        run fastgrad's own loops; ``reason``: why it is unavailable (empty
        when it is available). Which library SciPy's BLAS is, and its
        threads, ``threadpoolctl.threadpool_info()`` tells.
    """
    _load()
    return {"available": _state["available"], "source": "scipy.linalg.cython_blas",
            "min_work": MIN_WORK, "reason": _state["reason"]}
