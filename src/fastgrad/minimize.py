"""``minimize``: gradient descent/ascent, momentum, Adam and friends, Newton,
L-BFGS(-B), BFGS, nonlinear CG and Newton-CG.

The whole loop (evaluation, update, stopping tests, divergence guard) runs in
C (``csrc/fg_minimize.c``) over a table of methods; the first-order methods
use the fused optimizer kernels of ``fastgrad.kernels``. A compiled ``fun``
(one with ``_fg_objective_capsule``) runs without the GIL; a Python ``fun``
goes through the same C loop, which takes the GIL only to call it.

Example
-------
>>> import numpy as np, fastgrad as fg
>>> res = fg.minimize(lambda x: 3 * x[0]**2 + x[1]**2, [2.0, 4.0], method="gd", lr=0.1,
...                   jac=lambda x: np.array([6 * x[0], 2 * x[1]]), record=True)
>>> res.success, res.nit
(True, 92)
>>> res.history["x"][1:3]
array([[0.8 , 3.2 ],
       [0.32, 2.56]])
"""
from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import numpy as np

from fastgrad import _minimize, _validate

__all__ = ["minimize", "OptimizeResult", "METHODS", "DEFAULT_LR"]

_TABLE: dict[str, dict[str, Any]] = _minimize.METHOD_TABLE

#: The methods and the options (``**options``) each accepts, from the C
#: method table; names and defaults of the first-order methods' options are
#: those of the optimizer classes (``fastgrad.SGD`` for gd, momentum and
#: nesterov, ``fastgrad.Adam``, ...). ``hess`` is a Python callable for the
#: methods that need a Hessian, ``hessp`` (Hessian-vector products) for
#: those that use them.
METHODS: dict[str, tuple[str, ...]] = {
    name: row["options"] + (("hess",) if row["needs_hessian"] else ())
    + (("hessp",) if row["uses_hvp"] else ())
    for name, row in _TABLE.items()}

#: Default learning rate per method: the optimizer classes' (torch.optim's)
#: defaults, so that ``minimize(method="adam")`` takes the steps of a
#: hand-written loop with ``fastgrad.Adam``; Newton's 1.0 is the full Newton
#: step (backtracking halves it when f does not decrease). A larger default
#: for gd would diverge on stiff problems; the right rate depends on the
#: curvature (gd is stable for lr < 2 / L, L the largest Hessian eigenvalue).
DEFAULT_LR: dict[str, float] = {m: _minimize.defaults(m)["lr"] for m in METHODS}

_RUN_DEFAULTS = _minimize.run_defaults()


