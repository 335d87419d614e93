"""``minimize_many``: many independent small problems in one call.

Each problem runs exactly as :func:`fastgrad.minimize` runs it alone (the
same C loop, so the same iterates, counters and stop reason, bit for bit)
with its own state and stopping. With a compiled ``fun`` and nothing that
needs Python during the runs, all k runs happen in one C call without the
GIL (``csrc/fg_minimize_many.c``), ``threads`` threads taking the problems
one at a time; otherwise the problems are solved one after another through
minimize's own loop.

Example
-------
>>> import numpy as np, fastgrad as fg
>>> cf = fg.compile(lambda x: (x[0] - 1) ** 2 + 10 * (x[1] - x[0] ** 2) ** 2, 2)
>>> res = fg.minimize_many(cf, np.zeros((3, 2)), method="newton")
>>> print(len(res), res.success.all(), res[1].nit)
3 True 9
"""
from __future__ import annotations

import dataclasses
import math
import operator
import sys
import time
from typing import Any, Callable, Iterator

import numpy as np

from fastgrad import _minimize, _minimize_many, _validate
from fastgrad.minimize import (_RUN_DEFAULTS, _TABLE, OptimizeResult, _bound_array, _box,
                               _callback_adapter, _check_method, _result, _run, _Setup, _setup)

__all__ = ["minimize_many", "ManyResult"]


@dataclasses.dataclass(eq=False, repr=False)
class ManyResult:
    """The results of :func:`minimize_many`, one per problem, as arrays.

    ``res[i]`` is problem i's :class:`~fastgrad.OptimizeResult` (what
    ``minimize`` returns for it alone); ``len(res)`` is the number of
    problems k, and iterating yields the k results.

    Attributes
    ----------
    x : ndarray, shape (k, n)
        Each problem's solution (after divergence, its last finite iterate).
    jac : ndarray, shape (k, n)
        The gradient at each ``x``.
    fun, grad_norm : ndarray, shape (k,)
        ``f(x)`` and the norm the ``tol`` test uses.
    nit, nfev, njev, nhev : ndarray of int64, shape (k,)
        Updates, value, gradient and Hessian evaluations of each problem.
    success : ndarray of bool, shape (k,)
        The problems whose run met ``tol`` or ``ftol``.
    status : ndarray of int64, shape (k,)
        Each problem's stop reason (the codes of ``OptimizeResult.status``).
    message : list of str
        What each status means (with the exception, for a Python hook that
        raised one).
    method : str
        The method.
    state : ndarray, shape (k, state size), or None
        With ``keep_state=True``: each problem's carried state, what
        ``warm_start`` continues.
    history : list of dict, or None
        With ``record=True``: each problem's history (as minimize's).
    """

    x: np.ndarray
    fun: np.ndarray
    jac: np.ndarray
    grad_norm: np.ndarray
    nit: np.ndarray
    nfev: np.ndarray
    njev: np.ndarray
    nhev: np.ndarray
    status: np.ndarray
    message: list[str]
    method: str
    state: np.ndarray | None = None
    history: list[dict] | None = None
    success: np.ndarray = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.success = np.isin(self.status, sorted(_minimize.SUCCESS))

    def __len__(self) -> int:
        return len(self.status)

    def __getitem__(self, i: Any) -> OptimizeResult:
        k = len(self)
        j = operator.index(i)
        if not -k <= j < k:
            raise IndexError(f"problem index {i} is out of range for {k} problems")
        j %= k
        res = OptimizeResult(
            x=self.x[j].copy(), fun=float(self.fun[j]), jac=self.jac[j].copy(),
            grad_norm=float(self.grad_norm[j]), nit=int(self.nit[j]), nfev=int(self.nfev[j]),
            njev=int(self.njev[j]), nhev=int(self.nhev[j]), success=bool(self.success[j]),
            status=int(self.status[j]), message=self.message[j], method=self.method)
        if self.state is not None:
            res["state"] = self.state[j].copy()
        if self.history is not None:
            res["history"] = self.history[j]
        return res

    def __iter__(self) -> Iterator[OptimizeResult]:
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        codes, counts = np.unique(self.status, return_counts=True)
        stops = ", ".join(f"{int(c)}: {int(m)}" for c, m in zip(codes, counts))
        return (f"{type(self).__name__}(k={len(self)}, n={self.x.shape[1]}, "
                f"method={self.method!r}, success={int(self.success.sum())} of {len(self)}, "
                f"status counts {{{stops}}})")


