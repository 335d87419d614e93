"""fastgrad.minimize_many: every problem equals minimize alone, bit for bit
(every method of the table, with and without bounds, compiled and Python
objectives, warm starts); threads change nothing; failing problems spoil
no other; finished problems cost nothing; bad arguments run nothing;
ManyResult indexes and pickles."""
import pickle
import threading
import time

import numpy as np
import pytest

import fastgrad as fg
from fastgrad import _minimize, reference
from method_cases import REF_OPTIONS
from support.problems import rosen, rosen_grad

METHODS = list(_minimize.METHOD_TABLE)
BOUNDED = [m for m, row in _minimize.METHOD_TABLE.items() if row["supports_bounds"]]
N = 4
K = 7
X0 = np.random.default_rng(7).uniform(-2.0, 2.0, (K, N))
ROSEN = fg.compile(rosen, N)


def options(method):
    """Options that leave some problems unfinished (mixed statuses)."""
    out = dict(REF_OPTIONS.get(method, {}), method=method, maxiter=60)
    if method in ("gd", "momentum", "nesterov"):
        out["lr"] = 1e-4
    return out


def bits(value):
    return np.asarray(value, dtype=np.float64).tobytes()


def assert_same(single, mine, where=""):
    """Two OptimizeResults equal bit for bit (x, gradient, value, counters,
    stop, history, state)."""
    assert set(single) - {"state"} <= set(mine), (where, set(single) ^ set(mine))
    for key in ("x", "jac", "fun", "grad_norm"):
        assert bits(single[key]) == bits(mine[key]), (where, key, single[key], mine[key])
    for key in ("nit", "nfev", "njev", "nhev", "status", "success", "message", "method"):
        assert single[key] == mine[key], (where, key, single[key], mine[key])
    if "state" in mine:
        assert bits(single["state"]) == bits(mine["state"]), where
    if "history" in single:
        for key, value in single["history"].items():
            assert bits(value) == bits(mine["history"][key]), (where, key)


def assert_all_same(res, singles):
    assert len(res) == len(singles)
    for i, single in enumerate(singles):
        assert_same(single, res[i], f"problem {i}")


# ------------------------------------------------------------ against minimize --

@pytest.mark.parametrize("method", METHODS)
def test_every_method_equals_minimize_alone(method):
    kw = options(method)
    res = fg.minimize_many(ROSEN, X0, keep_state=True, **kw)
    assert_all_same(res, [fg.minimize(ROSEN, x, **kw) for x in X0])
    assert res.x.shape == res.jac.shape == (K, N) and res.fun.shape == res.nit.shape == (K,)
    assert res.success.dtype == bool and isinstance(res.message, list)


@pytest.mark.parametrize("method", BOUNDED)
def test_bounds_shared_and_per_problem_equal_minimize_alone(method):
    kw = options(method)
    shared = (np.full(N, -0.5), [1.5, None, 0.8, np.inf])
    res = fg.minimize_many(ROSEN, X0, bounds=shared, **kw)
    assert_all_same(res, [fg.minimize(ROSEN, x, bounds=shared, **kw) for x in X0])
    rng = np.random.default_rng(3)
    lo = -rng.uniform(0.2, 1.0, (K, N))
    hi = rng.uniform(0.2, 1.5, (K, N))
    res = fg.minimize_many(ROSEN, X0, bounds=(lo, hi), **kw)
    assert_all_same(res, [fg.minimize(ROSEN, x, bounds=(lo[i], hi[i]), **kw)
                          for i, x in enumerate(X0)])
    assert np.all((res.x >= lo) & (res.x <= hi))
    # one side per problem, the other shared (broadcast)
    res = fg.minimize_many(ROSEN, X0, bounds=(lo, 0.9), **kw)
    assert_all_same(res, [fg.minimize(ROSEN, x, bounds=(lo[i], 0.9), **kw)
                          for i, x in enumerate(X0)])


