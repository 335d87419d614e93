"""Plain-Python twins of the line searches of ``csrc/fg_linesearch.c``.

A line search looks along a descent direction d from x for a step a > 0,
through the one-dimensional function

    phi(a) = f(x + a d),    phi'(a) = grad f(x + a d) . d,

given phi(0) = f0 and phi'(0) = g0 < 0. Both searches here take a callable
``phi(a) -> (value, slope, payload)`` (payload: whatever the caller wants
back for the accepted step, typically the trial point and its gradient), or
``None`` when the caller's evaluation budget is spent.

``wolfe``: strong Wolfe conditions,

    phi(a) <= f0 + c1 a g0           (sufficient decrease)
    |phi'(a)| <= c2 |g0|             (curvature),

by the Moré-Thuente algorithm: an interval of uncertainty [stx, sty] that
holds a Wolfe step once bracketed, new trials by safeguarded cubic,
quadratic or secant interpolation, and a bisection whenever the interval
fails to shrink by a third in two trials, so the search terminates.
Chosen over Nocedal & Wright's bracket-and-zoom (Algorithms 3.5/3.6) for its
safeguards (a trial never leaves the interval, or extrapolates by more than
4x), which the zoom needs added by hand, for its "modified function" stage,
which finds a step when the sufficient-decrease line and f cross at a
point where f still decreases, and because it is the search of scipy's
L-BFGS-B, BFGS and liblbfgs: function-evaluation counts compare like with
like.

``armijo``: sufficient decrease alone, halving the step from a start value.

A trial whose value or slope is not finite is never accepted: the step
shrinks toward the best step so far (half way), and later trials stay
below the failed one.

References
----------
J. J. Moré and D. J. Thuente, "Line search algorithms with guaranteed
sufficient decrease", ACM Trans. Math. Software 20 (1994) 286-307.
J. Nocedal and S. J. Wright, Numerical Optimization, 2nd ed., Springer
2006, chapter 3.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple

__all__ = ["LineSearchResult", "wolfe", "armijo", "WOLFE_MAXITER", "ARMIJO_MAXITER"]

Phi = Callable[[float], Optional[Tuple[float, float, Any]]]

#: Trials of the strong-Wolfe search before it gives up (scipy's maxls).
WOLFE_MAXITER = 20
#: Halvings of the Armijo search after the first trial (Newton's).
ARMIJO_MAXITER = 60
#: Interval of uncertainty: the bisection safeguard's factor and the
#: extrapolation limits of the unbracketed phase (Moré-Thuente's values).
_SHRINK, _XTRAP_LO, _XTRAP_HI = 0.66, 1.1, 4.0


@dataclass
class LineSearchResult:
    """Outcome of a line search.

    ``status``: ``"converged"`` (the conditions hold at ``step``),
    ``"best"`` (the search could not reach the conditions but ``step`` is the
    best trial, with f at most f0), ``"budget"`` (the evaluation budget ran
    out; ``step`` is the best trial or 0), ``"failed"`` (every trial had f
    above f0 or not finite: ``step`` is 0, ``payload`` None). ``nfev`` counts the calls of phi
    that returned a value.
    """

    step: float
    value: float
    slope: float
    payload: Any
    nfev: int
    status: str


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def _cubic_min(a: float, fa: float, ga: float, b: float, fb: float,
               gb: float) -> tuple[float, float]:
    """The stationary point of the cubic through (a, fa, ga) and (b, fb, gb)
    that is a minimum, written as a + r (b - a); returns (point, gamma).
    gamma = 0 when the cubic has no real minimizer (then the point is
    meaningless and the caller falls back)."""
    theta = 3.0 * (fa - fb) / (b - a) + ga + gb
    s = max(abs(theta), abs(ga), abs(gb))
    gamma = s * math.sqrt(max(0.0, (theta / s) ** 2 - (ga / s) * (gb / s)))
    if b < a:
        gamma = -gamma
    p = (gamma - ga) + theta
    q = ((gamma - ga) + gamma) + gb
    return a + (p / q) * (b - a), gamma


def _safeguarded_step(stx: float, fx: float, gx: float, sty: float, fy: float, gy: float,
                      stp: float, fp: float, gp: float, bracketed: bool, lo: float,
                      hi: float) -> tuple[float, float, float, float, float, float, float, bool]:
    """One Moré-Thuente update: the next trial step, and the interval
    [stx, sty] (stx the best end) updated with the trial (stp, fp, gp).
    lo, hi bound the new step when nothing is bracketed yet."""
    sgnd = gp * math.copysign(1.0, gx)
    if fp > fx:
        # Higher value: a minimizer lies between stx and stp. Take the cubic
        # step if it is closer to stx than the quadratic (through fx, gx, fp)
        # one, else their midpoint.
        stpc, _ = _cubic_min(stx, fx, gx, stp, fp, gp)
        stpq = stx + (gx / ((fx - fp) / (stp - stx) + gx)) / 2.0 * (stp - stx)
        new = stpc if abs(stpc - stx) < abs(stpq - stx) else stpc + (stpq - stpc) / 2.0
        bracketed = True
    elif sgnd < 0.0:
        # Lower value, slope of the other sign: bracketed. The cubic or the
        # secant step, whichever is farther from stp.
        stpc, _ = _cubic_min(stx, fx, gx, stp, fp, gp)
        stpq = stp + (gp / (gp - gx)) * (stx - stp)
        new = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
        bracketed = True
    elif abs(gp) < abs(gx):
        # Lower value, same slope sign, the slope shrinks: extrapolate, by the
        # cubic when it has a minimizer beyond stp (else to the limit), or the
        # secant step; never beyond two thirds of the way to sty.
        stpc, gamma = _cubic_min(stp, fp, gp, stx, fx, gx)
        if not (gamma != 0.0 and (stpc - stp) * (stx - stp) < 0.0):
            stpc = hi if stp > stx else lo
        stpq = stp + (gp / (gp - gx)) * (stx - stp)
        if bracketed:
            new = stpc if abs(stpc - stp) < abs(stpq - stp) else stpq
            limit = stp + _SHRINK * (sty - stp)
            new = min(limit, new) if stp > stx else max(limit, new)
        else:
            new = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
            new = max(lo, min(hi, new))
    else:
        # Lower value, same slope sign, the slope does not shrink: the cubic
        # through stp and sty when bracketed, else the limit.
        if bracketed:
            new, _ = _cubic_min(stp, fp, gp, sty, fy, gy)
        else:
            new = hi if stp > stx else lo
    if fp > fx:
        sty, fy, gy = stp, fp, gp
    else:
        if sgnd < 0.0:
            sty, fy, gy = stx, fx, gx
        stx, fx, gx = stp, fp, gp
    return stx, fx, gx, sty, fy, gy, new, bracketed


def wolfe(phi: Phi, f0: float, g0: float, step: float, *, c1: float = 1e-4, c2: float = 0.9,
          xtol: float = 0.1, step_max: float = 1e10, maxiter: int = WOLFE_MAXITER
          ) -> LineSearchResult:
    """A step satisfying the strong Wolfe conditions (Moré-Thuente).

    Parameters
    ----------
    phi : callable
        ``phi(a) -> (f(x + a d), grad f(x + a d) . d, payload)`` or None when
        no evaluation is left.
    f0, g0 : float
        phi(0) and phi'(0); g0 must be negative.
    step : float
        The first trial, 0 < step <= step_max.
    c1, c2 : float
        Sufficient-decrease and curvature constants, 0 < c1 < c2 < 1.
    xtol : float
        Relative width of the interval of uncertainty below which the search
        stops with the best trial.
    step_max : float
        Largest step (the box's limit along d, for L-BFGS-B).
    maxiter : int
        Trials (evaluations) at most.

    Returns
    -------
    LineSearchResult
    """
    if not g0 < 0.0:
        return LineSearchResult(0.0, f0, g0, None, 0, "failed")
    gtest = c1 * g0
    stx = sty = 0.0
    fx = fy = f0
    gx = gy = g0
    best: Any = None                          # payload at stx
    bracketed, stage = False, 1
    width = step_max
    width1 = 2.0 * width
    lo, hi = 0.0, step + _XTRAP_HI * step
    cap = math.inf                            # smallest step with a non-finite trial
    nfev = 0

    def best_result(status: str) -> LineSearchResult:
        # A best step that only ties f0 (f flat to rounding) is still taken:
        # the caller's relative-decrease test then stops the run there.
        if stx > 0.0 and fx <= f0:
            return LineSearchResult(stx, fx, gx, best, nfev, status)
        return LineSearchResult(0.0, f0, g0, None, nfev,
                                "budget" if status == "budget" else "failed")

    for _ in range(maxiter):
        out = phi(step)
        if out is None:
            return best_result("budget")
        nfev += 1
        fp, gp, payload = out
        if not _finite(fp, gp):
            cap = step
            step = stx + 0.5 * (step - stx)
            continue
        ftest = f0 + step * gtest
        if fp <= ftest and abs(gp) <= -c2 * g0:
            return LineSearchResult(step, fp, gp, payload, nfev, "converged")
        if step == step_max and fp <= ftest and gp <= gtest:
            # at the largest step allowed, still descending
            return LineSearchResult(step, fp, gp, payload, nfev, "converged")
        if stage == 1 and fp <= ftest and gp >= min(c1, c2) * g0:
            stage = 2
        prev = stx
        if stage == 1 and fp <= fx and fp > ftest:
            # Stage 1: work on psi(a) = phi(a) - f0 - a c1 g0, whose minimizers
            # are the sufficient-decrease steps (a step where phi still lies
            # above the line but decreased).
            stx, fxm, gxm, sty, fym, gym, new, bracketed = _safeguarded_step(
                stx, fx - stx * gtest, gx - gtest, sty, fy - sty * gtest, gy - gtest,
                step, fp - step * gtest, gp - gtest, bracketed, lo, hi)
            fx, gx = fxm + stx * gtest, gxm + gtest
            fy, gy = fym + sty * gtest, gym + gtest
        else:
            stx, fx, gx, sty, fy, gy, new, bracketed = _safeguarded_step(
                stx, fx, gx, sty, fy, gy, step, fp, gp, bracketed, lo, hi)
        if stx != prev:
            best = payload
        if bracketed:
            if abs(sty - stx) >= _SHRINK * width1:
                new = stx + 0.5 * (sty - stx)
            width1, width = width, abs(sty - stx)
            lo, hi = min(stx, sty), max(stx, sty)
        else:
            lo, hi = new + _XTRAP_LO * (new - stx), new + _XTRAP_HI * (new - stx)
        new = min(max(new, 0.0), step_max)
        if bracketed and (new <= lo or new >= hi or hi - lo <= xtol * hi):
            # rounding errors or a tiny interval: no progress is possible
            return best_result("best")
        if new >= cap:
            new = stx + 0.5 * (cap - stx)
        step = new
    return best_result("best")


def armijo(phi: Phi, f0: float, g0: float, step: float = 1.0, *, c1: float = 1e-4,
           maxiter: int = ARMIJO_MAXITER) -> LineSearchResult:
    """Backtracking: the first of step, step/2, step/4, ... (at most
    ``maxiter`` halvings) with phi(a) <= f0 + c1 a g0 and a finite value and
    slope. ``g0`` must be negative."""
    if not g0 < 0.0:
        return LineSearchResult(0.0, f0, g0, None, 0, "failed")
    nfev = 0
    for _ in range(maxiter + 1):
        out = phi(step)
        if out is None:
            return LineSearchResult(0.0, f0, g0, None, nfev, "budget")
        nfev += 1
        fp, gp, payload = out
        if _finite(fp, gp) and fp <= f0 + c1 * step * g0:
            return LineSearchResult(step, fp, gp, payload, nfev, "converged")
        step *= 0.5
    return LineSearchResult(0.0, f0, g0, None, nfev, "failed")
