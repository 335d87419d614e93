"""Tests of fastgrad.minimize: the C driver (csrc/fg_minimize.c) through its
compiled path (built-in C objectives) and its Python-callable path, against
the NumPy reference loop, scipy.optimize, closed forms and hand values."""
import sys
import threading
import time

import numpy as np
import pytest
import scipy.optimize as so

import fastgrad as fg
from fastgrad import schedules
from fastgrad.minimize import DEFAULT_LR, METHODS, OptimizeResult
from fastgrad.reference import minimize as ref_minimize
from method_cases import REF_OPTIONS
from support.build import load
from support.problems import random_quadratic, rosen as rosen_np, rosen_grad as rosen_grad_np

T = load("testing_minimize")   # the C test objectives (test-only extension)

SEED = T.quadratic([3.0, 1.0])                        # 3x^2 + y^2
CROSS = T.quadratic([[1.0, 0.5], [0.5, 1.0]])         # x^2 + y^2 + xy
ROSEN = T.rosenbrock(2)


def seed_f(x):
    return 3 * x[0] ** 2 + x[1] ** 2


def seed_grad(x):
    return np.array([6 * x[0], 2 * x[1]])


# ------------------------------------------------ the C test objectives --

@pytest.mark.parametrize("n", [2, 3, 7])
def test_builtin_rosenbrock_matches_scipy(n):
    rng = np.random.default_rng(0)
    obj = T.rosenbrock(n)
    for _ in range(3):
        x = rng.normal(size=n)
        assert obj(x) == pytest.approx(so.rosen(x), rel=1e-14)
        np.testing.assert_allclose(obj.gradient(x), so.rosen_der(x), rtol=1e-13, atol=1e-12)
        np.testing.assert_allclose(obj.hessian(x), so.rosen_hess(x), rtol=1e-13, atol=1e-12)


def test_builtin_quadratic_values():
    x = np.array([0.7, -1.3])
    assert SEED(x) == pytest.approx(3 * 0.49 + 1.69)
    assert CROSS(x) == pytest.approx(0.49 + 1.69 - 0.91)
    np.testing.assert_allclose(CROSS.gradient(x), [2 * 0.7 - 1.3, 2 * -1.3 + 0.7])
    np.testing.assert_allclose(CROSS.hessian(x), [[2, 1], [1, 2]])
    lin = T.quadratic([1.0, 2.0], b=[1.0, -1.0])
    np.testing.assert_allclose(lin.gradient(x), [2 * 0.7 + 1, 4 * -1.3 - 1])


# ------------------------------------------------- the seed GD example --

@pytest.mark.parametrize("path", ["compiled", "python"])
def test_seed_gd_iterates_and_iteration_count(path):
    kw = {} if path == "compiled" else dict(jac=seed_grad)
    fun = SEED if path == "compiled" else seed_f
    res = fg.minimize(fun, [2.0, 4.0], method="gd", lr=0.1, record=True, **kw)
    xs = res.history["x"]
    np.testing.assert_allclose(xs[1], [0.8, 3.2], rtol=1e-15)
    np.testing.assert_allclose(xs[2], [0.32, 2.56], rtol=1e-15)
    # closed form: x_k = 2 * 0.4^k, y_k = 4 * 0.8^k, grad = (6x, 2y)
    k = np.arange(200)
    gnorm = np.hypot(12 * 0.4 ** k, 8 * 0.8 ** k)
    expected_nit = int(np.argmax(gnorm <= 1e-8))
    assert res.nit == expected_nit == 92
    assert res.success and res.status == 0
    assert res.nfev == res.njev == res.nit + 1
    np.testing.assert_allclose(xs[:, 1], 4 * 0.8 ** k[:93], rtol=1e-12)


# ------------------------------------------------------- convergence --

# lr (and schedule) per method: each converges on both problems within maxiter
SETTINGS = {
    "gd": dict(lr=1e-3, maxiter=40_000),
    "momentum": dict(lr=1e-3, maxiter=10_000),
    "nesterov": dict(lr=1e-3, maxiter=10_000),
    "adam": dict(lr=1e-2, maxiter=10_000),
    "adamw": dict(lr=1e-2, weight_decay=0.0, maxiter=10_000),
    "rmsprop": dict(lr=schedules.exponential(1e-2, 0.999), maxiter=30_000),
    "adagrad": dict(lr=0.5, maxiter=30_000),
    "adamax": dict(lr=schedules.inverse_time(2e-2, 1e-3), maxiter=30_000),
    "nadam": dict(lr=schedules.inverse_time(1e-2, 1e-3), maxiter=30_000),
    "newton": dict(maxiter=100),
    # the quasi-Newton family: ftol = 0 so that only tol ends the run
    "lbfgs": dict(maxiter=200, ftol=0.0),
    "bfgs": dict(maxiter=200, ftol=0.0),
    "cg": dict(maxiter=500, ftol=0.0),
    "newton-cg": dict(maxiter=200),
}


