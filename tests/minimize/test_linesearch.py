"""The line searches of ``fastgrad.reference.linesearch`` against the
published tables of Moré & Thuente (1994) and scipy's MINPACK-2 ``dcsrch``
port, plus their guarantees: non-finite trials never accepted, the
evaluation budget honoured, Armijo's halving sequence."""
import math

import numpy as np
import pytest
from scipy.optimize._linesearch import scalar_search_wolfe1   # dcsrch, an independent port

from fastgrad.reference.linesearch import armijo, wolfe


# ------------------------------------------------- Moré & Thuente's tests --

def mt1(a, b=2.0):
    return -a / (a * a + b), (a * a - b) / (a * a + b) ** 2


def mt2(a, b=0.004):
    return (a + b) ** 5 - 2 * (a + b) ** 4, 5 * (a + b) ** 4 - 8 * (a + b) ** 3


def mt3(a, b=0.01, ell=39):
    if a <= 1 - b:
        p0, d0 = 1 - a, -1.0
    elif a >= 1 + b:
        p0, d0 = a - 1, 1.0
    else:
        p0, d0 = (a - 1) ** 2 / (2 * b) + b / 2, (a - 1) / b
    w = ell * math.pi / 2
    return p0 + 2 * (1 - b) / (ell * math.pi) * math.sin(w * a), d0 + (1 - b) * math.cos(w * a)


def yanai_ozawa_kaneko(b1, b2):
    def gam(b):
        return math.sqrt(1 + b * b) - b

    def phi(a):
        s1, s2 = math.sqrt((1 - a) ** 2 + b2 ** 2), math.sqrt(a * a + b1 ** 2)
        return gam(b1) * s1 + gam(b2) * s2, gam(b1) * (a - 1) / s1 + gam(b2) * a / s2
    return phi


# (function, c1, c2, {first trial: (evaluations, step to two digits)}): Tables 1-6
# of Moré & Thuente, "Line search algorithms with guaranteed sufficient
# decrease", ACM TOMS 20 (1994).
MT_TABLES = [
    (mt1, 1e-3, 0.1, {1e-3: (6, 1.4), 1e-1: (3, 1.4), 1e1: (1, 10), 1e3: (4, 37)}),
    (mt2, 0.1, 0.1, {1e-3: (12, 1.6), 1e-1: (8, 1.6), 1e1: (8, 1.6), 1e3: (11, 1.6)}),
    (mt3, 0.1, 0.1, {1e-3: (12, 1.0), 1e-1: (12, 1.0), 1e1: (10, 1.0), 1e3: (13, 1.0)}),
    (yanai_ozawa_kaneko(1e-3, 1e-3), 1e-3, 1e-3,
     {1e-3: (4, 0.085), 1e-1: (1, 0.10), 1e1: (3, 0.35), 1e3: (4, 0.83)}),
    (yanai_ozawa_kaneko(1e-2, 1e-3), 1e-3, 1e-3,
     {1e-3: (6, 0.075), 1e-1: (3, 0.078), 1e1: (7, 0.073), 1e3: (8, 0.076)}),
    (yanai_ozawa_kaneko(1e-3, 1e-2), 1e-3, 1e-3,
     {1e-3: (13, 0.93), 1e-1: (11, 0.93), 1e1: (8, 0.92), 1e3: (11, 0.92)}),
]


def as_phi(fn, calls=None):
    def phi(a):
        if calls is not None:
            calls.append(a)
        v, d = fn(a)
        return v, d, ("payload", a)
    return phi


@pytest.mark.parametrize("k", range(len(MT_TABLES)))
def test_wolfe_reproduces_more_thuente_tables(k):
    fn, c1, c2, table = MT_TABLES[k]
    f0, g0 = fn(0.0)
    for a0, (evals, step) in table.items():
        r = wolfe(as_phi(fn), f0, g0, a0, c1=c1, c2=c2, xtol=1e-14, maxiter=40)
        assert r.status == "converged" and r.nfev == evals, (a0, r)
        assert float(f"{r.step:.2g}") == pytest.approx(step, rel=1e-12), (a0, r.step)
        v, d = fn(r.step)
        assert (r.value, r.slope) == (v, d) and r.payload == ("payload", r.step)
        assert v <= f0 + c1 * r.step * g0 and abs(d) <= c2 * abs(g0)


