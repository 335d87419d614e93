"""The quasi-Newton family against scipy and scikit-learn, same run:

- compile + lbfgs on n-D Rosenbrock (n = 2, 10, 100) against scipy's
  L-BFGS-B with the analytic ``rosen_der`` (also lbfgs on the tape compiled
  once, and on a Python objective);
- the L2 logistic regression on scikit-learn's breast-cancer data
  (standardized, intercept unpenalized, C = 1), compile included, with
  lbfgs, newton-cg and bfgs against ``LogisticRegression`` (lbfgs and
  newton-cholesky, their defaults) and scipy's L-BFGS-B;
- the solver's own cost per iteration at n = 10 and 100: 200 L-BFGS
  iterations on a hand-written C Rosenbrock (a few ns per evaluation)
  against scipy's L-BFGS-B with its evaluation time subtracted.

Run with one BLAS thread, as the tables in the report were:
OPENBLAS_NUM_THREADS=1 python -m pytest bench/bench_quasi_newton.py --benchmark-only -q
Each group's rows compare within the run; ``extra_info`` holds the
iterations, evaluations and (overhead group) nanoseconds per iteration.
"""
import os
import sys
import timeit
import warnings

import numpy as np
import pytest
import scipy.optimize as so

import fastgrad as fg
from support.build import load
from support.problems import rosen

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "tests", "minimize"))
import mgh  # noqa: E402  (the test problems, shared with the tests)

T = load("testing_minimize")   # the hand-written C objectives (test-only extension)


