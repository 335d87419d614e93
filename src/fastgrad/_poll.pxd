# What the long calls' polls share (the tape's parts, minimize, minimize_many):
# the monotonic clock, and the poll's step with the GIL held, in one place so
# that Ctrl-C and the progress line behave alike everywhere.
from cpython.exc cimport PyErr_CheckSignals
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC


cdef inline double now_seconds() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <double>ts.tv_sec + 1e-9 * <double>ts.tv_nsec


cdef inline bint progress_due(bint progress, double *next_progress,
                              double interval) except -1:
    """Raise what pending signals raise (KeyboardInterrupt for Ctrl-C); then
    True when `progress` is on and *next_progress has passed, which moves it
    `interval` on (so a line at most every `interval` seconds)."""
    PyErr_CheckSignals()
    if not progress:
        return False
    cdef double t = now_seconds()
    if t < next_progress[0]:
        return False
    next_progress[0] = t + interval
    return True