class OptimizeResult(dict):
    """The result of :func:`minimize`: a dict with attribute access (like scipy's).

    Attributes
    ----------
    x : ndarray
        The solution (x0's shape): the last iterate, or after divergence the
        last finite one.
    fun : float
        ``f(x)``.
    jac : ndarray
        The gradient at ``x``.
    grad_norm : float
        The norm the ``tol`` test uses: ``||jac||_2``, or with bounds the
        norm of the projected gradient ``x - P(x - jac)``.
    nit, nfev, njev, nhev : int
        Updates, value, gradient and Hessian evaluations (over warm starts).
    success : bool
        True when the run met ``tol`` (status 0) or ``ftol`` (status 7).
    status : int
        0 converged, 1 maxiter, 2 diverged, 3 stopped by the callback,
        4 objective error, 5 line search failed, 6 bad learning-rate schedule
        value, 7 ftol met, 8 maxfun, 9 interrupted.
    message : str
        What ``status`` means.
    method : str
        The method.
    state : ndarray
        What ``warm_start`` continues from (the counters, ``x``, its
        gradient, the method's state); it pickles with the result.
    history : dict of ndarray
        With ``record=True``: ``x`` (one row per iterate, the start first),
        ``fun`` and ``grad_norm``.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    __setattr__ = dict.__setitem__  # type: ignore[assignment]
    __delattr__ = dict.__delitem__  # type: ignore[assignment]

    def __dir__(self) -> list[str]:
        return list(self.keys())

    def __repr__(self) -> str:
        if not self:
            return f"{type(self).__name__}()"
        width = max(map(len, self.keys())) + 1
        lines = []
        for key, value in self.items():
            if isinstance(value, dict):
                value = "{" + ", ".join(f"{k}: array{np.shape(v)}" for k, v in value.items()) + "}"
            elif key == "state":
                value = f"<{np.size(value)} values for warm_start>"
            with np.printoptions(threshold=12, edgeitems=3):
                text = value if isinstance(value, str) and key == "state" else repr(value)
                text = text.replace("\n", "\n" + " " * (width + 2))
            lines.append(f"{key.rjust(width)}: {text}")
        return "\n".join(lines)


def _option(name: str, value: Any) -> Any:
    """One method option checked against its C field (type and range)."""
    field = _minimize.OPTION_FIELDS[name]
    if field["kind"] == 1:
        return _validate.flag(name, value)
    if field["kind"] == 2:
        high = field["high"]
        return _validate.integer(name, value, low=int(field["low"]),
                                 high=int(high) if math.isfinite(high) else _validate.INT64_MAX)
    rng = dict(low=field["low"], high=field["high"], low_open=field["low_open"],
               high_open=field["high_open"])
    if field["count"] == 1:
        return _validate.real(name, value, **rng)
    if isinstance(value, np.ndarray):
        value = tuple(value) if value.ndim == 1 else value
    if not (isinstance(value, (tuple, list)) and len(value) == field["count"]):
        raise TypeError(f"{name} must be a sequence of {field['count']} numbers, got {value!r}")
    return tuple(_validate.real(f"{name}[{i}]", v, **rng) for i, v in enumerate(value))


def _options(method: str, lr: Any, line_search: str | None,
             options: dict[str, Any]) -> tuple[dict, Any, Any]:
    """The validated C options of the method, the schedule (or None) and
    hess (or None)."""
    allowed = METHODS[method]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"unknown option(s) for method={method!r}: {', '.join(unknown)}; "
                        f"it accepts {', '.join(allowed)}")
    row = _TABLE[method]
    if line_search not in _minimize.LINE_SEARCHES:
        raise ValueError(f"line_search must be None, 'none', 'armijo' or 'wolfe', got "
                         f"{line_search!r}")
    searches = row["line_searches"]
    if line_search is not None and line_search not in searches:
        raise ValueError(f"line_search={line_search!r} is not available for method={method!r}; "
                         f"it takes {', '.join(map(repr, searches))}")
    out: dict[str, Any] = {name: _option(name, v) for name, v in options.items()
                           if name not in ("hess", "hessp")}
    schedule = None
    if lr is None:
        lr = DEFAULT_LR[method]
    elif callable(lr):
        schedule = lr
        lr = 0.0
    else:
        lr = _validate.real("lr", lr, low=0.0, low_open=(method in ("newton", "newton-cg")))
    out["lr"] = lr
    out["line_search"] = line_search
    if method in ("momentum", "nesterov") and out.get("momentum", 0.9) <= 0.0:
        raise ValueError(f"method={method!r} needs momentum > 0 (use method='gd' for none)")
    if method == "gd" and line_search == "armijo":
        if schedule is not None or lr <= 0.0:
            raise ValueError("line_search='armijo' starts from the step lr: it must be a "
                             "number > 0, not a schedule")
        if out.get("weight_decay", 0.0):
            raise ValueError("line_search='armijo' searches on f itself: weight_decay must be 0 "
                             "(add the penalty to fun instead)")
    hess = options.get("hess")
    if hess is not None and not callable(hess):
        raise TypeError(f"hess must be a callable x -> (n, n) array, got {type(hess).__name__}")
    hessp = options.get("hessp")
    if hessp is not None and not callable(hessp):
        raise TypeError(f"hessp must be a callable (x, v) -> H(x) v, got {type(hessp).__name__}")
    return out, schedule, hess


def _bound_array(name: str, value: Any, fill: float, shape: tuple, n: int) -> np.ndarray:
    """One side of the box as n float64 values (None entries: no bound)."""
    if value is None:
        return np.full(n, fill)
    a = np.asarray(value, dtype=object if _has_none(value) else None)
    if a.dtype == object:
        a = np.array([fill if v is None else v for v in a.reshape(-1)]).reshape(a.shape)
    a = _validate.input_array(name, a, dtype=np.float64)
    if a.ndim == 0:
        return np.full(n, float(a))
    if a.size != n or (a.ndim > 1 and a.shape != shape):
        raise ValueError(f"{name} has shape {a.shape}, but x0 has shape {shape}")
    if np.isnan(a).any():
        raise ValueError(f"{name} must not hold NaN (use None or ±inf for no bound)")
    return a.reshape(-1)


def _has_none(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_none(v) for v in value)
    return False


def _is_pair(item: Any) -> bool:
    return isinstance(item, (tuple, list)) and len(item) == 2


def _bounds(bounds: Any, shape: tuple, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``bounds`` as (lower, upper) arrays of n values, or None for no box.

    Accepted: None; a ``scipy.optimize.Bounds`` (``lb``, ``ub``); a sequence of
    n ``(lo, hi)`` pairs (scipy's form; with n = 2 a sequence of two tuples
    or lists is read this way); a pair ``(lb, ub)`` of None, scalars or
    arrays. None or ±inf means no bound.
    """
    if bounds is None:
        return None
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lb, ub = bounds.lb, bounds.ub
    elif isinstance(bounds, (tuple, list)) and len(bounds) == n and n != 2 \
            and all(_is_pair(b) for b in bounds):
        lb, ub = [b[0] for b in bounds], [b[1] for b in bounds]
    elif isinstance(bounds, (tuple, list)) and len(bounds) == 2:
        if n == 2 and all(_is_pair(b) for b in bounds):
            lb, ub = [b[0] for b in bounds], [b[1] for b in bounds]
        else:
            lb, ub = bounds
    else:
        raise TypeError("bounds must be None, a pair (lb, ub), a sequence of n (lo, hi) "
                        f"pairs or a scipy.optimize.Bounds, got {type(bounds).__name__}")
    lower = _bound_array("bounds (lower)", lb, -math.inf, shape, n)
    upper = _bound_array("bounds (upper)", ub, math.inf, shape, n)
    if np.any(lower > upper) or np.any(lower == math.inf) or np.any(upper == -math.inf):
        raise ValueError("bounds: every lower bound must be <= its upper bound (and finite "
                         "or -inf below, finite or +inf above)")
    return lower, upper


