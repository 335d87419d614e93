# The NumPy side of the C-callback finite-difference drivers, shared by
# fastgrad._fd and by Cython code that runs them on arrays through the cdef
# exports of _fd.pxd (the test-only tests/support/testing_fd.pyx does, the way
# an embedder would): one status map, the optional step array, and the
# check-allocate-call-raise sequence of the gradient and Hessian drivers.
# Internal: it cimports NumPy, so it is no part of the embedding API.
cimport numpy as cnp
from fastgrad._cstatus cimport *
from fastgrad._common cimport raise_status, float_array
from fastgrad._fd cimport (fd_scalar_fn, fd_value_grad_fn, fd_gradient_workspace_size,
                           fd_gradient_f64, fd_hessian_workspace_size, fd_hessian_f64)


cdef inline int raise_fd_status(fg_status st, str what, str failed=None) except -1:
    """raise_status, except that the only array fg_fd checks for finiteness
    is the point x, so that error names it; `failed`, when given, is the
    message for a C callback that failed (FG_ERR_CALLBACK)."""
    if st == FG_ERR_CALLBACK and failed is not None:
        raise FloatingPointError(failed)
    if st == FG_ERR_NONFINITE:
        raise ValueError(f"x must be finite (it holds NaN or infinity) "
                         f"[{what}: {fg_status_message(st).decode()}]")
    return raise_status(st, what)


cdef inline void *optional_steps(object steps, cnp.ndarray x) except? NULL:
    """NULL for None (the default steps), else the data of steps (in), which
    must hold as many values as x of x's dtype."""
    if steps is None:
        return NULL
    cdef cnp.ndarray s = float_array(steps, "step", False)
    if cnp.PyArray_TYPE(s) != cnp.PyArray_TYPE(x) or cnp.PyArray_SIZE(s) != cnp.PyArray_SIZE(x):
        raise ValueError(f"step must hold {cnp.PyArray_SIZE(x)} values of dtype {x.dtype}")
    return cnp.PyArray_DATA(s)


cdef inline cnp.ndarray new_doubles(int nd, cnp.npy_intp n):
    """An uninitialised float64 array of shape (n,) (nd 1) or (n, n) (nd 2)."""
    cdef cnp.npy_intp dims[2]
    dims[0] = n
    dims[1] = n
    return cnp.PyArray_EMPTY(nd, dims, cnp.NPY_DOUBLE, 0)


cdef inline tuple fd_gradient_arrays(fd_scalar_fn f, void *ctx, cnp.ndarray xa, int method,
                                     object steps, bint want_err):
    """(grad (n,), err (n,) or None) of the C function f at xa (in:
    contiguous float64, checked by the caller), point by point without the GIL."""
    cdef void *sp = optional_steps(steps, xa)
    cdef size_t n = cnp.PyArray_SIZE(xa)
    cdef cnp.ndarray grad = new_doubles(1, n)
    cdef cnp.ndarray err = new_doubles(1, n) if want_err else None
    cdef cnp.ndarray work = new_doubles(1, fd_gradient_workspace_size(method, n))
    cdef double *gp = <double*>cnp.PyArray_DATA(grad)
    cdef double *ep = <double*>cnp.PyArray_DATA(err) if want_err else NULL
    cdef double *wp = <double*>cnp.PyArray_DATA(work)
    cdef double *xp = <double*>cnp.PyArray_DATA(xa)
    cdef int st
    with nogil:
        st = fd_gradient_f64(f, ctx, xp, n, method, <double*>sp, gp, ep, wp)
    if st != FG_OK:
        raise_fd_status(<fg_status>st, "finite-difference gradient",
                        "f returned NaN at a stencil point (a C callback signals failure "
                        "with NaN); no gradient was computed")
    return grad, err


cdef inline cnp.ndarray fd_hessian_array(fd_value_grad_fn value_grad, void *ctx, cnp.ndarray xa,
                                         int method, object steps):
    """(n, n) Hessian at xa (in: contiguous float64, checked by the caller)
    by differences of the C gradient value_grad (symmetrized), GIL released."""
    cdef void *sp = optional_steps(steps, xa)
    cdef size_t n = cnp.PyArray_SIZE(xa)
    cdef cnp.ndarray hess = new_doubles(2, n)
    cdef cnp.ndarray work = new_doubles(1, fd_hessian_workspace_size(method, n))
    cdef double *xp = <double*>cnp.PyArray_DATA(xa)
    cdef double *hp = <double*>cnp.PyArray_DATA(hess)
    cdef double *wp = <double*>cnp.PyArray_DATA(work)
    cdef int st
    with nogil:
        st = fd_hessian_f64(value_grad, ctx, xp, n, method, <double*>sp, hp, wp)
    if st != FG_OK:
        raise_fd_status(<fg_status>st, "finite-difference Hessian",
                        "the C gradient failed or returned NaN at a stencil point; "
                        "no Hessian was computed")
    return hess
