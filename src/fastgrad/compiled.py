"""Compile NumPy code once into a tape of array operations run by a C VM.

``compile(f, shape)`` calls ``f`` one time with a symbolic array
(:class:`fastgrad.trace.TracedArray`); each operation on it is recorded as
instructions of a linear tape (:class:`Program`), by the same NumPy rules
(``fastgrad.rules``) that DualArray uses. The C VM (bound in
``fastgrad._tape``) then evaluates the tape in value, dual (gradient,
Jacobian-vector product), reverse, hyper-dual and forward-over-reverse
(Hessian) mode over preallocated workspaces, with the GIL released for
large work.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from fastgrad import _validate
from fastgrad.program import Program
from fastgrad.trace import TracedArray, TraceError, normalize_shape, record

__all__ = ["compile", "CompiledFunction", "TracedArray", "Program", "TraceError", "trace"]

FD_METHODS = ("forward", "backward", "central", "five-point", "richardson")
_EXACT = ("auto", "reverse", "dual")


# ------------------------------------------------------------------ compile --

def trace(f: Callable, shape, args: Sequence = ()) -> Program:
    """Record f as a tape by calling it once on a TracedArray of `shape`.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> scalar`` written with NumPy operations.
    shape : int or tuple of int
        Shape of x.
    args : sequence
        Extra arguments passed to f as constants.

    Returns
    -------
    Program
        The recorded, dead-code-free tape.
    """
    return Program(*record(f, shape, args))


class CompiledFunction:
    """A scalar function of x traced into a tape and evaluated by a C VM.

    Build it with :func:`compile`. Calls take a float64 array of the traced
    shape (other real array-likes are converted); the work runs in C, with
    the GIL released when it is large. Safe to call from several threads at
    once: each call borrows its own workspace. Pickles (the tape, not the
    original Python function).

    Attributes
    ----------
    shape : tuple of int
        Shape of x.
    size : int
        n, the number of elements of x.
    program : Program
        The recorded tape.

    Examples
    --------
    >>> import numpy as np, fastgrad
    >>> A = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> q = fastgrad.compile(lambda x: x @ A @ x, 2)
    >>> q(np.array([1.0, 1.0]))
    7.0
    >>> q.gradient(np.array([1.0, 1.0]))        # (A + A^T) x
    array([6., 8.])
    >>> q.jvp(np.array([1.0, 1.0]), np.array([1.0, 0.0]))
    (7.0, 6.0)
    >>> q.hessian(np.array([1.0, 1.0]))
    array([[4., 2.],
           [2., 6.]])
    """

    # Tangent directions per dual pass of the tape: every computed slot holds
    # this many tangents, so the workspace grows with it.
    _DUAL_DIRECTIONS = 8

    def __init__(self, program: Program, fun: Callable | None = None, chunk: int | None = None):
        from fastgrad._tape import Tape
        self.program = program
        self.shape = program.shape
        self.size = program.n
        self.__wrapped__ = fun
        self.__name__ = getattr(fun, "__name__", "compiled")
        self.__doc__ = getattr(fun, "__doc__", None)
        k = self._DUAL_DIRECTIONS if chunk is None else int(chunk)
        if k < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk}")
        self._chunk = k
        self._tape = Tape(*program.arrays(), program.shape, k)
        self._eval = self._tape.eval

    def __repr__(self) -> str:
        return (f"<CompiledFunction {self.__name__} shape={self.shape}, "
                f"{len(self.program.instrs)} instructions>")

    def __reduce__(self):
        return (_rebuild, (self.program, self._chunk, self.__name__))

    def __call__(self, x) -> float:
        """f(x) as a float, computed by the C VM.

        Parameters
        ----------
        x : array_like
            A point of the traced shape (float64 C-contiguous is the fast path).

        Returns
        -------
        float
        """
        return self._eval(x)

    def gradient(self, x, method: str = "auto", step=None) -> np.ndarray:
        """The gradient of f at x, shaped like x.

        Parameters
        ----------
        x : array_like
            Point of the traced shape.
        method : {"auto", "reverse", "dual", "forward", "backward", "central", "five-point", \
"richardson"}
            "reverse": one value pass and one adjoint sweep in the C VM, a
            cost independent of n. "dual": forward-mode dual numbers in the
            C VM, ceil(n / chunk) passes (same partials from the op table,
            equal to "reverse" up to rounding). "auto" (default): reverse,
            except dual for n <= 2 where one dual pass costs the same. The
            others: finite differences by ``fastgrad.finite_diff.fd_gradient``
            on the compiled function.
        step : float or array_like, optional
            Finite-difference step (ignored by the exact methods).

        Returns
        -------
        ndarray
            The gradient, float64, shaped like x.
        """
        if method in _EXACT:
            return self._tape.grad(x, self._by_reverse(method))
        if method in FD_METHODS:
            from fastgrad.finite_diff import fd_gradient
            return fd_gradient(self, x, method=method, step=step)
        raise ValueError(f"method must be 'auto', 'reverse', 'dual' or one of {FD_METHODS}, "
                         f"got {method!r}")

    def value_and_gradient(self, x, method: str = "auto") -> tuple[float, np.ndarray]:
        """f(x) and its gradient from the same passes.

        Parameters
        ----------
        x : array_like
            A point of the traced shape.
        method : {"auto", "reverse", "dual"}
            As in ``gradient``.

        Returns
        -------
        (float, ndarray)
            The value and the gradient (x's shape).
        """
        if method not in _EXACT:
            raise ValueError(f"method must be 'auto', 'reverse' or 'dual', got {method!r}")
        return self._tape.value_grad(x, self._by_reverse(method))

    def _by_reverse(self, method: str) -> bool:
        """The gradient method: reverse for "reverse", and for "auto" when
        n > 2 (below, one dual pass costs what a reverse one does)."""
        return method == "reverse" or (method == "auto" and self.size > 2)

    def jvp(self, x, v) -> tuple[float, float]:
        """f(x) and the directional derivative grad f(x) . v.

        Parameters
        ----------
        x, v : array_like
            The point and the direction, both of the traced shape.

        Returns
        -------
        (float, float)
            f(x) and J v, from one dual pass with tangent v.
        """
        return self._tape.jvp(x, v)

    def hvp(self, x, v) -> np.ndarray:
        """The Hessian-vector product H(x) v, exact to rounding, without
        forming H.

        One dual pass with tangent v, then the adjoint sweep differentiated
        along it: d/dt grad f(x + t v) at t = 0, a few times the cost of a
        reverse gradient whatever n (forming H costs about n / chunk such
        sweeps). For Newton-CG and trust-region solvers
        (``scipy.optimize.minimize(..., hessp=cf.hvp)``).

        Parameters
        ----------
        x, v : array_like
            The point and the direction, both of the traced shape.

        Returns
        -------
        ndarray
            H(x) v, of the traced shape.

        Examples
        --------
        >>> import numpy as np, fastgrad as fg
        >>> cf = fg.compile(lambda x: x[0] ** 2 * x[1] + np.sin(x[1]), 2)
        >>> cf.hvp(np.array([1.0, 0.0]), np.array([1.0, 0.0]))
        array([0., 2.])
        """
        return self._tape.hvp(x, v)[2]

    def hessian(self, x, method: str = "auto") -> np.ndarray:
        """The (n, n) Hessian at x, exact to rounding.

        Notes
        -----
        ``method="reverse"``: forward-over-reverse. A dual pass carries k
        unit directions e_j; the adjoint sweep, differentiated along them
        (second partials from the op table), gives the columns
        d(grad f)/dx_j. About n/k passes, each (1 + k) times a reverse
        gradient's work. The result is the mean of the computed matrix and
        its transpose.

        ``method="hyperdual"``: x = a + b eps1 + c eps2 + d eps1 eps2 with
        eps1^2 = eps2^2 = 0 gives f(x) = f(a) + f'(a) b eps1 + f'(a) c eps2 +
        (f'(a) d + f''(a) b c) eps1 eps2; with b = e_i, c = e_j, d = 0 the
        eps1 eps2 part is H[i, j]. About n^2/(2k) passes.

        ``"auto"`` (default): reverse for n > 2, whose passes grow like n
        where the hyper-dual ones grow like n^2; hyper-dual below, where the
        two cost the same. Both are exact to rounding and agree to a few
        ulps. A long Hessian runs in parts: Ctrl-C interrupts it.

        Parameters
        ----------
        x : array_like
            A point of the traced shape.
        method : {"auto", "reverse", "hyperdual"}

        Returns
        -------
        ndarray
            (n, n) float64, exactly symmetric, in the order of ``x.ravel()``.

        Examples
        --------
        >>> import numpy as np, fastgrad as fg
        >>> cf = fg.compile(lambda x: x[0] ** 2 * x[1] + np.sin(x[1]), 2)
        >>> cf.hessian(np.array([1.0, 0.0]))
        array([[0., 2.],
               [2., 0.]])
        """
        return self._tape.hessian(x, reverse=self._hessian_by_reverse(method))

    def _hessian_by_reverse(self, method: str) -> bool:
        if method not in ("auto", "reverse", "hyperdual"):
            raise ValueError(f"method must be 'auto', 'reverse' or 'hyperdual', got {method!r}")
        return method == "reverse" or (method == "auto" and self.size > 2)

    def _fg_scalar_capsule(self):
        """A fresh PyCapsule "fastgrad.scalar_callback" (value mode, own workspace)."""
        return self._tape.scalar_capsule()

    def _fg_objective_capsule(self, method: str = "auto"):
        """A fresh PyCapsule "fastgrad.objective_callback" for C drivers.

        value_grad: dual numbers ("dual"), the adjoint sweep ("reverse"), or
        "auto" (default): reverse, whose cost does not grow with n, except
        for n <= 2 where one dual pass costs the same.
        hessian: as ``hessian(x, method="auto")``. Each capsule owns its
        workspace.
        """
        if method not in _EXACT:
            raise ValueError(f"method must be 'auto', 'dual' or 'reverse', got {method!r}")
        return self._tape.objective_capsule(self._by_reverse(method),
                                            self._hessian_by_reverse("auto"))

    def _fg_hvp_capsule(self):
        """A fresh PyCapsule "fastgrad.hvp_callback": H(x) v by forward-over-
        reverse, as :meth:`hvp` (what minimize's newton-cg uses)."""
        return self._tape.hvp_capsule()


def _rebuild(program: Program, chunk: int, name: str) -> CompiledFunction:
    cf = CompiledFunction(program, None, chunk)
    cf.__name__ = name
    return cf


def compile(f: Callable | None = None, shape=None, *, args: Sequence = (),
            chunk: int | None = None):
    """Trace ``f`` once into a tape of array operations evaluated in C.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> scalar``, ordinary NumPy code. Omit it to use
        ``compile`` as a decorator: ``@compile(shape=(n,))``.
    shape : int or tuple of int
        Shape of x.
    args : sequence, optional
        Extra arguments for f, frozen as constants at trace time.
    chunk : int, optional
        Tangent directions per dual pass (default 8).

    Returns
    -------
    CompiledFunction
        ``cf(x)``, ``cf.gradient(x)``, ``cf.value_and_gradient(x)``,
        ``cf.jvp(x, v)``, ``cf.hessian(x)``.

    Raises
    ------
    TraceError
        (a TypeError) for an operation the tape cannot record: a NumPy
        function or ufunc outside the supported set, or data-dependent Python
        control flow (``if x > 0``, ``float(x)``). The message names it.

    Notes
    -----
    Supported: the elementwise ufuncs with a row in the op table
    (``fastgrad._ops.OPS``), the operators, comparisons as conditions, and
    the NumPy functions of ``fastgrad.rules.FUNCTIONS``, the same set as
    DualArray's: ``where``/``maximum``/``minimum``/``clip``,
    ``sum``/``mean``/``prod``/``cumsum``/``var``/``std``,
    ``max``/``min``/``amax``/``amin`` (whole or along axes; the derivative
    goes to the element ``numpy.argmax`` picks), ``dot``/``matmul``/``@``/
    ``inner``/``vdot``/``outer``/``einsum``, ``linalg.norm``, static and
    integer-array indexing (empty slices included), ``take``, reshaping and
    transposing, ``concatenate``/``stack``/``hstack``/``vstack``
    (``np.array([...])`` of traced values cannot be intercepted: use
    ``np.stack``), ``scipy.special.logsumexp``, broadcasting and constants.
    Operations on constants alone are folded while tracing.

    Examples
    --------
    >>> import numpy as np, fastgrad
    >>> @fastgrad.compile(shape=(2,))
    ... def rosen(x):
    ...     return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    >>> rosen(np.array([1.0, 1.0]))
    0.0
    >>> rosen.gradient(np.array([0.0, 0.0]))
    array([-2.,  0.])
    """
    if chunk is not None:
        chunk = _validate.integer("chunk", chunk, low=1)
    if f is None:
        if shape is None:
            raise TypeError("compile() needs shape=...")
        shape = normalize_shape(shape)
        return lambda fun: compile(fun, shape, args=args, chunk=chunk)
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    if shape is None:
        raise TypeError("compile() needs the shape of x: compile(f, shape)")
    return CompiledFunction(trace(f, shape, args), f, chunk)