@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_converges_on_quadratic_and_rosenbrock(method):
    kw = SETTINGS[method]
    res = fg.minimize(CROSS, [2.0, 4.0], method=method, tol=1e-8, **kw)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [0.0, 0.0], atol=1e-8)
    assert res.grad_norm <= 1e-8
    res = fg.minimize(ROSEN, [-1.2, 1.0], method=method, tol=1e-6, **kw)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-5)
    assert res.fun == pytest.approx(ROSEN(res.x))
    np.testing.assert_allclose(res.jac, ROSEN.gradient(res.x))
    assert res.grad_norm == pytest.approx(np.linalg.norm(res.jac))


@pytest.mark.parametrize("n", [2, 5, 10])
def test_newton_matches_scipy_newton_cg(n):
    # scipy's tutorial start (from (-1.2, 1, ...) n-D Rosenbrock, n >= 4, also
    # has a local minimum near (-1, 1, ..., 1) that either method may find)
    x0 = np.resize([1.3, 0.7, 0.8, 1.9, 1.2], n)
    ours = fg.minimize(T.rosenbrock(n), x0, method="newton", tol=1e-10, maxiter=200)
    theirs = so.minimize(so.rosen, x0, method="Newton-CG", jac=so.rosen_der,
                         hess=so.rosen_hess, options=dict(xtol=1e-12))
    assert ours.success
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-6)
    np.testing.assert_allclose(ours.x, np.ones(n), atol=1e-9)


def test_adam_matches_scipy_bfgs_on_cross_quadratic_with_linear_term():
    obj = T.quadratic([[2.0, 0.3], [0.3, 1.0]], b=[1.0, -2.0])
    theirs = so.minimize(obj, np.zeros(2), jac=obj.gradient, method="BFGS", tol=1e-12)
    ours = fg.minimize(obj, np.zeros(2), method="adam", lr=1e-2, tol=1e-9, maxiter=50_000)
    assert ours.success
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-8)
    # exact minimum: (A + A^T) x = -b
    np.testing.assert_allclose(ours.x, np.linalg.solve([[4, 0.6], [0.6, 2]], [-1, 2]), atol=1e-8)


def test_newton_safeguard_on_indefinite_hessian():
    # f = x^4 - 2x^2 + y^2: at x = 0.1 the Hessian has a negative eigenvalue,
    # so the pure Newton step would climb toward the maximum at x = 0.
    f = lambda v: v[0] ** 4 - 2 * v[0] ** 2 + v[1] ** 2
    g = lambda v: np.array([4 * v[0] ** 3 - 4 * v[0], 2 * v[1]])
    h = lambda v: np.array([[12 * v[0] ** 2 - 4, 0.0], [0.0, 2.0]])
    assert np.linalg.eigvalsh(h([0.1, 1.0]))[0] < 0
    res = fg.minimize(f, [0.1, 1.0], method="newton", jac=g, hess=h, record=True)
    assert res.success
    np.testing.assert_allclose(res.x, [1.0, 0.0], atol=1e-10)
    assert np.all(np.diff(res.history["fun"]) < 0)      # Armijo: f decreases every step
    ref = ref_minimize(f, [0.1, 1.0], method="newton", jac=g, hess=h, record=True)
    np.testing.assert_allclose(res.history["x"], ref.history["x"], atol=1e-12)
    # Rosenbrock from (0, 1): H = [[-398, 0], [0, 200]] there
    res = fg.minimize(ROSEN, [0.0, 1.0], method="newton")
    assert res.success
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-9)


# ------------------------------------------------------------- maximize --

@pytest.mark.parametrize("method", ["gd", "adam", "newton"])
def test_maximize(method):
    # f = -(x - 1)^2 - 2 (y + 2)^2 + 3 = -(x^T A x + b.x) + const, maximum 3 at (1, -2)
    neg = T.quadratic([-1.0, -2.0], b=[2.0, -8.0])   # -(x^2) - 2y^2 + 2x - 8y
    kw = dict(lr=0.1, maxiter=1000) if method != "newton" else {}
    res = fg.minimize(neg, [0.0, 0.0], method=method, maximize=True, **kw)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [1.0, -2.0], atol=1e-8)
    assert res.fun == pytest.approx(9.0, rel=1e-12)   # -1 - 8 + 2 + 16


def test_maximize_is_minimize_of_negation():
    a = fg.minimize(lambda x: -seed_f(x), [2.0, 4.0], jac=lambda x: -seed_grad(x),
                    method="momentum", lr=0.01, maximize=True, record=True, maxiter=50)
    b = fg.minimize(SEED, [2.0, 4.0], method="momentum", lr=0.01, record=True, maxiter=50)
    np.testing.assert_allclose(a.history["x"], b.history["x"], rtol=0, atol=1e-15)


# ----------------------------------------------------------- divergence --

