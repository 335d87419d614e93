"""``minimize``: gradient descent/ascent, momentum, Adam and friends, Newton.

The whole loop (evaluation, update, stopping test, divergence guard) runs in
C (``csrc/fg_minimize.c``) with the fused optimizer kernels of
``fastgrad.kernels``. A compiled ``fun`` (one with ``_fg_objective_capsule``)
runs without the GIL; a Python ``fun`` goes through the same C loop, which
re-takes the GIL only to call it.

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
import numbers
from typing import Any, Callable

import numpy as np

from fastgrad import _minimize

__all__ = ["minimize", "OptimizeResult", "METHODS", "DEFAULT_LR"]

#: The methods and the hyperparameters (``**options``) each accepts; names and
#: defaults are those of the optimizer classes (``fastgrad.SGD`` for gd,
#: momentum and nesterov, ``fastgrad.Adam``, ...).
METHODS: dict[str, tuple[str, ...]] = {
    "gd": ("weight_decay",),
    "momentum": ("momentum", "dampening", "weight_decay"),
    "nesterov": ("momentum", "weight_decay"),
    "adam": ("betas", "eps", "weight_decay", "amsgrad"),
    "adamw": ("betas", "eps", "weight_decay", "amsgrad"),
    "rmsprop": ("alpha", "eps", "weight_decay", "momentum", "centered"),
    "adagrad": ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"),
    "newton": ("hess", "newton_mu0"),
}

#: Default learning rate per method: the optimizer classes' (torch.optim's)
#: defaults, so that ``minimize(method="adam")`` takes the steps of a
#: hand-written loop with ``fastgrad.Adam``; Newton's 1.0 is the full Newton
#: step (backtracking halves it when f does not decrease). A larger default
#: for gd would diverge on stiff problems; the right rate depends on the
#: curvature (gd is stable for lr < 2 / L, L the largest Hessian eigenvalue).
DEFAULT_LR: dict[str, float] = {m: _minimize.defaults(m)["lr"] for m in METHODS}

_STATUS = {"converged": 0, "maxiter": 1, "diverged": 2, "callback": 3,
           "objective_error": 4, "linesearch_failed": 5, "schedule_error": 6}


class OptimizeResult(dict):
    """The result of :func:`minimize`: a dict with attribute access (like scipy's).

    Fields: ``x`` (the solution, or after divergence the last finite
    iterate), ``fun`` (f(x)), ``jac`` (the gradient at x), ``grad_norm``
    (its 2-norm), ``nit`` (iterations), ``nfev``, ``njev``, ``nhev`` (value,
    gradient and Hessian evaluations), ``success`` (the gradient norm reached
    tol), ``status`` (0 converged, 1 maxiter, 2 diverged, 3 stopped by the
    callback, 4 objective error, 5 Newton line search failed, 6 bad
    learning-rate schedule value), ``message``, ``method``, and with
    ``record=True`` ``history``: a dict of arrays ``x`` (one row per
    iterate, x0 first), ``fun`` and ``grad_norm``.
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
            with np.printoptions(threshold=12, edgeitems=3):
                text = repr(value).replace("\n", "\n" + " " * (width + 2))
            lines.append(f"{key.rjust(width)}: {text}")
        return "\n".join(lines)


def _check_number(name: str, value: Any, low: float, high: float = math.inf,
                  high_open: bool = False, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    ok = math.isfinite(v) and (v > low if low_open else v >= low) and (
        v < high if high_open else v <= high)
    if not ok:
        lo = f"> {low}" if low_open else f">= {low}"
        hi = "" if high == math.inf else (f" and < {high}" if high_open else f" and <= {high}")
        raise ValueError(f"{name} must be a finite number {lo}{hi}, got {value!r}")
    return v


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    return int(value)


def _hyperparameters(method: str, lr: Any, options: dict[str, Any]) -> tuple[dict, Any, Any]:
    """Validated C option fields, the schedule (or None) and hess (or None)."""
    allowed = METHODS[method]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"unknown option(s) for method={method!r}: {', '.join(unknown)}; "
                        f"it accepts {', '.join(allowed)}")
    d = _minimize.defaults(method)
    d.update({k: v for k, v in options.items() if k != "hess"})
    schedule = None
    if lr is None:
        lr = d["lr"]
    elif callable(lr):
        schedule = lr
        lr = 0.0
    else:
        lr = _check_number("lr", lr, 0.0, low_open=(method == "newton"))
    betas = d.pop("betas")
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    h = dict(lr=lr, beta1=_check_number("betas[0]", betas[0], 0.0, 1.0, high_open=True),
             beta2=_check_number("betas[1]", betas[1], 0.0, 1.0, high_open=True))
    for name in ("momentum", "weight_decay", "eps", "alpha", "lr_decay",
                 "initial_accumulator_value"):
        h[name] = _check_number(name, d[name], 0.0)
    h["dampening"] = _check_number("dampening", d["dampening"], -math.inf)
    h["newton_mu0"] = _check_number("newton_mu0", d["newton_mu0"], 0.0, low_open=True)
    h["amsgrad"] = bool(d["amsgrad"])
    h["centered"] = bool(d["centered"])
    if method in ("momentum", "nesterov") and h["momentum"] <= 0.0:
        raise ValueError(f"method={method!r} needs momentum > 0 (use method='gd' for none)")
    hess = options.get("hess")
    if hess is not None and not callable(hess):
        raise TypeError(f"hess must be a callable x -> (n, n) array, got {type(hess).__name__}")
    return h, schedule, hess


def minimize(fun: Callable[..., Any], x0: Any, *, method: str = "adam",
             jac: Callable[..., Any] | bool | None = None, gradient: str = "dual",
             lr: float | Callable[[int], float] | None = None, tol: float = 1e-8,
             maxiter: int = 10_000, maximize: bool = False,
             callback: Callable[[OptimizeResult], Any] | None = None,
             callback_every: int = 1, record: bool = False, progress: bool = False,
             **options: Any) -> OptimizeResult:
    """Minimize (or maximize) a scalar function of an array, the loop in C.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float`` for ``x`` of ``x0``'s shape. If it has
        ``_fg_objective_capsule()`` (a compiled function, see
        ``fg_objective.h``) and ``jac`` is None, the whole loop runs in C with
        the GIL released.
    x0 : array_like of real numbers
        Starting point (not modified; computed in float64). Must be finite.
    method : {"gd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad", "newton"}
        The update rule (the optimizer classes' rules; see Notes).
    jac : callable or True, optional
        ``jac(x) -> gradient`` of x's shape, or True when ``fun`` returns
        ``(f, gradient)``. Default: ``fastgrad.differentiate.gradient(fun, x,
        method=gradient)`` (or the compiled function's own gradient).
    gradient : str
        Differentiation method when ``jac`` is None and ``fun`` is a Python
        callable (``"dual"`` or a finite-difference method).
    lr : float or callable, optional
        Step size, or a schedule ``lr(t) -> float`` (t from 1; calling it
        re-takes the GIL each step). Default: ``DEFAULT_LR[method]`` (the
        optimizer classes' defaults: 1e-3 for gd, momentum, nesterov, adam,
        adamw; 1e-2 for rmsprop, adagrad; 1.0 for newton).
    tol : float
        Success when ``||grad f(x)||_2 <= tol`` (tested before every step,
        x0 included).
    maxiter : int
        At most this many updates.
    maximize : bool
        Gradient ascent (Newton: maximize f).
    callback : callable, optional
        ``callback(intermediate)`` with an :class:`OptimizeResult` (x, fun,
        jac, grad_norm, nit, nfev, njev) every ``callback_every`` iterations;
        returning True or raising ``StopIteration`` stops the run (status 3).
    callback_every : int
        Call ``callback`` on iterations that are multiples of this.
    record : bool
        Keep the history (x, fun, grad_norm of every iterate, x0 included;
        memory ``(maxiter + 1) * (n + 2)`` doubles).
    progress : bool
        Write a progress line (iteration, f, ||grad||) to stderr, refreshed
        at most every 0.2 s.
    **options
        The method's hyperparameters, by the optimizer classes' names:
        gd: weight_decay; momentum: momentum (0.9), dampening, weight_decay;
        nesterov: momentum (0.9), weight_decay; adam/adamw: betas, eps,
        weight_decay (adamw 1e-2), amsgrad; rmsprop: alpha, eps,
        weight_decay, momentum, centered; adagrad: lr_decay, weight_decay,
        initial_accumulator_value, eps; newton: hess (a callable x -> (n, n),
        for Python ``fun``), newton_mu0 (first Levenberg shift, relative).

    Returns
    -------
    OptimizeResult
        ``x, fun, jac, grad_norm, nit, nfev, njev, nhev, success, status,
        message, method`` and with ``record=True`` ``history``.

    Raises
    ------
    ValueError
        Unknown method, non-finite x0, tol < 0, maxiter < 0, bad
        hyperparameter values.
    TypeError
        Unknown option names (named in the message), wrong argument types.

    Notes
    -----
    Gradient descent: ``x <- x - lr * grad f(x)`` (ascent: ``+``). Momentum,
    Nesterov, Adam, AdamW, RMSprop and Adagrad follow ``torch.optim`` (the
    kernels of ``fastgrad.kernels``), bit for bit like the optimizer classes,
    except that Adam's ``beta**t`` is a running product (cheaper than a
    ``pow`` per step), which in rare steps differs from ``pow`` in the last
    bit. Newton: ``x <- x - s (H + mu I)^{-1}
    grad f`` with ``mu = 0`` when the Hessian ``H`` is positive definite (else
    the smallest of ``newton_mu0 * max|H_ii| * 10^k`` that makes Cholesky
    succeed) and ``s = lr, lr/2, ...`` the first step that decreases f
    enough (Armijo, c = 1e-4). Stops when ``||grad f||_2 <= tol`` (success)
    or after ``maxiter`` updates. If a value or gradient is not finite, the
    run stops with ``success=False`` (status 2) and ``x`` the last finite
    iterate.

    Example
    -------
    >>> import numpy as np, fastgrad as fg
    >>> rosen = lambda x: (1 - x[0])**2 + 100 * (x[1] - x[0]**2)**2
    >>> rosen_grad = lambda x: np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0]**2),
    ...                                  200 * (x[1] - x[0]**2)])
    >>> res = fg.minimize(rosen, [-1.2, 1.0], method="adam", lr=1e-2, jac=rosen_grad,
    ...                   maxiter=20000, tol=1e-6)
    >>> res.success, np.allclose(res.x, [1, 1], atol=1e-5)
    (True, True)
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    x = np.asarray(x0)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"x0 must hold real numbers, got dtype {x.dtype}")
    shape = x.shape
    x = np.array(x, dtype=np.float64, order="C").reshape(-1)  # a copy: x0 is never modified
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 must be finite (it holds NaN or infinity)")
    tol = _check_number("tol", tol, 0.0)
    maxiter = _check_int("maxiter", maxiter, 0)
    callback_every = _check_int("callback_every", callback_every, 1)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    if not isinstance(gradient, str):
        raise TypeError(f"gradient must be a method name, got {type(gradient).__name__}")
    hyper, schedule, hess = _hyperparameters(method, lr, options)

    compiled = jac is None and hasattr(fun, "_fg_objective_capsule")
    if compiled:
        objective: Any = fun
    else:
        objective = _python_objective(fun, jac, gradient, shape)
        if method == "newton" and hess is None:
            hess = _default_hessian(fun, gradient)
    on_callback = None if callback is None else _callback_adapter(callback)

    raw = _minimize.run(objective, x, method, hyper, tol, maxiter, bool(maximize), on_callback,
                        callback_every, bool(record), bool(progress), schedule, shape,
                        hess=None if hess is None else
                        (lambda xx: np.asarray(hess(xx), dtype=np.float64)))
    res = OptimizeResult(
        x=x.reshape(shape), fun=raw["f"], jac=raw["grad"].reshape(shape),
        grad_norm=raw["grad_norm"], nit=raw["nit"], nfev=raw["nfev"], njev=raw["njev"],
        nhev=raw["nhev"], success=raw["stop"] == "converged", status=raw["stop_code"],
        message=raw["message"], method=method)
    if record:
        h = raw["history"]
        res["history"] = dict(x=h["x"].reshape((-1,) + shape), fun=h["fun"],
                              grad_norm=h["grad_norm"])
    return res


def _python_objective(fun: Callable, jac: Any, gradient: str, shape: tuple) -> Callable:
    """x -> (f, g) for the C loop's Python trampoline."""
    if jac is True:
        def value_grad(x):
            f, g = fun(x)
            return f, g
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


def _callback_adapter(callback: Callable) -> Callable:
    def on_callback(nit, x, f, g, gnorm, nfev, njev):
        inter = OptimizeResult(x=x, fun=f, jac=g, grad_norm=gnorm, nit=nit, nfev=nfev,
                               njev=njev)
        return callback(inter) is True
    return on_callback
