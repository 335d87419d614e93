# Raw declarations of csrc/fg_status.h: the status codes every fastgrad C
# function returns. The one map from code to Python exception is raise_status
# in _common.pxd.
cdef extern from "fg_status.h" nogil:
    ctypedef enum fg_status:
        FG_OK
        FG_ERR_ARG
        FG_ERR_NOMEM
        FG_ERR_NONFINITE
        FG_ERR_SHAPE
        FG_ERR_UNSUPPORTED
        FG_ERR_THREAD
        FG_ERR_CALLBACK
    const char *fg_status_message(fg_status status)