@pytest.mark.parametrize("path", ["compiled", "python"])
def test_divergence_keeps_last_finite_iterate(path):
    fun, kw = (SEED, {}) if path == "compiled" else (seed_f, dict(jac=seed_grad))
    with np.errstate(over="ignore", invalid="ignore"):
        res = fg.minimize(fun, [2.0, 4.0], method="gd", lr=1.0, record=True, **kw)
    assert not res.success
    assert res.status == 2
    assert "diverged" in res.message
    assert np.all(np.isfinite(res.x)) and np.isfinite(res.fun) and np.isfinite(res.grad_norm)
    # x_k = 2 (-5)^k: the last one whose 3x^2 is finite is the answer
    np.testing.assert_array_equal(res.x, res.history["x"][-1])
    assert res.nit == len(res.history["x"]) - 1
    assert abs(res.x[0]) == pytest.approx(2 * 5.0 ** res.nit, rel=1e-12)
    assert np.isinf(3 * (2 * 5.0 ** (res.nit + 1)) ** 2)
    assert res.fun == pytest.approx(seed_f(res.x))


def test_divergence_on_nan_value_and_at_x0():
    calls = []

    def f(x):
        calls.append(x.copy())
        return np.nan if len(calls) > 3 else float(x @ x)

    res = fg.minimize(f, [1.0, 1.0], jac=lambda x: 2 * x, method="gd", lr=0.1)
    assert res.status == 2 and not res.success
    np.testing.assert_array_equal(res.x, calls[2])       # the last finite iterate
    res = fg.minimize(lambda x: np.inf, [1.0], jac=lambda x: x, method="adam")
    assert res.status == 2 and res.nit == 0
    np.testing.assert_array_equal(res.x, [1.0])


def test_objective_exception_propagates():
    def f(x):
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError, match="boom"):
        fg.minimize(f, [1.0], jac=lambda x: x)
    with pytest.raises(ValueError, match="jac"):
        fg.minimize(seed_f, [1.0, 2.0], jac=lambda x: np.ones(3))


# ------------------------------------------------------------ callbacks --

@pytest.mark.parametrize("path", ["compiled", "python"])
def test_callback_stops_early_and_every(path):
    fun, kw = (ROSEN, {}) if path == "compiled" else (ROSEN, dict(jac=ROSEN.gradient))
    seen = []

    def cb(inter):
        seen.append((inter.nit, inter.x.copy(), inter.fun, inter.grad_norm))
        return inter.nit >= 12

    res = fg.minimize(fun, [-1.2, 1.0], method="adam", callback=cb, callback_every=3,
                      record=True, **kw)
    assert [s[0] for s in seen] == [3, 6, 9, 12]
    assert res.nit == 12 and res.status == 3 and not res.success
    assert "callback" in res.message
    for nit, x, f, gn in seen:
        np.testing.assert_array_equal(x, res.history["x"][nit])
        assert f == res.history["fun"][nit] and gn == res.history["grad_norm"][nit]


def test_callback_stop_iteration_and_errors():
    def stop(inter):
        if inter.nit == 5:
            raise StopIteration

    res = fg.minimize(ROSEN, [-1.2, 1.0], method="adam", callback=stop)
    assert res.nit == 5 and res.status == 3

    def bad(inter):
        raise KeyError("bad callback")

    with pytest.raises(KeyError, match="bad callback"):
        fg.minimize(ROSEN, [-1.2, 1.0], method="adam", callback=bad)
    # a callback returning a truthy non-True value does not stop (scipy: only True)
    res = fg.minimize(SEED, [2.0, 4.0], method="gd", lr=0.1, callback=lambda r: 1)
    assert res.success and res.nit == 92


def test_progress_line(capsys):
    res = fg.minimize(ROSEN, [-1.2, 1.0], method="adam", lr=1e-2, progress=True)
    err = capsys.readouterr().err
    assert res.success
    last = err.strip().split("\r")[-1]
    assert f"iter {res.nit:>9d}" in last and "|grad|" in last
    # with a callback too: the C loop calls the hook every iteration, the
    # callback still sees only multiples of callback_every
    seen = []
    res = fg.minimize(seed_f, [2.0, 4.0], jac=seed_grad, method="gd", lr=0.1, progress=True,
                      callback=lambda r: seen.append(r.nit), callback_every=7)
    assert seen == list(range(7, res.nit + 1, 7))
    assert f"iter {res.nit:>9d}" in capsys.readouterr().err


# ------------------------------------------------------------- history --

def test_record_history_shapes_and_values():
    res = fg.minimize(ROSEN, [-1.2, 1.0], method="adam", maxiter=25, record=True)
    h = res.history
    assert h["x"].shape == (26, 2) and h["fun"].shape == (26,) and h["grad_norm"].shape == (26,)
    np.testing.assert_array_equal(h["x"][0], [-1.2, 1.0])
    np.testing.assert_array_equal(h["x"][-1], res.x)
    np.testing.assert_allclose(h["fun"], [ROSEN(x) for x in h["x"]], rtol=1e-15)
    np.testing.assert_allclose(h["grad_norm"],
                               [np.linalg.norm(ROSEN.gradient(x)) for x in h["x"]], rtol=1e-14)
    assert "history" not in fg.minimize(ROSEN, [-1.2, 1.0], maxiter=3)


