"""Plain Python/NumPy twin of ``fastgrad.minimize``: the tests' oracle.

The same loop as ``csrc/fg_minimize.c`` (stop test before each step,
divergence guard keeping the last finite iterate, Newton with a Levenberg
shift and Armijo backtracking), with each update written out as its textbook
formula in NumPy (the torch.optim rules, without fused multiply-adds).
"""
from __future__ import annotations

import math
from typing import Any, Callable, cast

import numpy as np

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
    "newton": dict(lr=1.0, hess=None, newton_mu0=1e-3),
}

_MESSAGES = {
    0: "converged: the gradient norm is at most tol",
    1: "maximum number of iterations reached before the gradient norm fell to tol",
    2: "diverged: a non-finite value or gradient appeared; x is the last finite iterate",
    3: "stopped by the callback",
    5: "Newton line search failed: no decrease of f along the Newton direction",
}


class _Result(dict):
    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


class _FirstOrder:
    """One method's state and its update x <- x + delta (textbook NumPy)."""

    def __init__(self, method: str, h: dict, n: int, maximize: bool):
        self.method, self.h, self.sign = method, h, -1.0 if maximize else 1.0
        self.buf: np.ndarray | None = None               # momentum buffers
        self.m = np.zeros(n); self.v = np.zeros(n); self.vmax = np.zeros(n)
        self.gavg = np.zeros(n)
        self.acc = np.full(n, float(h.get("initial_accumulator_value", 0.0)))

    def step(self, x: np.ndarray, g: np.ndarray, lr: float, t: int) -> np.ndarray:
        h, meth = self.h, self.method
        g = self.sign * g
        wd = h.get("weight_decay", 0.0)
        if meth in ("gd", "momentum", "nesterov"):
            if wd:
                g = g + wd * x
            if meth == "gd":
                return x - lr * g
            mu = h["momentum"]
            damp = h.get("dampening", 0.0)
            self.buf = g.copy() if self.buf is None else mu * self.buf + (1 - damp) * g
            d = g + mu * self.buf if meth == "nesterov" else self.buf
            return x - lr * d
        if meth in ("adam", "adamw"):
            b1, b2 = h["betas"]
            if meth == "adamw":
                x = x * (1 - lr * wd)
            elif wd:
                g = g + wd * x
            self.m = b1 * self.m + (1 - b1) * g
            self.v = b2 * self.v + (1 - b2) * g * g
            v = self.v
            if h["amsgrad"]:
                self.vmax = np.maximum(self.vmax, self.v)
                v = self.vmax
            mhat_scale = lr / (1 - b1 ** t)
            denom = np.sqrt(v) / math.sqrt(1 - b2 ** t) + h["eps"]
            return x - mhat_scale * self.m / denom
        if meth == "rmsprop":
            a = h["alpha"]
            if wd:
                g = g + wd * x
            self.v = a * self.v + (1 - a) * g * g
            if h["centered"]:
                self.gavg = a * self.gavg + (1 - a) * g
                avg = np.sqrt(self.v - self.gavg ** 2) + h["eps"]
            else:
                avg = np.sqrt(self.v) + h["eps"]
            if h["momentum"] > 0:
                self.buf = (np.zeros_like(x) if self.buf is None else self.buf * h["momentum"]) \
                    + g / avg
                return x - lr * self.buf
            return x - lr * g / avg
        # adagrad
        if wd:
            g = g + wd * x
        clr = lr / (1 + (t - 1) * h["lr_decay"])
        self.acc = self.acc + g * g
        return x - clr * g / (np.sqrt(self.acc) + h["eps"])


def _newton_step(f, g, H, x, lr, mu0, value_grad, maximize, counts):
    sign = -1.0 if maximize else 1.0
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
        return None
    d = np.linalg.solve(L.T, np.linalg.solve(L, -sign * g))
    slope = sign * g @ d
    s = lr
    for _ in range(61):
        xt = x + s * d
        ft, gt = value_grad(xt)
        counts[0] += 1
        if np.isfinite(ft) and np.all(np.isfinite(gt)) and sign * ft <= sign * f + 1e-4 * s * slope:
            return xt, ft, gt
        s *= 0.5
    return None


