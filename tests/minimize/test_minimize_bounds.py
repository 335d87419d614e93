"""minimize with bounds: the accepted forms, projection (iterates never leave
the box), the projected-gradient stopping rule, against the reference twin
and scipy's L-BFGS-B on the same box."""
import numpy as np
import pytest
import scipy.optimize as so

import fastgrad as fg
from fastgrad.minimize import METHODS
from fastgrad.reference import minimize as ref_minimize

QUASI_NEWTON = ("lbfgs", "bfgs", "cg", "newton-cg")
FIRST_ORDER = [m for m in METHODS if m != "newton" and m not in QUASI_NEWTON]
# the methods that take bounds: the first-order ones by projection, lbfgs as L-BFGS-B
BOUNDED = FIRST_ORDER + ["lbfgs"]

# f = sum_i c_i (x_i - t_i)^2 + x0 x1 / 2: the unconstrained minimum lies
# outside the box [-1, 0.5] x [0, 2] x [-3, 3]
C = np.array([1.0, 2.0, 0.5])
TARGET = np.array([2.0, -1.0, 0.5])
BOX = (np.array([-1.0, 0.0, -3.0]), np.array([0.5, 2.0, 3.0]))


def f(x):
    return float(np.sum(C * (x - TARGET) ** 2) + 0.5 * x[0] * x[1])


def grad(x):
    g = 2 * C * (x - TARGET)
    g[0] += 0.5 * x[1]
    g[1] += 0.5 * x[0]
    return g


def scipy_solution():
    return so.minimize(f, np.zeros(3), jac=grad, method="L-BFGS-B", bounds=list(zip(*BOX)),
                       options=dict(ftol=1e-15, gtol=1e-12)).x


SETTINGS = {
    "gd": dict(lr=0.1), "momentum": dict(lr=0.05), "nesterov": dict(lr=0.05),
    "adam": dict(lr=0.05), "adamw": dict(lr=0.05, weight_decay=0.0),
    "rmsprop": dict(lr=0.01), "adagrad": dict(lr=0.5), "adamax": dict(lr=0.05),
    "nadam": dict(lr=0.05), "lbfgs": dict(ftol=0.0),
}


@pytest.mark.parametrize("method", BOUNDED)
def test_iterates_never_leave_the_box_and_reach_scipys_solution(method):
    res = fg.minimize(f, np.zeros(3), jac=grad, method=method, bounds=BOX, record=True,
                      tol=1e-9, maxiter=50_000, **SETTINGS[method])
    xs = res.history["x"]
    assert np.all(xs >= BOX[0]) and np.all(xs <= BOX[1])
    assert res.success, res.message
    np.testing.assert_allclose(res.x, scipy_solution(), atol=1e-7)
    # the projected gradient is what met tol; the gradient itself did not
    assert res.grad_norm <= 1e-9 < np.linalg.norm(res.jac)


