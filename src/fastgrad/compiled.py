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

from typing import Any, Callable, Sequence

import numpy as np

from fastgrad import _validate
from fastgrad.compiled_data import DataInputs
from fastgrad.program import Program
from fastgrad.trace import TracedArray, TraceError, normalize_shape, record

__all__ = ["compile", "CompiledFunction", "TracedArray", "Program", "TraceError", "trace"]

FD_METHODS = ("forward", "backward", "central", "five-point", "richardson")
_EXACT = ("auto", "reverse", "dual")


# ------------------------------------------------------------------ compile --

def trace(f: Callable, shape, args: Sequence = (), data: Sequence = ()) -> Program:
    """Record f as a tape by calling it once on a TracedArray of `shape`.

    Parameters
    ----------
    f : callable
        ``f(x, *data, *args) -> scalar`` written with NumPy operations.
    shape : int or tuple of int
        Shape of x.
    args : sequence
        Extra arguments passed to f as constants.
    data : sequence of (dtype, shape)
        The data inputs, passed to f as symbolic arrays (float64, or
        integers for an integer dtype) read at each call.

    Returns
    -------
    Program
        The recorded, dead-code-free tape.
    """
    return Program(*record(f, shape, args, data))


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

    def __init__(self, program: Program, fun: Callable | None = None, chunk: int | None = None,
                 data: DataInputs | None = None):
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
        self._data = data
        self._tape = (Tape(*program.arrays(), program.shape, k) if data is None
                      else data.default_tape())
        self._eval = self._tape.eval

    def __repr__(self) -> str:
        return (f"<CompiledFunction {self.__name__} shape={self.shape}, "
                f"{len(self.program.instrs)} instructions>")

    def __reduce__(self):
        return (_rebuild, (self.program, self._chunk, self.__name__, self._data))

    def _bind(self, data: tuple) -> tuple[Any, Any]:
        """The tape and the data arrays of a call: the data given (checked,
        converted; a new first-axis length traced once), or the defaults."""
        if self._data is None:
            if data:
                raise TypeError(f"{self.__name__} was compiled without data=, so it takes x "
                                f"alone; got {len(data)} more argument(s)")
            return self._tape, None
        return self._data.bind(data)

    def _run(self, data: tuple, mode: str, *args: Any, **kwargs: Any) -> Any:
        """Tape method `mode` on the call's tape and data arrays; an
        integer index out of range (refused by C) raises naming its array."""
        tape, arrays = self._bind(data)
        try:
            return getattr(tape, mode)(*args, data=arrays, **kwargs)
        except ValueError:
            if arrays is not None and self._data is not None:
                self._data.explain(arrays)
            raise

    def _options(self, data: tuple, *given: Any) -> tuple:
        """(data, *options): for a function without data inputs, options
        may still come by position (``cf.hessian(x, "hyperdual")``, the
        signature before data inputs); given holds the keyword values.
        Callers skip it when data is empty (nothing to sort out), which
        keeps the common call on the fast path."""
        if self._data is None and data and isinstance(data[0], str):
            if len(data) > len(given):
                raise TypeError(f"{self.__name__} takes x and at most {len(given)} options "
                                f"by position, got {len(data)}")
            return ((),) + tuple(data) + given[len(data):]
        return (data,) + given

    def with_data(self, *data) -> "CompiledFunction":
        """The same compiled function with other default data arrays (same
        checks as a call's): what ``minimize(cf, x0, data=...)`` and any C
        driver (through the capsules) evaluate.

        Parameters
        ----------
        *data : array_like
            One array per data input, as in a call.

        Returns
        -------
        CompiledFunction
            Shares the traced tapes with this one.
        """
        if self._data is None:
            raise TypeError(f"{self.__name__} was compiled without data=")
        tape, arrays = self._data.bind(data)
        self._data.explain(arrays)   # the capsules would only return a status
        other = object.__new__(CompiledFunction)
        other.__dict__.update(self.__dict__)
        other._data = self._data.with_defaults(tape, arrays)
        other._tape = tape
        other.program = other._data.program_of(tape)
        other._eval = tape.eval
        return other

    def __call__(self, x, *data) -> float:
        """f(x) as a float, computed by the C VM.

        Parameters
        ----------
        x : array_like
            A point of the traced shape (float64 C-contiguous is the fast path).
        *data : array_like
            With ``compile(..., data=...)``: the data arrays of this call
            (default: those given to compile). The first axis may differ
            from call to call (each new length is traced once); anything
            else about the shapes and the dtypes must stay.

        Returns
        -------
        float
        """
        if not data and self._data is None:
            return self._eval(x)
        return self._run(data, "eval", x)

    def gradient(self, x, *data, method: str = "auto", step=None) -> np.ndarray:
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
        *data : array_like
            The data arrays of this call (see ``__call__``).

        Returns
        -------
        ndarray
            The gradient, float64, shaped like x.
        """
        if data:
            data, method, step = self._options(data, method, step)
        if method in _EXACT:
            reverse = self._by_reverse(method)
            if not data and self._data is None:
                return self._tape.grad(x, reverse)
            return self._run(data, "grad", x, reverse)
        if method in FD_METHODS:
            from fastgrad.finite_diff import fd_gradient
            return fd_gradient(self.with_data(*data) if data else self, x, method=method,
                               step=step)
        raise ValueError(f"method must be 'auto', 'reverse', 'dual' or one of {FD_METHODS}, "
                         f"got {method!r}")

    def value_and_gradient(self, x, *data, method: str = "auto") -> tuple[float, np.ndarray]:
        """f(x) and its gradient from the same passes.

        Parameters
        ----------
        x : array_like
            A point of the traced shape.
        method : {"auto", "reverse", "dual"}
            As in ``gradient``.
        *data : array_like
            The data arrays of this call (see ``__call__``).

        Returns
        -------
        (float, ndarray)
            The value and the gradient (x's shape).
        """
        if data:
            data, method = self._options(data, method)
        if method not in _EXACT:
            raise ValueError(f"method must be 'auto', 'reverse' or 'dual', got {method!r}")
        reverse = self._by_reverse(method)
        if not data and self._data is None:
            return self._tape.value_grad(x, reverse)
        return self._run(data, "value_grad", x, reverse)

    def _by_reverse(self, method: str) -> bool:
        """The gradient method: reverse for "reverse", and for "auto" when
        n > 2 (below, one dual pass costs what a reverse one does)."""
        return method == "reverse" or (method == "auto" and self.size > 2)

    def jvp(self, x, v, *data) -> tuple[float, float]:
        """f(x) and the directional derivative grad f(x) . v.

        Parameters
        ----------
        x, v : array_like
            The point and the direction, both of the traced shape.
        *data : array_like
            The data arrays of this call (see ``__call__``).

        Returns
        -------
        (float, float)
            f(x) and J v, from one dual pass with tangent v.
        """
        return self._run(data, "jvp", x, v)

    def hvp(self, x, v, *data) -> np.ndarray:
        """The Hessian-vector product H(x) v, exact to rounding, without
        forming H.

        One dual pass with tangent v, then the adjoint sweep differentiated
        along it: d/dt grad f(x + t v) at t = 0, a few times the cost of a
        reverse gradient whatever n (forming H costs about n / chunk such
        sweeps). For Newton-CG and trust-region solvers
        (``scipy.optimize.minimize(..., hessp=cf.hvp)``).

        Parameters
        ----------
        x, v, *data
            As in ``jvp``.

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
        return self._run(data, "hvp", x, v)[2]

    def hessian(self, x, *data, method: str = "auto") -> np.ndarray:
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
        *data : array_like
            The data arrays of this call (see ``__call__``).
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
        if data:
            data, method = self._options(data, method)
        by_reverse = self._hessian_by_reverse(method)
        if not data and self._data is None:
            return self._tape.hessian(x, reverse=by_reverse)
        return self._run(data, "hessian", x, reverse=by_reverse)

    def _hessian_by_reverse(self, method: str) -> bool:
        if method not in ("auto", "reverse", "hyperdual"):
            raise ValueError(f"method must be 'auto', 'reverse' or 'hyperdual', got {method!r}")
        return method == "reverse" or (method == "auto" and self.size > 2)

    def _default_data(self) -> Any:
        return None if self._data is None else self._data.defaults

    def _fg_scalar_capsule(self):
        """A fresh PyCapsule "fastgrad.scalar_callback" (value mode, own
        workspace, bound to the default data)."""
        return self._tape.scalar_capsule(self._default_data())

    def _fg_objective_capsule(self, method: str = "auto"):
        """A fresh PyCapsule "fastgrad.objective_callback" for C drivers.

        value_grad: dual numbers ("dual"), the adjoint sweep ("reverse"), or
        "auto" (default): reverse, whose cost does not grow with n, except
        for n <= 2 where one dual pass costs the same.
        hessian: as ``hessian(x, method="auto")``. Each capsule owns its
        workspace and binds the default data (``with_data`` for others).
        """
        if method not in _EXACT:
            raise ValueError(f"method must be 'auto', 'dual' or 'reverse', got {method!r}")
        return self._tape.objective_capsule(self._by_reverse(method),
                                            self._hessian_by_reverse("auto"),
                                            self._default_data())

    def _fg_hvp_capsule(self):
        """A fresh PyCapsule "fastgrad.hvp_callback": H(x) v by forward-over-
        reverse, as :meth:`hvp` (what minimize's newton-cg uses), on the
        default data."""
        return self._tape.hvp_capsule(self._default_data())

    def _fg_batch_capsule(self, row_counts, method: str = "auto"):
        """A fresh PyCapsule "fastgrad.batch_objective" (``fg_batch_objective``
        in fg_objective.h) for the stochastic minimize loop: f and its
        gradient on any of `row_counts` rows of every data array (each
        count traced here, before any C runs); another count returns
        FG_ERR_SHAPE. Gradient by the adjoint sweep ("auto", "reverse") or
        dual numbers ("dual"); own workspaces."""
        from fastgrad._tape_batch import batch_capsule
        if self._data is None:
            raise TypeError(f"{self.__name__} was compiled without data=: it has no batches")
        if method not in ("auto", "dual", "reverse"):
            raise ValueError(f"method must be 'auto', 'dual' or 'reverse', got {method!r}")
        rows = sorted({_validate.integer("row_counts", r, low=1) for r in row_counts})
        reverse = method == "reverse" or (method == "auto" and self.size > 2)
        return batch_capsule([(r, self._data.tape_for(r)) for r in rows], reverse)


def _rebuild(program: Program, chunk: int, name: str,
             data: DataInputs | None = None) -> CompiledFunction:
    cf = CompiledFunction(program, None, chunk, data)
    cf.__name__ = name
    return cf


def compile(f: Callable | None = None, shape=None, *, data: Sequence | None = None,
            args: Sequence = (), chunk: int | None = None):
    """Trace ``f`` once into a tape of array operations evaluated in C.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> scalar``, ordinary NumPy code. Omit it to use
        ``compile`` as a decorator: ``@compile(shape=(n,))``.
    shape : int or tuple of int
        Shape of x.
    data : sequence of array_like, optional
        Data arrays (float, or integer such as class labels): f is called
        ``f(x, *data, *args)`` and the data are inputs of the tape, read at
        each call (``cf(x, X2, y2)``, ``cf.gradient(x, X2, y2)``, ...),
        defaulting to these arrays. All share their first-axis length (the
        rows); a call may pass another number of rows (traced once per new
        length and cached), nothing else about their shapes or dtypes may
        change. Integer data may index: ``Z[np.arange(m), labels]``,
        ``np.take(W, labels, axis=0)``; elsewhere they act as float64.
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
        return lambda fun: compile(fun, shape, data=data, args=args, chunk=chunk)
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    if shape is None:
        raise TypeError("compile() needs the shape of x: compile(f, shape)")
    if data is None:
        return CompiledFunction(trace(f, shape, args), f, chunk)
    inputs = DataInputs(f, normalize_shape(shape), data, args, chunk)
    return CompiledFunction(inputs.program_of(inputs.default_tape()), f, chunk, inputs)
