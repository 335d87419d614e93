# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: freethreading_compatible = True
"""Bindings of csrc/fg_fd.{h,c}: finite-difference stencils and C-callback drivers.

Layers: finite_diff.py validates arguments and evaluates Python callables;
this module checks arrays cheaply, allocates outputs, and calls C: stencil()
writes the (m, n) points (out), combine() turns (m, p) values (in) into
derivatives (out), capsule_*() run whole gradients on a C callback with the
GIL released (the array side of the gradient and Hessian drivers sits in
_fd_common.pxd, shared with Cython code that calls the cdef exports). C
never sees Python.
"""
cimport numpy as cnp
import numpy as np
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from fastgrad._cstatus cimport *
from fastgrad._cfd cimport *
from fastgrad._common cimport float_array
from fastgrad._fd_common cimport (raise_fd_status, optional_steps, fd_gradient_arrays,
                                  fd_hessian_array)

cnp.import_array()

METHOD_CODES = {"forward": FG_FD_FORWARD, "backward": FG_FD_BACKWARD,
                "central": FG_FD_CENTRAL, "five-point": FG_FD_FIVE_POINT,
                "richardson": FG_FD_RICHARDSON}
"""Method name -> fg_fd_method code (the methods the C core implements)."""

RICHARDSON_LEVELS = FG_FD_RICHARDSON_LEVELS
SCALAR_CAPSULE_NAME = FG_SCALAR_CAPSULE_NAME.decode()


cdef fg_fd_method method_code(int method) except *:
    if fg_fd_offsets(<fg_fd_method>method, 0, NULL) == 0:
        raise ValueError(f"unknown finite-difference method code {method}")
    return <fg_fd_method>method


# ------------------------------------------------------ embedding exports --

cdef size_t fd_gradient_workspace_size(int method, size_t n) noexcept nogil:
    return fg_fd_gradient_workspace_size(<fg_fd_method>method, n)

cdef int fd_gradient_f64(fd_scalar_fn f, void *ctx, const double *x, size_t n, int method,
                         const double *steps, double *grad, double *err,
                         double *work) noexcept nogil:
    return fg_fd_gradient_f64(<fg_scalar_fn>f, ctx, x, n, <fg_fd_method>method, steps, grad,
                              err, work)

cdef int fd_directional_f64(fd_scalar_fn f, void *ctx, const double *x, const double *v,
                            size_t n, int method, double step, double *deriv, double *err,
                            double *work) noexcept nogil:
    return fg_fd_directional_f64(<fg_scalar_fn>f, ctx, x, v, n, <fg_fd_method>method, step,
                                 deriv, err, work)

cdef size_t fd_hessian_workspace_size(int method, size_t n) noexcept nogil:
    return fg_fd_hessian_workspace_size(<fg_fd_method>method, n)

cdef int fd_hessian_f64(fd_value_grad_fn value_grad, void *ctx, const double *x, size_t n,
                        int method, const double *steps, double *hess,
                        double *work) noexcept nogil:
    return fg_fd_hessian_f64(<fg_value_grad_fn>value_grad, ctx, x, n, <fg_fd_method>method,
                             steps, hess, work)


# -------------------------------------------------------- batch interface --

def default_scale(int method, bint float32=False):
    """The constant c of the default step c * max(1, |x|) for a method code."""
    cdef fg_fd_method m = method_code(method)
    return fg_fd_default_scale_f32(m) if float32 else fg_fd_default_scale_f64(m)


def offsets(int method, bint with_error=False):
    """(offsets per coordinate, uses_base) of a method's stencil."""
    cdef double offs[8]
    cdef fg_fd_method m = method_code(method)
    cdef size_t k = fg_fd_offsets(m, with_error, offs)
    return [offs[r] for r in range(k)], bool(fg_fd_uses_base(m, with_error))


