"""Plain-NumPy twins of ``minimize``'s quasi-Newton family: the tests' oracle.

Methods (Nocedal & Wright, *Numerical Optimization*, 2nd ed.; N&W below):

- ``lbfgs``: limited-memory BFGS with the last ``m`` pairs s = x+ - x,
  y = g+ - g. Without bounds the direction is the two-loop recursion
  (N&W Algorithm 7.4) with H0 = (s.y / y.y) I. With bounds it is L-BFGS-B
  (Byrd, Lu, Nocedal & Zhu 1995): the generalized Cauchy point along the
  projected steepest-descent path of the compact quadratic model
  B = theta I - W M W^T, then a subspace minimization over the variables
  the Cauchy point left free, projected back onto the box (Morales &
  Nocedal 2011), truncated to the box when the projection is no descent
  direction. Stops on the projected gradient x - P(x - g).
- ``bfgs``: the dense inverse-Hessian update (N&W 6.17), H0 scaled by
  s.y / y.y before the first update (N&W 6.20).
- ``cg``: nonlinear conjugate gradients, Polak-Ribière+ (N&W 5.45):
  beta = max(0, g+.(g+ - g) / g.g), a steepest-descent restart whenever the
  direction is not a descent direction.
- ``newton-cg``: line-search Newton-CG (N&W Algorithm 7.1): truncated CG on
  Hessian-vector products, forcing term min(0.5, sqrt|g|), on negative
  curvature the CG iterate so far, or at the first CG step the steepest
  descent scaled by |g|^2 / |g.Hg|; then Armijo backtracking from ``lr``
  (1; or the strong-Wolfe search with ``line_search="wolfe"``). Hessian-
  vector products: ``hessp``, a compiled function's ``hvp``, else a forward
  difference of the gradient (counted in nhev only).

lbfgs, bfgs and cg use the strong-Wolfe search of
:mod:`fastgrad.reference.linesearch` (c1 = 1e-4; c2 = 0.9, cg 0.4), first
trial 1 (the quasi-Newton step), or 1/|d| when there is no curvature
information yet (with bounds at most 1, and 1 when every variable has both
bounds); cg's first trial repeats the previous step's decrease
(N&W 3.60). A trial with a non-finite value or gradient shrinks the step
and never becomes the iterate. When the search finds no decrease, the
quasi-Newton methods drop their curvature information and retry along the
steepest descent once; if that fails too, the run stops (status 5) at the
best point found.

The loop: evaluate x0; before each step stop on ``grad_norm <= tol``
(the projected gradient with bounds), ``maxiter`` steps or ``maxfun``
evaluations; after each step of lbfgs, bfgs and cg stop on a relative
decrease ``(f_k - f_k+1) / max(|f_k|, |f_k+1|, 1) <= ftol``. ``maxfun``
is never exceeded: a search that runs out takes its best trial (when it
does not increase f), and the run stops (status 8) before the next step.
The C loop's structure, step for step; dot products sum in NumPy's order,
so the two agree to rounding.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from fastgrad.reference.linesearch import LineSearchResult, armijo, wolfe
from fastgrad.reference.minimize import _MESSAGES, _Objective, _Result

__all__ = ["minimize_lbfgs", "minimize_bfgs", "minimize_cg", "minimize_newton_cg",
           "QUASI_NEWTON", "parse_bounds"]

_EPS = np.finfo(np.float64).eps
#: Largest line-search step (scipy's L-BFGS-B bound on the step).
_STEP_MAX = 1e10



def parse_bounds(bounds: Any, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(lower, upper) arrays of n values (+-inf: no bound) or None.

    ``bounds``: None; an object with ``lb`` and ``ub`` (scipy's ``Bounds``);
    a sequence of n ``(lo, hi)`` tuples or lists (scipy's form, preferred
    when both readings fit, as for n = 2); or a pair ``(lb, ub)`` of scalars
    or arrays. None means no bound.
    """
    if bounds is None:
        return None
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        pair = (bounds.lb, bounds.ub)
    elif len(bounds) == n and all(isinstance(b, (tuple, list)) and len(b) == 2 for b in bounds):
        pair = ([b[0] for b in bounds], [b[1] for b in bounds])
    else:
        pair = tuple(bounds)

    def side(v: Any, default: float) -> np.ndarray:
        a = np.array(v, dtype=object).reshape(-1) if v is not None else np.array([None])
        a = np.array([default if e is None else float(e) for e in a], dtype=np.float64)
        return np.broadcast_to(a, (n,)).copy()

    lo, hi = side(pair[0], -np.inf), side(pair[1], np.inf)
    if np.any(lo > hi):
        raise ValueError("bounds: a lower bound exceeds its upper bound")
    if np.all(np.isinf(lo)) and np.all(np.isinf(hi)):
        return None
    return lo, hi


