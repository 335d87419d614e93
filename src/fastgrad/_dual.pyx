# cython: language_level=3, boundscheck=False, wraparound=False
# cython: freethreading_compatible = True
"""Bindings of csrc/fg_dual.{h,c}: dual and hyper-dual elementwise kernels.

Layers: dual.py (DualArray) does NumPy semantics (broadcasting, dtypes,
reductions) and calls `unary`/`binary` here with C-contiguous arrays; this
module checks them cheaply, allocates the outputs (value y, tangent ty) and
calls one C kernel, with the GIL released above FG_GIL_THRESHOLD numbers.
Inputs (in) are only read; the returned arrays are new. The cdef wrappers at
the bottom are the nogil API for embedders (declared in _dual.pxd).
"""
cimport numpy as cnp
from cython cimport floating
from fastgrad._cstatus cimport fg_status, FG_OK, FG_ERR_ARG, FG_ERR_UNSUPPORTED, fg_status_message

from fastgrad._cdual cimport *
from fastgrad._common cimport raise_status, FG_GIL_THRESHOLD, float_array

cnp.import_array()

cdef enum:
    FG_MAXDIMS = 64


cdef inline Py_ssize_t tangent_width(cnp.ndarray v, cnp.ndarray t, str name) except -1:
    """m, the last dimension of t, after checking t's shape is v.shape + (m,)."""
    cdef int d, nd = cnp.PyArray_NDIM(v)
    if cnp.PyArray_NDIM(t) != nd + 1:
        raise ValueError(f"{name} must have shape value.shape + (k,)")
    for d in range(nd):
        if cnp.PyArray_DIM(t, d) != cnp.PyArray_DIM(v, d):
            raise ValueError(f"{name} must have shape value.shape + (k,)")
    if cnp.PyArray_TYPE(t) != cnp.PyArray_TYPE(v):
        raise TypeError(f"{name} must have the value's dtype {(<object>v).dtype}")
    return cnp.PyArray_DIM(t, nd)


cdef inline tuple new_pair(cnp.ndarray like, Py_ssize_t m, int typenum):
    """Uninitialised (y, ty) with y.shape == like.shape, ty.shape == y.shape + (m,)."""
    cdef cnp.npy_intp dims[FG_MAXDIMS + 1]
    cdef int d, nd = cnp.PyArray_NDIM(like)
    if nd > FG_MAXDIMS:
        raise ValueError("too many dimensions")
    for d in range(nd):
        dims[d] = cnp.PyArray_DIM(like, d)
    dims[nd] = m
    return (cnp.PyArray_EMPTY(nd, dims, typenum, 0),
            cnp.PyArray_EMPTY(nd + 1, dims, typenum, 0))


def unary(int op, x, tx, bint hyper=False):
    """Elementwise unary rule `op` (a code of fastgrad._ops.OP_CODES).

    x (in): C-contiguous float32/float64 array of shape S; tx (in): same
    dtype, shape S + (m,) (m = k, or 2k + 1 when ``hyper``). Returns new
    arrays (y, ty) of the same shapes. See csrc/fg_dual.h for the formulas.
    """
    cdef cnp.ndarray xv = float_array(x, "x", False)
    cdef cnp.ndarray xt = float_array(tx, "tx", False)
    cdef Py_ssize_t m = tangent_width(xv, xt, "tx")
    if hyper and m % 2 == 0:
        raise ValueError("a hyper-dual tangent has an odd width 2k + 1")
    cdef size_t n = cnp.PyArray_SIZE(xv)
    cdef size_t k = (m - 1) // 2 if hyper else m
    cdef int typenum = cnp.PyArray_TYPE(xv)
    cdef tuple out = new_pair(xv, m, typenum)
    cdef void *yv = cnp.PyArray_DATA(<cnp.ndarray>out[0])
    cdef void *yt = cnp.PyArray_DATA(<cnp.ndarray>out[1])
    cdef void *pv = cnp.PyArray_DATA(xv)
    cdef void *pt = cnp.PyArray_DATA(xt)
    cdef int st
    cdef bint f32 = typenum == cnp.NPY_FLOAT
    if n * m >= FG_GIL_THRESHOLD:
        with nogil:
            st = unary_call(op, hyper, f32, n, k, pv, pt, yv, yt)
    else:
        st = unary_call(op, hyper, f32, n, k, pv, pt, yv, yt)
    if st != FG_OK:
        raise_status(<fg_status>st, f"dual kernel for op {op}")
    return out