def stencil(x, int method, bint with_error=False, steps=None, out=None):
    """The (m, n) evaluation points for x (in: contiguous float32/float64,
    flattened) and a method code; steps (in) None or n values > 0. `out`
    (out), if it is an owned (m, n) array of x's dtype, is filled and
    returned instead of a new array."""
    cdef cnp.ndarray xa = float_array(x, "x", False)
    cdef fg_fd_method m = method_code(method)
    cdef void *sp = optional_steps(steps, xa)
    cdef size_t n = cnp.PyArray_SIZE(xa)
    cdef size_t rows = fg_fd_stencil_rows(m, n, with_error)
    cdef bint f32 = cnp.PyArray_TYPE(xa) == cnp.NPY_FLOAT
    dtype = np.float32 if f32 else np.float64
    cdef cnp.ndarray pts
    if (out is not None and out.shape == (rows, n) and out.dtype == dtype
            and out.base is None and out.flags.c_contiguous):
        pts = out
        pts.flags.writeable = True
    else:
        pts = np.empty((rows, n), dtype=dtype)
    cdef void *xp = cnp.PyArray_DATA(xa)
    cdef void *pp = cnp.PyArray_DATA(pts)
    cdef fg_status st
    with nogil:
        if f32:
            st = fg_fd_stencil_f32(<float*>xp, n, m, with_error, <float*>sp, <float*>pp)
        else:
            st = fg_fd_stencil_f64(<double*>xp, n, m, with_error, <double*>sp, <double*>pp)
    if st != FG_OK:
        raise_fd_status(st, "finite-difference stencil")
    return pts


def combine(x, int method, bint with_error, points, fvals, bint want_err):
    """(jac (p, n), err (p, n) or None) from the stencil `points` (in) of x
    (in) and the function values fvals (in: float64, (m, p))."""
    cdef cnp.ndarray xa = float_array(x, "x", False)
    cdef cnp.ndarray pa = float_array(points, "points", False)
    cdef cnp.ndarray fa = float_array(fvals, "fvals", False)
    cdef fg_fd_method m = method_code(method)
    cdef size_t n = cnp.PyArray_SIZE(xa)
    cdef size_t rows = fg_fd_stencil_rows(m, n, with_error)
    if cnp.PyArray_TYPE(pa) != cnp.PyArray_TYPE(xa) or cnp.PyArray_SIZE(pa) != rows * n:
        raise ValueError(f"points must be the ({rows}, {n}) stencil of x")
    if cnp.PyArray_TYPE(fa) != cnp.NPY_DOUBLE or cnp.PyArray_NDIM(fa) != 2 \
            or <size_t>cnp.PyArray_DIM(fa, 0) != rows:
        raise ValueError(f"fvals must be a float64 array of shape ({rows}, p)")
    cdef size_t p = cnp.PyArray_DIM(fa, 1)
    cdef bint f32 = cnp.PyArray_TYPE(xa) == cnp.NPY_FLOAT
    dt = np.float32 if f32 else np.float64
    cdef cnp.ndarray jac = np.empty((p, n), dtype=dt)
    cdef cnp.ndarray err = np.empty((p, n), dtype=dt) if want_err else None
    cdef void *xp = cnp.PyArray_DATA(xa)
    cdef void *pp = cnp.PyArray_DATA(pa)
    cdef double *fp = <double*>cnp.PyArray_DATA(fa)
    cdef void *jp = cnp.PyArray_DATA(jac)
    cdef void *ep = cnp.PyArray_DATA(err) if want_err else NULL
    cdef fg_status st
    with nogil:
        if f32:
            st = fg_fd_combine_f32(<float*>xp, n, m, with_error, <float*>pp, fp, p,
                                   <float*>jp, <float*>ep)
        else:
            st = fg_fd_combine_f64(<double*>xp, n, m, with_error, <double*>pp, fp, p,
                                   <double*>jp, <double*>ep)
    if st != FG_OK:
        raise_fd_status(st, "finite-difference combination")
    return jac, err


# ----------------------------------------------------- C-callback drivers --

cdef fg_scalar_callback *capsule_pointer(object capsule) except NULL:
    if not PyCapsule_IsValid(capsule, FG_SCALAR_CAPSULE_NAME):
        raise TypeError(f"f._fg_scalar_capsule() must return a PyCapsule named "
                        f"{SCALAR_CAPSULE_NAME!r}, got {capsule!r}")
    cdef fg_scalar_callback *cb = <fg_scalar_callback*>PyCapsule_GetPointer(
        capsule, FG_SCALAR_CAPSULE_NAME)
    if cb.fn == NULL:
        raise TypeError("the scalar callback capsule holds a NULL function")
    return cb