def minimize(fun: Callable[..., Any], x0: Any, *, method: str = "adam",
             jac: Callable[..., Any] | bool | None = None, gradient: str = "auto",
             lr: float | Callable[[int], float] | None = None, tol: float = 1e-8,
             ftol: float = _RUN_DEFAULTS["ftol"], maxiter: int | None = None,
             maxfun: int | None = None, maximize: bool = False,
             callback: Callable[[OptimizeResult], Any] | None = None,
             callback_every: int = 1, record: bool = False, progress: bool = False,
             bounds: Any = None, line_search: str | None = None,
             warm_start: OptimizeResult | None = None, data: Any = None,
             batch_size: int | None = None, epochs: int | None = None, shuffle: bool = True,
             seed: Any = None, **options: Any) -> OptimizeResult:
    """Minimize (or maximize) a scalar function of an array, the loop in C.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float`` for ``x`` of ``x0``'s shape. If it has
        ``_fg_objective_capsule()`` (a compiled function, see
        ``fg_objective.h``) and ``jac`` is None, the whole loop runs in C with
        the GIL released.
    x0 : array_like of real numbers, or None with ``warm_start``
        Starting point (not modified; computed in float64). Must be finite;
        with ``bounds`` it is clipped into the box.
    method : str
        One of ``METHODS``: ``"gd"``, ``"momentum"``, ``"nesterov"``,
        ``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"adagrad"``, ``"adamax"``,
        ``"nadam"`` (the optimizer classes' rules), ``"newton"``, ``"lbfgs"``,
        ``"bfgs"``, ``"cg"``, ``"newton-cg"`` (see Notes).
    jac : callable or True, optional
        ``jac(x) -> gradient`` of x's shape, or True when ``fun`` returns
        ``(f, gradient)``. Default: ``fastgrad.differentiate.gradient(fun, x,
        method=gradient)`` (or the compiled function's own gradient).
    gradient : str
        Differentiation method when ``jac`` is None and ``fun`` is a Python
        callable: ``"auto"`` (reverse mode over f recorded at each x, see
        ``fastgrad.gradient``), ``"reverse"``, ``"dual"`` or a
        finite-difference method.
    lr : float or callable, optional
        Step size, or a schedule ``lr(t) -> float`` (t from 1, counting
        updates over warm starts; calling it takes the GIL each step).
        Default: ``DEFAULT_LR[method]`` (the optimizer classes' defaults: 1e-3
        for gd, momentum, nesterov, adam, adamw; 1e-2 for rmsprop, adagrad;
        2e-3 for adamax, nadam; 1.0 for newton). With a line search, the first
        trial step (newton, newton-cg, gd with Armijo; lbfgs, bfgs and cg
        choose their own: 1, or 1/|d| without curvature information yet, and
        ignore lr).
    tol : float
        Success when ``||grad f(x)||_2 <= tol`` (with bounds, the projected
        gradient ``x - P(x - grad f(x))``), tested before every step.
    ftol : float
        For lbfgs, bfgs and cg: success when ``(f_k - f_{k+1}) /
        max(|f_k|, |f_{k+1}|, 1) <= ftol``, scipy's L-BFGS-B rule (0: only
        when f stops decreasing in floating point).
    maxiter : int, optional
        At most this many updates in this call (default 10,000; with
        ``batch_size``, no limit but ``epochs``).
    maxfun : int, optional
        At most this many evaluations of ``fun`` in this call (the first
        included); None for no limit.
    maximize : bool
        Gradient ascent (Newton: maximize f).
    callback : callable, optional
        ``callback(intermediate)`` with an :class:`OptimizeResult` (x, fun,
        jac, grad_norm, nit, nfev, njev) every ``callback_every`` updates;
        returning True (or ``numpy.True_``) or raising ``StopIteration``
        stops the run (status 3).
    callback_every : int
        Call ``callback`` on updates that are multiples of this.
    record : bool
        Keep the history (x, fun, grad_norm of every iterate, the start
        included; memory ``(maxiter + 1) * (n + 2)`` doubles).
    progress : bool
        Write a progress line (iteration, f, ||grad||) to stderr, refreshed
        at most every 0.2 s.
    bounds : optional
        A box for the methods that support it (the first-order methods, by
        projection; lbfgs as L-BFGS-B): iterates never leave it. None, a
        pair ``(lb, ub)`` of scalars or arrays (None or ±inf: no bound), a
        sequence of n ``(lo, hi)`` pairs as in scipy (with n = 2, two tuples
        or lists are read as pairs: pass arrays for ``(lb, ub)``), or a
        ``scipy.optimize.Bounds``. Other methods raise ``ValueError``.
    line_search : {None, "none", "armijo", "wolfe"}
        None: the method's default (none for the first-order methods,
        Armijo backtracking for newton and newton-cg, strong Wolfe for
        lbfgs, bfgs and cg, which take only it); "none": the step ``lr`` as
        is; newton-cg also takes "wolfe".
        ``method="gd", line_search="armijo"`` adapts its step to the local
        Lipschitz constant: each step starts at twice the last one and halves
        until ``f(x+) <= f(x) + g.(x+ - x) / 2``.
    warm_start : OptimizeResult, optional
        A result of this method on the same problem to continue (its ``x``,
        counters, step counter and optimizer state): a run split in two
        equals the uninterrupted run bit for bit. ``x0`` must then be None or
        equal ``warm_start.x``; ``maxiter`` and ``maxfun`` count this call.
    data : tuple of array_like, optional
        Data arrays ``(X, y, ...)`` for ``fun(x, X, y, ...)``: a compiled
        function with data inputs (``compile(f, shape, data=...)``) is
        evaluated on them in C (full batch, any method); a Python callable
        (and ``jac``, ``hess``, ``hessp``) is called with them after x.
    batch_size, epochs, shuffle, seed
        Minibatch training (``fastgrad.stochastic``): with ``batch_size=B``
        and a ``fun`` compiled with data inputs, each update uses B rows
        (first axis) of every array of ``data``; epoch e visits the rows in
        the order of the e-th ``numpy.random.default_rng(seed).permutation(m)``
        (in order with ``shuffle=False``), the last batch may be shorter, and
        the run stops after ``epochs`` epochs (or ``maxiter`` updates).
        First-order methods only; ``nit`` and ``lr`` schedules count updates;
        ``fun``, ``jac`` and ``grad_norm`` are on all rows at ``x``;
        ``callback`` and ``progress`` act per epoch (``callback_every``
        epochs), ``record=True`` gives ``history["epoch_fun"]`` (the loss on
        all rows after each epoch) and ``history["fun"]`` (each update's
        batch loss). ``tol`` and ``ftol`` do not apply.
    **options
        The method's options, by the optimizer classes' names (see
        ``METHODS``): gd: weight_decay; momentum: momentum (0.9), dampening,
        weight_decay; nesterov: momentum (0.9), weight_decay; adam/adamw:
        betas, eps, weight_decay (adamw 1e-2), amsgrad; rmsprop: alpha, eps,
        weight_decay, momentum, centered; adagrad: lr_decay, weight_decay,
        initial_accumulator_value, eps; adamax: betas, eps, weight_decay;
        nadam: betas, eps, weight_decay, momentum_decay,
        decoupled_weight_decay; newton: hess (a callable x -> (n, n), for
        Python ``fun``), newton_mu0 (first Levenberg shift, relative);
        lbfgs: m (pairs kept, 10); newton-cg: hessp (a callable
        (x, v) -> H(x) v for Python ``fun``; a compiled ``fun`` uses its own
        ``hvp``; without either, forward differences of the gradient).

    Returns
    -------
    OptimizeResult
        ``x, fun, jac, grad_norm, nit, nfev, njev, nhev, success, status,
        message, method, state`` and with ``record=True`` ``history``.

    Raises
    ------
    ValueError
        Unknown method, non-finite x0, x0 of another size than a compiled
        ``fun``, out-of-range values (tol < 0, maxiter < 0, bad
        hyperparameters, bounds with lb > ub or for a method without them, a
        line search the method does not take, a warm start of another
        method or size).
    TypeError
        Unknown option names (named in the message), wrong argument types
        (a string or bool where a number is meant, a float where an integer
        is meant), ``jac=True`` with a ``fun`` that returns no pair.

    Notes
    -----
    Gradient descent: ``x <- x - lr * grad f(x)`` (ascent: ``+``). Momentum,
    Nesterov, Adam, AdamW, RMSprop and Adagrad follow ``torch.optim`` (the
    kernels of ``fastgrad.kernels``), bit for bit like the optimizer classes,
    except that Adam's ``beta**t`` is a running product (cheaper than a
    ``pow`` per step), which in rare steps differs from ``pow`` in the last
    bit. With bounds, each update is projected onto the box.

    Newton: ``x <- x - s (H + mu I)^{-1} grad f`` with ``mu = 0`` when the
    Hessian ``H`` is positive definite (else the smallest of ``newton_mu0 *
    max|H_ii| * 10^k`` that makes Cholesky succeed) and ``s = lr, lr/2, ...``
    the first step that decreases f enough (Armijo, c = 1e-4).

    The quasi-Newton family searches along a direction d for a step that
    meets the strong Wolfe conditions (Moré-Thuente, c1 = 1e-4, c2 = 0.9;
    cg 0.4; a trial whose value or gradient is not finite shrinks the step):
    lbfgs ``d = -H g`` from the last ``m`` pairs (s, y), with bounds
    L-BFGS-B (generalized Cauchy point, subspace step, projection; ``tol``
    tests the projected gradient); bfgs the dense inverse-Hessian update
    (n up to a few hundred); cg Polak-Ribière+ with restarts. newton-cg:
    truncated CG on Hessian-vector products (``nhev`` counts them), then
    Armijo backtracking from ``lr``. When a search finds no step, the
    method drops its curvature information and tries the steepest descent
    once; failing again, the run stops (status 5) at the best point found.
    Stops when ``||grad f||_2 <= tol`` (success), for lbfgs, bfgs and cg
    on ``ftol`` (success), after ``maxiter`` updates or ``maxfun``
    evaluations (a search cut short by ``maxfun`` still takes its best
    trial). If a value, gradient or iterate is not
    finite, the run stops with ``success=False`` (status 2) and ``x`` the
    last finite iterate. Ctrl-C raises ``KeyboardInterrupt`` within about
    50 ms (plus one evaluation), also while the loop runs without the GIL.

    Examples
    --------
    >>> import numpy as np, fastgrad as fg
    >>> rosen = lambda x: (1 - x[0])**2 + 100 * (x[1] - x[0]**2)**2
    >>> rosen_grad = lambda x: np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0]**2),
    ...                                  200 * (x[1] - x[0]**2)])
    >>> res = fg.minimize(rosen, [-1.2, 1.0], method="adam", lr=1e-2, jac=rosen_grad,
    ...                   maxiter=20000, tol=1e-6)
    >>> res.success, np.allclose(res.x, [1, 1], atol=1e-5)
    (True, True)

    A box (x <= 0.5, y free: the minimum is on the edge), in two runs, the
    second continuing the first:

    >>> box = [(None, 0.5), (None, None)]
    >>> half = fg.minimize(rosen, [-1.2, 1.0], method="adam", lr=1e-2, jac=rosen_grad,
    ...                    bounds=box, maxiter=1000)
    >>> rest = fg.minimize(rosen, None, method="adam", lr=1e-2, jac=rosen_grad,
    ...                    bounds=box, maxiter=19000, warm_start=half)
    >>> rest.success, rest.nit, np.round(rest.x, 6)
    (True, 1747, array([0.5 , 0.25]))
    """
    _check_method(method, fun)
    if batch_size is not None:
        for name, value in (("jac", jac), ("maxfun", maxfun), ("warm_start", warm_start)):
            if value is not None:
                raise ValueError(f"{name} is not available with batch_size")
        from fastgrad.stochastic import minimize_batches
        return minimize_batches(
            fun, x0, data=data, batch_size=batch_size, epochs=epochs, shuffle=shuffle,
            seed=seed, method=method, lr=lr, maxiter=maxiter, maximize=maximize,
            callback=callback, callback_every=callback_every, record=record,
            progress=progress, bounds=bounds, line_search=line_search, options=options)
    if maxiter is None:
        maxiter = 10_000
    if data is not None:
        fun, jac, options = _on_data(fun, jac, data, options)
    state = None
    if warm_start is not None:
        state, x0 = _warm_state(warm_start, method, x0)
    x = _validate.input_array("x0", x0, dtype=np.float64, finite=True)
    shape = x.shape
    x = x.reshape(-1)
    setup = _setup(fun, x.size, "x0", method=method, jac=jac, gradient=gradient, lr=lr, tol=tol,
                   ftol=ftol, maxiter=maxiter, maxfun=maxfun, maximize=maximize,
                   callback=callback, callback_every=callback_every, record=record,
                   progress=progress, line_search=line_search, options=options)
    box = _box(bounds, shape, x.size, method)
    if box is not None:
        np.clip(x, box[0], box[1], out=x)
    raw = _run(setup, x, shape, box, state)
    return _result(raw, x, shape, method)


