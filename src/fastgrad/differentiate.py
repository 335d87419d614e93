"""Gradients, Jacobians, Hessians, JVPs and gradient checks of Python functions.

``method="auto"`` (the default) is reverse mode (``fastgrad.reverse``): f is
called once on a recording array at x, and the C adjoint sweep over the
recorded tape gives the gradient at a cost independent of n; Hessians run
forward-over-reverse over the same tape. Where the recorder meets an
operation it cannot handle, "auto" falls back to ``method="dual"``, which
runs ``f`` on :class:`fastgrad.DualArray` inputs: chunked forward mode,
exact to rounding, with Hessians from hyper-dual numbers. ``"reverse"``
forces reverse mode. The finite-difference methods (``"forward"``,
``"backward"``, ``"central"``, ``"five-point"``, ``"complex"``,
``"richardson"``) are delegated to ``fastgrad.finite_diff`` (imported on
first use).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from fastgrad import _dual_grad, _validate, methods, reverse
from fastgrad.dual import DualArray, hyper_seed, mixed_tags_error, seed
from fastgrad.trace import TraceError

__all__ = [
    "gradient", "value_and_gradient", "jacobian", "hessian", "jvp",
    "directional_derivative", "check_gradient", "GradientCheck", "default_chunk_size",
    "METHODS",
]

FD_METHODS = ("forward", "backward", "central", "five-point", "complex", "richardson")
EXACT_METHODS = ("auto", "reverse", "dual")
METHODS = EXACT_METHODS + FD_METHODS
"""Every differentiation method name: the exact ones and the finite differences."""

# "auto" takes dual numbers for x of at most this many elements: one dual
# pass carries every direction at about the cost of f, less than recording
# f and building its tape.
AUTO_DUAL_SIZE = 2

_TAGS = itertools.count(1)  # a fresh perturbation tag per differentiation call
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)

def default_chunk_size(n: int) -> int:
    """The number of directions carried per forward pass for n inputs.

    Parameters
    ----------
    n : int
        Number of input coordinates.

    Returns
    -------
    int
        ``min(n, max(8, 32768 // n))``: all n directions in one pass up to
        n = 181, then tangent arrays of about 256 KiB, at least 8 directions.

    Notes
    -----
    The rule is the C driver's (``fg_dual_default_chunk``), so Python and C
    chunk alike. Each NumPy operation on a DualArray has a fixed Python cost
    plus work proportional to ``n * chunk``, and a gradient takes
    ``ceil(n / chunk)`` passes: wide chunks win while one tangent array
    stays in the L2 cache. ForwardDiff.jl caps its chunk at 12 because its
    duals live on the stack.

    Example
    -------
    >>> default_chunk_size(10), default_chunk_size(100), default_chunk_size(1000)
    (10, 100, 32)
    """
    return int(_dual_grad.default_chunk(_validate.integer("n", n, low=0)))


# ------------------------------------------------------------- helpers --
def _fd():
    try:
        from fastgrad import finite_diff
    except ImportError as exc:  # pragma: no cover - depends on the build
        raise ImportError("the finite-difference methods need fastgrad.finite_diff, "
                          "which is missing from this installation") from exc
    return finite_diff


def _check_method(method: Any) -> bool:
    """True for an exact method ("auto", "reverse", "dual"), False for a
    finite-difference one, else ValueError."""
    if isinstance(method, str):
        if method in EXACT_METHODS:
            return True
        if method in FD_METHODS:
            return False
    raise ValueError(f"method must be one of {', '.join(repr(m) for m in METHODS)}; "
                     f"got {method!r}")


def _recorded(f: Callable, x: np.ndarray, args: tuple, vectorized: bool,
              method: str) -> reverse.Recording | None:
    """f recorded at x for reverse mode, or None where the method takes dual
    numbers instead: "dual", "auto" for a tiny x (see AUTO_DUAL_SIZE), an
    empty x, and "auto" when the recorder cannot handle an operation of f
    (f is then called again on dual numbers, with the same result).
    "reverse" raises that operation's TypeError (TraceError)."""
    if method == "dual" or x.size == 0 or (method == "auto" and x.size <= AUTO_DUAL_SIZE):
        return None
    try:
        return reverse.record(lambda xr: _call(f, xr, args, vectorized), x)
    except TraceError:
        if method == "reverse":
            raise
        return None


def _check_f(f: Any) -> None:
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    methods.hook_scipy()


def _check_call(f: Any, args: Any, vectorized: Any) -> tuple[tuple, bool]:
    """The checks every entry point makes: f, args and the vectorized flag."""
    _check_f(f)
    if vectorized is not False:
        vectorized = _validate.flag("vectorized", vectorized)
    return _check_args(args), vectorized


def _check_args(args: Any) -> tuple:
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple, got {type(args).__name__}")
    return args


def _as_point(x: Any, name: str = "x") -> np.ndarray:
    """A private, read-only float copy of x (float32 kept, else float64)."""
    if isinstance(x, DualArray):
        raise TypeError(f"{name} is a DualArray: nested differentiation is not supported; "
                        "use fastgrad.hessian for second derivatives")
    try:
        a = np.array(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array-like of real numbers") from exc
    if a.dtype.kind not in "fiu":   # bools are not points: no silent coercion
        if a.dtype.kind == "c":
            raise TypeError(f"{name} must be real; complex input is only used internally by "
                            'method="complex"')
        raise TypeError(f"{name} must be an array-like of real numbers, got dtype {a.dtype}")
    a = a.astype(_F32 if a.dtype == _F32 else _F64, copy=False)
    a.flags.writeable = False
    return a


def _chunk(n: int, chunk_size: Any) -> int:
    if chunk_size is None:
        return int(_dual_grad.default_chunk(n))
    try:
        k = _validate.integer("chunk_size", chunk_size, low=1)
    except TypeError as exc:
        raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}"
                         ) from exc
    return min(k, max(n, 1))


def _no_step(step: Any, method: str = "dual") -> None:
    if step is not None:
        raise ValueError(f'step is a finite-difference setting; method="{method}" takes no '
                         "step")


def _call(f: Callable, xd: Any, args: tuple, vectorized: bool) -> Any:
    if vectorized:
        out = f(xd[None], *args)
        try:
            return out[0]
        except (TypeError, IndexError) as exc:
            raise ValueError("with vectorized=True, f must return one value per row of its "
                             "(m, ...) input") from exc
    return f(xd, *args)


def _split(out: Any, tag: int, k: int):
    """(value, tangent) of f's output; a plain output has a zero tangent."""
    if isinstance(out, DualArray):
        if out.tag != tag:
            raise mixed_tags_error()
        return out.value, out.tangent
    try:
        v = np.asarray(out)
    except Exception as exc:
        raise TypeError(f"f returned {type(out).__name__}, not an array of numbers") from exc
    if v.dtype.kind not in "fiub":
        raise TypeError(f"f must return real numbers (a DualArray or array), got dtype {v.dtype}"
                        " - a dual input must not be converted with float() or np.array()")
    v = v.astype(_F64 if v.dtype != _F32 else _F32, copy=False)
    return v, np.zeros(v.shape + (k,), v.dtype)


def _scalar(v: np.ndarray, t: np.ndarray, what: str):
    if v.size != 1:
        raise ValueError(f"{what} needs f to return a scalar, but f returned shape {v.shape} "
                         "(use jacobian for vector-valued f)")
    return v.reshape(()), t.reshape(t.shape[-1])


def _out_dtype(x: np.ndarray, v: np.ndarray) -> np.dtype:
    return _F32 if (x.dtype == _F32 and v.dtype == _F32) else _F64


def _seed(x: np.ndarray, start: int, k: int, tag: int) -> DualArray:
    t = np.zeros(x.size * k, x.dtype)
    # ones at (start + j, j): flat offsets start*k + j*(k + 1)
    t[start * k:start * k + k * (k + 1):k + 1] = 1.0
    return seed(x, t.reshape(x.shape + (k,)), tag, False)


def _dual_passes(f, x, args, vectorized, chunk_size):
    """Yield (start, k, value, tangent) for each chunk of coordinate directions."""
    n = x.size
    c = _chunk(n, chunk_size)
    tag = next(_TAGS)
    if n == 0:
        v, t = _split(_call(f, _seed(x, 0, 0, tag), args, vectorized), tag, 0)
        yield 0, 0, v, t
        return
    for start in range(0, n, c):
        k = min(c, n - start)
        out = _call(f, _seed(x, start, k, tag), args, vectorized)
        v, t = _split(out, tag, k)
        yield start, k, v, t


# ------------------------------------------------------------- public --
def value_and_gradient(f: Callable, x: Any, *, method: str = "auto", step: Any = None,
                       args: tuple = (), vectorized: bool = False, full_output: bool = False,
                       chunk_size: int | None = None):
    """The value and the gradient of a scalar function.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> scalar``, written with NumPy. It receives an array
        standing for x (with ``vectorized``: of shape ``(1,) + x.shape``, and
        returns one value per row): a recording array for "auto" and
        "reverse", a :class:`DualArray` for "dual".
    x : array_like of real numbers
        The point, any shape; float32 stays float32, else float64.
    method : {"auto", "reverse", "dual", "forward", "backward", "central", "five-point", \
"complex", "richardson"}
        "auto" (default): reverse mode, falling back to "dual" for an
        operation the recorder cannot handle (and for x of at most
        ``AUTO_DUAL_SIZE`` elements, where one dual pass is cheaper).
        "reverse": reverse mode only; an unsupported operation raises
        ``TypeError`` naming it. "dual": forward-mode dual numbers. The
        others are finite differences (``fastgrad.finite_diff``).
    step : float or array_like, optional
        Finite-difference step (the exact methods take none: giving one is
        an error).
    args : tuple
        Extra arguments passed to f.
    vectorized : bool
        f takes a batch of points stacked on a new first axis.
    full_output : bool
        Also return a per-coordinate error estimate (0 for the exact
        methods, which have no truncation error).
    chunk_size : int, optional
        Directions per dual pass; default :func:`default_chunk_size`.

    Returns
    -------
    value : numpy scalar
    grad : ndarray of x's shape
    err : ndarray of x's shape, only with ``full_output``

    Notes
    -----
    Reverse mode calls f once at x on an array that records each NumPy
    operation as a tape instruction and computes its value (so Python
    control flow on values, ``if x[0] > 0:``, works: the branch taken is
    what is differentiated), then one adjoint sweep in C over the recorded
    values gives ``grad`` at a cost independent of n. ``float(x[0])``,
    ``.item()`` or ``np.asarray`` of a recorded array raise ``TypeError``
    as they do for DualArray (the plain number would drop the derivative).
    With chunk c, the dual method makes ``ceil(n / c)`` calls of f, each
    carrying c unit directions. Both give ``grad[i] = df/dx_i`` exactly (to
    rounding), by the same rules.

    Example
    -------
    >>> import numpy as np
    >>> from fastgrad import value_and_gradient
    >>> value_and_gradient(lambda x: x[0]**2 + x[1]**2 + x[0]*x[1], [1.0, 3.0])
    (np.float64(13.0), array([5., 7.]))
    """
    args, vectorized = _check_call(f, args, vectorized)
    if full_output is not False:
        full_output = _validate.flag("full_output", full_output)
    if not _check_method(method):
        xp = _as_point(x)
        res = _fd().fd_gradient(f, xp, method=method, step=step, args=args,
                                vectorized=vectorized, full_output=full_output)
        v = _call(f, xp, args, vectorized)
        value: Any = np.asarray(v).reshape(())[()]
        return (value,) + tuple(res) if full_output else (value, res)
    _no_step(step, method)
    xp = _as_point(x)
    rec = _recorded(f, xp, args, vectorized, method)
    if rec is not None:
        value, grad = rec.value_and_gradient()
        return (value, grad, np.zeros_like(grad)) if full_output else (value, grad)
    g = None
    value = None
    for start, k, v, t in _dual_passes(f, xp, args, vectorized, chunk_size):
        v, t = _scalar(v, t, "gradient")
        if g is None:
            g = np.empty(xp.size, _out_dtype(xp, v))
            value = v[()]
        g[start:start + k] = t
    assert g is not None    # _dual_passes yields at least one pass
    g = g.reshape(xp.shape)
    if full_output:
        return value, g, np.zeros_like(g)
    return value, g


def gradient(f: Callable, x: Any, *, method: str = "auto", step: Any = None, args: tuple = (),
             vectorized: bool = False, full_output: bool = False,
             chunk_size: int | None = None):
    """The gradient of a scalar function f at x.

    Parameters
    ----------
    f, x, method, step, args, vectorized, full_output, chunk_size
        As in :func:`value_and_gradient`.

    Returns
    -------
    grad : ndarray of x's shape
        ``grad[i] = df/dx_i``; float32 for float32 x (and f), else float64.
    err : ndarray, only with ``full_output``
        Per-coordinate error estimate (zeros for the exact methods).

    Notes
    -----
    ``method="auto"`` records f once at x and runs one adjoint sweep in C:
    the cost is a small multiple of f's own whatever n (see
    :func:`value_and_gradient`). Unsupported NumPy operations inside f make
    "auto" fall back to dual numbers; where those fail too, ``TypeError``
    names the operation, and a finite-difference ``method`` works on any f.

    Example
    -------
    >>> import numpy as np
    >>> from fastgrad import gradient
    >>> gradient(lambda x: x[0]**2 * x[1] + x[1] * x[2]**3, [1.0, 2.0, -1.0])
    array([4., 0., 6.])
    """
    args, vectorized = _check_call(f, args, vectorized)
    if not _check_method(method):
        return _fd().fd_gradient(f, _as_point(x), method=method, step=step, args=args,
                                 vectorized=vectorized, full_output=full_output)
    res = value_and_gradient(f, x, method=method, step=step, args=args, vectorized=vectorized,
                             full_output=full_output, chunk_size=chunk_size)
    return res[1:] if full_output else res[1]


def jacobian(f: Callable, x: Any, *, method: str = "auto", step: Any = None, args: tuple = (),
             vectorized: bool = False, full_output: bool = False,
             chunk_size: int | None = None):
    """The Jacobian of f at x, of shape ``f(x).shape + x.shape``.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> array`` (any shape, a scalar included).
    x, method, step, args, vectorized, full_output, chunk_size
        As in :func:`value_and_gradient`. "auto" picks reverse mode when f
        has fewer outputs than inputs, else dual numbers.

    Returns
    -------
    jac : ndarray
        ``jac[i..., j...] = d f(x)[i...] / d x[j...]``.
    err : ndarray, only with ``full_output`` (zeros for the exact methods)

    Notes
    -----
    Reverse mode records f once and runs one adjoint sweep per output
    element (a row of the Jacobian each); dual passes carry ``chunk_size``
    input directions each: ``ceil(n / chunk_size)`` calls of f (a column
    block each). "auto" records f first to learn its output size m, and
    keeps the recording when m < n.

    Example
    -------
    >>> import numpy as np
    >>> from fastgrad import jacobian
    >>> jacobian(lambda x: np.stack([x[0] * x[1], np.sin(x[0])]), [0.0, 2.0])
    array([[2., 0.],
           [1., 0.]])
    """
    args, vectorized = _check_call(f, args, vectorized)
    if full_output is not False:
        full_output = _validate.flag("full_output", full_output)
    if not _check_method(method):
        return _fd().fd_jacobian(f, _as_point(x), method=method, step=step, args=args,
                                 vectorized=vectorized, full_output=full_output)
    _no_step(step, method)
    xp = _as_point(x)
    rec = _recorded(f, xp, args, vectorized, method)
    if rec is not None and (method == "reverse" or not rec.traced or rec.out.size < xp.size):
        jac = rec.jacobian()
        return (jac, np.zeros_like(jac)) if full_output else jac
    J = None
    for start, k, v, t in _dual_passes(f, xp, args, vectorized, chunk_size):
        if J is None:
            J = np.empty(v.shape + (xp.size,), _out_dtype(xp, v))
            shape = v.shape
        elif v.shape != shape:
            raise ValueError(f"f returned shapes {shape} and {v.shape} on different passes")
        J[..., start:start + k] = t
    assert J is not None    # _dual_passes yields at least one pass
    J = J.reshape(shape + xp.shape)
    return (J, np.zeros_like(J)) if full_output else J


def hessian(f: Callable, x: Any, *, method: str = "auto", step: Any = None, args: tuple = (),
            vectorized: bool = False, chunk_size: int | None = None):
    """The Hessian of a scalar function f at x, exact and symmetric for the
    exact methods.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> scalar``.
    x : array_like of real numbers
        The point; the Hessian has shape ``x.shape + x.shape`` ((n, n) for a
        vector).
    method : str
        "auto" (default) or "reverse": forward-over-reverse over f's
        recorded tape, in C ("auto" falls back to "dual" as
        :func:`value_and_gradient` says); "dual": hyper-dual numbers; or a
        finite-difference method (delegated to
        ``fastgrad.finite_diff.fd_hessian``).
    step, args, vectorized
        As in :func:`value_and_gradient`.
    chunk_size : int, optional
        Directions per pass: the tape's forward passes (default 8) or the
        dual ones (default :func:`default_chunk_size`).

    Returns
    -------
    ndarray
        ``H[i, j] = d2f / dx_i dx_j``; exactly symmetric.

    Notes
    -----
    Forward-over-reverse: f is recorded once at x; for k columns j per
    pass, the C tape runs a dual pass carrying the unit directions e_j and
    then the adjoint sweep differentiated along them, which gives columns
    of ``d(grad f)/dx``: about n/k passes, each a few times f's cost (the
    mean of the result and its transpose is returned, exactly symmetric).
    Hyper-dual numbers ``x + b e1 + c e2 + d e1e2`` (``e1**2 = e2**2 = 0``) carry
    ``f(x + b e1 + c e2) = f + f' b e1 + f' c e2 + (f' d + f'' b c) e1e2``: with
    ``c = e_i`` and ``b`` the chunk of directions ``e_j``, the e1e2 part of
    ``f`` is ``H[i, j]`` with no truncation error. Only ``j >= i`` is
    computed and mirrored: ``sum_i ceil((n - i) / chunk)`` calls of f.

    Example
    -------
    >>> import numpy as np
    >>> from fastgrad import hessian
    >>> hessian(lambda x: x[0]**2 * x[1] + np.exp(x[1]), [1.0, 0.0])
    array([[0., 2.],
           [2., 1.]])
    """
    args, vectorized = _check_call(f, args, vectorized)
    if not _check_method(method):
        if chunk_size is not None:
            raise ValueError('chunk_size is a setting of method="dual"')
        return _fd().fd_hessian(f, _as_point(x), method=method, step=step, args=args)
    _no_step(step, method)
    xp = _as_point(x)
    n = xp.size
    c = _chunk(n, chunk_size)
    rec = _recorded(f, xp, args, vectorized, method)
    if rec is not None:
        return rec.hessian(None if chunk_size is None else c)
    tag = next(_TAGS)
    H = None
    for i in range(n):
        for start in range(i, n, c):
            cols = np.arange(start, min(start + c, n))
            k = len(cols)
            out = _call(f, hyper_seed(xp, cols, i, tag), args, vectorized)
            v, t = _split(out, tag, 2 * k + 1)
            v, t = _scalar(v, t, "hessian")
            if H is None:
                H = np.empty((n, n), _out_dtype(xp, v))
            H[i, cols] = t[k + 1:]
            H[cols, i] = t[k + 1:]
    if H is None:
        H = np.empty((0, 0), xp.dtype)
    return H.reshape(xp.shape + xp.shape)


def jvp(f: Callable, x: Any, v: Any, *, method: str = "auto", step: Any = None,
        args: tuple = (), vectorized: bool = False):
    """The value f(x) and the Jacobian-vector product J(x) v, in one pass.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> array``.
    x : array_like of real numbers
    v : array_like of real numbers, x's shape
        The direction (not normalized).
    method, step, args, vectorized
        As in :func:`value_and_gradient`; "auto" is "dual" here (one pass
        whatever n), "reverse" records f and contracts its reverse-mode
        Jacobian with v.

    Returns
    -------
    value : ndarray (0-d for scalar f)
    jv : ndarray of f(x)'s shape
        ``sum_j dF/dx_j v_j``.

    Notes
    -----
    One dual pass with the single tangent direction v:
    ``f(x + v e) = f(x) + (J v) e``.

    Example
    -------
    >>> import numpy as np
    >>> from fastgrad import jvp
    >>> jvp(lambda x: x ** 2, [1.0, 2.0], [1.0, 1.0])
    (array([1., 4.]), array([2., 4.]))
    """
    args, vectorized = _check_call(f, args, vectorized)
    xp = _as_point(x)
    vp = _as_point(v, "v")
    if vp.shape != xp.shape:
        raise ValueError(f"v must have x's shape {xp.shape}, got {vp.shape}")
    if not _check_method(method):
        return _fd().fd_jvp(f, xp, vp, method=method, step=step, args=args)
    _no_step(step, method)
    rec = _recorded(f, xp, args, vectorized, method) if method == "reverse" else None
    if rec is not None:
        J = rec.jacobian()
        jv = np.tensordot(J, vp.astype(J.dtype), axes=vp.ndim)
        return rec.values(), np.asarray(jv, order="C")
    tag = next(_TAGS)
    t = np.ascontiguousarray(vp.astype(xp.dtype)[..., None])
    out = _call(f, seed(xp, t, tag, False), args, vectorized)
    val, tan = _split(out, tag, 1)
    return val, np.asarray(tan[..., 0], order="C")   # 0-d stays 0-d for scalar f


def directional_derivative(f: Callable, x: Any, v: Any, *, normalize: bool = True,
                           method: str = "auto", step: Any = None, args: tuple = (),
                           vectorized: bool = False) -> float:
    """The derivative of a scalar f at x along v: ``grad f(x) . v / |v|``.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> scalar``.
    x : array_like of real numbers
    v : array_like of real numbers, x's shape, not zero
    normalize : bool
        Divide by ``|v|`` (the usual definition, a unit direction); False
        gives ``grad f(x) . v``.
    method, step, args, vectorized
        As in :func:`value_and_gradient`.

    Returns
    -------
    float

    Notes
    -----
    One :func:`jvp` pass, no full gradient.

    Example
    -------
    >>> import numpy as np
    >>> from fastgrad import directional_derivative
    >>> round(directional_derivative(lambda p: np.exp(p[0]) * np.cos(p[1]), [0, 0], [1, 1]), 12)
    0.707106781187
    """
    vp = _as_point(v, "v")
    if _validate.flag("normalize", normalize):
        nv = float(np.linalg.norm(vp.astype(_F64)))
        if not np.isfinite(nv) or nv == 0.0:
            raise ValueError("v must be a non-zero finite direction to normalize it")
        vp = vp / nv
    val, jv = jvp(f, x, vp, method=method, step=step, args=args, vectorized=vectorized)
    if np.size(jv) != 1:
        raise ValueError(f"directional_derivative needs f to return a scalar, got shape "
                         f"{np.shape(val)}")
    return float(np.reshape(jv, ()))


@dataclass
class GradientCheck:
    """What :func:`check_gradient` found: per-coordinate errors and a verdict.

    ``ok`` is True when every coordinate's relative error is at most ``tol``;
    ``bool(result)`` is ``ok``. ``error[i] = |grad[i] - reference[i]| /
    max(|grad[i]|, |reference[i]|, atol)``; ``worst`` is the index of the
    largest error.
    """

    ok: bool
    max_error: float
    error: np.ndarray
    abs_error: np.ndarray
    grad: np.ndarray
    reference: np.ndarray
    worst: tuple
    tol: float
    atol: float
    method: str
    bad: list = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.ok)

    def __str__(self) -> str:
        head = (f"check_gradient ({self.method}): {'OK' if self.ok else 'MISMATCH'}, "
                f"max relative error {self.max_error:.3g} (tol {self.tol:.3g})")
        if self.ok:
            return head
        lines = [head, "  index        given        reference    rel.error"]
        for idx in self.bad[:10]:
            lines.append(f"  {str(idx):10s} {self.grad[idx]: .6e} {self.reference[idx]: .6e} "
                         f"{self.error[idx]:.3g}")
        if len(self.bad) > 10:
            lines.append(f"  ... and {len(self.bad) - 10} more")
        return "\n".join(lines)