@pytest.mark.parametrize("method", ["lbfgs", "adam", "newton"])
def test_against_the_reference_twin(method):
    """The reference minimize_many (a loop of the reference minimize) on a
    smooth convex problem: the same iterates to rounding."""
    cf = fg.compile(lambda x: np.sum((x - 0.5) ** 2 * np.arange(1, N + 1)) + np.sum(x ** 4), N)
    kw = dict(method=method, maxiter=300, **({"lr": 1e-2} if method == "adam" else {}))
    res = fg.minimize_many(cf, X0, **kw)
    twins = reference.minimize_many(cf, X0, **kw)
    for i, twin in enumerate(twins):
        np.testing.assert_allclose(res.x[i], twin["x"], rtol=1e-9, atol=1e-9)
        assert res.status[i] == twin["status"]


# ------------------------------------------------------------------ threads --

@pytest.mark.parametrize("method", ["lbfgs", "adam", "newton-cg", "bfgs"])
def test_thread_count_changes_nothing(method):
    kw = options(method)
    X = np.random.default_rng(11).uniform(-2.0, 2.0, (23, N))
    one = fg.minimize_many(ROSEN, X, threads=1, keep_state=True, **kw)
    for threads in (2, 3, 23, 40, 1000):
        other = fg.minimize_many(ROSEN, X, threads=threads, keep_state=True, **kw)
        assert_all_same(other, list(one))


def test_compiled_runs_release_the_gil():
    """The C path holds the GIL only to poll (about every 50 ms): a Python
    thread keeps running meanwhile."""
    X = np.random.default_rng(0).uniform(-2.0, 2.0, (3000, N))
    done = threading.Event()
    ticks = []

    def solve():
        fg.minimize_many(ROSEN, X, method="adam", lr=1e-3, maxiter=400, tol=0.0)
        done.set()

    worker = threading.Thread(target=solve)
    start = time.perf_counter()
    worker.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    worker.join()
    total = time.perf_counter() - start
    gaps = np.diff([start] + ticks + [time.perf_counter()])
    assert total > 0.1, total                       # long enough to tell
    assert gaps.max() < 0.5 * total, (gaps.max(), total)


# ---------------------------------------------------------------- failures --

def test_failing_problems_spoil_no_other():
    """gd on sum(x^4) overflows (diverges) from starts where 4 lr x^2 > 2,
    creeps from the others, and stops at once at 0; each problem equals
    minimize alone and keeps a finite x."""
    cf = fg.compile(lambda x: np.sum(x ** 4), 2)
    X = np.array([[0.5, 0.1], [3.0, 0.0], [0.0, 0.0], [-4.0, 1.0], [1.0, 1.0]])
    kw = dict(method="gd", lr=0.1, maxiter=500)
    res = fg.minimize_many(cf, X, threads=2, **kw)
    assert_all_same(res, [fg.minimize(cf, x, **kw) for x in X])
    assert res.status.tolist() == [1, 2, 0, 2, 1], res.status
    assert np.isfinite(res.x).all() and "diverged" in res.message[1]


def test_python_objective_errors_end_their_problem_only():
    def fun(x):
        if x[0] > 1.0:
            raise ArithmeticError("no values above 1")
        return float(np.sum((x - 0.25) ** 2))

    X = np.array([[0.0, 0.0], [2.0, 0.0], [0.5, 3.0], [1.5, -1.0]])
    kw = dict(method="lbfgs", jac=lambda x: 2 * (x - 0.25))
    res = fg.minimize_many(fun, X, **kw)
    for i in (1, 3):
        assert res.status[i] == 4 and not res.success[i] and res.nfev[i] == 1
        assert "ArithmeticError: no values above 1" in res.message[i]
        np.testing.assert_array_equal(res.x[i], X[i])
    for i in (0, 2):
        assert res.success[i]
        assert_same(fg.minimize(fun, X[i], **kw), res[i])


