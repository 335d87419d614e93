"""Stopping and line searches of fastgrad.minimize: maxfun and exact counts,
a status and message per stop, gd with Armijo backtracking (steps about
1/L without knowing L), and Ctrl-C by elapsed time."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import fastgrad as fg
from fastgrad import _minimize
from fastgrad.reference import minimize as ref_minimize

A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 1.0]])
B = np.array([1.0, -2.0, 0.5])
L = float(np.linalg.eigvalsh(A).max())


def quad(x):
    return float(0.5 * x @ A @ x - B @ x)


def quad_grad(x):
    return A @ x - B


def test_every_stop_has_a_status_and_message():
    names = _minimize.STOP_NAMES
    assert sorted(names) == list(range(len(names)))
    messages = {code: fg.minimize(quad, np.zeros(3), jac=quad_grad, maxiter=0).message
                for code in (1,)}
    assert "maximum number of iterations" in messages[1]
    res = fg.minimize(quad, np.zeros(3), jac=quad_grad, method="gd", lr=0.1, maxfun=7)
    assert res.status == 8 and not res.success and "evaluations" in res.message


@pytest.mark.parametrize("method,kw", [("gd", dict(lr=0.1)), ("adam", dict(lr=0.1)),
                                       ("gd", dict(line_search="armijo", lr=1.0)),
                                       ("newton", dict(lr=1.0))])
def test_maxfun_is_never_exceeded(method, kw):
    calls = []

    def f(x):
        calls.append(1)
        return quad(x)

    extra = dict(hess=lambda x: A) if method == "newton" else {}
    for maxfun in (1, 2, 5, 13):
        calls.clear()
        res = fg.minimize(f, [5.0, -3.0, 2.0], jac=quad_grad, method=method, maxfun=maxfun,
                          tol=0.0, **kw, **extra)
        assert res.nfev == res.njev == len(calls) <= maxfun
        assert res.status in (8, 0, 5)
        ref = ref_minimize(f, [5.0, -3.0, 2.0], jac=quad_grad, method=method, maxfun=maxfun,
                           tol=0.0, **kw, **extra)
        assert (ref.nfev, ref.nit, ref.status) == (res.nfev, res.nit, res.status)


def test_gd_armijo_steps_settle_near_one_over_L():
    """Each step starts at twice the last accepted one and halves until
    f(x+) <= f(x) - s |g|^2 / 2, which every s <= 1/L passes (the descent
    lemma): no accepted step is below 1/(2L) once the first few doublings
    from lr are done, whatever the scale of f."""
    for scale in (1.0, 100.0):
        res = fg.minimize(lambda x: scale * quad(x), np.zeros(3),
                          jac=lambda x: scale * quad_grad(x), method="gd",
                          line_search="armijo", lr=1e-3, tol=1e-10, record=True)
        assert res.success
        np.testing.assert_allclose(res.x, np.linalg.solve(A, B), atol=1e-10)
        xs = res.history["x"]
        grads = [scale * quad_grad(x) for x in xs[:-1]]
        steps = np.array([np.linalg.norm(x1 - x0) / np.linalg.norm(g)
                          for x0, x1, g in zip(xs[:-1], xs[1:], grads)])
        assert np.all(steps[12:] >= 0.5 / (scale * L) * (1 - 1e-12))
        # far fewer iterations than the fixed step lr = 1 / L would take
        fixed = fg.minimize(lambda x: scale * quad(x), np.zeros(3),
                            jac=lambda x: scale * quad_grad(x), method="gd",
                            lr=1 / (scale * L), tol=1e-10)
        assert res.nit <= fixed.nit


def test_gd_armijo_agrees_with_the_reference_and_shrinks_on_non_finite_trials():
    # f is NaN for x[0] > 1.5: trials there are rejected, never accepted
    def f(x):
        return np.nan if x[0] > 1.5 else quad(x) - 3 * x[0]

    def g(x):
        return quad_grad(x) - np.array([3.0, 0.0, 0.0])

    with np.errstate(invalid="ignore"):
        ours = fg.minimize(f, np.zeros(3), jac=g, method="gd", line_search="armijo", lr=1.0,
                           record=True, maxiter=200, tol=1e-9)
        ref = ref_minimize(f, np.zeros(3), jac=g, method="gd", line_search="armijo", lr=1.0,
                           record=True, maxiter=200, tol=1e-9)
    assert np.all(np.isfinite(ours.history["fun"]))
    assert ours.nit == ref.nit and ours.nfev == ref.nfev and ours.status == ref.status
    np.testing.assert_allclose(ours.history["x"], ref.history["x"], rtol=0, atol=1e-13)


def test_newton_without_line_search_takes_the_full_step():
    res = fg.minimize(quad, [5.0, -3.0, 2.0], jac=quad_grad, hess=lambda x: A,
                      method="newton", line_search="none", record=True)
    assert res.nit == 1 and res.nfev == 2
    np.testing.assert_allclose(res.x, np.linalg.solve(A, B), rtol=1e-14)


def test_newton_line_search_failure_keeps_the_last_iterate():
    # f is NaN away from x0, and the 61 trials lr, lr/2, ..., lr/2^60 all
    # leave x0 (lr = 2^70): none is accepted
    res = fg.minimize(lambda x: float(x @ x) if np.all(x == 1.0) else np.nan, np.ones(2),
                      jac=lambda x: 2 * x, hess=lambda x: 2 * np.eye(2), method="newton",
                      lr=2.0 ** 70)
    assert res.status == 5 and not res.success and "line search" in res.message
    np.testing.assert_array_equal(res.x, [1.0, 1.0])
    assert res.nfev == 1 + 61


CHILD = r"""
import sys, time, numpy as np, fastgrad as fg
n = 300_000
cf = fg.compile(lambda x: np.sum(np.exp(np.sin(x)) * np.cos(x) + np.sqrt(1 + x * x)), n)
t = time.perf_counter()
fg.minimize(cf, np.zeros(n), method="adam", maxiter=3, tol=0.0)
print("ready", (time.perf_counter() - t) / 4, flush=True)
try:
    fg.minimize(cf, np.zeros(n), method="adam", maxiter=10**6, tol=0.0)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_ctrl_c_stops_a_slow_gil_free_run_within_a_fraction_of_a_second():
    """Each iteration here takes tens of ms without the GIL; the loop looks
    for signals by elapsed time (about every 50 ms), so SIGINT ends it
    within about one iteration, where a check every 256 iterations would
    take seconds."""
    env = dict(os.environ, SKBUILD_EDITABLE_VERBOSE="0", OPENBLAS_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = child.stdout.readline().split()
        assert line and line[0] == "ready", child.stderr.read()[-2000:]
        per_iter = float(line[1])
        time.sleep(max(0.3, 3 * per_iter))
        sent = time.perf_counter()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
        latency = time.perf_counter() - sent
    finally:
        if child.poll() is None:
            child.kill()
    assert "interrupted" in out, err[-2000:]
    assert 256 * per_iter > 2.0, per_iter        # the run is slow enough to tell
    assert latency < max(1.0, 5 * per_iter), (latency, per_iter)