def check_gradient(f: Callable, grad: Any, x: Any, *, method: str = "auto", step: Any = None,
                   args: tuple = (), vectorized: bool = False, tol: float | None = None,
                   atol: float | None = None) -> GradientCheck:
    """Check a gradient (a function or an array) against a reference gradient.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> scalar``.
    grad : callable or array_like
        The gradient to check: ``grad(x, *args)`` or its value at x.
    x : array_like of real numbers
    method : str
        How the reference is computed: "auto" (the default), "reverse" or
        "dual", all exact; or a finite-difference method.
    step, args, vectorized
        As in :func:`gradient`.
    tol : float, optional
        Largest acceptable relative error: default 1e-6 for the exact
        methods and "complex", 1e-4 for the other finite differences.
    atol : float, optional
        Floor of the denominator, so coordinates near zero are judged
        against the gradient's scale: default ``1e-3 * max(|grad|_inf,
        |reference|_inf)``.

    Returns
    -------
    GradientCheck
        ``ok``, ``max_error``, per-coordinate ``error`` and ``abs_error``,
        ``grad``, ``reference``, ``worst`` (index), ``bad`` (indices over tol).

    Notes
    -----
    ``error_i = |g_i - r_i| / max(|g_i|, |r_i|, atol)``. Unlike
    ``scipy.optimize.check_grad`` (one absolute norm) this says which
    coordinates are wrong and by how much, relative to their size.

    Example
    -------
    >>> import numpy as np
    >>> from fastgrad import check_gradient
    >>> f = lambda x: np.sum(x ** 3)
    >>> check_gradient(f, lambda x: 3 * x ** 2, [1.0, 2.0]).ok
    True
    >>> check_gradient(f, lambda x: 3 * x, [1.0, 2.0]).bad
    [(1,)]
    """
    args, vectorized = _check_call(f, args, vectorized)
    exact = _check_method(method)
    xp = _as_point(x)
    if tol is None:
        tol = 1e-6 if (exact or method == "complex") else 1e-4
    tol = _validate.real("tol", tol, low=0.0, finite=False)
    if callable(grad):
        g = grad(np.array(xp), *args)
    else:
        g = grad
    if isinstance(g, DualArray):
        raise TypeError("grad must be plain numbers, not a DualArray")
    g = np.asarray(g)
    if g.dtype.kind not in "fiub":
        raise TypeError(f"grad must hold real numbers, got dtype {g.dtype}")
    g = g.astype(_F64)
    if g.shape != xp.shape:
        raise ValueError(f"grad has shape {g.shape} but x has shape {xp.shape}")
    r = np.asarray(gradient(f, xp.astype(_F64), method=method, step=step, args=args,
                            vectorized=vectorized), dtype=_F64)
    diff = np.abs(g - r)
    if atol is None:
        scale = max(np.max(np.abs(g), initial=0.0), np.max(np.abs(r), initial=0.0))
        atol = 1e-3 * scale if np.isfinite(scale) and scale > 0 else np.finfo(float).tiny
    else:
        atol = _validate.real("atol", atol, low=0.0, finite=False)
    denom = np.maximum(np.maximum(np.abs(g), np.abs(r)), max(atol, np.finfo(float).tiny))
    with np.errstate(invalid="ignore"):
        err = np.where(diff == 0, 0.0, diff / denom)
    err = np.where(np.isnan(err), np.inf, err)
    max_err = float(np.max(err, initial=0.0))
    bad = [tuple(int(i) for i in idx) for idx in np.argwhere(err > tol)]
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape)) \
        if err.size else ()
    return GradientCheck(ok=max_err <= tol, max_error=max_err, error=err, abs_error=diff,
                         grad=g, reference=r, worst=worst, tol=float(tol), atol=float(atol),
                         method=method, bad=bad)