cdef cnp.ndarray c_point(object x, size_t n_expected):
    """x (in) checked for a C callback: contiguous float64 of the length the
    C function takes."""
    cdef cnp.ndarray xa = float_array(x, "x", False)
    if cnp.PyArray_TYPE(xa) != cnp.NPY_DOUBLE:
        raise TypeError("x must be float64 for a C callback")
    cdef size_t n = cnp.PyArray_SIZE(xa)
    if n_expected != n:
        raise ValueError(f"x has {n} elements but the C function takes {n_expected}")
    return xa


def capsule_size(capsule):
    """The input length n of a scalar-callback capsule."""
    return capsule_pointer(capsule).n


def capsule_gradient(capsule, x, int method, steps=None, bint want_err=False):
    """(grad (n,), err (n,) or None) of the C function in `capsule` at x
    (in: contiguous float64), evaluated point by point without the GIL."""
    cdef fg_scalar_callback *cb = capsule_pointer(capsule)
    cdef cnp.ndarray xa = c_point(x, cb.n)
    return fd_gradient_arrays(<fd_scalar_fn>cb.fn, cb.ctx, xa, method_code(method), steps,
                              want_err)


def capsule_directional(capsule, x, v, int method, double step=0.0):
    """(f(x), d/dt f(x + t v) at 0) of the C function in `capsule`, GIL released."""
    cdef fg_scalar_callback *cb = capsule_pointer(capsule)
    cdef cnp.ndarray xa = float_array(x, "x", False)
    cdef cnp.ndarray va = float_array(v, "v", False)
    cdef fg_fd_method m = method_code(method)
    cdef size_t n = cnp.PyArray_SIZE(xa)
    if cnp.PyArray_TYPE(xa) != cnp.NPY_DOUBLE or cnp.PyArray_TYPE(va) != cnp.NPY_DOUBLE \
            or <size_t>cnp.PyArray_SIZE(va) != n:
        raise TypeError("x and v must be float64 arrays of one size for a C callback")
    if cb.n != n:
        raise ValueError(f"x has {n} elements but the C function takes {cb.n}")
    cdef cnp.ndarray work = np.empty(fg_fd_gradient_workspace_size(m, n))
    cdef double deriv, value
    cdef double *xp = <double*>cnp.PyArray_DATA(xa)
    cdef double *vp = <double*>cnp.PyArray_DATA(va)
    cdef double *wp = <double*>cnp.PyArray_DATA(work)
    cdef fg_status st
    with nogil:
        value = cb.fn(xp, n, cb.ctx)
        st = fg_fd_directional_f64(cb.fn, cb.ctx, xp, vp, n, m, step, &deriv, NULL, wp)
    if st != FG_OK:
        raise_fd_status(st, "finite-difference directional derivative",
                        "f returned NaN at a stencil point (a C callback signals failure "
                        "with NaN)")
    return value, deriv


def capsule_hessian(capsule, x, int method, steps=None):
    """(n, n) Hessian of the objective in `capsule` (an fg_objective_callback:
    its C value_grad is differenced, symmetrized), GIL released; x (in)
    contiguous float64."""
    if not PyCapsule_IsValid(capsule, FG_OBJECTIVE_CAPSULE_NAME):
        raise TypeError(f"f._fg_objective_capsule() must return a PyCapsule named "
                        f"{FG_OBJECTIVE_CAPSULE_NAME.decode()!r}, got {capsule!r}")
    cdef fg_objective_callback *cb = <fg_objective_callback*>PyCapsule_GetPointer(
        capsule, FG_OBJECTIVE_CAPSULE_NAME)
    if cb.objective.value_grad == NULL:
        raise TypeError("the objective capsule holds a NULL value_grad")
    cdef cnp.ndarray xa = c_point(x, cb.n)
    return fd_hessian_array(<fd_value_grad_fn>cb.objective.value_grad, cb.objective.ctx, xa,
                            method_code(method), steps)