def random_cubic_quartic(seed):
    """phi(a) = f0 + g0 a + c a^2 + d a^3 + e a^4 with g0 < 0, e > 0 (bounded below)."""
    rng = np.random.default_rng(seed)
    g0 = -rng.uniform(0.1, 10)
    c, d = rng.normal(size=2) * [5, 3]
    e = rng.uniform(0.01, 2)

    def fn(a):
        return (g0 * a + c * a * a + d * a ** 3 + e * a ** 4,
                g0 + 2 * c * a + 3 * d * a * a + 4 * e * a ** 3)
    return fn


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("c2", [0.1, 0.4, 0.9])
def test_wolfe_matches_scipy_dcsrch(seed, c2):
    """The same algorithm as MINPACK-2's dcsrch (scipy's port): the same
    trial steps, so the same accepted step and evaluation count."""
    fn = random_cubic_quartic(seed)
    f0, g0 = fn(0.0)
    a0 = float(np.random.default_rng(seed + 1000).choice([1e-3, 0.1, 0.5, 1.0]))
    ours, theirs = [], []
    r = wolfe(as_phi(fn, ours), f0, g0, a0, c2=c2, xtol=1e-10, maxiter=100)
    # scalar_search_wolfe1's first trial is min(1, 1.01 * 2 (phi0 - old_phi0) / derphi0)
    old = f0 - a0 * g0 / (2 * 1.01)
    s, _, _ = scalar_search_wolfe1(lambda a: (theirs.append(a), fn(a)[0])[1],
                                   lambda a: fn(a)[1], f0, old, g0, c2=c2, amax=1e10,
                                   amin=0.0, xtol=1e-10)
    assert r.status == "converged" and s is not None
    np.testing.assert_allclose(ours, theirs[:len(ours)], rtol=1e-12)
    assert r.step == pytest.approx(s, rel=1e-12)


def test_wolfe_first_trial_accepted_costs_one_evaluation():
    fn = lambda a: ((a - 1.0) ** 2, 2 * (a - 1.0))                      # noqa: E731
    r = wolfe(as_phi(fn), 1.0, -2.0, 1.0)
    assert (r.status, r.nfev, r.step, r.value) == ("converged", 1, 1.0, 0.0)


def test_wolfe_never_accepts_a_non_finite_trial_and_stays_below_it():
    """f is a quadratic with minimum at a = 3 that becomes NaN (value) or
    inf (slope) past a = 0.5: the search backs off and returns a finite step
    below 0.5; after the first failure no trial reaches that step again."""
    for bad in ("nan-value", "inf-slope"):
        calls = []

        def phi(a):
            calls.append(a)
            if a > 0.5:
                return (math.nan, -1.0, None) if bad == "nan-value" else (1.0, math.inf, None)
            return (a - 3.0) ** 2, 2 * (a - 3.0), a
        r = wolfe(phi, 9.0, -6.0, 1.0)
        assert r.status in ("converged", "best") and 0 < r.step <= 0.5 and r.payload == r.step
        assert math.isfinite(r.value) and r.value < 9.0
        first_bad = next(a for a in calls if a > 0.5)
        assert all(a < first_bad for a in calls[calls.index(first_bad) + 1:])


def test_wolfe_budget_returns_best_trial_so_far():
    fn = mt1
    f0, g0 = fn(0.0)
    left = [3]

    def phi(a):
        if left[0] == 0:
            return None
        left[0] -= 1
        v, d = fn(a)
        return v, d, a
    r = wolfe(phi, f0, g0, 1e-3, c1=1e-3, c2=0.1)
    assert r.status == "budget" and r.nfev == 3
    assert 0 < r.step and r.payload == r.step and r.value < f0


def test_wolfe_refuses_an_ascent_direction():
    r = wolfe(lambda a: pytest.fail("evaluated"), 0.0, 1.0, 1.0)
    assert (r.status, r.nfev, r.step) == ("failed", 0, 0.0)


def test_wolfe_respects_step_max():
    fn = lambda a: (-a, -1.0)                                              # noqa: E731
    r = wolfe(as_phi(fn), 0.0, -1.0, 1.0, step_max=2.5)
    assert r.status == "converged" and r.step == 2.5


def test_armijo_halves_until_sufficient_decrease():
    calls = []

    def phi(a):
        calls.append(a)
        return (a - 0.1) ** 2 - 0.01, 2 * (a - 0.1), a
    r = armijo(phi, 0.0, -0.2, 1.0)
    assert calls == [1.0, 0.5, 0.25, 0.125]
    assert r.status == "converged" and r.step == 0.125 and r.nfev == 4


def test_armijo_shrinks_past_non_finite_and_gives_up_after_61_trials():
    r = armijo(lambda a: (math.inf if a > 0.3 else -a, -1.0, a), 0.0, -1.0, 1.0)
    assert r.status == "converged" and r.step == 0.25 and r.nfev == 3
    r = armijo(lambda a: (1.0, 0.0, a), 0.0, -1.0, 1.0)
    assert r.status == "failed" and r.nfev == 61 and r.payload is None
