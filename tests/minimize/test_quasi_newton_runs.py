"""Run controls of the quasi-Newton family, for the C loop and its NumPy
twin alike (non-finite regions, maxfun, jac=True, maximize, callbacks), and
what only the C loop has: the twin's iterates, compiled objectives (their
Hessian-vector products for newton-cg), warm starts split bit for bit, and
argument checks."""
import math
import pickle

import numpy as np
import pytest
import scipy.optimize as so

import fastgrad as fg
import mgh
from fastgrad.reference import quasi_newton as qn
from test_quasi_newton import solver

METHODS = ["lbfgs", "bfgs", "cg", "newton-cg"]


@pytest.fixture(params=["fastgrad", "reference"])
def solve(request):
    return solver(request.param)

def log_barrier():
    """f = sum(3x - log x - log(2 - x)), finite only on (0, 2)^n (NaN outside,
    as np.log gives); its minimum, where 3x^2 - 8x + 2 = 0, is inside."""
    def f(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(np.sum(3 * x - np.log(x) - np.log(2 - x)))

    def g(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            v = 3 - 1 / x + 1 / (2 - x)
        return np.where((x > 0) & (x < 2), v, np.nan)

    def hp(x, v):
        return (1 / x ** 2 + 1 / (2 - x) ** 2) * v
    return f, g, hp


@pytest.mark.parametrize("method", METHODS)
def test_non_finite_region_never_becomes_the_iterate(solve, method):
    f, g, hp = log_barrier()
    x0 = np.array([1.9, 0.05, 1.0])
    kw = dict(hessp=hp) if method == "newton-cg" else {}
    r = solve(method, f, x0, jac=g, tol=1e-9, ftol=0.0, record=True, **kw)
    assert r.success, r.message
    assert np.all(np.isfinite(r.history["fun"])) and np.all(np.isfinite(r.history["x"]))
    np.testing.assert_allclose(r.x, (8 - math.sqrt(40)) / 6, rtol=1e-9)   # 3x^2 - 8x + 2 = 0


@pytest.mark.parametrize("method", METHODS)
def test_non_finite_x0_value_is_reported_as_divergence(solve, method):
    f, g, _ = log_barrier()
    r = solve(method, f, np.array([3.0]), jac=g)
    assert r.status == 2 and not r.success and r.nit == 0 and r.nfev == 1


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("maxfun", [1, 2, 7, 30])
def test_maxfun_is_never_exceeded(solve, method, maxfun):
    p = mgh.rosenbrock(10)
    kw = dict(hessp=p.hessp) if method == "newton-cg" else {}
    r = solve(method, p.f, p.x0, jac=p.grad, maxfun=maxfun, **kw)
    assert r.status == 8 and r.nfev == maxfun and not r.success
    assert r.fun == p.f(r.x) and r.fun <= p.f(p.x0)


@pytest.mark.parametrize("method", METHODS)
def test_jac_true_maximize_and_callback(solve, method):
    p = mgh.wood()
    kw = dict(hessp=p.hessp) if method == "newton-cg" and p.hessp else {}
    a = solve(method, p.f, p.x0, jac=p.grad, record=True, **kw)
    b = solve(method, p.value_and_grad, p.x0, jac=True, record=True, **kw)
    np.testing.assert_array_equal(a.history["x"], b.history["x"])
    assert a.nfev == b.nfev
    up = solve(method, lambda x: -p.f(x), p.x0, jac=lambda x: -p.grad(x), maximize=True,
             record=True, **kw)
    np.testing.assert_array_equal(up.history["x"], a.history["x"])
    assert up.fun == -a.fun
    seen = []
    stopped = solve(method, p.f, p.x0, jac=p.grad, callback=lambda r: seen.append(r.nit) or
                  r.nit == 3, **kw)
    assert stopped.status == 3 and stopped.nit == 3 and seen == [1, 2, 3]


def test_maxiter_and_messages(solve):
    p = mgh.rosenbrock(2)
    r = solve("lbfgs", p.f, p.x0, jac=p.grad, maxiter=5)
    assert (r.status, r.nit, r.success) == (1, 5, False)
    r = solve("lbfgs", p.f, p.x0, jac=p.grad, maxiter=0)
    assert (r.status, r.nit, r.nfev) == (1, 0, 1)
    r = solve("lbfgs", p.f, p.x0, jac=p.grad, tol=1e-3, ftol=0.5)
    assert r.status == 7 and r.success and "ftol" in r.message


# ------------------------------------------------ the C loop and its twin --

TWIN_CASES = [
    ("lbfgs", "rosenbrock10", {}), ("lbfgs", "wood", {}), ("lbfgs", "box3d", {}),
    ("bfgs", "rosenbrock10", {}), ("bfgs", "helical_valley", {}),
    ("cg", "rosenbrock10", {}), ("cg", "beale", {}),
    ("newton-cg", "rosenbrock10", {"hessp": True}), ("newton-cg", "extended_powell20", {}),
    ("lbfgs", "rosenbrock10", {"bounds": True}), ("lbfgs", "quartic_bowl20", {"bounds": True}),
]


@pytest.mark.parametrize("method,name,extra", TWIN_CASES,
                         ids=[f"{m}-{n}-{'-'.join(e)}" for m, n, e in TWIN_CASES])
def test_c_loop_takes_the_twins_steps(method, name, extra):
    """The same algorithm step for step: the C loop's iterates equal the
    NumPy twin's to rounding over the first 20 iterations, with the same
    evaluation counts (later, rounding differences may change a search's
    decisions on the curved valleys)."""
    p = {q.name: q for q in mgh.problem_set()}[name]
    kw = dict(jac=p.grad, record=True, maxiter=20, tol=0.0)
    if extra.get("hessp"):
        kw["hessp"] = p.hessp
    if extra.get("bounds"):
        kw["bounds"] = mgh.random_box(p, np.random.default_rng(3))
    x0 = p.x0 if "bounds" not in kw else np.clip(p.x0, *kw["bounds"])
    c = fg.minimize(p.f, x0, method=method, **kw)
    r = qn.QUASI_NEWTON[method](p.f, x0, **kw)
    assert (c.nit, c.nfev, c.nhev, c.status) == (r.nit, r.nfev, r.nhev, r.status)
    # finite-difference products (newton-cg without hessp) amplify rounding by 1/h
    fd = method == "newton-cg" and "hessp" not in kw
    rtol, atol = (1e-5, 1e-6) if fd else (1e-9, 1e-12)
    np.testing.assert_allclose(c.history["x"], r.history["x"], rtol=rtol, atol=atol)
    np.testing.assert_allclose(c.history["fun"], r.history["fun"], rtol=rtol, atol=atol)


# ------------------------------------------------------- compiled objectives --

def rosen_compiled(n):
    return fg.compile(lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2),
                      n)


@pytest.mark.parametrize("method", METHODS)
def test_compiled_objective_equals_python_objective(method):
    """A compiled objective runs the loop without Python; the steps are
    those of the same function given as Python callables (its own gradient
    and, for newton-cg, its own Hessian-vector product: bit for bit)."""
    n = 12
    cf = rosen_compiled(n)
    x0 = np.tile([-1.2, 1.0], n // 2)
    c = fg.minimize(cf, x0, method=method, record=True, maxiter=40)
    kw = dict(hessp=cf.hvp) if method == "newton-cg" else {}
    py = fg.minimize(cf, x0, method=method, jac=lambda x: cf.gradient(x, method="reverse"),
                     record=True, maxiter=40, **kw)
    np.testing.assert_array_equal(c.history["x"], py.history["x"])
    assert (c.nfev, c.nhev) == (py.nfev, py.nhev)
    if method == "newton-cg":
        assert c.nhev > c.nit


def test_compiled_newton_cg_rosenbrock_1000():
    n = 1000
    r = fg.minimize(rosen_compiled(n), np.tile([-1.2, 1.0], n // 2), method="newton-cg",
                    tol=1e-8, maxiter=5000)
    assert r.success and r.grad_norm <= 1e-8
    np.testing.assert_allclose(r.x, np.ones(n), atol=1e-8)


def test_compiled_lbfgs_with_bounds_and_non_finite_region():
    cf = fg.compile(lambda x: np.sum(3 * x - np.log(x) - np.log(2 - x)), 5)
    r = fg.minimize(cf, np.full(5, 1.9), method="lbfgs", record=True, tol=1e-10,
                    bounds=(0.5, None))
    assert r.success and np.all(np.isfinite(r.history["fun"]))
    np.testing.assert_allclose(r.x, 0.5)          # the minimum 0.279 lies below the box
    r = fg.minimize(cf, np.full(5, 1.9), method="lbfgs", record=True, tol=1e-10, ftol=0.0)
    np.testing.assert_allclose(r.x, (8 - math.sqrt(40)) / 6, rtol=1e-10)


# ------------------------------------------------------------- warm starts --

WARM_CASES = [("lbfgs", {}), ("lbfgs", {"bounds": True}), ("lbfgs", {"m": 3}), ("bfgs", {}),
              ("cg", {}), ("newton-cg", {})]


@pytest.mark.parametrize("method,extra", WARM_CASES,
                         ids=[m + "".join(f"-{k}" for k in e) for m, e in WARM_CASES])
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
def test_warm_start_split_run_equals_the_whole_run_bit_for_bit(method, extra, compiled):
    n = 10
    p = mgh.rosenbrock(n)
    kw = dict(extra)
    if kw.pop("bounds", False):
        kw["bounds"] = (np.full(n, -0.5), np.full(n, 0.9))
    fun = rosen_compiled(n) if compiled else p.f
    if not compiled:
        kw["jac"] = p.grad
    x0 = np.clip(p.x0, -0.5, 0.9) if "bounds" in kw else p.x0
    whole = fg.minimize(fun, x0, method=method, maxiter=30, tol=0.0, ftol=0.0, **kw)
    first = fg.minimize(fun, x0, method=method, maxiter=12, tol=0.0, ftol=0.0, **kw)
    first = pickle.loads(pickle.dumps(first))        # the state pickles
    rest = fg.minimize(fun, None, method=method, maxiter=18, tol=0.0, ftol=0.0,
                       warm_start=first, **kw)
    assert whole.nit == rest.nit == 30
    np.testing.assert_array_equal(rest.x, whole.x)
    np.testing.assert_array_equal(rest.jac, whole.jac)
    np.testing.assert_array_equal(rest.state, whole.state)
    assert (rest.fun, rest.nfev, rest.nhev) == (whole.fun, whole.nfev, whole.nhev)


def test_warm_start_refuses_another_memory_size_or_method():
    p = mgh.rosenbrock(4)
    res = fg.minimize(p.f, p.x0, method="lbfgs", jac=p.grad, maxiter=5)
    with pytest.raises(ValueError, match="warm_start"):
        fg.minimize(p.f, None, method="lbfgs", jac=p.grad, m=4, warm_start=res)
    with pytest.raises(ValueError, match="warm_start"):
        fg.minimize(p.f, None, method="bfgs", jac=p.grad, warm_start=res)
    bad = dict(res, state=res.state.copy())
    bad["state"][-4 * 10 * 2 - 10 - 4] = 11.0       # lbfgs's pair count: above m
    with pytest.raises(ValueError, match="warm_start"):
        fg.minimize(p.f, None, method="lbfgs", jac=p.grad, warm_start=bad)


# ---------------------------------------------------------- argument checks --

@pytest.mark.parametrize("value,exc", [(0, ValueError), (1001, ValueError), (2.5, TypeError),
                                       ("10", TypeError), (True, TypeError)])
def test_lbfgs_memory_is_checked(value, exc):
    with pytest.raises(exc, match="\\bm\\b"):
        fg.minimize(so.rosen, [0.0, 0.0], method="lbfgs", jac=so.rosen_der, m=value)


def test_quasi_newton_argument_errors_name_the_argument():
    args = (so.rosen, [0.0, 0.0])
    with pytest.raises(ValueError, match="bounds"):
        fg.minimize(*args, method="bfgs", jac=so.rosen_der, bounds=(0, 1))
    with pytest.raises(ValueError, match="line_search"):
        fg.minimize(*args, method="lbfgs", jac=so.rosen_der, line_search="armijo")
    with pytest.raises(TypeError, match="hessp"):
        fg.minimize(*args, method="newton-cg", jac=so.rosen_der, hessp=3)
    with pytest.raises(TypeError, match="hessp"):
        fg.minimize(*args, method="lbfgs", jac=so.rosen_der, hessp=so.rosen_hess_prod)
    with pytest.raises(ValueError, match="lr"):
        fg.minimize(*args, method="newton-cg", jac=so.rosen_der, lr=0.0)


def test_newton_cg_hessp_errors_and_wolfe_search():
    def bad(x, v):
        raise RuntimeError("no products today")
    with pytest.raises(RuntimeError, match="no products"):
        fg.minimize(so.rosen, [0.0, 0.0], method="newton-cg", jac=so.rosen_der, hessp=bad)
    with pytest.raises(ValueError, match="hessp"):
        fg.minimize(so.rosen, [0.0, 0.0], method="newton-cg", jac=so.rosen_der,
                    hessp=lambda x, v: np.ones(3))
    p = mgh.rosenbrock(10)
    w = fg.minimize(p.f, p.x0, method="newton-cg", jac=p.grad, hessp=p.hessp,
                    line_search="wolfe", record=True)
    r = qn.minimize_newton_cg(p.f, p.x0, jac=p.grad, hessp=p.hessp, line_search="wolfe",
                              record=True)
    assert w.success and w.nit == r.nit and w.nfev == r.nfev
