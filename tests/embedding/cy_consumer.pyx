# cython: language_level=3
"""A third-party Cython extension that calls fastgrad's kernels nogil."""
from fastgrad._optim cimport adam_step_f64


def adam_steps(double[::1] p, double[::1] g, double[::1] m, double[::1] v, long steps,
               double lr):
    """`steps` Adam updates with a constant gradient, entirely without the GIL."""
    cdef int st = 0
    cdef long t
    with nogil:
        for t in range(1, steps + 1):
            st = adam_step_f64(&p[0], &g[0], &m[0], &v[0], NULL, p.shape[0], t, lr,
                               0.9, 0.999, 1e-8, 0.0, False, False, False)
            if st != 0:
                break
    return st