def minimize_many(fun: Callable[..., Any], X0: Any, *, data: Any = None, threads: int = 1,
                  method: str = "adam", jac: Callable[..., Any] | bool | None = None,
                  gradient: str = "dual", lr: float | Callable[[int], float] | None = None,
                  tol: float = 1e-8, ftol: float = _RUN_DEFAULTS["ftol"],
                  maxiter: int = 10_000, maxfun: int | None = None, maximize: bool = False,
                  callback: Callable[[OptimizeResult], Any] | None = None,
                  callback_every: int = 1, record: bool = False, progress: bool = False,
                  bounds: Any = None, line_search: str | None = None,
                  warm_start: ManyResult | None = None, keep_state: bool = False,
                  **options: Any) -> ManyResult:
    """Minimize k independent functions of n variables, one row of ``X0`` each.

    Every problem runs as ``minimize(fun, X0[i], ...)`` would run it alone,
    with the same options: the same iterates, counters, stop reason and
    history, bit for bit. A problem that stops (converged, or failed: it
    diverged, its line search failed, its objective reported an error)
    costs nothing more and does not touch the others.

    Parameters
    ----------
    fun : callable
        The objective of every problem: a compiled function of shape
        ``(n,)`` (see Notes), or a Python callable ``fun(x) -> float`` as for
        ``minimize``.
    X0 : array_like of real numbers, shape (k, n), or None with ``warm_start``
        Row i is problem i's starting point (finite; not modified).
    data : tuple of array_like, optional
        Per-problem data: arrays whose first axis has length k. Problem i
        is ``minimize(fun, X0[i], data=rows, ...)`` with ``rows =
        tuple(d[i] for d in data)``. A function compiled with data inputs
        (``compile(f, (n,), data=(X, y))``) takes problem i's blocks as its
        data: each array has shape ``(k, m, ...)`` with the same ``m`` rows
        per problem, and the runs stay in C. A Python ``fun`` gets the rows
        after the arguments of every hook: ``fun(x, *rows)``,
        ``jac(x, *rows)``, ``hess(x, *rows)``, ``hessp(x, v, *rows)``
        (scipy's ``args``).
    threads : int
        Threads that share the problems of a compiled ``fun`` (at most
        ``min(threads, k, 64)`` run). Results do not depend on it.
    method, jac, gradient, lr, tol, ftol, maxiter, maxfun, maximize, line_search, **options
        As for :func:`fastgrad.minimize`, for every problem.
    callback : callable, optional
        ``callback(intermediate)`` as for ``minimize``, per problem:
        ``intermediate.problem`` is the problem's index; returning True stops
        that problem only (status 3).
    callback_every, record, progress
        As for ``minimize``; ``record=True`` keeps each problem's history
        (``res.history[i]``) and the progress line counts finished problems.
    bounds : optional
        As for ``minimize`` (shared by every problem), or a pair ``(lb, ub)``
        of which either side has shape ``(k, n)``: row i bounds problem i.
        Each row of ``X0`` is clipped into its box.
    warm_start : ManyResult, optional
        A result of ``minimize_many`` with this method and ``keep_state=True``
        to continue, every problem from its saved state (``X0`` None or that
        result's ``x``).
    keep_state : bool
        Keep each problem's carried state (``res.state``, ``res[i].state``)
        so that a later call (or ``minimize`` for one problem) can continue
        it. Off by default: it holds a method's state (L-BFGS pairs, a BFGS
        matrix) for every problem.

    Returns
    -------
    ManyResult
        ``x``, ``jac`` (k, n); ``fun``, ``grad_norm``, ``nit``, ``nfev``,
        ``njev``, ``nhev``, ``success``, ``status`` (k,); ``message``;
        ``res[i]`` is problem i's ``OptimizeResult``.

    Raises
    ------
    ValueError, TypeError
        As ``minimize`` for the options; for an ``X0`` that is not 2-D,
        rows of another size than a compiled ``fun``'s, bounds of another
        shape, ``threads`` < 1. Nothing runs then.
    NotImplementedError
        For ``data`` with a compiled ``fun`` that has no data inputs.

    Notes
    -----
    A compiled ``fun``, with no callback, no ``record``, a numeric ``lr``
    and no Python ``hessp`` (and, with per-problem data, a method that uses
    no Hessian: not newton or newton-cg), runs all problems in one C call
    without the GIL, on ``threads`` threads, each with its own tape workspace; a thread
    takes the next unsolved problem whenever it finishes one, so problems
    of very different lengths still share the threads evenly. Otherwise
    (a Python ``fun``, a callback, a schedule, history) the problems run one
    after another through ``minimize``'s loop, which takes the GIL for
    every Python call; ``threads`` is then not used.

    An exception raised for one problem by ``fun``, ``jac``, ``hess``,
    ``hessp``, the schedule or the callback ends that problem only: its
    status is the one the run stopped with (4 for the objective) and its
    message names the exception. ``minimize`` alone would raise it instead.
    KeyboardInterrupt (Ctrl-C) stops every problem and is raised.

    Examples
    --------
    A multi-start search: the 4-D Rosenbrock function from ten starts, on
    two threads. Eight runs end in the global minimum, two in the local
    one near (-0.78, 0.61, 0.38, 0.15):

    >>> import numpy as np, fastgrad as fg
    >>> rosen = fg.compile(lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2
    ...                                     + (1 - x[:-1]) ** 2), 4)
    >>> X0 = np.random.default_rng(0).uniform(-2, 2, (10, 4))
    >>> res = fg.minimize_many(rosen, X0, method="newton", threads=2)
    >>> print(res.success.all(), np.round(res.fun, 2))
    True [0.  0.  0.  0.  0.  0.  0.  0.  3.7 3.7]
    >>> res[int(np.argmin(res.fun))].x.round(6)
    array([1., 1., 1., 1.])
    >>> res
    ManyResult(k=10, n=4, method='newton', success=10 of 10, status counts {0: 10})

    Per-problem data: three straight lines fitted at once, problem i to
    the points ``(t, Y[i])``:

    >>> t = np.linspace(0.0, 1.0, 5)
    >>> Y = np.array([1 + 2 * t, 3 - t, 0.5 * t])
    >>> fits = fg.minimize_many(lambda p, y: np.sum((p[0] + p[1] * t - y) ** 2),
    ...                         np.zeros((3, 2)), data=(Y,), method="lbfgs")
    >>> fits.x.round(6) + 0.0        # + 0.0: no negative zeros
    array([[ 1. ,  2. ],
           [ 3. , -1. ],
           [ 0. ,  0.5]])
    """
    _check_method(method, fun)
    compiled_data = data is not None and jac is None and hasattr(fun, "_fg_objective_capsule")
    if compiled_data and not hasattr(fun, "_fg_batch_capsule"):
        raise NotImplementedError(
            f"data: per-problem data for a compiled fun needs a function compiled with data "
            f"inputs (compile(f, shape, data=...)), and {type(fun).__name__} has none; or "
            f"pass a Python fun(x, *rows) (its problems run one after another)")
    threads = min(_validate.integer("threads", threads, low=1), _minimize_many.MAX_THREADS)
    keep_state = _validate.flag("keep_state", keep_state)
    states = None
    if warm_start is not None:
        states, X0 = _warm_states(warm_start, method, X0)
    X = _validate.input_array("X0", X0, dtype=np.float64, finite=True)
    if X.ndim != 2:
        raise ValueError(f"X0 must have shape (k, n), one row per problem; got shape {X.shape}")
    k, n = X.shape
    rows: _Rows | _Blocks | None = None
    if compiled_data:
        rows = _Blocks(fun, data, k)
    elif data is not None:
        rows = _Rows(data, k)
        fun, jac = rows.bind(fun), rows.bind(jac) if callable(jac) else jac
        options = {name: rows.bind(value) if name in ("hess", "hessp") and callable(value)
                   else value for name, value in options.items()}
    setup = _setup(fun, n, "each row of X0", method=method, jac=jac, gradient=gradient, lr=lr,
                   tol=tol, ftol=ftol, maxiter=maxiter, maxfun=maxfun, maximize=maximize,
                   callback=callback, callback_every=callback_every, record=record,
                   progress=progress, line_search=line_search, options=options)
    lower, upper, per_problem = _many_bounds(bounds, k, n, method)
    if lower is not None:
        np.clip(X, lower, upper, out=X)
    blocks = rows if isinstance(rows, _Blocks) and k else None
    if _runs_in_c(setup, fun) and not (blocks is not None and blocks.needs_products(method)):
        raw = _minimize_many.run(
            setup.objective, X, method, setup.options, threads=threads, lower=lower,
            upper=upper, per_problem_bounds=per_problem, states=states,
            keep_state=keep_state, progress=setup.progress,
            data=None if blocks is None else blocks.arrays,
            rows=0 if blocks is None else blocks.rows)
        return ManyResult(
            x=X, fun=raw["f"], jac=raw["grad"], grad_norm=raw["grad_norm"], nit=raw["nit"],
            nfev=raw["nfev"], njev=raw["njev"], nhev=raw["nhev"], status=raw["stop"],
            message=[_minimize_many.MESSAGES[s] for s in raw["stop"].tolist()],
            method=method, state=raw["state"])
    return _loop(setup, X, callback, lower, upper, per_problem, states, keep_state,
                 None if rows is None else rows.select)


