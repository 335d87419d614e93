"""Finite-difference derivatives: gradients, Jacobians, JVPs and Hessians.

The stencil points are generated in C (``csrc/fg_fd.c``), ``f`` is evaluated
on them (all at once with ``vectorized=True``, one point at a time otherwise,
or entirely in C without the GIL when ``f`` provides a C callback through
``f._fg_scalar_capsule()``), and the values are combined in C.

Methods (``FD_METHODS``) and default steps ``h_i = c * max(1, |x_i|)``, with
eps the machine epsilon of x's dtype:

==========  ==================================================  ======  ============
method      formula for df/dx_i                                 error   c
==========  ==================================================  ======  ============
forward     (f(x + h e_i) - f(x)) / h                           O(h)    eps^(1/2)
backward    (f(x) - f(x - h e_i)) / h                           O(h)    eps^(1/2)
central     D(h) = (f(x + h e_i) - f(x - h e_i)) / 2h           O(h^2)  eps^(1/3)
five-point  D(h) + (D(h) - D(2h)) / 3 (the 5-point stencil)     O(h^4)  eps^(1/5)
richardson  Richardson table on D(h), D(h/2), D(h/4), D(h/8)    O(h^8)  4 eps^(1/5)
complex     Im f(x + i h e_i) / h  (f must accept complex x)    O(h^2)  1e-20
==========  ==================================================  ======  ============

Exact-step trick: the real methods divide by the step actually taken,
``fl(x_i + h) - x_i``, not by ``h``.
"""
from __future__ import annotations

import sys
import threading
from typing import Any, Callable

import numpy as np

from fastgrad import _fd

__all__ = ["FD_METHODS", "fd_gradient", "fd_jacobian", "fd_jvp", "fd_hessian"]

FD_METHODS = ("forward", "backward", "central", "five-point", "complex", "richardson")
"""The finite-difference methods, by name."""

_CODES = _fd.METHOD_CODES
_COMPLEX_STEP = 1e-20
# Convergence order of each method's truncation error (used for the nested
# Hessian step rule).
_ORDER = {"forward": 1, "backward": 1, "central": 2, "five-point": 4, "richardson": 8,
          "complex": 2}


# ------------------------------------------------------------ validation --

def _check_f(f: Any) -> None:
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")


def _check_method(method: Any) -> str:
    if not isinstance(method, str) or method not in FD_METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, FD_METHODS))}; "
                         f"got {method!r}")
    return method


def _as_args(args: Any) -> tuple:
    return args if isinstance(args, tuple) else (args,)


def _as_real(a: Any, name: str, check_finite: bool = True) -> np.ndarray:
    """a as a fresh C-contiguous float32 (if it was float32) or float64 array.
    check_finite=False leaves the finiteness check to the C core (which
    reports it as a ValueError naming x)."""
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name} must be an array-like of real numbers: {exc}") from None
    if arr.dtype.kind not in "iuf":   # bools are not points: no silent coercion
        raise TypeError(f"{name} must be an array-like of real numbers, got dtype {arr.dtype}")
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    out = np.array(arr, dtype=dtype, order="C", copy=True)
    if out.size == 0:
        raise ValueError(f"{name} must have at least one element")
    if check_finite and not np.isfinite(out).all():
        raise ValueError(f"{name} must be finite (it holds NaN or infinity)")
    return out


def _check_steps(step: Any, xa: np.ndarray, name: str = "step") -> np.ndarray | None:
    """None, or one step per element of x (dtype of x), each finite and > 0."""
    if step is None:
        return None
    try:
        s = np.asarray(step)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name} must be a positive number or an array of them: {exc}") from None
    if s.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a positive real number or an array of them, "
                        f"got dtype {s.dtype}")
    if s.ndim == 0:
        s = np.full(xa.size, s, dtype=xa.dtype)
    elif s.shape == xa.shape or (s.ndim == 1 and s.size == xa.size):
        s = np.ascontiguousarray(s, dtype=xa.dtype).ravel()
    else:
        raise ValueError(f"{name} must be a scalar or have x's shape {xa.shape}, "
                         f"got shape {s.shape}")
    if not (np.isfinite(s).all() and (s > 0).all()):
        raise ValueError(f"{name} must be finite and > 0 (in x's dtype {xa.dtype})")
    return s