def test_line_search_failure_in_one_problem():
    """f is NaN on the half-line x[0] < 0, x[1] = 0, where every trial of
    the first problem lands: its search fails (status 5); the second,
    whose path crosses the half-line once, goes on."""
    def fun(x):
        return np.nan if x[0] < 0.0 and x[1] == 0.0 else float((x[0] + 1) ** 2 + x[1] ** 2)

    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    kw = dict(method="gd", line_search="armijo", lr=0.5,
              jac=lambda x: np.array([2 * (x[0] + 1), 2 * x[1]]))
    res = fg.minimize_many(fun, X, **kw)
    assert_all_same(res, [fg.minimize(fun, x, **kw) for x in X])
    assert res.status[0] == 5 and "line search" in res.message[0]
    assert res.success[1]


def test_keyboard_interrupt_is_raised_not_reported():
    def fun(x):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fg.minimize_many(fun, X0, method="adam", jac=lambda x: x)


# ------------------------------------------------------- evaluations counted --

def test_finished_problems_cost_nothing_more():
    """Problems that converge at once, and ones that need many iterations:
    the objective is called exactly sum(nfev) times, each problem's count
    being its own run's."""
    calls = []

    def fun(x):
        calls.append(1)
        return float(np.sum((x - 1.0) ** 2 * np.arange(1, 4)))

    X = np.array([[1.0, 1.0, 1.0], [5.0, -3.0, 2.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    kw = dict(method="adam", lr=0.05, maxiter=3000, jac=lambda x: 2 * (x - 1.0) * np.arange(1, 4))
    res = fg.minimize_many(fun, X, **kw)
    assert len(calls) == res.nfev.sum()
    assert res.nfev[0] == res.nfev[2] == 1 and res.nit[0] == 0
    assert res.nfev[1] > 100
    assert_all_same(res, [fg.minimize(fun, x, **kw) for x in X])


# --------------------------------------------------------- Python objectives --

@pytest.mark.parametrize("method", METHODS)
def test_python_objectives_equal_minimize_alone(method):
    kw = options(method)
    kw["jac"] = rosen_grad
    if method == "newton":
        kw["hess"] = lambda x: fg.hessian(rosen, x)
    res = fg.minimize_many(rosen, X0, keep_state=True, **kw)
    assert_all_same(res, [fg.minimize(rosen, x, **kw) for x in X0])


def test_callbacks_record_and_schedules_per_problem():
    seen = []

    def callback(inter):
        seen.append((inter.problem, inter.nit))
        return inter.problem == 2 and inter.nit >= 5     # stops problem 2 only

    kw = dict(method="adam", lr=lambda t: 0.05 / (1 + 0.01 * (t - 1)), maxiter=40, record=True,
              callback_every=2)
    res = fg.minimize_many(ROSEN, X0, callback=callback, **kw)
    assert res.status[2] == 3 and res.nit[2] == 6
    assert {p for p, _ in seen} == set(range(K))
    singles = []
    for i, x in enumerate(X0):
        singles.append(fg.minimize(ROSEN, x, callback=lambda r, i=i: callback(
            fg.OptimizeResult(r, problem=i)), **kw))
    assert_all_same(res, singles)
    assert len(res.history) == K and res[0].history["x"].shape == (res.nit[0] + 1, N)


def test_progress_line_counts_problems(capsys):
    fg.minimize_many(ROSEN, X0, method="lbfgs", progress=True)
    fg.minimize_many(rosen, X0, method="lbfgs", jac=rosen_grad, progress=True)
    err = capsys.readouterr().err
    assert err.count(f"{K} of {K} problems done") == 2


# ---------------------------------------------------------- per-problem data --

# k decaying exponentials y = a exp(-b t) + c, one per problem, with noise
TS = np.linspace(0.0, 3.0, 12) * np.linspace(0.7, 1.3, K)[:, None]    # each row its own t
TRUE = np.random.default_rng(5).uniform([0.5, 0.3, -0.5], [2.0, 2.0, 0.5], (K, 3))
YS = TRUE[:, :1] * np.exp(-TRUE[:, 1:2] * TS) + TRUE[:, 2:] \
    + 0.01 * np.random.default_rng(6).standard_normal(TS.shape)


def curve_loss(p, t, y):
    return np.sum((p[0] * np.exp(-p[1] * t) + p[2] - y) ** 2)


def curve_grad(p, t, y):
    e = np.exp(-p[1] * t)
    r = 2.0 * (p[0] * e + p[2] - y)
    return np.array([np.sum(r * e), np.sum(-r * p[0] * t * e), np.sum(r)])


def curve_hessp(p, v, t, y):
    """H v by central differences of the exact gradient (a Python hook)."""
    h = 1e-6
    return (curve_grad(p + h * v, t, y) - curve_grad(p - h * v, t, y)) / (2 * h)


P0 = np.tile([1.0, 1.0, 0.0], (K, 1))


@pytest.mark.parametrize("method, extra", [
    ("lbfgs", {}),                                   # gradient by dual numbers
    ("lbfgs", dict(jac=curve_grad)),
    ("adam", dict(jac=curve_grad, lr=0.05)),
    ("bfgs", dict(jac=curve_grad)),
    ("newton", dict(jac=curve_grad, hess=lambda p, t, y: fg.hessian(curve_loss, p, args=(t, y)))),
    ("newton-cg", dict(jac=curve_grad, hessp=curve_hessp)),
])
def test_per_problem_data_equals_minimize_alone(method, extra):
    """Problem i sees row i of every data array: minimize_many equals
    minimize on the problem with its rows bound, bit for bit; each fit
    matches its own data."""
    kw = dict(method=method, maxiter=200, **extra)
    res = fg.minimize_many(curve_loss, P0, data=(TS, YS), keep_state=True, **kw)
    singles = []
    for i in range(K):
        bound = {name: (lambda *a, f=f, i=i: f(*a, TS[i], YS[i])) if callable(f) else f
                 for name, f in kw.items()}
        singles.append(fg.minimize(lambda p, i=i: curve_loss(p, TS[i], YS[i]), P0[i], **bound))
    assert_all_same(res, singles)
    if method != "adam":
        assert res.success.all(), res.message
        # each fit is at least as good as the curve its data came from
        assert all(res.fun[i] <= curve_loss(TRUE[i], TS[i], YS[i]) + 1e-9 for i in range(K))


def test_per_problem_data_against_the_reference_twin():
    kw = dict(method="lbfgs", jac=curve_grad, maxiter=200)
    res = fg.minimize_many(curve_loss, P0, data=[TS, YS], **kw)
    twins = reference.minimize_many(curve_loss, P0, data=[TS, YS], **kw)
    for i, twin in enumerate(twins):
        np.testing.assert_allclose(res.x[i], twin["x"], rtol=1e-7, atol=1e-9)
        assert res.status[i] == twin["status"]


def test_per_problem_data_rows_are_passed_as_given():
    """Rows keep their dtype and shape (integer labels, 2-D rows), and a
    warm start with the same data continues every problem."""
    seen = []
    labels = np.arange(K, dtype=np.int64)
    weights = np.arange(K * 6, dtype=np.float64).reshape(K, 2, 3)

    def fun(x, label, w):
        seen.append((int(label), label.dtype, w.shape))
        return np.sum((x - label) ** 2) + 0.0 * np.sum(w)

    kw = dict(method="lbfgs", jac=lambda x, label, w: 2 * (x - label), keep_state=True)
    res = fg.minimize_many(fun, np.zeros((K, 2)), data=(labels, weights), **kw)
    np.testing.assert_allclose(res.x, np.repeat(labels[:, None], 2, axis=1).astype(float))
    assert {s[0] for s in seen} == set(range(K))
    assert all(s[1] == np.int64 and s[2] == (2, 3) for s in seen)
    again = fg.minimize_many(fun, None, data=(labels, weights), warm_start=res, **kw)
    assert again.success.all()


def test_per_problem_data_errors_spoil_no_other():
    def fun(x, y):
        if y[0] < 0:
            raise ValueError("negative data")
        return np.sum((x - y) ** 2)

    Y = np.array([[1.0, 2.0], [-1.0, 0.0], [3.0, 4.0]])
    res = fg.minimize_many(fun, np.zeros((3, 2)), data=(Y,), method="lbfgs",
                           jac=lambda x, y: 2 * (x - y))
    assert res.success.tolist() == [True, False, True] and res.status[1] == 4
    assert "ValueError: negative data" in res.message[1]
    np.testing.assert_allclose(res.x[[0, 2]], Y[[0, 2]])


CURVE = fg.compile(curve_loss, 3, data=(TS[0], YS[0]))


@pytest.mark.parametrize("method", METHODS)
def test_compiled_per_problem_data_equals_minimize_alone(method):
    """A compiled function with data inputs: problem i's blocks TS[i], YS[i]
    give what minimize(cf, x0, data=(TS[i], YS[i])) gives, bit for bit, on
    any number of threads (in C through the batch objective, or through
    the loop for the methods that use Hessians)."""
    kw = dict(options(method), maxiter=80)
    singles = [fg.minimize(CURVE, P0[i], data=(TS[i], YS[i]), **kw) for i in range(K)]
    for threads in (1, 2, 5):
        res = fg.minimize_many(CURVE, P0, data=(TS, YS), threads=threads, **kw)
        assert_all_same(res, singles)


def test_compiled_per_problem_data_warm_start_and_bounds():
    kw = dict(method="lbfgs", bounds=(np.full((K, 3), -1.0), 2.5))
    whole = fg.minimize_many(CURVE, P0, data=(TS, YS), maxiter=30, keep_state=True, **kw)
    half = fg.minimize_many(CURVE, P0, data=(TS, YS), maxiter=5, keep_state=True, **kw)
    assert (half.nit == 5).all()                 # no problem stopped in the first part
    rest = fg.minimize_many(CURVE, None, data=(TS, YS), maxiter=25, warm_start=half,
                            keep_state=True, threads=2, **kw)
    assert_all_same(rest, list(whole))


def test_compiled_per_problem_integer_data():
    """Integer data (indices) per problem: x[labels] picks problem i's own
    entries; labels out of range in any problem are refused before any run."""
    picks = fg.compile(lambda x, idx, w: np.sum(w * (np.take(x, idx) - 1.0) ** 2), 4,
                       data=(np.array([0, 1]), np.ones(2)))
    idx = np.array([[0, 1], [2, 3], [1, 3]])
    w = np.array([[1.0, 2.0], [3.0, 1.0], [0.5, 0.5]])
    res = fg.minimize_many(picks, np.zeros((3, 4)), data=(idx, w), method="lbfgs")
    expect = np.zeros((3, 4))
    for i in range(3):
        expect[i, idx[i]] = 1.0
    np.testing.assert_allclose(res.x, expect, atol=1e-6)
    assert_all_same(res, [fg.minimize(picks, np.zeros(4), data=(idx[i], w[i]), method="lbfgs")
                          for i in range(3)])
    bad = idx.copy()
    bad[2, 1] = 4
    with pytest.raises(ValueError, match="outside"):
        fg.minimize_many(picks, np.zeros((3, 4)), data=(bad, w), method="lbfgs")


@pytest.mark.parametrize("data, match", [
    ((TS, YS[:, :5]), r"data\[1\] has shape \(7, 5\)"),
    ((TS[:, 0], YS[:, 0]), r"data\[0\] has shape \(7,\)"),
    ((TS[:, :, None], YS[:, :, None]), "shape"),
    ((TS[:-1], YS[:-1]), "first axis of length k = 7"),
    ((TS,), "2 data arrays|expected 2"),
])
def test_compiled_bad_per_problem_data(data, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fg.minimize_many(CURVE, P0, data=data, method="lbfgs")


def test_compiled_without_data_inputs_refuses_data():
    with pytest.raises(TypeError, match="compiled without data"):
        fg.minimize_many(ROSEN, X0, data=(np.zeros((K, 3, 2)),), method="lbfgs")


@pytest.mark.parametrize("data, exc, match", [
    (np.zeros((K, 2)), TypeError, "data must be a tuple"),
    ((np.zeros((K + 1, 2)),), ValueError, r"data\[0\] must have a first axis of length k = 7"),
    ((np.zeros((K, 2)), 3.0), ValueError, r"data\[1\]"),
])
def test_bad_data_raises_and_runs_nothing(data, exc, match):
    calls = []
    with pytest.raises(exc, match=match):
        fg.minimize_many(lambda x, *rows: calls.append(1) or 0.0, X0, method="lbfgs", data=data)
    assert calls == []


# ------------------------------------------------------------- warm starts --

@pytest.mark.parametrize("method", ["lbfgs", "adam", "bfgs"])
@pytest.mark.parametrize("compiled", [True, False])
def test_split_runs_equal_the_whole_run(method, compiled):
    fun, extra = (ROSEN, {}) if compiled else (rosen, dict(jac=rosen_grad))
    kw = dict(options(method), **extra)
    kw.pop("maxiter")
    whole = fg.minimize_many(fun, X0, maxiter=50, keep_state=True, **kw)
    half = fg.minimize_many(fun, X0, maxiter=20, keep_state=True, **kw)
    half = pickle.loads(pickle.dumps(half))
    rest = fg.minimize_many(fun, None, maxiter=30, warm_start=half, keep_state=True, **kw)
    assert_all_same(rest, list(whole))
    # one problem continued by minimize alone
    one = fg.minimize(fun, None, maxiter=30, warm_start=half[3], **kw)
    assert_same(one, whole[3])


def test_warm_start_errors():
    res = fg.minimize_many(ROSEN, X0, method="lbfgs", maxiter=3)
    with pytest.raises(ValueError, match="keep_state"):
        fg.minimize_many(ROSEN, None, method="lbfgs", warm_start=res)
    res = fg.minimize_many(ROSEN, X0, method="lbfgs", maxiter=3, keep_state=True)
    with pytest.raises(ValueError, match="method='lbfgs'"):
        fg.minimize_many(ROSEN, None, method="bfgs", warm_start=res)
    with pytest.raises(ValueError, match="warm_start"):
        fg.minimize_many(ROSEN, X0 + 1, method="lbfgs", warm_start=res)
    with pytest.raises(TypeError, match="ManyResult"):
        fg.minimize_many(ROSEN, None, method="lbfgs", warm_start=res[0])
    with pytest.raises(ValueError, match="warm_start"):
        fg.minimize_many(ROSEN, None, method="lbfgs", m=5, warm_start=res)
    tampered = pickle.loads(pickle.dumps(res))
    tampered.state[4, 0] = 123.0
    with pytest.raises(ValueError, match="warm_start"):
        fg.minimize_many(ROSEN, None, method="lbfgs", warm_start=tampered)


# ----------------------------------------------------------- bad arguments --

class Counting:
    """A compiled function that counts the capsules made from it."""

    def __init__(self, cf):
        self.cf, self.capsules, self.size = cf, 0, cf.size

    def __call__(self, x):
        return self.cf(x)

    def _fg_objective_capsule(self):
        self.capsules += 1
        return self.cf._fg_objective_capsule()


@pytest.mark.parametrize("threads, k, capsules", [(1, 7, 1), (3, 7, 3), (10, 7, 7), (2, 0, 1)])
def test_one_objective_workspace_per_thread(threads, k, capsules):
    f = Counting(ROSEN)
    res = fg.minimize_many(f, X0[:k], method="lbfgs", threads=threads)
    assert f.capsules == capsules and len(res) == k


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(X0=np.zeros(N)), ValueError, "X0 must have shape"),
    (dict(X0=np.zeros((2, 3, N))), ValueError, "X0 must have shape"),
    (dict(X0=np.zeros((3, N + 1))), ValueError, "each row of X0 has 5 elements"),
    (dict(X0=[[0.0, np.nan, 0, 0]]), ValueError, "X0 must hold finite"),
    (dict(X0=[["a", "b", "c", "d"]]), TypeError, "X0"),
    (dict(threads=0), ValueError, "threads"),
    (dict(threads=1.5), TypeError, "threads"),
    (dict(threads=True), TypeError, "threads"),
    (dict(keep_state=1), TypeError, "keep_state"),
    (dict(method="nope"), ValueError, "method"),
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(tol="1"), TypeError, "tol"),
    (dict(betas=(0.9, 2.0)), ValueError, "betas"),
    (dict(momentum=0.5), TypeError, "momentum"),
    (dict(bounds=(np.zeros((K + 1, N)), 1.0)), ValueError, "bounds"),
    (dict(bounds=(np.ones((K, N)), np.zeros((K, N)))), ValueError, "bounds"),
    (dict(bounds=(0.0, 1.0), method="newton"), ValueError, "bounds"),
    (dict(data=(np.zeros((K, 3, 2)),)), NotImplementedError, "data inputs"),
])
def test_bad_arguments_raise_naming_them_and_run_nothing(kwargs, exc, match):
    f = Counting(ROSEN)
    kw = dict(X0=X0, method="adam")
    kw.update(kwargs)
    X = kw.pop("X0")
    with pytest.raises(exc, match=match):
        fg.minimize_many(f, X, **kw)
    assert f.capsules == 0