def _runs_in_c(s: _Setup, fun: Any) -> bool:
    """Whether every run can go without Python: a compiled objective and no
    Python hook (schedule, callback, history, a Python hessp it would use)."""
    python_hessp = (_TABLE[s.method]["uses_hvp"] and s.hessp is not None
                    and not hasattr(fun, "_fg_hvp_capsule"))
    return s.compiled and s.schedule is None and s.on_callback is None and not s.record \
        and not python_hessp


def _loop(s: _Setup, X: np.ndarray, callback: Any, lower: np.ndarray | None,
          upper: np.ndarray | None, per_problem: bool, states: np.ndarray | None,
          keep_state: bool, select: Callable[[int], Any] | None) -> ManyResult:
    """The problems one after another through minimize's loop (``select(i)``
    first, when given: a compiled objective bound to problem i's data, or
    None to keep the setup's); an exception of a Python hook ends its
    problem only."""
    k, n = X.shape
    results = []
    next_progress = time.monotonic()
    for i in range(k):
        if s.progress and time.monotonic() >= next_progress:
            next_progress = time.monotonic() + 0.2
            sys.stderr.write(f"\rminimize_many: {i:>9d} of {k} problems done")
            sys.stderr.flush()
        si = s
        bound = None if select is None else select(i)
        if bound is not None:
            si = si._replace(objective=bound)
        if callback is not None:
            si = si._replace(on_callback=_callback_adapter(callback, problem=i))
        box = None
        if lower is not None and upper is not None:
            box = (lower[i], upper[i]) if per_problem else (lower, upper)
        raw = _run(si, X[i], (n,), box, None if states is None else states[i],
                   raise_errors=False, progress=False)
        res = _result(raw, X[i], (n,), s.method)
        err = raw["error"]
        if err is not None:
            res["message"] = f"{res['message']} ({type(err).__name__}: {err})"
        results.append(res)
    if s.progress:
        sys.stderr.write(f"\rminimize_many: {k:>9d} of {k} problems done\n")
    column = lambda key, dtype: np.array([r[key] for r in results], dtype=dtype)  # noqa: E731
    return ManyResult(
        x=X, fun=column("fun", np.float64),
        jac=np.array([r["jac"] for r in results], dtype=np.float64).reshape(k, n),
        grad_norm=column("grad_norm", np.float64), nit=column("nit", np.int64),
        nfev=column("nfev", np.int64), njev=column("njev", np.int64),
        nhev=column("nhev", np.int64), status=column("status", np.int64),
        message=[r["message"] for r in results], method=s.method,
        state=np.array([r["state"] for r in results]).reshape(k, -1) if keep_state and k
        else np.empty((0, 0)) if keep_state else None,
        history=[r["history"] for r in results] if s.record else None)