def _capsule_of(f: Any, args: tuple, method: str) -> Any:
    """f's scalar-callback capsule when the C path applies, else None."""
    if args or method == "complex" or not hasattr(f, "_fg_scalar_capsule"):
        return None
    return f._fg_scalar_capsule()


# ------------------------------------------------------------ evaluation --

# The last stencil batch of this thread, refilled by the next call when
# nothing else refers to it: a large batch (Richardson at n = 1000 is 64 MB)
# then costs one write pass instead of fresh pages. A batch that f kept (or
# kept a view of) has a higher reference count and is never overwritten.
_scratch = threading.local()


def _reusable_batch() -> np.ndarray | None:
    batch = getattr(_scratch, "points", None)
    # references: the thread-local slot, `batch`, getrefcount's argument
    if batch is not None and sys.getrefcount(batch) <= 3:
        _scratch.points = None
        return batch
    return None


def _real_values(out: Any, what: str) -> np.ndarray:
    arr = np.asarray(out)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"f must return real numbers, got dtype {arr.dtype} {what}")
    return arr


def _evaluate(f: Callable, points: np.ndarray, xshape: tuple, args: tuple,
              vectorized: bool, scalar: bool) -> tuple[np.ndarray, tuple]:
    """f on every row of points -> (values (m, p) float64, output shape)."""
    m, n = points.shape
    points.flags.writeable = False   # f must not change the stencil
    if vectorized:
        out = _real_values(f(points.reshape((m,) + xshape), *args), "(vectorized batch)")
        if out.shape[:1] != (m,) or (scalar and out.ndim != 1):
            want = f"({m},)" if scalar else f"({m}, ...)"
            raise ValueError(f"with vectorized=True f must return shape {want}, one value per "
                             f"point of the {(m,) + xshape} batch; got shape {out.shape}")
        oshape = out.shape[1:]
        return np.ascontiguousarray(out.reshape(m, -1), dtype=np.float64), oshape
    first = _real_values(f(points[0].reshape(xshape), *args), "")
    if scalar and first.ndim != 0:
        raise ValueError(f"f must return a scalar for a gradient, got shape {first.shape} "
                         "(use fd_jacobian for vector-valued f)")
    oshape = first.shape
    vals = np.empty((m, first.size))
    vals[0] = first.ravel()
    for r in range(1, m):
        val = _real_values(f(points[r].reshape(xshape), *args), f"at stencil point {r}")
        if val.shape != oshape:
            raise ValueError(f"f returned shape {val.shape} at stencil point {r} but "
                             f"{oshape} at the first point")
        vals[r] = val.ravel()
    return vals, oshape


def _complex_jacobian(f: Callable, xa: np.ndarray, steps: np.ndarray | None, args: tuple,
                      vectorized: bool, scalar: bool):
    """Complex step: Im f(x + i h e_j) / h for every j -> (jac (p, n), err, oshape)."""
    n = xa.size
    xf = xa.ravel()
    h = steps if steps is not None else _COMPLEX_STEP * np.maximum(1.0, np.abs(xf))
    h = np.asarray(h, dtype=np.float64)
    cdt = np.complex64 if xa.dtype == np.float32 else np.complex128
    pts = np.repeat(xf[None, :].astype(cdt), n, axis=0)
    pts[np.arange(n), np.arange(n)] += 1j * h
    pts.flags.writeable = False
    what = ("method='complex' needs f to accept complex input and return complex values "
            "(it must not drop the imaginary part, e.g. by float() or np.real)")
    if vectorized:
        out = np.asarray(f(pts.reshape((n,) + xa.shape), *args))
        if out.shape[:1] != (n,) or (scalar and out.ndim != 1):
            raise ValueError(f"with vectorized=True f must return shape ({n},), one value per "
                             f"point of the {(n,) + xa.shape} batch; got shape {out.shape}")
        vals = out.reshape(n, -1)
        oshape = out.shape[1:]
        kinds = {out.dtype.kind}
    else:
        outs = [np.asarray(f(pts[r].reshape(xa.shape), *args)) for r in range(n)]
        oshape = outs[0].shape
        if scalar and outs[0].ndim != 0:
            raise ValueError(f"f must return a scalar for a gradient, got shape {oshape} "
                             "(use fd_jacobian for vector-valued f)")
        for r, o in enumerate(outs):
            if o.shape != oshape:
                raise ValueError(f"f returned shape {o.shape} at stencil point {r} but "
                                 f"{oshape} at the first point")
        vals = np.stack([o.reshape(-1) for o in outs])
        kinds = {o.dtype.kind for o in outs}
    if kinds != {"c"}:
        raise TypeError(f"{what}; f returned dtype {vals.dtype}")
    jac = (vals.imag / h[:, None]).T               # (p, n)
    eps = np.finfo(xa.dtype).eps
    scale = np.abs(vals.real).T / np.maximum(1.0, np.abs(xf))[None, :]
    err = eps * (np.abs(jac) + scale)
    return jac, err, oshape