class _Evaluator(_Objective):
    """Counted evaluations of sign * f and its gradient (sign = -1 maximizes);
    ``__call__`` returns None once ``maxfev`` evaluations are spent."""

    def __init__(self, fun: Any, jac: Any, hessp: Any, shape: tuple, sign: float,
                 maxfev: int):
        super().__init__(fun, jac, None, shape, maxfev)
        self.hessp, self.sign = hessp, sign

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray] | None:
        if self.nfev >= self.maxfev:
            return None
        f, g = self.value_grad(x)
        return self.sign * f, self.sign * g

    def hvp(self, x: np.ndarray, g: np.ndarray, v: np.ndarray) -> np.ndarray:
        """sign * H(x) v: ``hessp(x, v)``, ``fun.hvp(x, v)`` of a compiled
        function, else a forward difference of the gradient (one gradient
        evaluation, counted here and not in nfev)."""
        self.nhev += 1
        xs, vs = x.reshape(self.shape), v.reshape(self.shape)
        if self.hessp is not None:
            hv = self.hessp(xs, vs)
        elif self.jac is None and hasattr(self.fun, "hvp"):
            hv = self.fun.hvp(xs, vs)
        else:
            h = math.sqrt(_EPS) * max(1.0, float(np.linalg.norm(x))) / float(np.linalg.norm(v))
            return (self.sign * self.evaluate(x + h * v)[1] - g) / h
        return self.sign * np.asarray(hv, dtype=np.float64).reshape(-1)


def _line(ev: _Evaluator, x: np.ndarray, d: np.ndarray,
          box: tuple[np.ndarray, np.ndarray] | None) -> Callable:
    """phi(a) = f(x + a d) for the line searches; payload (x + a d, g)."""
    def phi(a: float):
        xt = x + a * d
        if box is not None:
            xt = np.clip(xt, box[0], box[1])   # rounding must not leave the box
        out = ev(xt)
        if out is None:
            return None
        f, g = out
        return f, float(g @ d), (xt, g)
    return phi


def _accepted(res: LineSearchResult) -> bool:
    return res.status in ("converged", "best") or (res.status == "budget" and res.step > 0)


# ------------------------------------------------------------------ L-BFGS --

def _two_loop(g: np.ndarray, S: list, Y: list, theta: float) -> np.ndarray:
    """-H g by the two-loop recursion, H0 = I / theta (theta = y.y / s.y of
    the newest pair)."""
    q = g.copy()
    alphas = []
    for s, y in zip(reversed(S), reversed(Y)):
        a = (s @ q) / (s @ y)
        alphas.append(a)
        q -= a * y
    r = q / theta
    for s, y, a in zip(S, Y, reversed(alphas)):
        b = (y @ r) / (s @ y)
        r += (a - b) * s
    return -r


