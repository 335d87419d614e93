# What every fastgrad Cython module shares: the argument checks for arrays
# handed to C, the one map from a C status code to a Python exception, and
# the one rule for when to release the GIL. The checks cost about one C call
# on success; messages are built only on failure and always name the
# argument and nothing is modified.
cimport numpy as cnp
from fastgrad._cstatus cimport *

cdef enum:
    # Below this many numbers of work, releasing and re-taking the GIL costs
    # more than the computation it would free.
    FG_GIL_THRESHOLD = 2048


cdef inline int raise_status(fg_status st, str what) except -1:
    """Raise the exception for status `st` (GIL held, after the C call);
    `what` names the operation."""
    msg = f"{what}: {fg_status_message(st).decode()}"
    if st == FG_ERR_ARG or st == FG_ERR_SHAPE:
        raise ValueError(msg)
    if st == FG_ERR_UNSUPPORTED:
        raise TypeError(msg)
    if st == FG_ERR_NONFINITE or st == FG_ERR_CALLBACK:
        raise FloatingPointError(msg)
    if st == FG_ERR_NOMEM:
        raise MemoryError(msg)
    raise RuntimeError(msg)


cdef inline cnp.ndarray float_array(object arr, str name, bint writeable):
    """arr itself if it is a C-contiguous float32/float64 ndarray in native
    byte order (writeable when asked), else TypeError/ValueError naming
    `name`. A byte-swapped array has the same type number as a native one,
    so its order is checked on its own: C would misread its bytes."""
    if not cnp.PyArray_Check(arr):
        raise TypeError(f"{name} must be a numpy.ndarray of float32 or float64, "
                        f"got {type(arr).__name__}")
    cdef cnp.ndarray a = <cnp.ndarray>arr
    cdef int t = cnp.PyArray_TYPE(a)
    if t != cnp.NPY_DOUBLE and t != cnp.NPY_FLOAT:
        raise TypeError(f"{name} must have dtype float32 or float64, got {a.dtype}")
    if not cnp.PyArray_ISNOTSWAPPED(a):
        raise ValueError(f"{name} has non-native byte order ({a.dtype.str}); convert it "
                         f"with {name}.astype({name}.dtype.newbyteorder('='))")
    if not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"{name} must be C-contiguous (use numpy.ascontiguousarray)")
    if writeable and not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"{name} is read-only, but fastgrad updates it in place")
    return a

cdef inline bint same_shape(cnp.ndarray a, cnp.ndarray b):
    cdef int d, nd = cnp.PyArray_NDIM(a)
    if nd != cnp.PyArray_NDIM(b):
        return False
    for d in range(nd):
        if cnp.PyArray_DIM(a, d) != cnp.PyArray_DIM(b, d):
            return False
    return True

cdef inline cnp.ndarray matching_array(object arr, str name, cnp.ndarray like,
                                       str like_name, bint writeable):
    """Like float_array, and arr must have like's dtype and shape."""
    cdef cnp.ndarray a = float_array(arr, name, writeable)
    if cnp.PyArray_TYPE(a) != cnp.PyArray_TYPE(like):
        raise TypeError(f"{name} has dtype {a.dtype} but {like_name} has dtype {like.dtype}")
    if not same_shape(a, like):
        raise ValueError(f"{name} has shape {(<object>a).shape} but {like_name} has shape {(<object>like).shape}")
    return a

cdef inline bint overlaps(cnp.ndarray a, cnp.ndarray b):
    """True when the memory of two contiguous arrays overlaps."""
    cdef char *pa = cnp.PyArray_BYTES(a)
    cdef char *pb = cnp.PyArray_BYTES(b)
    cdef Py_ssize_t na = cnp.PyArray_NBYTES(a), nb = cnp.PyArray_NBYTES(b)
    if na == 0 or nb == 0:
        return False
    return pa < pb + nb and pb < pa + na