def _jacobian(f: Callable, x: Any, method: str, step: Any, args: Any, vectorized: bool,
              full_output: bool, scalar: bool):
    _check_f(f)
    method = _check_method(method)
    args = _as_args(args)
    xa = _as_real(x, "x", check_finite=method == "complex")
    steps = _check_steps(step, xa)
    if method == "complex":
        jac, err, oshape = _complex_jacobian(f, xa, steps, args, vectorized, scalar)
    else:
        code = _CODES[method]
        capsule = _capsule_of(f, args, method)
        if capsule is not None:
            x64 = (xa if xa.dtype == np.float64 else xa.astype(np.float64)).ravel()
            s64 = None if steps is None else steps.astype(np.float64, copy=False)
            g, e = _fd.capsule_gradient(capsule, x64, code, s64, full_output)
            jac = g.astype(xa.dtype)[None, :]
            err = None if e is None else e.astype(xa.dtype)[None, :]
            oshape = ()
        else:
            xf = xa.ravel()
            points = _fd.stencil(xf, code, full_output, steps, _reusable_batch())
            vals, oshape = _evaluate(f, points, xa.shape, args, vectorized, scalar)
            jac, err = _fd.combine(xf, code, full_output, points, vals, full_output)
            _scratch.points = points
    dt = xa.dtype
    jac = np.asarray(jac, dtype=dt).reshape(oshape + xa.shape)
    if full_output:
        return jac, np.asarray(err, dtype=dt).reshape(oshape + xa.shape)
    return jac


# ---------------------------------------------------------------- public --

def fd_gradient(f: Callable, x: Any, *, method: str = "central", step: Any = None,
                args: tuple = (), vectorized: bool = False, full_output: bool = False):
    """Gradient of a scalar function by finite differences.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> float``. With ``vectorized=True`` it is called once
        on an ``(m,) + x.shape`` batch of points and must return ``(m,)``.
        If ``f`` has a method ``_fg_scalar_capsule()`` (a C function, see
        ``fg_objective.h``) and ``args`` is empty, the whole gradient runs in
        C with the GIL released (float64).
    x : array_like
        Real point, any shape. float32 gives float32 results (and float32
        steps); everything else is computed in float64.
    method : str
        One of ``FD_METHODS``.
    step : float or array_like, optional
        Step (or one per element of x), overriding the default rule; for
        ``"richardson"`` the largest step of the table.
    args : tuple
        Extra arguments for ``f``.
    vectorized : bool
        Evaluate all stencil points in one call.
    full_output : bool
        Also return a per-coordinate error estimate.

    Returns
    -------
    grad : ndarray
        Shape of x. With ``full_output``: ``(grad, err)``.

    Notes
    -----
    Default steps are ``c * max(1, |x_i|)``, see the module docstring for
    ``c`` and the formulas. The error estimate is a truncation estimate plus a
    rounding bound ``eps * sum |w| |f| / step`` over the differences used:
    Richardson: ``max(|T_LL - T_L,L-1|, |T_LL - T_L-1,L-1|)``; five-point
    ``|D(h) - D(2h)| / 3`` (free); forward/backward ``|D(h) - D(2h)|`` and
    central ``|D(h) - D(2h)| / 3`` (these two evaluate the extra points at
    ``2h`` only when ``full_output`` is set); complex step:
    ``eps * (|g_i| + |f(x)| / max(1, |x_i|))``.

    Example
    -------
    >>> import numpy as np
    >>> from fastgrad.finite_diff import fd_gradient
    >>> g = fd_gradient(lambda v: v[0]**2 + v[1]**2 + v[0]*v[1], [1.0, 3.0])
    >>> np.round(g, 6)
    array([5., 7.])
    """
    return _jacobian(f, x, method, step, args, vectorized, full_output, scalar=True)