cdef inline int unary_call(int op, bint hyper, bint f32, size_t n, size_t k, void *pv,
                           void *pt, void *yv, void *yt) noexcept nogil:
    if f32:
        return unary_kernel(op, hyper, n, k, <float*>pv, <float*>pt, <float*>yv, <float*>yt)
    return unary_kernel(op, hyper, n, k, <double*>pv, <double*>pt, <double*>yv, <double*>yt)


cdef inline int unary_kernel(int op, bint hyper, size_t n, size_t k, floating *xv,
                             floating *xt, floating *yv, floating *yt) noexcept nogil:
    if floating is float:
        if hyper:
            return fg_hdual_unary_f32(op, n, k, xv, xt, yv, yt)
        return fg_dual_unary_f32(op, n, k, xv, xt, yv, yt)
    else:
        if hyper:
            return fg_hdual_unary_f64(op, n, k, xv, xt, yv, yt)
        return fg_dual_unary_f64(op, n, k, xv, xt, yv, yt)


def binary(int op, a, ta, b, tb, bint hyper=False):
    """Elementwise binary rule `op` (a code of fastgrad._ops.OP_CODES).

    a, b (in): C-contiguous arrays of one float dtype, of equal size, or one
    of size 1 (broadcast), or a Python float/int constant; the result has the larger operand's shape (a's on
    a tie of sizes when a.ndim >= b.ndim). ta, tb (in): their tangents (shape
    + (m,)), or None for a constant operand (its partial is never
    evaluated). Returns new arrays (y, ty).
    """
    # A Python float or int constant (the common `2.0 * x`) is broadcast from
    # a local scalar instead of a new 0-d array.
    cdef double sa = 0.0, sb = 0.0
    cdef float sa32 = 0.0, sb32 = 0.0
    cdef bint a_scalar = (type(a) is float or type(a) is int) and ta is None
    cdef bint b_scalar = (type(b) is float or type(b) is int) and tb is None
    cdef cnp.ndarray av, bv
    if a_scalar and b_scalar:
        raise ValueError("at least one of ta, tb must be given")
    if a_scalar:
        sa = a
        sa32 = <float>sa
        bv = float_array(b, "b", False)
        av = bv
    elif b_scalar:
        sb = b
        sb32 = <float>sb
        av = float_array(a, "a", False)
        bv = av
    else:
        av = float_array(a, "a", False)
        bv = float_array(b, "b", False)
    cdef int typenum = cnp.PyArray_TYPE(av)
    if cnp.PyArray_TYPE(bv) != typenum:
        raise TypeError(f"a and b must have one dtype, got {av.dtype} and {bv.dtype}")
    cdef bint f32 = typenum == cnp.NPY_FLOAT
    cdef cnp.ndarray at = None, bt = None
    cdef Py_ssize_t m = -1, mb
    if ta is not None:
        at = float_array(ta, "ta", False)
        m = tangent_width(av, at, "ta")
    if tb is not None:
        bt = float_array(tb, "tb", False)
        mb = tangent_width(bv, bt, "tb")
        if m >= 0 and mb != m:
            raise ValueError(f"ta and tb have different widths {m} and {mb}")
        m = mb
    if m < 0:
        raise ValueError("at least one of ta, tb must be given")
    if hyper and m % 2 == 0:
        raise ValueError("a hyper-dual tangent has an odd width 2k + 1")
    cdef size_t na = 1 if a_scalar else cnp.PyArray_SIZE(av)
    cdef size_t nb = 1 if b_scalar else cnp.PyArray_SIZE(bv)
    cdef size_t n
    cdef size_t a_inc = 1, b_inc = 1
    cdef cnp.ndarray like
    if a_scalar or b_scalar:
        like = bv if a_scalar else av
        if a_scalar:
            a_inc = 0
        else:
            b_inc = 0
    elif na == nb and (na != 1 or cnp.PyArray_NDIM(av) >= cnp.PyArray_NDIM(bv)):
        like = av
    elif na == nb:
        like = bv
    elif na == 1:
        a_inc = 0
        like = bv
    elif nb == 1:
        b_inc = 0
        like = av
    else:
        raise ValueError(f"a and b sizes {na} and {nb} differ (broadcast them first)")
    n = cnp.PyArray_SIZE(like)
    cdef size_t k = (m - 1) // 2 if hyper else m
    cdef tuple out = new_pair(like, m, typenum)
    cdef void *yv = cnp.PyArray_DATA(<cnp.ndarray>out[0])
    cdef void *yt = cnp.PyArray_DATA(<cnp.ndarray>out[1])
    cdef void *pa = cnp.PyArray_DATA(av)
    cdef void *pb = cnp.PyArray_DATA(bv)
    if a_scalar:
        pa = <void*>&sa32 if f32 else <void*>&sa
    if b_scalar:
        pb = <void*>&sb32 if f32 else <void*>&sb
    cdef void *pta = NULL if at is None else cnp.PyArray_DATA(at)
    cdef void *ptb = NULL if bt is None else cnp.PyArray_DATA(bt)
    cdef int st
    if n * m >= FG_GIL_THRESHOLD:
        with nogil:
            st = binary_call(op, hyper, f32, n, k, pa, pta, a_inc, pb, ptb, b_inc, yv, yt)
    else:
        st = binary_call(op, hyper, f32, n, k, pa, pta, a_inc, pb, ptb, b_inc, yv, yt)
    if st != FG_OK:
        raise_status(<fg_status>st, f"dual kernel for op {op}")
    return out