class _Setup(NamedTuple):
    """A validated run, ready for ``_minimize.run`` (shared with minimize_many)."""
    objective: Any                  # a compiled function, or x -> (f, g)
    compiled: bool
    method: str
    options: dict[str, Any]         # the C options by field name
    schedule: Callable[[int], float] | None
    hess: Callable[[np.ndarray], np.ndarray] | None
    hessp: Callable[..., Any] | None
    on_callback: Callable[..., bool] | None
    callback_every: int
    record: bool
    progress: bool


def _check_method(method: Any, fun: Any) -> None:
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")


def _setup(fun: Any, size: int, x_name: str, *, method: Any, jac: Any, gradient: Any, lr: Any,
           tol: Any, ftol: Any, maxiter: Any, maxfun: Any, maximize: Any, callback: Any,
           callback_every: Any, record: Any, progress: Any, line_search: Any,
           options: dict[str, Any]) -> _Setup:
    """Every argument of minimize but x0, bounds and warm_start checked (x0's
    size ``size``, named ``x_name`` in errors), and the objective the C loop
    calls."""
    _check_method(method, fun)
    compiled = jac is None and hasattr(fun, "_fg_objective_capsule")
    fun_size = getattr(fun, "size", None)
    if compiled and isinstance(fun_size, int) and fun_size != size:
        # before the capsule (and its workspace) exists
        raise ValueError(f"{x_name} has {size} elements but the compiled objective takes "
                         f"{fun_size}")
    run_options = dict(
        tol=_validate.real("tol", tol, low=0.0),
        ftol=_validate.real("ftol", ftol, low=0.0),
        maxiter=_validate.integer("maxiter", maxiter, low=0),
        maxfun=_RUN_DEFAULTS["maxfun"] if maxfun is None else
        _validate.integer("maxfun", maxfun, low=1),
        maximize=_validate.flag("maximize", maximize))
    callback_every = _validate.integer("callback_every", callback_every, low=1)
    record = _validate.flag("record", record)
    progress = _validate.flag("progress", progress)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    if not isinstance(gradient, str):
        raise TypeError(f"gradient must be a method name, got {type(gradient).__name__}")
    c_options, schedule, hess = _options(method, lr, line_search, options)
    c_options.update(run_options)
    if compiled:
        objective: Any = fun
    else:
        objective = _python_objective(fun, jac, gradient)
        if _TABLE[method]["needs_hessian"] and hess is None:
            hess = _default_hessian(fun, gradient)
    if hess is not None:
        hess = _float64_result(hess)
    return _Setup(objective, compiled, method, c_options, schedule, hess, options.get("hessp"),
                  None if callback is None else _callback_adapter(callback), callback_every,
                  record, progress)