def fd_jacobian(f: Callable, x: Any, *, method: str = "central", step: Any = None,
                args: tuple = (), vectorized: bool = False, full_output: bool = False):
    """Jacobian of ``f: R^S -> R^P`` by finite differences.

    Parameters
    ----------
    f, x, method, step, args, vectorized, full_output
        As in :func:`fd_gradient`; ``f`` may return an array (with
        ``vectorized=True``: shape ``(m,) + P`` for an ``(m,) + S`` batch).

    Returns
    -------
    jac : ndarray
        Shape ``P + S``: ``jac[p..., s...] = d f[p...] / d x[s...]``. With
        ``full_output``: ``(jac, err)`` of that shape.

    Notes
    -----
    Every output is differenced with the same stencil, so the cost is that
    of one gradient.

    Example
    -------
    >>> import numpy as np
    >>> from fastgrad.finite_diff import fd_jacobian
    >>> J = fd_jacobian(lambda v: np.array([v[0] * v[1], np.sin(v[0])]), [2.0, 3.0])
    >>> np.round(J, 6)
    array([[ 3.      ,  2.      ],
           [-0.416147,  0.      ]])
    """
    return _jacobian(f, x, method, step, args, vectorized, full_output, scalar=False)


def fd_jvp(f: Callable, x: Any, v: Any, *, method: str = "central", step: Any = None,
           args: tuple = ()):
    """``(f(x), J v)``: one directional difference along ``v``, no Jacobian.

    Parameters
    ----------
    f, x, method, args
        As in :func:`fd_jacobian`.
    v : array_like
        Direction, x's shape, finite.
    step : float, optional
        Step in ``t`` for ``g(t) = f(x + t v)``; default
        ``c * max(1, ||x||_2) / ||v||_2`` (c as in :func:`fd_gradient`).

    Returns
    -------
    (value, jv) : tuple of ndarray (NumPy scalars for scalar f)
        ``f(x)`` and the derivative of ``f(x + t v)`` at ``t = 0``, of f's
        output shape.

    Notes
    -----
    ``J v = g'(0)`` with g differenced by ``method`` (the same formulas as a
    gradient along one coordinate); ``v = 0`` gives zeros without differencing.

    Example
    -------
    >>> import numpy as np
    >>> from fastgrad.finite_diff import fd_jvp
    >>> fx, d = fd_jvp(lambda p: np.exp(p[0]) * np.cos(p[1]), [0.0, 0.0],
    ...                np.array([1.0, 1.0]) / np.sqrt(2.0))
    >>> round(float(d), 8)
    0.70710678
    """
    _check_f(f)
    method = _check_method(method)
    args = _as_args(args)
    xa = _as_real(x, "x")
    va = _as_real(v, "v")
    if va.shape != xa.shape:
        raise ValueError(f"v must have x's shape {xa.shape}, got {va.shape}")
    va = va.astype(xa.dtype)
    if step is not None:
        if np.ndim(step) != 0:
            raise ValueError("step must be a scalar for fd_jvp (the step along v)")
        _check_steps(step, xa[:1].ravel())
    if method != "complex" and not args and hasattr(f, "_fg_scalar_capsule"):
        value, d = _fd.capsule_directional(f._fg_scalar_capsule(),
                                           xa.astype(np.float64).ravel(),
                                           va.astype(np.float64).ravel(), _CODES[method],
                                           0.0 if step is None else float(step))
        return np.float64(value), np.float64(d)
    fx = np.asarray(f(xa.copy(), *args))
    vnorm = float(np.linalg.norm(va.astype(np.float64)))
    if vnorm == 0.0:
        return fx[()], np.zeros_like(fx, dtype=np.result_type(fx.dtype, xa.dtype))[()]
    t0 = np.zeros(1, dtype=xa.dtype)
    if step is None:
        c = (_COMPLEX_STEP if method == "complex"
             else _fd.default_scale(_CODES[method], xa.dtype == np.float32))
        step = c * max(1.0, float(np.linalg.norm(xa.astype(np.float64)))) / vnorm
    hs = np.array([step], dtype=xa.dtype)
    if method == "complex":
        val = np.asarray(f(xa + 1j * float(hs[0]) * va, *args))
        if val.dtype.kind != "c":
            raise TypeError("method='complex' needs f to accept complex input and return "
                            f"complex values; f returned dtype {val.dtype}")
        return fx[()], (val.imag / float(hs[0])).astype(xa.dtype)[()]
    code = _CODES[method]
    tpts = _fd.stencil(t0, code, False, hs)               # (m, 1)
    xpts = xa.ravel()[None, :] + tpts.astype(xa.dtype) * va.ravel()[None, :]
    vals, oshape = _evaluate(f, np.ascontiguousarray(xpts), xa.shape, args, False, False)
    jv, _ = _fd.combine(t0, code, False, tpts, vals, False)
    return fx[()], jv.reshape(oshape).astype(xa.dtype)[()]