cdef inline int binary_call(int op, bint hyper, bint f32, size_t n, size_t k,
                            void *pa, void *pta, size_t a_inc, void *pb, void *ptb,
                            size_t b_inc, void *yv, void *yt) noexcept nogil:
    if f32:
        return binary_kernel(op, hyper, n, k, <float*>pa, <float*>pta, a_inc, <float*>pb,
                             <float*>ptb, b_inc, <float*>yv, <float*>yt)
    return binary_kernel(op, hyper, n, k, <double*>pa, <double*>pta, a_inc, <double*>pb,
                         <double*>ptb, b_inc, <double*>yv, <double*>yt)


cdef inline int binary_kernel(int op, bint hyper, size_t n, size_t k, floating *av,
                              floating *at, size_t a_inc, floating *bv, floating *bt,
                              size_t b_inc, floating *yv, floating *yt) noexcept nogil:
    if floating is float:
        if hyper:
            return fg_hdual_binary_f32(op, n, k, av, at, a_inc, bv, bt, b_inc, yv, yt)
        return fg_dual_binary_f32(op, n, k, av, at, a_inc, bv, bt, b_inc, yv, yt)
    else:
        if hyper:
            return fg_hdual_binary_f64(op, n, k, av, at, a_inc, bv, bt, b_inc, yv, yt)
        return fg_dual_binary_f64(op, n, k, av, at, a_inc, bv, bt, b_inc, yv, yt)


# ------------------------------------------- nogil API for embedders --

cdef int dual_unary_f64(int op, size_t n, size_t k, const double *xv, const double *xt,
                        double *yv, double *yt) noexcept nogil:
    return fg_dual_unary_f64(op, n, k, xv, xt, yv, yt)

cdef int dual_unary_f32(int op, size_t n, size_t k, const float *xv, const float *xt,
                        float *yv, float *yt) noexcept nogil:
    return fg_dual_unary_f32(op, n, k, xv, xt, yv, yt)

cdef int dual_binary_f64(int op, size_t n, size_t k, const double *av, const double *at,
                         size_t a_inc, const double *bv, const double *bt, size_t b_inc,
                         double *yv, double *yt) noexcept nogil:
    return fg_dual_binary_f64(op, n, k, av, at, a_inc, bv, bt, b_inc, yv, yt)

cdef int dual_binary_f32(int op, size_t n, size_t k, const float *av, const float *at,
                         size_t a_inc, const float *bv, const float *bt, size_t b_inc,
                         float *yv, float *yt) noexcept nogil:
    return fg_dual_binary_f32(op, n, k, av, at, a_inc, bv, bt, b_inc, yv, yt)

cdef int hdual_unary_f64(int op, size_t n, size_t k, const double *xv, const double *xt,
                         double *yv, double *yt) noexcept nogil:
    return fg_hdual_unary_f64(op, n, k, xv, xt, yv, yt)

cdef int hdual_unary_f32(int op, size_t n, size_t k, const float *xv, const float *xt,
                         float *yv, float *yt) noexcept nogil:
    return fg_hdual_unary_f32(op, n, k, xv, xt, yv, yt)

cdef int hdual_binary_f64(int op, size_t n, size_t k, const double *av, const double *at,
                          size_t a_inc, const double *bv, const double *bt, size_t b_inc,
                          double *yv, double *yt) noexcept nogil:
    return fg_hdual_binary_f64(op, n, k, av, at, a_inc, bv, bt, b_inc, yv, yt)

cdef int hdual_binary_f32(int op, size_t n, size_t k, const float *av, const float *at,
                          size_t a_inc, const float *bv, const float *bt, size_t b_inc,
                          float *yv, float *yt) noexcept nogil:
    return fg_hdual_binary_f32(op, n, k, av, at, a_inc, bv, bt, b_inc, yv, yt)