def test_matrix_shaped_x0_keeps_its_shape():
    x0 = np.array([[1.0, -2.0], [0.5, 3.0]])
    res = fg.minimize(lambda x: np.sum(x ** 2), x0, jac=lambda x: 2 * x, method="gd", lr=0.25,
                      record=True)
    assert res.x.shape == (2, 2) and res.jac.shape == (2, 2)
    assert res.history["x"].shape == (res.nit + 1, 2, 2)
    np.testing.assert_allclose(res.history["x"][1], x0 / 2)
    np.testing.assert_array_equal(x0, [[1.0, -2.0], [0.5, 3.0]])   # not modified


# ----------------------------------- the three paths agree (oracles) --

# Their twins agree to the last bit over whole runs. The quasi-Newton
# family's agree to rounding (their dot products sum in another order than
# NumPy's, and the line searches' interpolation amplifies the difference
# over long runs): tests/minimize/test_quasi_newton_runs.py holds them to
# that, step for step.
EXACT_TWINS = [m for m in METHODS if m not in ("lbfgs", "bfgs", "cg", "newton-cg")]


@pytest.mark.parametrize("method", EXACT_TWINS)
@pytest.mark.parametrize("maximize", [False, True])
def test_compiled_python_and_reference_paths_agree(method, maximize):
    obj = T.rosenbrock(4)
    x0 = np.array([-1.2, 1.0, 0.3, -0.5])
    if maximize:  # maximize -rosen: the same iterates as minimizing rosen
        fun, jac, hess = (lambda x: -obj(x)), (lambda x: -obj.gradient(x)), \
            (lambda x: -obj.hessian(x))
    else:
        fun, jac, hess = obj, obj.gradient, obj.hessian
    opts = dict(REF_OPTIONS[method], maxiter=200, record=True, maximize=maximize)
    extra = dict(hess=hess) if method == "newton" else {}
    py = fg.minimize(fun, x0, method=method, jac=jac, **opts, **extra)
    ref = ref_minimize(fun, x0, method=method, jac=jac, **opts, **extra)
    assert py.nit == ref.nit and py.status == ref.status
    np.testing.assert_allclose(py.history["x"], ref.history["x"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(py.history["fun"], ref.history["fun"], rtol=1e-11, atol=1e-12)
    assert py.nfev == ref.nfev and py.nhev == ref.nhev
    if not maximize:
        c = fg.minimize(obj, x0, method=method, **opts)
        np.testing.assert_array_equal(c.history["x"], py.history["x"])   # bit for bit
        assert (c.nit, c.nfev, c.njev, c.status) == (py.nit, py.nfev, py.njev, py.status)


def test_lr_schedule_matches_reference():
    sched = schedules.inverse_time(0.2, decay=0.5)
    a = fg.minimize(SEED, [2.0, 4.0], method="gd", lr=sched, maxiter=30, record=True)
    b = ref_minimize(seed_f, [2.0, 4.0], method="gd", jac=seed_grad, lr=sched, maxiter=30,
                     record=True)
    np.testing.assert_allclose(a.history["x"], b.history["x"], rtol=1e-14)
    with pytest.raises(RuntimeError, match="schedule failed"):
        fg.minimize(SEED, [2.0, 4.0], method="gd",
                    lr=lambda t: (_ for _ in ()).throw(RuntimeError("schedule failed")))
    res = fg.minimize(SEED, [2.0, 4.0], method="gd", lr=lambda t: 0.1 if t < 3 else -1.0)
    assert res.status == 6 and res.nit == 2 and "schedule" in res.message


def test_jac_true_and_fastgrad_optimizer_loop():
    # jac=True: fun returns (f, g); the steps equal a hand loop with fastgrad.Adam
    res = fg.minimize(lambda x: (seed_f(x), seed_grad(x)), [2.0, 4.0], jac=True,
                      method="adam", lr=0.05, maxiter=40, tol=0.0, record=True)
    x = np.array([2.0, 4.0])
    opt = fg.Adam(x, lr=0.05)
    for k in range(40):
        opt.step(seed_grad(x))
        np.testing.assert_array_equal(res.history["x"][k + 1], x)
    assert res.status == 1 and "maximum number of iterations" in res.message


# ------------------------------------------------------------ the GIL --

def counts_between_callbacks(fun, x0, maxiter, every):
    """Run minimize while a Python thread counts; return the result and the
    count seen at each callback. With the GIL held during the C loop the
    counter could not run between two callbacks at all: the switch interval
    (1 s) is longer than the whole run, so the interpreter never forces a
    switch, and the counter only runs when the GIL is free (it sleeps
    between counts, so the main thread gets the GIL back at once)."""
    count = [0]
    done = threading.Event()

    def counter():
        while not done.is_set():
            count[0] += 1
            time.sleep(1e-5)

    marks = []
    old = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    th = threading.Thread(target=counter)
    th.start()
    try:
        res = fg.minimize(fun, x0, method="adam", maxiter=maxiter, tol=0.0,
                          callback=lambda r: marks.append(count[0]), callback_every=every)
    finally:
        done.set()
        th.join()
        sys.setswitchinterval(old)
    return res, marks


def test_compiled_loop_releases_the_gil():
    """A Python thread keeps counting while the C loop runs between two
    callbacks (see counts_between_callbacks)."""
    res, marks = counts_between_callbacks(T.rosenbrock(4000), np.zeros(4000), 6000, 2000)
    assert len(marks) == 3
    assert marks[1] - marks[0] > 0 and marks[2] - marks[1] > 0, marks


# -------------------------------------------------------------- inputs --

def test_bad_inputs():
    with pytest.raises(ValueError, match="method"):
        fg.minimize(SEED, [1.0, 2.0], method="nelder-mead")
    with pytest.raises(TypeError, match="betas2.*momentum|momentum.*betas2"):
        fg.minimize(SEED, [1.0, 2.0], method="adam", betas2=0.9, momentum=0.1)
    with pytest.raises(TypeError, match="momentum"):
        fg.minimize(SEED, [1.0, 2.0], method="gd", momentum=0.9)
    with pytest.raises(ValueError, match="x0"):
        fg.minimize(SEED, [1.0, np.nan])
    with pytest.raises(TypeError, match="x0"):
        fg.minimize(SEED, ["a", "b"])
    with pytest.raises(ValueError, match="tol"):
        fg.minimize(SEED, [1.0, 2.0], tol=-1e-3)
    with pytest.raises(ValueError, match="maxiter"):
        fg.minimize(SEED, [1.0, 2.0], maxiter=-1)
    with pytest.raises(TypeError, match="maxiter"):
        fg.minimize(SEED, [1.0, 2.0], maxiter=1.5)
    with pytest.raises(ValueError, match="callback_every"):
        fg.minimize(SEED, [1.0, 2.0], callback_every=0)
    with pytest.raises(ValueError, match="lr"):
        fg.minimize(SEED, [1.0, 2.0], lr=-0.1)
    with pytest.raises(ValueError, match=r"betas\[1\]"):
        fg.minimize(SEED, [1.0, 2.0], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="momentum > 0"):
        fg.minimize(SEED, [1.0, 2.0], method="nesterov", momentum=0.0)
    with pytest.raises(ValueError, match="elements"):
        fg.minimize(SEED, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="callback"):
        fg.minimize(SEED, [1.0, 2.0], callback=3)
    with pytest.raises(TypeError, match="jac"):
        fg.minimize(seed_f, [1.0, 2.0], jac="2-point")
    with pytest.raises(ValueError, match="Hessian"):
        _newton_without_hessian()


def _newton_without_hessian():
    from fastgrad import _minimize
    _minimize.run(lambda x: (seed_f(x), seed_grad(x)), np.ones(2), "newton", {})


def test_defaults_and_result_type():
    assert DEFAULT_LR == {"gd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "adam": 1e-3,
                          "adamw": 1e-3, "rmsprop": 1e-2, "adagrad": 1e-2, "newton": 1.0,
                          "lbfgs": 1.0, "bfgs": 1.0, "cg": 1.0, "newton-cg": 1.0,
                          "adamax": 2e-3, "nadam": 2e-3}
    res = fg.minimize(SEED, [2.0, 4.0], method="gd", lr=0.1)
    assert isinstance(res, OptimizeResult) and isinstance(res, dict)
    assert res.x is res["x"] and res.method == "gd"
    for key in ("x", "fun", "jac", "grad_norm", "nit", "nfev", "njev", "success", "status",
                "message"):
        assert key in res and key in repr(res)
    with pytest.raises(AttributeError):
        res.nonexistent
    # the default lr is the Adam class default: the same first step as fastgrad.Adam
    r1 = fg.minimize(SEED, [2.0, 4.0], maxiter=1, record=True)
    np.testing.assert_allclose(r1.history["x"][1], [2.0 - 1e-3, 4.0 - 1e-3], rtol=1e-12)


def test_already_converged_and_zero_maxiter():
    res = fg.minimize(SEED, [0.0, 0.0], method="adam")
    assert res.success and res.nit == 0 and res.nfev == 1
    res = fg.minimize(SEED, [1.0, 1.0], maxiter=0)
    assert not res.success and res.status == 1 and res.nit == 0


def test_nogil_exports_for_embedders():
    from fastgrad import _minimize
    names = set(_minimize.__pyx_capi__)
    assert {"minimize_run_f64", "minimize_options_init", "minimize_workspace_size",
            "minimize_stop_message"} <= names
    # sizes documented in fg_minimize.c: a header, n (iterate) + n (gradient),
    # the method's state (first-order, fg_min_first_order.c: the optimizer's
    # running numbers, 2, its scalar state, its buffers), scratch
    h = _minimize.HEADER_LEN
    assert _minimize.workspace_size(10, "gd") == h + 20 + 2 + 10
    assert _minimize.workspace_size(10, "adam") == h + 20 + 8 + 2 + 30
    assert _minimize.workspace_size(10, "nadam") == h + 20 + 2 + 1 + 20
    assert _minimize.workspace_size(10, "newton") == h + 20 + 2 * 100 + 10
    assert _minimize.state_size(10, "newton") == h + 20


def test_ctrl_c_stops_a_long_compiled_run():
    """KeyboardInterrupt (here from _thread.interrupt_main, as Ctrl-C would)
    stops a GIL-free run: the hook checks for pending signals a few times a
    second. Uninterrupted this run would take several seconds."""
    import _thread
    obj = T.rosenbrock(2000)
    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            fg.minimize(obj, np.zeros(2000), method="adam", tol=0.0, maxiter=2_000_000)
    finally:
        timer.cancel()


# =====================================================================
# minimize(fastgrad.compile(f), ...): the compiled tape drives the C loop
# (gradient from the tape's objective capsule, "auto": dual numbers for
# n <= chunk, the adjoint sweep above; Newton's Hessian by hyper-duals)
# =====================================================================

QA = np.array([[3.0, 0.4, 0.0, 0.1, 0.0], [0.4, 2.0, 0.3, 0.0, 0.0],
               [0.0, 0.3, 1.5, 0.2, 0.0], [0.1, 0.0, 0.2, 1.0, 0.1],
               [0.0, 0.0, 0.0, 0.1, 0.5]])
QB = np.array([1.0, -2.0, 0.5, 0.0, 3.0])


def quad_np(x):
    return x @ QA @ x + QB @ x


# name -> (function, analytic gradient, analytic Hessian, x0)
COMPILED_PROBLEMS = {
    "rosen2": (rosen_np, rosen_grad_np, so.rosen_hess, np.array([-1.2, 1.0])),
    "rosen10": (rosen_np, rosen_grad_np, so.rosen_hess,
                np.array([-1.2, 1.0, 0.3, -0.5, 0.8, 1.1, -0.4, 0.2, 0.9, 0.0])),
    "quad5": (quad_np, lambda x: 2 * QA @ x + QB, lambda x: 2 * QA,
              np.array([1.0, -1.0, 2.0, 0.5, -0.3])),
}


@pytest.mark.parametrize("method", EXACT_TWINS)
@pytest.mark.parametrize("problem", list(COMPILED_PROBLEMS))
def test_compiled_fun_python_fun_and_reference_agree(problem, method):
    f, grad, hess, x0 = COMPILED_PROBLEMS[problem]
    cf = fg.compile(f, x0.shape)
    # Newton with tol = 0 would keep line-searching at the minimum, where the
    # Armijo test compares f values that differ by rounding between the paths
    opts = dict(REF_OPTIONS[method], maxiter=150, tol=1e-10 if method == "newton" else 0.0,
                record=True)
    extra = dict(hess=hess) if method == "newton" else {}
    c = fg.minimize(cf, x0, method=method, **opts)
    py = fg.minimize(f, x0, method=method, jac=grad, **opts, **extra)
    ref = ref_minimize(f, x0, method=method, jac=grad, **opts, **extra)
    assert c.nit == py.nit == ref.nit and c.status == py.status == ref.status
    assert c.nfev == py.nfev == ref.nfev and c.nhev == py.nhev
    # Newton: the tape's Hessian and the hand-written one differ by rounding,
    # and the linear solve scales that by the condition number (~1e3 here)
    rtol = 1e-10 if method == "newton" else 0.0
    for other in (py, ref):
        np.testing.assert_allclose(c.history["x"], other.history["x"], rtol=rtol, atol=1e-12)
        np.testing.assert_allclose(c.history["fun"], other.history["fun"],
                                   rtol=max(rtol, 1e-11), atol=1e-12)
    np.testing.assert_allclose(c.x, py.x, rtol=rtol, atol=1e-12)
    assert c.fun == pytest.approx(f(c.x), rel=1e-13, abs=1e-13)
    np.testing.assert_allclose(c.jac, grad(c.x), rtol=1e-12, atol=1e-11)


@pytest.mark.parametrize("method", ["gd", "adam", "newton"])
def test_compiled_fun_agrees_with_the_builtin_c_objective_bit_for_bit(method):
    # the tape's exact gradient and Hessian vs the hand-written C Rosenbrock:
    # at n = 2 the tape uses one dual pass, whose rounding is the hand formula's
    cf = fg.compile(rosen_np, 2)
    opts = dict(REF_OPTIONS[method], maxiter=300, tol=0.0, record=True)
    a = fg.minimize(cf, [-1.2, 1.0], method=method, **opts)
    b = fg.minimize(ROSEN, [-1.2, 1.0], method=method, **opts)
    assert a.nit == b.nit
    np.testing.assert_allclose(a.history["x"], b.history["x"], rtol=0, atol=1e-12)


def test_compiled_seed_gd_example():
    cf = fg.compile(lambda x: 3 * x[0] ** 2 + x[1] ** 2, (2,))
    res = fg.minimize(cf, [2.0, 4.0], method="gd", lr=0.1, record=True)
    np.testing.assert_allclose(res.history["x"][1], [0.8, 3.2], rtol=1e-15)
    np.testing.assert_allclose(res.history["x"][2], [0.32, 2.56], rtol=1e-15)
    # x_k = (2 * 0.4^k, 4 * 0.8^k), ||grad|| = ||(6 x, 2 y)|| <= 1e-8 first at k = 92
    k = np.arange(94)
    gn = np.hypot(12 * 0.4 ** k, 8 * 0.8 ** k)
    assert np.argmax(gn <= 1e-8) == 92
    assert res.success and res.nit == 92 and res.nfev == 93
    np.testing.assert_allclose(res.history["grad_norm"], gn[:93], rtol=1e-12)


def test_compiled_least_squares_matches_lstsq():
    rng = np.random.default_rng(7)
    A, b = rng.normal(size=(30, 6)), rng.normal(size=30)
    cf = fg.compile(lambda x: np.sum((A @ x - b) ** 2), 6)
    want = np.linalg.lstsq(A, b, rcond=None)[0]
    res = fg.minimize(cf, np.zeros(6), method="newton", tol=1e-10)
    assert res.success and res.nit <= 2          # a quadratic: one Newton step
    np.testing.assert_allclose(res.x, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cf.hessian(res.x), 2 * A.T @ A, rtol=1e-13)
    L = 2 * np.linalg.eigvalsh(A.T @ A).max()      # gd converges for lr < 2 / L
    res = fg.minimize(cf, np.zeros(6), method="gd", lr=1.0 / L, tol=1e-9, maxiter=100_000)
    assert res.success
    np.testing.assert_allclose(res.x, want, rtol=1e-8, atol=1e-9)
    res = fg.minimize(cf, np.zeros(6), method="adam", lr=1e-2, tol=1e-7, maxiter=100_000)
    assert res.success
    np.testing.assert_allclose(res.x, want, rtol=1e-6, atol=1e-7)


def test_compiled_logistic_regression_matches_scipy():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 4))
    y = np.sign(X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.5 * rng.normal(size=120))
    lam = 0.1

    def loss(w):
        return np.sum(np.log1p(np.exp(-y * (X @ w)))) + lam * (w @ w)

    def loss_grad(w):
        s = 1.0 / (1.0 + np.exp(y * (X @ w)))
        return -(X.T @ (y * s)) + 2 * lam * w

    cf = fg.compile(loss, 4)
    # scipy's BFGS stops on "precision loss" at ||grad|| ~ 2e-9: good enough
    ref = so.minimize(loss, np.zeros(4), jac=loss_grad, method="BFGS",
                      options=dict(gtol=1e-10))
    assert np.linalg.norm(loss_grad(ref.x)) < 1e-7
    for method, kw in (("newton", {}), ("adam", dict(lr=0.05, maxiter=50_000)),
                       ("gd", dict(lr=2e-3, maxiter=50_000))):
        res = fg.minimize(cf, np.zeros(4), method=method, tol=1e-8, **kw)
        assert res.success, (method, res.message)
        np.testing.assert_allclose(res.x, ref.x, rtol=1e-6, atol=1e-7)
        assert res.fun == pytest.approx(ref.fun, rel=1e-12)
        np.testing.assert_allclose(res.jac, loss_grad(res.x), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n", [2, 10, 30])
def test_compiled_rosenbrock_minimum_matches_scipy(n):
    # (from (-1.2, 1, -1.2, 1, ...) both Newton methods end in the local
    # minimum near (-1, 1, ..., 1) of the n-D function; this start leads to 1)
    cf = fg.compile(rosen_np, n)
    x0 = np.linspace(-0.5, 1.5, n)
    ref = so.minimize(so.rosen, x0, jac=so.rosen_der, hess=so.rosen_hess, method="Newton-CG",
                      tol=1e-12)
    res = fg.minimize(cf, x0, method="newton", tol=1e-9, maxiter=500)
    assert res.success and res.nhev == res.nit
    np.testing.assert_allclose(res.x, ref.x, atol=1e-7)
    np.testing.assert_allclose(res.x, np.ones(n), atol=1e-8)


def test_compiled_divergence_overflow_and_nan():
    cf = fg.compile(lambda x: 3 * x[0] ** 2 + x[1] ** 2, 2)
    res = fg.minimize(cf, [2.0, 4.0], method="gd", lr=1.0, record=True)
    assert res.status == 2 and not res.success and "diverged" in res.message
    assert np.all(np.isfinite(res.x)) and np.isfinite(res.fun)
    np.testing.assert_array_equal(res.x, res.history["x"][-1])
    assert abs(res.x[0]) == pytest.approx(2 * 5.0 ** res.nit, rel=1e-12)
    # sqrt goes NaN once a step crosses 0: x is the last point where it was finite
    sq = fg.compile(lambda x: np.sum(np.sqrt(x)), 3)
    with np.errstate(invalid="ignore"):
        res = fg.minimize(sq, [1.0, 2.0, 3.0], method="gd", lr=0.5, record=True, maxiter=100)
    assert res.status == 2 and "diverged" in res.message
    assert np.all(res.x > 0) and res.fun == pytest.approx(np.sum(np.sqrt(res.x)))
    np.testing.assert_allclose(res.jac, 0.5 / np.sqrt(res.x))
    nxt = res.x - 0.5 * res.jac                      # the rejected step
    assert np.any(nxt < 0)
    assert len(res.history["x"]) == res.nit + 1


def test_compiled_callbacks_stop_early_every_k():
    cf = fg.compile(rosen_np, 6)
    seen = []

    def cb(inter):
        seen.append((inter.nit, inter.x.copy(), inter.fun, inter.jac.copy()))
        return inter.nit >= 20

    res = fg.minimize(cf, np.zeros(6), method="adam", lr=1e-2, callback=cb, callback_every=5,
                      record=True)
    assert [s[0] for s in seen] == [5, 10, 15, 20]
    assert res.nit == 20 and res.status == 3 and not res.success
    for nit, x, f, g in seen:
        np.testing.assert_array_equal(x, res.history["x"][nit])
        assert f == res.history["fun"][nit] == pytest.approx(cf(x), rel=1e-15)
        np.testing.assert_allclose(g, cf.gradient(x), rtol=1e-13, atol=1e-13)
    # a callback that never stops is only called on multiples of callback_every
    calls = []
    res = fg.minimize(cf, np.zeros(6), method="adam", lr=1e-2, maxiter=1000, tol=0.0,
                      callback=lambda r: calls.append(r.nit), callback_every=300)
    assert calls == [300, 600, 900] and res.nit == 1000 and res.status == 1


def test_compiled_record_history():
    cf = fg.compile(rosen_np, 3)
    res = fg.minimize(cf, [-1.0, 0.5, 2.0], method="momentum", lr=1e-4, maxiter=50,
                      tol=0.0, record=True)
    h = res.history
    assert h["x"].shape == (51, 3) and h["fun"].shape == (51,) and h["grad_norm"].shape == (51,)
    np.testing.assert_array_equal(h["x"][0], [-1.0, 0.5, 2.0])
    np.testing.assert_array_equal(h["x"][-1], res.x)
    for k in (0, 1, 17, 50):
        assert h["fun"][k] == pytest.approx(rosen_np(h["x"][k]), rel=1e-14)
        assert h["grad_norm"][k] == pytest.approx(np.linalg.norm(rosen_grad_np(h["x"][k])),
                                                  rel=1e-13)


def test_compiled_minimize_releases_the_gil():
    """As test_compiled_loop_releases_the_gil, with a tape objective."""
    n = 3000
    res, marks = counts_between_callbacks(fg.compile(rosen_np, n), np.zeros(n), 3000, 1000)
    assert res.nit == 3000 and len(marks) == 3
    assert marks[1] - marks[0] > 0 and marks[2] - marks[1] > 0, marks


def test_compiled_objective_size_mismatch_and_maximize():
    cf = fg.compile(lambda x: -np.sum((x - 1.5) ** 2), 3)
    with pytest.raises(ValueError, match="3"):
        fg.minimize(cf, np.zeros(4))
    res = fg.minimize(cf, np.zeros(3), method="newton", maximize=True, tol=1e-12)
    assert res.success and res.nit == 1
    np.testing.assert_allclose(res.x, [1.5, 1.5, 1.5], rtol=1e-15)


@pytest.mark.parametrize("cls,kw", [
    ("adam", dict(betas=(0.9, 0.999))),                 # beta1^t saturates at t = 395
    ("adam", dict(betas=(0.5, 0.6), amsgrad=True)),     # both saturate (t = 61, 82)
    ("adamw", dict(betas=(0.8, 0.7), weight_decay=0.05)),
    ("adam", dict(betas=(0.0, 0.9), weight_decay=0.01)),
])
@pytest.mark.parametrize("maximize", [False, True])
def test_long_adam_runs_equal_the_optimizer_class(cls, kw, maximize):
    """minimize keeps Adam's bias-correction powers beta^t as double-double
    running products and freezes the coefficients once 1 - beta^t is exactly
    1 (see fg_min_first_order.c); fastgrad.Adam / AdamW call pow() every step, as
    torch does. The products round to the same beta^t as pow except in rare
    steps, so over 1,000 steps, across the saturation points, these runs
    equal a hand loop with the class bit for bit."""
    cf, x0 = random_quadratic(11, 6, maximize)
    res = fg.minimize(cf, x0, method=cls, lr=1e-3, tol=0.0, maxiter=1000, record=True,
                      maximize=maximize, **kw)
    x = x0.copy()
    opt = (fg.AdamW if cls == "adamw" else fg.Adam)(x, lr=1e-3, maximize=maximize, **kw)
    for k in range(1000):
        opt.step(cf.gradient(x))
        if k % 97 == 0 or k >= 990:
            np.testing.assert_array_equal(res.history["x"][k + 1], x)
    np.testing.assert_array_equal(res.x, x)
