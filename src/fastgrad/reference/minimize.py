"""Plain Python/NumPy twin of ``fastgrad.minimize``: the tests' oracle.

The same loop as the C driver (stopping tests before each step, a step that
either yields a finite new iterate or stops the run, the last finite iterate
kept), with the first-order updates taken from
``fastgrad.reference.optimizers`` (the textbook torch.optim rules) and
Newton and the line searches written out in NumPy.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from fastgrad.reference import optimizers as ropt

__all__ = ["minimize"]

_DEFAULTS: dict[str, dict[str, Any]] = {
    "gd": dict(lr=1e-3, weight_decay=0.0),
    "momentum": dict(lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0),
    "nesterov": dict(lr=1e-3, momentum=0.9, weight_decay=0.0),
    "adam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False),
    "adamw": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False),
    "rmsprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                    centered=False),
    "adagrad": dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                    eps=1e-10),
    "adamax": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0),
    "nadam": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                  decoupled_weight_decay=False),
    "newton": dict(lr=1.0, hess=None, newton_mu0=1e-3),
}
_DEFAULT_LINE_SEARCH = {"newton": "armijo"}
_FTOL_METHODS: set[str] = set()

_MESSAGES = {
    0: "converged: the gradient norm is at most tol",
    1: "maximum number of iterations reached before the gradient norm fell to tol",
    2: "diverged: a non-finite value or gradient appeared; x is the last finite iterate",
    3: "stopped by the callback",
    5: "line search failed: no acceptable step along the search direction; x is the last "
       "accepted iterate",
    7: "converged: the relative decrease of f is at most ftol",
    8: "maximum number of function evaluations reached before the gradient norm fell to tol",
}


class _Result(dict):
    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


class _Stop(Exception):
    """A run's end, with its status."""

    def __init__(self, status: int):
        self.status = status