def minimize(fun: Callable, x0: Any, *, method: str = "adam", jac: Any = None,
             gradient: str = "dual", lr: Any = None, tol: float = 1e-8,
             maxiter: int = 10_000, maximize: bool = False, callback: Callable | None = None,
             callback_every: int = 1, record: bool = False, progress: bool = False,
             **options: Any) -> dict:
    """Reference minimize loop; same signature and result fields as ``fastgrad.minimize``.

    The gradient is ``jac(x)``, ``fun(x)[1]`` with ``jac=True``, or
    ``fun.gradient(x)`` for a compiled function; Newton's Hessian is
    ``options["hess"](x)`` or ``fun.hessian(x)``. ``gradient`` and
    ``progress`` are accepted and ignored.
    """
    if method not in _DEFAULTS:
        raise ValueError(f"unknown method {method!r}")
    unknown = set(options) - set(_DEFAULTS[method]) - {"lr"}
    if unknown:
        raise TypeError(f"unknown option(s) for method={method!r}: {', '.join(sorted(unknown))}")
    h = dict(_DEFAULTS[method], **options)
    schedule = lr if callable(lr) else None
    base_lr = h["lr"] if lr is None else lr
    shape = np.shape(x0)
    x = np.array(x0, dtype=np.float64).reshape(-1)

    def value_grad(xx):
        xs = xx.reshape(shape)
        if jac is True:
            f, g = fun(xs)
        elif callable(jac):
            f, g = fun(xs), jac(xs)
        else:
            f, g = fun(xs), fun.gradient(xs)
        return float(f), np.asarray(g, dtype=np.float64).reshape(-1)

    # newton only; without hess= or fun.hessian it is None and the call fails, as before
    hess = cast(Callable, h.get("hess") or getattr(fun, "hessian", None))
    f, g = value_grad(x)
    counts = [1, 0]  # nfev (== njev), nhev
    hist = [(x.copy(), f, float(np.linalg.norm(g)))]
    status = None
    if not (np.isfinite(f) and np.all(np.isfinite(g))):
        status = 2
    opt = None if method == "newton" else _FirstOrder(method, h, x.size, maximize)
    t = 0
    while status is None:
        gn = float(np.sqrt(np.sum(g * g)))
        if gn <= tol:
            status = 0
            break
        if t >= maxiter:
            status = 1
            break
        t += 1
        step_lr = float(schedule(t)) if schedule else base_lr
        if method == "newton":
            H = np.asarray(hess(x.reshape(shape)), dtype=np.float64).reshape(x.size, x.size)
            counts[1] += 1
            out = _newton_step(f, g, H, x, step_lr, h["newton_mu0"], value_grad, maximize, counts)
            if out is None:
                status = 5
                break
            x, f, g = out
        else:
            assert opt is not None      # set for every method but newton
            xn = opt.step(x, g, step_lr, t)
            if not np.all(np.isfinite(xn)):
                status = 2
                break
            fn, gnew = value_grad(xn)
            counts[0] += 1
            if not (np.isfinite(fn) and np.all(np.isfinite(gnew))):
                status = 2
                break
            x, f, g = xn, fn, gnew
        hist.append((x.copy(), f, float(np.sqrt(np.sum(g * g)))))
        if callback is not None and t % callback_every == 0:
            inter = _Result(x=x.reshape(shape).copy(), fun=f, jac=g.reshape(shape).copy(),
                            grad_norm=hist[-1][2], nit=t)
            try:
                stop = callback(inter) is True
            except StopIteration:
                stop = True
            if stop:
                status = 3
    res = _Result(x=x.reshape(shape), fun=f, jac=g.reshape(shape),
                  grad_norm=float(np.sqrt(np.sum(g * g))), nit=len(hist) - 1,
                  nfev=counts[0], njev=counts[0], nhev=counts[1], success=status == 0,
                  status=status, message=_MESSAGES[status], method=method)
    if record:
        res["history"] = dict(x=np.array([r[0] for r in hist]).reshape((-1,) + shape),
                              fun=np.array([r[1] for r in hist]),
                              grad_norm=np.array([r[2] for r in hist]))
    return res
