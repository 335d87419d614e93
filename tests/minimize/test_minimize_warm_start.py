"""warm_start: a run split in two (through a pickle, too) equals the
uninterrupted run bit for bit, for every method of the table; a state that
is not this method's is refused."""
import pickle

import numpy as np
import pytest

import fastgrad as fg
from fastgrad import schedules
from fastgrad.minimize import METHODS
from method_cases import REF_OPTIONS


def rosen_np(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


CF = fg.compile(rosen_np, 4)
X0 = np.array([-1.2, 1.0, 0.3, -0.5])

# per method: options for a run that has not converged after the split
CASES = dict(REF_OPTIONS, newton=dict(tol=1e-12))
VARIANTS = {
    "gd-armijo": ("gd", dict(line_search="armijo", lr=1e-4)),
    "adam-schedule": ("adam", dict(lr=schedules.inverse_time(1e-2, decay=0.01))),
    "adam-saturated": ("adam", dict(lr=1e-3, betas=(0.5, 0.6))),   # powers freeze at t ~ 80
    "rmsprop-bounds": ("rmsprop", dict(lr=1e-3, bounds=(-1.0, 0.9))),
    "newton-none": ("newton", dict(line_search="none", lr=0.5)),
}
ALL = {**{m: (m, kw) for m, kw in CASES.items()}, **VARIANTS}


def test_every_method_of_the_table_has_a_case():
    assert set(CASES) == set(METHODS)


@pytest.mark.parametrize("name", list(ALL))
@pytest.mark.parametrize("path", ["compiled", "python"])
def test_split_run_equals_the_uninterrupted_run(name, path):
    method, kw = ALL[name]
    if path == "compiled":
        fun, extra = CF, {}
    else:
        fun, extra = rosen_np, dict(jac=CF.gradient)
        if method == "newton":
            extra["hess"] = CF.hessian
    # each split before the run converges: Newton's and the quasi-Newton
    # family's take tens of steps here, the first-order methods thousands
    first, second = ((5, 7) if method in ("newton", "newton-cg") else
                     (12, 15) if method in ("lbfgs", "bfgs", "cg") else (120, 150))
    whole = fg.minimize(fun, X0, method=method, maxiter=first + second, record=True, **kw,
                        **extra)
    a = fg.minimize(fun, X0, method=method, maxiter=first, record=True, **kw, **extra)
    a = pickle.loads(pickle.dumps(a))
    b = fg.minimize(fun, None, method=method, maxiter=second, warm_start=a, record=True, **kw,
                    **extra)
    assert a.nit == first and b.nit == whole.nit == first + second
    np.testing.assert_array_equal(b.x, whole.x)
    np.testing.assert_array_equal(b.jac, whole.jac)
    assert b.fun == whole.fun and b.grad_norm == whole.grad_norm
    assert (b.nfev, b.njev, b.nhev, b.status) == (whole.nfev, whole.njev, whole.nhev,
                                                  whole.status)
    np.testing.assert_array_equal(b.history["x"], whole.history["x"][first:])
    np.testing.assert_array_equal(b.history["fun"], whole.history["fun"][first:])
    np.testing.assert_array_equal(b.state, whole.state)


def test_split_in_many_pieces_and_the_callback_sees_global_counts():
    whole = fg.minimize(CF, X0, method="adam", lr=1e-2, maxiter=60)
    res, seen = None, []
    for _ in range(6):
        res = fg.minimize(CF, None if res else X0, method="adam", lr=1e-2, maxiter=10,
                          warm_start=res, callback=lambda r: seen.append(r.nit),
                          callback_every=4)
    np.testing.assert_array_equal(res.x, whole.x)
    assert res.nit == 60 and seen == list(range(4, 61, 4))


def test_warm_start_from_a_converged_run_stays_there():
    a = fg.minimize(CF, X0, method="newton", tol=1e-10)
    b = fg.minimize(CF, a.x, method="newton", tol=1e-10, warm_start=a)
    assert b.success and b.nit == a.nit and b.nfev == a.nfev
    np.testing.assert_array_equal(b.x, a.x)


def test_warm_start_continues_with_a_new_lr_and_maxfun_counts_this_call():
    a = fg.minimize(CF, X0, method="gd", lr=1e-3, maxiter=50)
    b = fg.minimize(CF, None, method="gd", lr=5e-4, maxfun=20, warm_start=a)
    assert b.status == 8 and b.nfev == a.nfev + 20 and b.nit == a.nit + 20
    x = a.x.copy()
    for _ in range(20):
        x = x - 5e-4 * CF.gradient(x)
    np.testing.assert_allclose(b.x, x, rtol=1e-14)


def test_refused_warm_starts():
    a = fg.minimize(CF, X0, method="adam", maxiter=5)
    with pytest.raises(ValueError, match="method"):
        fg.minimize(CF, None, method="rmsprop", warm_start=a)
    with pytest.raises(ValueError, match="x0"):
        fg.minimize(CF, X0, method="adam", warm_start=a)
    with pytest.raises(TypeError, match="warm_start"):
        fg.minimize(CF, None, method="adam", warm_start={"x": 1})
    bad = dict(a, state=a.state[:-1])
    with pytest.raises(ValueError, match="warm_start"):
        fg.minimize(CF, None, method="adam", warm_start=bad)
    for k, value in ((0, 0.0), (4, -1.0), (4, 0.5), (8, np.nan)):   # tag, nit, nit, f
        state = a.state.copy()
        state[k] = value
        with pytest.raises(ValueError, match="warm_start"):
            fg.minimize(CF, None, method="adam", warm_start=dict(a, state=state))
    state = a.state.copy()
    state[-1] = np.inf                                         # a moment
    with pytest.raises(ValueError, match="warm_start"):
        fg.minimize(CF, None, method="adam", warm_start=dict(a, state=state))
    # Adam's powers beta^t must lie in [0, 1]
    state = a.state.copy()
    state[10 + 8] = 2.0
    with pytest.raises(ValueError, match="warm_start"):
        fg.minimize(CF, None, method="adam", warm_start=dict(a, state=state))
    # a state of another size of problem
    c = fg.minimize(fg.compile(rosen_np, 3), X0[:3], method="adam", maxiter=5)
    with pytest.raises(ValueError, match="warm_start"):
        fg.minimize(CF, None, method="adam", warm_start=dict(c, x=X0))