def _float64_result(fn: Callable[[np.ndarray], Any]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: np.asarray(fn(x), dtype=np.float64)


def _box(bounds: Any, shape: tuple, n: int,
         method: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``_bounds``, refused for a method without bounds."""
    box = _bounds(bounds, shape, n)
    if box is not None and not _TABLE[method]["supports_bounds"]:
        takers = ", ".join(name for name, row in _TABLE.items() if row["supports_bounds"])
        raise ValueError(f"method={method!r} does not take bounds; these methods do: {takers}")
    return box


def _run(s: _Setup, x: np.ndarray, shape: tuple, box: tuple[np.ndarray, np.ndarray] | None,
         state: np.ndarray | None, *, raise_errors: bool = True,
         progress: bool | None = None) -> dict[str, Any]:
    """One run of the C loop from x (in place) over the setup."""
    return _minimize.run(
        s.objective, x, s.method, s.options, on_callback=s.on_callback,
        callback_every=s.callback_every, record=s.record,
        progress=s.progress if progress is None else progress, schedule=s.schedule,
        shape=shape, lower=None if box is None else box[0],
        upper=None if box is None else box[1], state=state, hess=s.hess, hessp=s.hessp,
        raise_errors=raise_errors)


def _result(raw: dict[str, Any], x: np.ndarray, shape: tuple, method: str) -> OptimizeResult:
    """The OptimizeResult of one run (raw: what ``_minimize.run`` returned)."""
    res = OptimizeResult(
        x=x.reshape(shape), fun=raw["f"], jac=raw["grad"].reshape(shape),
        grad_norm=raw["grad_norm"], nit=raw["nit"], nfev=raw["nfev"], njev=raw["njev"],
        nhev=raw["nhev"], success=raw["success"], status=raw["stop_code"],
        message=raw["message"], method=method, state=raw["state"])
    if "history" in raw:
        h = raw["history"]
        res["history"] = dict(x=h["x"].reshape((-1,) + shape), fun=h["fun"],
                              grad_norm=h["grad_norm"])
    return res


def _on_data(fun: Callable, jac: Any, data: Any, options: dict) -> tuple:
    """fun, jac and the options' hess/hessp evaluated on ``data`` (full
    batch): a compiled function with data inputs bound to them (its capsules
    then read them, the loop stays in C), a Python callable called as
    ``fun(x, *data)``."""
    if isinstance(data, np.ndarray) or not isinstance(data, (tuple, list)):
        raise TypeError(f"data must be a tuple of arrays (data=(X, y)), got "
                        f"{type(data).__name__}")
    if hasattr(fun, "with_data") and jac is None:
        return fun.with_data(*data), jac, options
    data = tuple(data)

    def on_data(g: Any) -> Any:
        return g if not callable(g) else (lambda x, *rest: g(x, *data, *rest))
    options = dict(options)
    for key in ("hess", "hessp"):
        if key in options:
            options[key] = on_data(options[key])
    return on_data(fun), (jac if jac is None or jac is True else on_data(jac)), options


def _warm_state(warm: Any, method: str, x0: Any) -> tuple[np.ndarray, np.ndarray]:
    """The carried state of a result to continue, and the x it continues from."""
    if not isinstance(warm, dict) or "state" not in warm or "x" not in warm:
        raise TypeError(f"warm_start must be a result of minimize, got {type(warm).__name__}")
    if warm.get("method") != method:
        raise ValueError(f"warm_start is a result of method={warm.get('method')!r}; it can "
                         f"only continue that method, not {method!r}")
    x = np.asarray(warm["x"])
    if x0 is not None and not np.array_equal(np.asarray(x0), x):
        raise ValueError("warm_start continues from warm_start.x: pass x0=None (or that x)")
    state = _validate.input_array("warm_start.state", warm["state"], dtype=np.float64)
    return state.reshape(-1), x


def _python_objective(fun: Callable, jac: Any, gradient: str) -> Callable:
    """x -> (f, g) for the C loop's Python trampoline."""
    if jac is True:
        def value_grad(x):
            out = fun(x)
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError("with jac=True, fun must return a pair (f, gradient); it "
                                f"returned {type(out).__name__}")
            return out
    elif callable(jac):
        def value_grad(x):
            return fun(x), jac(x)
    elif jac is None or jac is False:
        try:
            from fastgrad.differentiate import value_and_gradient
        except ImportError as exc:  # the differentiation module is optional here
            raise ImportError("minimize needs fastgrad.differentiate to differentiate fun; "
                              "pass jac=callable instead") from exc

        def value_grad(x):
            return value_and_gradient(fun, x, method=gradient)
    else:
        raise TypeError(f"jac must be a callable, True or None, got {type(jac).__name__}")
    return value_grad


def _default_hessian(fun: Callable, gradient: str) -> Callable:
    try:
        from fastgrad.differentiate import hessian
    except ImportError as exc:
        raise ImportError("method='newton' needs fastgrad.differentiate for the Hessian of "
                          "a Python function; pass hess=callable instead") from exc
    return lambda x: hessian(fun, x, method=gradient)


def _callback_adapter(callback: Callable, **extra: Any) -> Callable:
    """The C loop's callback hook for callback(intermediate) (``extra``: more
    fields of the intermediate result)."""
    def on_callback(nit, x, f, g, gnorm, nfev, njev):
        inter = OptimizeResult(x=x, fun=f, jac=g, grad_norm=gnorm, nit=nit, nfev=nfev,
                               njev=njev, **extra)
        stop = callback(inter)
        # True stops (scipy); so does NumPy's True, which comparisons return
        return stop is True or (isinstance(stop, np.bool_) and bool(stop))
    return on_callback
