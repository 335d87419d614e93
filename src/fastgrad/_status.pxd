# The one map from a C status code to a Python exception, shared by every
# fastgrad Cython module (call it with the GIL held, after the C call).
from fastgrad._cstatus cimport *


cdef inline int raise_status(fg_status st, str what) except -1:
    """Raise the exception for status `st`; `what` names the operation."""
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