def test_python_objective_is_not_called_on_bad_arguments():
    calls = []
    with pytest.raises(ValueError, match="bounds"):
        fg.minimize_many(lambda x: calls.append(1) or 0.0, X0, method="adam",
                         bounds=(np.zeros((2, N)), 1.0))
    assert calls == []


# ----------------------------------------------------------------- results --

def test_many_result_indexing_iteration_and_pickling():
    res = fg.minimize_many(ROSEN, X0, method="lbfgs", keep_state=True)
    assert len(res) == K and [r.nit for r in res] == res.nit.tolist()
    assert res[-1].nit == res[K - 1].nit and res[np.int64(2)].fun == res.fun[2]
    with pytest.raises(IndexError):
        res[K]
    with pytest.raises(TypeError):
        res["x"]
    copy = pickle.loads(pickle.dumps(res))
    assert_all_same(copy, list(res))
    assert "ManyResult(k=7" in repr(res)
    r = res[0]
    assert isinstance(r, fg.OptimizeResult) and type(r.fun) is float and type(r.nit) is int
    assert type(r.success) is bool and r.method == "lbfgs"


def test_empty_batch():
    for fun, extra in ((ROSEN, {}), (rosen, dict(jac=rosen_grad))):
        res = fg.minimize_many(fun, np.zeros((0, N)), method="lbfgs", keep_state=True, **extra)
        assert len(res) == 0 and res.x.shape == (0, N) and res.jac.shape == (0, N)
        assert list(res) == [] and len(res.state) == 0


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_maximize_equals_minimize_alone(method):
    cf = fg.compile(lambda x: -rosen(x), N)
    kw = dict(options(method), maximize=True)
    res = fg.minimize_many(cf, X0, threads=2, **kw)
    assert_all_same(res, [fg.minimize(cf, x, **kw) for x in X0])