class _Objective:
    """Counted evaluations; ``maxfev`` refuses (status 8) past the budget."""

    def __init__(self, fun, jac, hess, shape, maxfev):
        self.fun, self.jac, self.hess, self.shape = fun, jac, hess, shape
        self.nfev = self.nhev = 0
        self.maxfev = maxfev

    def value_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        if self.nfev >= self.maxfev:
            raise _Stop(8)
        self.nfev += 1
        return self.evaluate(x)

    def evaluate(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """f and its gradient at x, not counted."""
        xs = x.reshape(self.shape)
        if self.jac is True:
            f, g = self.fun(xs)
        elif callable(self.jac):
            f, g = self.fun(xs), self.jac(xs)
        else:
            f, g = self.fun(xs), self.fun.gradient(xs)
        return float(f), np.asarray(g, dtype=np.float64).reshape(-1)

    def hessian(self, x: np.ndarray) -> np.ndarray:
        self.nhev += 1
        return np.asarray(self.hess(x.reshape(self.shape)), dtype=np.float64).reshape(
            x.size, x.size)


def _finite(*arrays) -> bool:
    return all(np.all(np.isfinite(a)) for a in arrays)


def _armijo(phi: Callable, f0: float, slope0: float, c1: float, alpha0: float, shrink: float,
            max_evals: int, approx_eps: float = 0.0) -> tuple[float, Any]:
    """Backtracking: the first alpha = alpha0 * shrink^k whose phi(alpha) =
    (signed f, lin, lin_end, payload) is finite and has f <= f0 + c1 *
    alpha * slope0 (or, when phi gives lin, f <= f0 + c1 * lin), or with
    approx_eps > 0 Hager and Zhang's approximate form f <= f0 + approx_eps *
    |f0| and lin_end <= (2 c1 - 1) lin. Raises _Stop(5) if none."""
    alpha = alpha0
    for _ in range(max_evals):
        trial = phi(alpha)
        if trial is not None:
            f, lin, lin_end, payload = trial
            bound = f0 + c1 * lin if lin is not None else f0 + c1 * alpha * slope0
            if f <= bound:
                return alpha, payload
            if approx_eps > 0 and f <= f0 + approx_eps * abs(f0) and \
                    lin_end <= (2 * c1 - 1) * lin:
                return alpha, payload
        alpha *= shrink
    raise _Stop(5)


#: each first-order method's state buffers, by reference.optimizers' names
_BUFFERS: dict[str, tuple[str, ...]] = {
    "gd": ("momentum_buffer",), "momentum": ("momentum_buffer",),
    "nesterov": ("momentum_buffer",),
    "adam": ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
    "adamw": ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
    "rmsprop": ("square_avg", "momentum_buffer", "grad_avg"),
    "adagrad": ("state_sum",),
    "adamax": ("exp_avg", "exp_inf"),
    "nadam": ("exp_avg", "exp_avg_sq"),
}


class _FirstOrder:
    """One optimizer's state and its update through reference.optimizers."""

    def __init__(self, method: str, h: dict, n: int, maximize: bool):
        self.method, self.h, self.maximize = method, h, maximize
        self.buffers = {name: np.zeros(n) for name in _BUFFERS[method]}
        if method == "adagrad":
            self.buffers["state_sum"][:] = h["initial_accumulator_value"]
        self.mu_product = 1.0   # NAdam's scalar state

    def step(self, x: np.ndarray, g: np.ndarray, lr: float, t: int) -> np.ndarray:
        h, b, m, mx = self.h, self.buffers, self.method, self.maximize
        p = x.copy()
        if m in ("gd", "momentum", "nesterov"):
            ropt.sgd_step(p, g, b["momentum_buffer"], t, lr,
                          momentum=0.0 if m == "gd" else h["momentum"],
                          dampening=h.get("dampening", 0.0), weight_decay=h["weight_decay"],
                          nesterov=m == "nesterov", maximize=mx)
        elif m in ("adam", "adamw"):
            beta1, beta2 = h["betas"]
            ropt.adam_step(p, g, b["exp_avg"], b["exp_avg_sq"], t, lr, beta1, beta2, h["eps"],
                           h["weight_decay"], amsgrad=h["amsgrad"],
                           max_exp_avg_sq=b["max_exp_avg_sq"], maximize=mx,
                           decoupled=m == "adamw")
        elif m == "adamax":
            beta1, beta2 = h["betas"]
            ropt.adamax_step(p, g, b["exp_avg"], b["exp_inf"], t, lr, beta1, beta2, h["eps"],
                             h["weight_decay"], maximize=mx)
        elif m == "nadam":
            beta1, beta2 = h["betas"]
            self.mu_product = ropt.nadam_step(
                p, g, b["exp_avg"], b["exp_avg_sq"], t, lr, beta1, beta2, h["eps"],
                h["weight_decay"], h["momentum_decay"], mu_product=self.mu_product,
                decoupled_weight_decay=h["decoupled_weight_decay"], maximize=mx)
        elif m == "rmsprop":
            ropt.rmsprop_step(p, g, b["square_avg"], t, lr, h["alpha"], h["eps"],
                              h["weight_decay"], h["momentum"], h["centered"],
                              momentum_buffer=b["momentum_buffer"], grad_avg=b["grad_avg"],
                              maximize=mx)
        else:
            ropt.adagrad_step(p, g, b["state_sum"], t, lr, h["lr_decay"], h["weight_decay"],
                              h["eps"], maximize=mx)
        return p


def _newton_step(obj: _Objective, x, f, g, lr, mu0, sign, line_search):
    H = obj.hessian(x)
    if not _finite(H):
        raise _Stop(2)
    Hs = sign * np.tril(H)
    Hs = Hs + np.tril(Hs, -1).T          # the lower triangle is what the C code reads
    mu, maxdiag = 0.0, np.max(np.abs(np.diag(H))) if H.size else 0.0
    for _ in range(100):
        try:
            L = np.linalg.cholesky(Hs + mu * np.eye(len(x)))
            break
        except np.linalg.LinAlgError:
            mu = max(mu0 * maxdiag, mu0) if mu == 0.0 else 10 * mu
    else:
        raise _Stop(5)
    d = np.linalg.solve(L.T, np.linalg.solve(L, -sign * g))
    slope = sign * g @ d

    def phi(alpha):
        xt = x + alpha * d
        if not _finite(xt):
            return None
        ft, gt = obj.value_grad(xt)
        return (sign * ft, None, None, (xt, ft, gt)) if _finite(ft, gt) else None

    if line_search == "none":
        out = phi(lr)
        if out is None:
            raise _Stop(2)
        return out[3]
    return _armijo(phi, sign * f, slope, 1e-4, lr, 0.5, 61)[1]


def _gd_armijo_step(obj: _Objective, x, f, g, step, sign, box):
    """Projected gradient descent whose step starts at twice the last one and
    halves until f(x+) <= f(x) + g.(x+ - x) / 2 (signed for maximizing), or
    the approximate form of that test near the minimum."""
    def phi(alpha):
        xt = x - sign * alpha * g
        if box is not None:
            xt = np.clip(xt, box[0], box[1])
        if not _finite(xt):
            return None
        lin = sign * (g @ (xt - x))
        ft, gt = obj.value_grad(xt)
        if not _finite(ft, gt):
            return None
        return sign * ft, lin, sign * (gt @ (xt - x)), (xt, ft, gt)

    return _armijo(phi, sign * f, 0.0, 0.5, 2.0 * step, 0.5, 64, approx_eps=1e-6)


def _tol_norm(x, g, sign, box) -> float:
    if box is None:
        return float(np.sqrt(np.sum(g * g)))
    return float(np.linalg.norm(x - np.clip(x - sign * g, box[0], box[1])))


def _start(x0: Any, bounds: Any) -> tuple[tuple, np.ndarray, tuple[np.ndarray, ...] | None]:
    """x0's shape; x0 as a flat float64 copy, clipped into the box; and the
    box: the pair (lb, ub) broadcast to x's size, or None without bounds."""
    shape = np.shape(x0)
    x = np.array(x0, dtype=np.float64).reshape(-1)
    if bounds is None:
        return shape, x, None
    box = tuple(np.broadcast_to(np.asarray(b, dtype=np.float64), x.shape) for b in bounds)
    return shape, np.clip(x, box[0], box[1]), box


def minimize(fun: Callable, x0: Any, *, method: str = "adam", jac: Any = None,
             gradient: str = "dual", lr: Any = None, tol: float = 1e-8,
             ftol: float = 2.220446049250313e-09, maxiter: int = 10_000,
             maxfun: int | None = None, maximize: bool = False,
             callback: Callable | None = None, callback_every: int = 1,
             record: bool = False, progress: bool = False, bounds: Any = None,
             line_search: str | None = None, **options: Any) -> dict:
    """Reference minimize loop; same signature and result fields as ``fastgrad.minimize``.

    The gradient is ``jac(x)``, ``fun(x)[1]`` with ``jac=True``, or
    ``fun.gradient(x)`` for a compiled function; Newton's Hessian is
    ``options["hess"](x)`` or ``fun.hessian(x)``. ``bounds`` is ``None`` or
    a pair ``(lb, ub)`` of arrays. ``gradient`` and ``progress`` are accepted
    and ignored.
    """
    if method in ("lbfgs", "bfgs", "cg", "newton-cg"):
        # the quasi-Newton family's twins (imported here: they import this module)
        from fastgrad.reference.quasi_newton import QUASI_NEWTON
        if lr is not None:
            options["lr"] = lr
        return QUASI_NEWTON[method](
            fun, x0, jac=jac, tol=tol, ftol=ftol, maxiter=maxiter, maxfun=maxfun,
            maximize=maximize, callback=callback, callback_every=callback_every, record=record,
            bounds=bounds, line_search=line_search, **options)
    if method not in _DEFAULTS:
        raise ValueError(f"unknown method {method!r}")
    unknown = set(options) - set(_DEFAULTS[method]) - {"lr"}
    if unknown:
        raise TypeError(f"unknown option(s) for method={method!r}: {', '.join(sorted(unknown))}")
    h = dict(_DEFAULTS[method], **options)
    line_search = line_search or _DEFAULT_LINE_SEARCH.get(method, "none")
    schedule = lr if callable(lr) else None
    base_lr = h["lr"] if lr is None else lr
    shape, x, box = _start(x0, bounds)
    sign = -1.0 if maximize else 1.0
    obj = _Objective(fun, jac, h.get("hess") or getattr(fun, "hessian", None), shape,
                     math.inf if maxfun is None else maxfun)
    opt = _FirstOrder(method, h, x.size, maximize) if method in _BUFFERS else None
    step = base_lr                      # gd with Armijo: the adaptive step
    hist: list[tuple[np.ndarray, float, float]] = []
    status = None
    t = 0
    f, g = math.nan, np.full(x.size, math.nan)
    try:
        f, g = obj.value_grad(x)
        if not _finite(f, g):
            raise _Stop(2)
        hist.append((x.copy(), f, _tol_norm(x, g, sign, box)))
        while True:
            if hist[-1][2] <= tol:
                raise _Stop(0)
            if t >= maxiter:
                raise _Stop(1)
            if obj.nfev >= obj.maxfev:
                raise _Stop(8)
            t += 1
            step_lr = float(schedule(t)) if schedule else base_lr
            if method == "newton":
                x, f_new, g = _newton_step(obj, x, f, g, step_lr, h["newton_mu0"], sign,
                                           line_search)
            elif line_search == "armijo":
                step, (x, f_new, g) = _gd_armijo_step(obj, x, f, g, step, sign, box)
            else:
                assert opt is not None
                xn = opt.step(x, g, step_lr, t)
                if not _finite(xn):
                    raise _Stop(2)
                if box is not None:
                    xn = np.clip(xn, box[0], box[1])
                fn, gnew = obj.value_grad(xn)
                if not _finite(fn, gnew):
                    raise _Stop(2)
                x, f_new, g = xn, fn, gnew
            f_old, f = f, f_new
            hist.append((x.copy(), f, _tol_norm(x, g, sign, box)))
            if callback is not None and t % callback_every == 0:
                inter = _Result(x=x.reshape(shape).copy(), fun=f, jac=g.reshape(shape).copy(),
                                grad_norm=hist[-1][2], nit=t)
                try:
                    stop = callback(inter)
                except StopIteration:
                    stop = True
                if stop is True or (isinstance(stop, np.bool_) and stop):
                    raise _Stop(3)
            if method in _FTOL_METHODS and \
                    sign * (f_old - f) <= ftol * max(abs(f_old), abs(f), 1.0):
                raise _Stop(7)
    except _Stop as end:
        status = end.status
    gn = math.nan                       # no row: x0's value or gradient was not finite
    if hist:
        x, f, gn = hist[-1]
    res = _Result(x=x.reshape(shape), fun=f, jac=g.reshape(shape), grad_norm=gn,
                  nit=max(len(hist) - 1, 0), nfev=obj.nfev, njev=obj.nfev, nhev=obj.nhev,
                  success=status in (0, 7), status=status, message=_MESSAGES[status],
                  method=method)
    if record:
        res["history"] = dict(x=np.array([r[0] for r in hist]).reshape((-1,) + shape),
                              fun=np.array([r[1] for r in hist]),
                              grad_norm=np.array([r[2] for r in hist]))
    return res