def _compact(S: list, Y: list, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """W = [Y, theta S] and the middle matrix K with B = theta I - W K^-1 W^T:
    K = [[-D, L^T], [L, theta S^T S]], D = diag(s_i.y_i), L the strictly
    lower triangle of S^T Y (BLNZ 1995, eq. 3.3)."""
    Sm, Ym = np.array(S).T, np.array(Y).T
    SY = Sm.T @ Ym
    L = np.tril(SY, -1)
    K = np.block([[-np.diag(np.diag(SY)), L.T], [L, theta * (Sm.T @ Sm)]])
    return np.hstack([Ym, theta * Sm]), K


def _schur_definite(S: list, Y: list, theta: float) -> bool:
    """Whether theta S^T S + L D^-1 L^T, K's Schur complement (through which
    the C code applies M = K^-1), is numerically positive definite."""
    Sm, Ym = np.array(S).T, np.array(Y).T
    SY = Sm.T @ Ym
    L = np.tril(SY, -1)
    try:
        np.linalg.cholesky(theta * (Sm.T @ Sm) + L @ np.diag(1 / np.diag(SY)) @ L.T)
    except np.linalg.LinAlgError:
        return False
    return True


def _cauchy_point(x, g, lo, hi, theta, W, M):
    """The generalized Cauchy point: the first local minimizer of the model
    m(z) = g.z + z.B z / 2 along the projected path P(x - t g), t >= 0
    (BLNZ 1995, Algorithm CP). Returns (xc, c = W^T (xc - x), active), where
    active marks the variables held at a bound."""
    t = np.full(x.size, np.inf)
    down, up = g > 0, g < 0
    t[down] = (x[down] - lo[down]) / g[down]
    t[up] = (x[up] - hi[up]) / g[up]
    active = t == 0.0                          # at a bound, the gradient points out
    d = np.where(active, 0.0, -g)
    xc = x.copy()
    p, c = W.T @ d, np.zeros(W.shape[1])
    fp = -(d @ d)                              # m' and m'' along the segment
    if fp == 0.0:
        return xc, c, active
    fpp = -theta * fp - p @ M @ p
    fpp0 = fpp
    dt_min = -fp / fpp
    t_old = 0.0
    for b in sorted(np.flatnonzero((t > 0) & np.isfinite(t)), key=lambda i: t[i]):
        dt = t[b] - t_old
        if dt_min < dt:
            break
        # variable b reaches its bound at t[b]: it leaves the path
        xc[b] = hi[b] if d[b] > 0 else lo[b]
        zb, gb, wb = xc[b] - x[b], g[b], W[b]
        c += dt * p
        fp += dt * fpp + gb * gb + theta * gb * zb - gb * (wb @ M @ c)
        fpp -= theta * gb * gb + 2.0 * gb * (wb @ M @ p) + gb * gb * (wb @ M @ wb)
        fpp = max(fpp, _EPS * fpp0)
        p += gb * wb
        d[b] = 0.0
        active[b] = True
        dt_min = -fp / fpp
        t_old = t[b]
    dt_min = max(dt_min, 0.0)
    t_old += dt_min
    moving = d != 0.0
    xc[moving] = np.clip(x[moving] + t_old * d[moving], lo[moving], hi[moving])
    c += dt_min * p
    return xc, c, active


def _subspace_min(x, g, lo, hi, xc, c, free, theta, W, K, M):
    """Minimize the model over the free variables from xc (the direct primal
    method, BLNZ 1995 section 5.1), project onto the box; where the
    projected point is no descent direction from x, truncate the step to
    the box instead (Morales & Nocedal 2011)."""
    xbar = xc.copy()
    if not free.any():
        return xbar
    Wf = W[free]
    r = g[free] + theta * (xc[free] - x[free]) - Wf @ (M @ c)
    # B_F^-1 = I/theta + Wf (K - Wf^T Wf / theta)^-1 Wf^T / theta^2 (Sherman-Morrison-Woodbury)
    du = -r / theta
    if W.shape[1]:
        try:
            du -= Wf @ np.linalg.solve(K - Wf.T @ Wf / theta, Wf.T @ r) / theta ** 2
        except np.linalg.LinAlgError:
            pass                                # singular: the steepest-descent part only
    xbar[free] = np.clip(xc[free] + du, lo[free], hi[free])
    if (xbar - x) @ g > 0.0:
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(du > 0, (hi[free] - xc[free]) / du,
                            np.where(du < 0, (lo[free] - xc[free]) / du, np.inf))
        alpha = min(1.0, float(np.min(room)))
        xbar[free] = xc[free] + alpha * du
    return xbar


def _box_step_max(x: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(d > 0, (hi - x) / d, np.where(d < 0, (lo - x) / d, np.inf))
    return float(min(_STEP_MAX, np.min(room)))


class _LBFGS:
    c2 = 0.9

    def __init__(self, n: int, options: dict, box):
        self.m = int(options.get("m", 10))
        self.box = box
        self.S: list = []
        self.Y: list = []
        self.theta = 1.0

    def forget(self) -> bool:
        had = bool(self.S)
        self.S, self.Y, self.theta = [], [], 1.0
        return had

    def direction(self, x: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, float]:
        if self.box is None:
            return _two_loop(g, self.S, self.Y, self.theta), _STEP_MAX
        lo, hi = self.box
        if self.S and not _schur_definite(self.S, self.Y, self.theta):
            self.forget()                       # rounding broke definiteness: start afresh
        if self.S:
            W, K = _compact(self.S, self.Y, self.theta)
            M = np.linalg.inv(K)
        else:
            W, K, M = np.zeros((x.size, 0)), np.zeros((0, 0)), np.zeros((0, 0))
        xc, c, active = _cauchy_point(x, g, lo, hi, self.theta, W, M)
        free = ~active & (lo < hi)
        d = _subspace_min(x, g, lo, hi, xc, c, free, self.theta, W, K, M) - x
        return d, _box_step_max(x, d, lo, hi)

    def update(self, s: np.ndarray, y: np.ndarray) -> None:
        sy, yy = s @ y, y @ y
        if not sy > _EPS * yy:
            return                              # no positive curvature: keep the pairs
        self.S.append(s)
        self.Y.append(y)
        if len(self.S) > self.m:
            del self.S[0], self.Y[0]
        self.theta = yy / sy

    def has_curvature(self) -> bool:
        return bool(self.S)


class _BFGS:
    c2 = 0.9

    def __init__(self, n: int, options: dict, box):
        self.box = None
        self.H: np.ndarray | None = None         # None: the identity, not yet scaled

    def forget(self) -> bool:
        had = self.H is not None
        self.H = None
        return had

    def direction(self, x, g):
        return (-g if self.H is None else -(self.H @ g)), _STEP_MAX

    def update(self, s, y):
        sy, yy = s @ y, y @ y
        if not sy > _EPS * yy:
            return
        if self.H is None:
            self.H = np.eye(s.size) * (sy / yy)
        rho = 1.0 / sy
        Hy = self.H @ y
        # (I - rho s y^T) H (I - rho y s^T) + rho s s^T, expanded (H symmetric)
        self.H = (self.H - rho * (np.outer(s, Hy) + np.outer(Hy, s))
                  + (rho * rho * (y @ Hy) + rho) * np.outer(s, s))

    def has_curvature(self) -> bool:
        return self.H is not None


class _CG:
    c2 = 0.4

    def __init__(self, n: int, options: dict, box):
        self.box = None
        self.d: np.ndarray | None = None
        self.g: np.ndarray | None = None

    def forget(self) -> bool:
        had = self.d is not None
        self.d = None
        return had

    def direction(self, x, g):
        d = -g
        if self.d is not None:
            beta = max(0.0, (g @ (g - self.g)) / (self.g @ self.g))
            d = -g + beta * self.d
            if not g @ d < 0.0:
                d = -g                          # not a descent direction: restart
        return d, _STEP_MAX

    def update(self, s, y):
        pass

    def has_curvature(self) -> bool:
        return False


class _QuasiNewtonStep:
    """One iteration of lbfgs/bfgs/cg: direction, strong-Wolfe search, update."""

    def __init__(self, method: _LBFGS | _BFGS | _CG):
        self.method = method
        self.prev_decrease: float | None = None   # cg: step * slope of the last search

    def first_trial(self, d: np.ndarray, slope: float, step_max: float) -> tuple[float, float]:
        """(first trial step, largest step) of the search along d."""
        meth = self.method
        if isinstance(meth, _CG):
            if self.prev_decrease is None or meth.d is None:
                a = 1.0 / float(np.linalg.norm(d))
            else:
                a = self.prev_decrease / slope  # N&W 3.60: the last step's decrease
        elif meth.has_curvature():
            a = 1.0
        elif meth.box is None:
            a = 1.0 / float(np.linalg.norm(d))
        else:
            # Bounded, no curvature yet: d leads to the Cauchy point P(x - g),
            # the farthest point worth trying; a unit-length trial when some
            # variable is unbounded (L-BFGS-B's rule)
            step_max = 1.0
            boxed = np.all(np.isfinite(meth.box[0]) & np.isfinite(meth.box[1]))
            a = 1.0 if boxed else 1.0 / float(np.linalg.norm(d))
        return min(a, step_max), step_max

    def __call__(self, ev: _Evaluator, x: np.ndarray, f: float, g: np.ndarray):
        meth = self.method
        while True:
            d, step_max = meth.direction(x, g)
            slope = float(g @ d)
            res = LineSearchResult(0.0, f, slope, None, 0, "failed")
            if slope < 0.0 and step_max > 0.0:
                a0, step_max = self.first_trial(d, slope, step_max)
                res = wolfe(_line(ev, x, d, meth.box), f, slope, a0, c2=meth.c2,
                            step_max=step_max)
            if _accepted(res):
                break
            if res.status == "budget":
                return None, 8
            if not meth.forget():
                return None, 5
        xn, gn = res.payload
        meth.update(xn - x, gn - g)
        if isinstance(meth, _CG):
            meth.d, meth.g = d, g
            self.prev_decrease = res.step * slope
        # with the budget spent the best trial is still taken; the loop's
        # maxfun test stops the run before the next step
        return (xn, res.value, gn), None


class _NewtonCG:
    """Line-search Newton-CG (N&W Algorithm 7.1) with Armijo backtracking."""

    def __init__(self, n: int, options: dict, line_search: str):
        self.cg_maxiter = 20 * n
        self.lr = float(options.get("lr") or 1.0)
        self.line_search = line_search

    def direction(self, ev: _Evaluator, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        gnorm = float(np.linalg.norm(g))
        eps = min(0.5, math.sqrt(gnorm)) * gnorm
        z = np.zeros_like(g)
        r, p = g.copy(), -g
        rr = r @ r
        for j in range(self.cg_maxiter):
            Bp = ev.hvp(x, g, p)
            curv = p @ Bp
            if not math.isfinite(curv):
                return -g if j == 0 else z      # a non-finite product: no curvature known
            if curv <= 0.0:                     # no positive curvature along p
                if j > 0:
                    return z
                # steepest descent, scaled by the curvature's magnitude when known
                return -g if curv == 0.0 else (rr / -curv) * -g
            a = rr / curv
            z = z + a * p
            r = r + a * Bp
            rr_new = r @ r
            if math.sqrt(rr_new) < eps:
                break
            p = -r + (rr_new / rr) * p
            rr = rr_new
        return z

    def __call__(self, ev, x, f, g):
        d = self.direction(ev, x, g)
        slope = float(g @ d)
        if self.line_search == "wolfe":
            res = wolfe(_line(ev, x, d, None), f, slope, self.lr)
        else:
            res = armijo(_line(ev, x, d, None), f, slope, self.lr)
        if _accepted(res):
            xn, gn = res.payload
            return (xn, res.value, gn), None
        return None, 8 if res.status == "budget" else 5


def _projected_norm(x: np.ndarray, g: np.ndarray, box) -> float:
    if box is None:
        return float(np.sqrt(np.sum(g * g)))
    return float(np.linalg.norm(np.clip(x - g, box[0], box[1]) - x))


def _run(method: str, fun: Callable, x0: Any, *, jac: Any, tol: float, ftol: float,
         maxiter: int, maxfun: int | None, maximize: bool, callback: Callable | None,
         callback_every: int, record: bool, bounds: Any, line_search: str | None,
         options: dict) -> _Result:
    shape = np.shape(x0)
    x = np.array(x0, dtype=np.float64).reshape(-1)
    n = x.size
    box = parse_bounds(bounds, n)
    if box is not None:
        if method != "lbfgs":
            raise ValueError(f"bounds: method={method!r} does not support bounds")
        x = np.clip(x, box[0], box[1])
    sign = -1.0 if maximize else 1.0
    ev = _Evaluator(fun, jac, options.pop("hessp", None), shape, sign,
                    maxfun if maxfun is not None else 2**63 - 1)
    step: Any
    if method == "newton-cg":
        step = _NewtonCG(n, options, line_search or "armijo")
    elif line_search not in (None, "wolfe"):
        raise ValueError(f"line_search={line_search!r} is not available for method={method!r}")
    else:
        meth: _LBFGS | _BFGS | _CG = (_LBFGS(n, options, box) if method == "lbfgs" else
                                      _BFGS(n, options, box) if method == "bfgs" else
                                      _CG(n, options, box))
        step = _QuasiNewtonStep(meth)
    first = ev(x)
    assert first is not None
    fs, g = first
    gnorm = _projected_norm(x, g, box)
    hist = [(x.copy(), sign * fs, gnorm)]
    status = None if (math.isfinite(fs) and np.all(np.isfinite(g))) else 2
    t = 0
    while status is None:
        if gnorm <= tol:
            status = 0
            break
        if t >= maxiter:
            status = 1
            break
        if ev.nfev >= ev.maxfev:
            status = 8
            break
        t += 1
        moved, status = step(ev, x, fs, g)
        if moved is None:
            break
        f_old = fs
        x, fs, g = moved
        gnorm = _projected_norm(x, g, box)
        hist.append((x.copy(), sign * fs, gnorm))
        if callback is not None and t % callback_every == 0 and status is None:
            inter = _Result(x=x.reshape(shape).copy(), fun=sign * fs,
                            jac=(sign * g).reshape(shape), grad_norm=gnorm, nit=t)
            try:
                stop = callback(inter)
            except StopIteration:
                stop = True
            if stop is True or (isinstance(stop, np.bool_) and stop):
                status = 3
        if (status is None and method != "newton-cg"
                and f_old - fs <= ftol * max(abs(f_old), abs(fs), 1.0)):
            status = 7
    res = _Result(x=x.reshape(shape), fun=sign * fs, jac=(sign * g).reshape(shape),
                  grad_norm=gnorm, nit=len(hist) - 1, nfev=ev.nfev, njev=ev.nfev,
                  nhev=ev.nhev, success=status in (0, 7), status=status,
                  message=_MESSAGES[status], method=method)
    if record:
        res["history"] = dict(x=np.array([h[0] for h in hist]).reshape((-1,) + shape),
                              fun=np.array([h[1] for h in hist]),
                              grad_norm=np.array([h[2] for h in hist]))
    return res


def _entry(method: str) -> Callable[..., _Result]:
    def run(fun: Callable, x0: Any, *, jac: Any = None, gradient: str = "dual",
            tol: float = 1e-8, ftol: float = 2.2e-9, maxiter: int = 10_000,
            maxfun: int | None = None, maximize: bool = False,
            callback: Callable | None = None, callback_every: int = 1, record: bool = False,
            progress: bool = False, bounds: Any = None, line_search: str | None = None,
            **options: Any) -> _Result:
        return _run(method, fun, x0, jac=jac, tol=tol, ftol=ftol, maxiter=maxiter,
                    maxfun=maxfun, maximize=maximize, callback=callback,
                    callback_every=callback_every, record=record, bounds=bounds,
                    line_search=line_search, options=dict(options))
    run.__name__ = run.__qualname__ = "minimize_" + method.replace("-", "_")
    run.__doc__ = (f"Reference ``minimize(fun, x0, method={method!r}, ...)``: same keywords "
                   "and result fields as ``fastgrad.minimize`` (``gradient`` and "
                   "``progress`` are accepted and ignored).")
    return run


minimize_lbfgs = _entry("lbfgs")
minimize_bfgs = _entry("bfgs")
minimize_cg = _entry("cg")
minimize_newton_cg = _entry("newton-cg")

#: method name -> reference function, for ``fastgrad.reference.minimize``'s dispatch
QUASI_NEWTON: dict[str, Callable[..., _Result]] = {
    "lbfgs": minimize_lbfgs, "bfgs": minimize_bfgs, "cg": minimize_cg,
    "newton-cg": minimize_newton_cg,
}