def test_docstring_examples():
    import doctest
    import importlib
    module = importlib.import_module("fastgrad.minimize_many")   # not the function
    assert doctest.testmod(module).failed == 0


def test_results_do_not_depend_on_x0_layout():
    """X0 of any dtype, order or byte order is read as float64 values."""
    res = fg.minimize_many(ROSEN, X0, method="lbfgs")
    other = fg.minimize_many(ROSEN, np.asfortranarray(X0).astype(">f8"), method="lbfgs")
    assert_all_same(other, list(res))
    assert not np.shares_memory(res.x, X0)


def test_ctrl_c_stops_every_thread():
    """KeyboardInterrupt (from _thread.interrupt_main, as Ctrl-C would) stops
    a GIL-free batch on two threads whose problems would run for tens of
    seconds: the calling thread polls about every 50 ms and tells the other
    to stop."""
    import _thread
    import signal
    # interrupt_main does nothing unless SIGINT has Python's handler
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, \
        signal.getsignal(signal.SIGINT)
    cf = fg.compile(lambda x: np.sum(np.exp(np.sin(x)) * np.cos(x) + np.sqrt(1 + x * x)), 50)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    start = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            fg.minimize_many(cf, np.zeros((40, 50)), method="adam", maxiter=50_000, tol=0.0,
                             threads=2)
    finally:
        timer.cancel()
    assert time.perf_counter() - start < 5.0