def fd_hessian(f: Callable, x: Any, *, method: str = "central", step: Any = None,
               args: tuple = (), grad: Callable | None = None):
    """Hessian by finite differences of the gradient, symmetrized.

    Parameters
    ----------
    f : callable
        Scalar function ``f(x, *args)`` (not called when ``grad`` is given).
    x : array_like
        Real point with n elements (any shape; the result is ``(n, n)``).
    method : str
        One of ``FD_METHODS``: the method that differences the gradient (and,
        without ``grad``, the one that computes it; ``"complex"`` then means
        complex-step gradients differenced by central differences).
    step : float or array_like, optional
        The outer step (differencing the gradient).
    args : tuple
        Extra arguments for ``f`` and ``grad``.
    grad : callable, optional
        ``grad(x, *args)`` returning x's shape. Default: the C gradient of
        ``f`` when ``f`` provides ``_fg_objective_capsule()`` (an
        ``fg_objective_callback``, see ``fg_objective.h``; the whole Hessian
        then runs in C without the GIL), else ``fd_gradient(f, ...,
        method=method)``.

    Returns
    -------
    H : ndarray of shape (n, n)
        ``(J + J^T) / 2`` where ``J[:, j]`` differences the gradient along e_j.

    Notes
    -----
    With ``grad`` given (or a C gradient), the default outer step is the first-derivative rule
    of ``method``. Without it, the gradient itself carries an error of about
    ``delta = eps^(p/(p+1))`` (p the method's order), so the outer step is the
    rule with eps replaced by delta: ``c = eps^(p/(p+1)^2)`` (forward
    eps^(1/4), central eps^(2/9), five-point eps^(4/25); Richardson keeps its
    rule).

    Example
    -------
    >>> import numpy as np
    >>> from fastgrad.finite_diff import fd_hessian
    >>> H = fd_hessian(lambda v: v[0]**2 * v[1] + v[1]**3, [1.0, 2.0])
    >>> np.round(H, 4)
    array([[ 4.,  2.],
           [ 2., 12.]])
    """
    _check_f(f)
    method = _check_method(method)
    args = _as_args(args)
    xa = _as_real(x, "x")
    if grad is not None and not callable(grad):
        raise TypeError(f"grad must be callable or None, got {type(grad).__name__}")
    steps = _check_steps(step, xa)
    outer = "central" if method == "complex" else method
    n = xa.size
    if grad is None and not args and method != "complex" \
            and hasattr(f, "_fg_objective_capsule"):
        # f brings its own C gradient: difference it in C, GIL released
        x64 = xa.astype(np.float64).ravel()
        s64 = None if steps is None else steps.astype(np.float64)
        H = _fd.capsule_hessian(f._fg_objective_capsule(), x64, _CODES[method], s64)
        return H.astype(xa.dtype, copy=False)
    if grad is None:
        def gfun(y):
            return fd_gradient(f, y, method=method, args=args)
        if steps is None and method != "richardson":
            eps = float(np.finfo(xa.dtype).eps)
            p = _ORDER[method] if method != "complex" else None
            c = eps ** (1.0 / 3.0) if p is None else eps ** (p / (p + 1) ** 2)
            steps = (c * np.maximum(1.0, np.abs(xa.ravel()))).astype(xa.dtype)
    else:
        def gfun(y):
            g = np.asarray(grad(y, *args))
            if g.size != n:
                raise ValueError(f"grad must return {n} values (x's shape {xa.shape}), "
                                 f"got shape {g.shape}")
            return g
    J = fd_jacobian(gfun, xa, method=outer, step=steps)
    J = np.asarray(J).reshape(n, n)
    return 0.5 * (J + J.T)