class _Rows:
    """Per-problem data: the rows of the problem being solved, which the
    bound hooks pass on after their own arguments."""

    def __init__(self, data: Any, k: int) -> None:
        self.arrays = _data_arrays(data, k)
        self.row: tuple = ()

    def select(self, i: int) -> None:
        self.row = tuple(a[i] for a in self.arrays)

    def bind(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return lambda *args: fn(*args, *self.row)


def _data_arrays(data: Any, k: int) -> list[np.ndarray]:
    """The arrays of ``data``, each with a first axis of length k."""
    if not isinstance(data, (tuple, list)):
        raise TypeError(f"data must be a tuple of arrays (one row per problem each), got "
                        f"{type(data).__name__}")
    arrays = [np.asarray(a) for a in data]
    for j, a in enumerate(arrays):
        if a.ndim == 0 or a.shape[0] != k:
            raise ValueError(f"data[{j}] must have a first axis of length k = {k} (one row "
                             f"per problem), got shape {a.shape}")
    return arrays


class _Blocks:
    """Per-problem data of a compiled function with data inputs: problem i
    evaluates ``fun`` on ``tuple(d[i] for d in data)``, each ``d[i]`` a block
    of ``rows`` rows (the same for every array and problem). ``arrays``: the
    data as C reads them (C-contiguous float64, or int64 for integer data);
    ``select(i)``: fun bound to problem i's blocks, for the loop."""

    def __init__(self, fun: Any, data: Any, k: int) -> None:
        arrays = _data_arrays(data, k)
        if not arrays:
            raise ValueError("data= needs at least one array (or leave it out)")
        for j, a in enumerate(arrays):
            if a.ndim < 2 or a.shape[1] != arrays[0].shape[1]:
                raise ValueError(
                    f"data[{j}] has shape {a.shape}; for a compiled fun each data array "
                    "has shape (k, rows, ...): problem i's block of rows, the same number of "
                    f"rows in every array ({arrays[0].shape[1:2]} in data[0])")
        self.fun = fun
        self.rows = arrays[0].shape[1]
        self.arrays = tuple(np.ascontiguousarray(
            a, dtype=np.int64 if a.dtype.kind in "biu" else np.float64) for a in arrays)
        # the compiled function's own checks (dtypes, trailing shapes, rows, and
        # the range of integer data that index), naming the argument: once
        # for every problem with integer data, else on problem 0's blocks
        checked = k if any(a.dtype.kind in "biu" for a in arrays) else min(k, 1)
        for i in range(checked):
            fun.with_data(*(a[i] for a in arrays))

    def needs_products(self, method: str) -> bool:
        """Whether the method uses Hessians or their products, which the
        batch objective does not give: such runs go through the loop."""
        return bool(_TABLE[method]["needs_hessian"] or _TABLE[method]["uses_hvp"])

    def select(self, i: int) -> Any:
        return self.fun.with_data(*(a[i] for a in self.arrays))


def _warm_states(warm: Any, method: str, X0: Any) -> tuple[np.ndarray, np.ndarray]:
    """The carried states of a ManyResult to continue, and its x."""
    if not isinstance(warm, ManyResult):
        raise TypeError(f"warm_start must be a ManyResult of minimize_many, got "
                        f"{type(warm).__name__}")
    if warm.method != method:
        raise ValueError(f"warm_start is a result of method={warm.method!r}; it can only "
                         f"continue that method, not {method!r}")
    if warm.state is None:
        raise ValueError("warm_start has no saved states: run the first call with "
                         "keep_state=True")
    if X0 is not None and not np.array_equal(np.asarray(X0), warm.x):
        raise ValueError("warm_start continues from warm_start.x: pass X0=None (or that x)")
    states = _validate.input_array("warm_start.state", warm.state, dtype=np.float64)
    if states.ndim != 2 or states.shape[0] != len(warm.x):
        raise ValueError(f"warm_start.state must have one row per problem, got shape "
                         f"{states.shape} for {len(warm.x)} problems")
    return states, warm.x


def _many_bounds(bounds: Any, k: int, n: int, method: str) \
        -> tuple[np.ndarray | None, np.ndarray | None, bool]:
    """(lower, upper, per_problem): n values shared by every problem, or
    (k, n) values when a side of a pair ``(lb, ub)`` is 2-D (the other
    broadcast); (None, None, False) without bounds."""
    pair = isinstance(bounds, (tuple, list)) and len(bounds) == 2 \
        and not hasattr(bounds, "lb")
    if not (pair and any(side is not None and np.ndim(side) == 2 for side in bounds)):
        box = _box(bounds, (n,), n, method)
        return (None, None, False) if box is None else (box[0], box[1], False)
    sides = []
    for name, side, fill in (("bounds (lower)", bounds[0], -math.inf),
                             ("bounds (upper)", bounds[1], math.inf)):
        if side is not None and np.ndim(side) == 2:
            a = _bound_array(name, side, fill, (k, n), k * n)
        else:
            a = np.broadcast_to(_bound_array(name, side, fill, (n,), n), (k, n)).reshape(-1)
        sides.append(a)
    box = _box((sides[0], sides[1]), (k * n,), k * n, method)
    assert box is not None
    return box[0].reshape(k, n), box[1].reshape(k, n), True