def x0_for(n):
    return np.tile([-1.2, 1.0], n // 2 + 1)[:n]


def info(benchmark, res, nit=None):
    benchmark.extra_info.update(nit=int(res.nit if nit is None else nit), nfev=int(res.nfev))


# ---------------------------------------------------------- Rosenbrock --

ROSENBROCK_RUNS = {
    # compile included: trace, validate, plan the workspace, then the run
    "fastgrad-compile+lbfgs": lambda n, x0: fg.minimize(fg.compile(rosen, n), x0,
                                                        method="lbfgs"),
    "fastgrad-lbfgs-compiled-once": None,     # the tape compiled outside the timing
    "fastgrad-lbfgs-python-objective": lambda n, x0: fg.minimize(
        so.rosen, x0, jac=so.rosen_der, method="lbfgs"),
    "scipy-L-BFGS-B": lambda n, x0: so.minimize(so.rosen, x0, jac=so.rosen_der,
                                                method="L-BFGS-B"),
}


@pytest.mark.parametrize("how", list(ROSENBROCK_RUNS))
@pytest.mark.parametrize("n", [2, 10, 100])
def test_rosenbrock(benchmark, n, how):
    benchmark.group = f"lbfgs-rosenbrock-{n}d"
    x0 = x0_for(n)
    run = ROSENBROCK_RUNS[how]
    if run is None:
        cf = fg.compile(rosen, n)
        res = benchmark(fg.minimize, cf, x0, method="lbfgs")
    else:
        res = benchmark(run, n, x0)
    assert res.success
    info(benchmark, res)


# ------------------------------------------- breast-cancer logistic fit --

@pytest.fixture(scope="module")
def cancer():
    p, X, y = mgh.breast_cancer_logistic()
    s = 2.0 * y - 1.0
    A = np.hstack([X, np.ones((X.shape[0], 1))]) * s[:, None]   # rows s_i (x_i, 1)
    pen = np.r_[np.ones(X.shape[1]), 0.0]

    def loss(w):
        return np.sum(np.logaddexp(0.0, -(A @ w))) + 0.5 * np.sum(pen * w * w)
    from sklearn.linear_model import LogisticRegression
    ref = LogisticRegression(solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y)
    return dict(p=p, X=X, y=y, loss=loss, w=np.r_[ref.coef_.ravel(), ref.intercept_])


def coef_error(w, w_ref):
    return float(np.max(np.abs(w - w_ref)) / np.max(np.abs(w_ref)))


@pytest.mark.parametrize("method", ["lbfgs", "newton-cg", "bfgs"])
def test_cancer_fastgrad(benchmark, cancer, method):
    """Compile included; tol 1e-4 on the summed loss's gradient (sklearn's
    tol=1e-4 applies to the mean loss, 569 times smaller: a looser test)."""
    benchmark.group = "logistic-breast-cancer"
    res = benchmark(lambda: fg.minimize(fg.compile(cancer["loss"], 31), np.zeros(31),
                                        method=method, tol=1e-4))
    assert res.success
    info(benchmark, res)
    benchmark.extra_info["coef_rel_error"] = coef_error(res.x, cancer["w"])


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cholesky"])
def test_cancer_sklearn(benchmark, cancer, solver):
    from sklearn.linear_model import LogisticRegression
    benchmark.group = "logistic-breast-cancer"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = benchmark(lambda: LogisticRegression(solver=solver).fit(cancer["X"], cancer["y"]))
    benchmark.extra_info.update(nit=int(clf.n_iter_[0]), coef_rel_error=coef_error(
        np.r_[clf.coef_.ravel(), clf.intercept_], cancer["w"]))


def test_cancer_scipy_lbfgsb(benchmark, cancer):
    benchmark.group = "logistic-breast-cancer"
    p = cancer["p"]
    res = benchmark(so.minimize, p.f, p.x0, jac=p.grad, method="L-BFGS-B",
                    options=dict(gtol=1e-4))
    info(benchmark, res)
    benchmark.extra_info["coef_rel_error"] = coef_error(res.x, cancer["w"])


# ------------------------------------------------ overhead per iteration --

ITERS = 200


def per_iteration_ns(benchmark, nit, subtract=0.0):
    if benchmark.disabled:   # --benchmark-disable: one untimed run, no stats
        return
    benchmark.extra_info["ns_per_iteration"] = (benchmark.stats.stats.min - subtract) / nit * 1e9


@pytest.mark.parametrize("n", [10, 100])
def test_overhead_fastgrad_lbfgs(benchmark, n):
    """200 iterations on the hand-written C Rosenbrock: what remains is the
    loop, the two-loop recursion and the line search (the evaluation costs
    a few ns per coordinate), less the call's setup (a run of 0 iterations,
    timed alone in the same run: argument checks, workspace, first
    evaluation)."""
    benchmark.group = f"lbfgs-overhead-{n}d"
    obj = T.rosenbrock(n)
    x0 = x0_for(n)
    res = benchmark(fg.minimize, obj, x0, method="lbfgs", tol=0.0, ftol=0.0, maxiter=ITERS)
    setup = min(timeit.repeat(lambda: fg.minimize(obj, x0, method="lbfgs", maxiter=0),
                              number=50, repeat=7)) / 50
    info(benchmark, res)
    benchmark.extra_info["setup_ns"] = setup * 1e9
    per_iteration_ns(benchmark, res.nit, subtract=setup)


@pytest.mark.parametrize("n", [10, 100])
def test_overhead_scipy_lbfgsb(benchmark, n):
    """scipy's L-BFGS-B for the same iterations, less the time its
    evaluations of rosen and rosen_der take (timed alone, same run)."""
    benchmark.group = f"lbfgs-overhead-{n}d"
    x0 = x0_for(n)
    opts = dict(maxiter=ITERS, gtol=0.0, ftol=0.0, maxfun=10 * ITERS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = benchmark(so.minimize, so.rosen, x0, jac=so.rosen_der, method="L-BFGS-B",
                        options=opts)
    x1 = x0 + 0.01
    per_eval = min(timeit.repeat(lambda: (so.rosen(x1), so.rosen_der(x1)), number=50,
                                 repeat=7)) / 50
    info(benchmark, res)
    benchmark.extra_info["eval_ns"] = per_eval * 1e9
    per_iteration_ns(benchmark, res.nit, subtract=res.nfev * per_eval)