@pytest.mark.parametrize("method", BOUNDED)
def test_bounds_agree_with_the_reference_twin(method):
    opts = dict(SETTINGS[method], maxiter=300, tol=0.0, record=True)
    ours = fg.minimize(f, np.zeros(3), jac=grad, method=method, bounds=BOX, **opts)
    ref = ref_minimize(f, np.zeros(3), jac=grad, method=method, bounds=BOX, **opts)
    assert ours.nit == ref.nit and ours.nfev == ref.nfev
    np.testing.assert_allclose(ours.history["x"], ref.history["x"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.history["grad_norm"], ref.history["grad_norm"],
                               rtol=1e-10, atol=1e-12)


def test_every_accepted_form_gives_the_same_run():
    lo, hi = BOX
    forms = [
        (lo, hi),
        (list(lo), list(hi)),
        list(zip(lo, hi)),
        so.Bounds(lo, hi),
        ([-1.0, 0.0, -3.0], np.array([0.5, 2.0, 3.0])),
    ]
    runs = [fg.minimize(f, np.zeros(3), jac=grad, method="adam", lr=0.05, bounds=b,
                        maxiter=200, record=True) for b in forms]
    for r in runs[1:]:
        np.testing.assert_array_equal(r.history["x"], runs[0].history["x"])


def test_none_and_infinite_entries_mean_no_bound():
    # only x0 <= 0.5 binds; the others are free
    loose = [(None, 0.5), (-np.inf, None), (None, np.inf)]
    a = fg.minimize(f, np.zeros(3), jac=grad, method="adam", lr=0.05, bounds=loose,
                    maxiter=300, record=True)
    b = fg.minimize(f, np.zeros(3), jac=grad, method="adam", lr=0.05,
                    bounds=([-np.inf] * 3, [0.5, np.inf, np.inf]), maxiter=300, record=True)
    c = fg.minimize(f, np.zeros(3), jac=grad, method="adam", lr=0.05,
                    bounds=(None, [0.5, None, None]), maxiter=300, record=True)
    np.testing.assert_array_equal(a.history["x"], b.history["x"])
    np.testing.assert_array_equal(a.history["x"], c.history["x"])
    assert a.history["x"][:, 0].max() <= 0.5 and a.history["x"][:, 1].min() < 0


def test_scalar_bounds_and_two_unknowns():
    g2 = lambda x: 2 * (x - 3.0)                    # noqa: E731
    f2 = lambda x: float(np.sum((x - 3.0) ** 2))    # noqa: E731
    res = fg.minimize(f2, [0.0, 0.0], jac=g2, method="gd", lr=0.25, bounds=(-1, 1))
    assert res.success
    np.testing.assert_array_equal(res.x, [1.0, 1.0])
    # n = 2: two tuples are two (lo, hi) pairs, as in scipy
    res = fg.minimize(f2, [0.0, 0.0], jac=g2, method="gd", lr=0.25, bounds=[(0, 1), (2, 2.5)])
    np.testing.assert_array_equal(res.x, [1.0, 2.5])
    # arrays are (lb, ub)
    res = fg.minimize(f2, [0.0, 0.0], jac=g2, method="gd", lr=0.25,
                      bounds=(np.array([0, 1]), np.array([2, 2.5])))
    np.testing.assert_array_equal(res.x, [2.0, 2.5])


def test_x0_outside_the_box_is_clipped_into_it():
    res = fg.minimize(f, [5.0, -5.0, 0.0], jac=grad, method="gd", lr=0.1, bounds=BOX,
                      maxiter=0, record=True)
    np.testing.assert_array_equal(res.history["x"][0], [0.5, 0.0, 0.0])


def test_maximize_with_bounds_projects_the_ascent():
    res = fg.minimize(lambda x: -f(x), np.zeros(3), jac=lambda x: -grad(x), method="gd",
                      lr=0.1, maximize=True, bounds=BOX, tol=1e-10, maxiter=10_000)
    assert res.success
    np.testing.assert_allclose(res.x, scipy_solution(), atol=1e-8)


def test_compiled_objective_with_bounds_equals_python_bit_for_bit():
    cf = fg.compile(lambda x: np.sum(C * (x - TARGET) ** 2) + 0.5 * x[0] * x[1], 3)
    a = fg.minimize(cf, np.zeros(3), method="adam", lr=0.05, bounds=BOX, maxiter=200,
                    record=True)
    b = fg.minimize(f, np.zeros(3), jac=cf.gradient, method="adam", lr=0.05, bounds=BOX,
                    maxiter=200, record=True)
    np.testing.assert_array_equal(a.history["x"], b.history["x"])


@pytest.mark.parametrize("bad,exc,match", [
    ((1.0, 0.0), ValueError, "lower bound"),
    (([0, 0, 0], [1, np.nan, 1]), ValueError, "NaN"),
    (([0, 0], [1, 1]), ValueError, "shape"),
    (([0, 0, np.inf], [1, 1, np.inf]), ValueError, "lower bound"),
    ("box", TypeError, "bounds"),
    ((["a", 0, 0], [1, 1, 1]), TypeError, "bounds"),
])
def test_bad_bounds(bad, exc, match):
    with pytest.raises(exc, match=match):
        fg.minimize(f, np.zeros(3), jac=grad, method="gd", bounds=bad)
