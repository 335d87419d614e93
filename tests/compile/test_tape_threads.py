"""One compiled function, many threads: every call borrows its own workspace
from the tape's pool (taken and returned under a per-tape lock, which is
what makes fastgrad._tape freethreading_compatible), small calls hold the
GIL and large ones release it; results equal the single-threaded ones bit
for bit, whatever the interleaving."""
import sys
import sysconfig
import threading

import numpy as np

import fastgrad
from support.build import load
from support.threads import run_threads

call_objective_capsule = load("testing_tape").call_objective_capsule


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_workspace_pool_under_concurrent_mixed_calls():
    rng = np.random.default_rng(3)
    small = fastgrad.compile(rosenbrock, 4, chunk=3)                   # holds the GIL
    large = fastgrad.compile(lambda x: np.sum(np.tanh(x) * x[::-1]) + rosenbrock(x), 600)
    calls = []
    for cf in (small, large):
        x, v = rng.normal(size=cf.shape), rng.normal(size=cf.shape)
        calls += [lambda cf=cf, x=x: cf(x),
                  lambda cf=cf, x=x: cf.gradient(x),
                  lambda cf=cf, x=x: cf.gradient(x, method="reverse"),
                  lambda cf=cf, x=x, v=v: cf.jvp(x, v),
                  lambda cf=cf, x=x, v=v: cf.hvp(x, v)]
    calls += [lambda: small.hessian(np.ones(4)), lambda: small.hessian(np.ones(4), "hyperdual"),
              lambda: call_objective_capsule(small._fg_objective_capsule(), np.ones(4))]
    expect = [c() for c in calls]
    errors = []
    barrier = threading.Barrier(8)

    def same(a, b):
        if isinstance(a, tuple):
            return all(np.array_equal(u, w) for u, w in zip(a, b))
        return np.array_equal(a, b)

    def worker(seed):
        order = np.random.default_rng(seed).permutation(len(calls) * 6) % len(calls)
        barrier.wait()
        for i in order:
            if not same(calls[i](), expect[i]):
                errors.append(i)

    run_threads(worker, 8)
    assert errors == []
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        # a free-threaded build: importing the tape module left the GIL off
        assert not sys._is_gil_enabled()


def test_threads_share_one_compiled_function():
    rng = np.random.default_rng(20261122)
    X = rng.normal(size=(600, 8))          # big enough that calls release the GIL
    y = np.where(rng.uniform(size=600) < 0.5, -1.0, 1.0)
    cf = fastgrad.compile(lambda w: np.sum(np.log1p(np.exp(-y * (X @ w)))) + 0.1 * w @ w, 8)
    small = fastgrad.compile(rosenbrock, 8)
    points = [rng.normal(size=8) for _ in range(8)]
    def results(p):
        return (cf(p), cf.gradient(p), small(p), small.gradient(p),
                cf.gradient(p, method="reverse"), small.hessian(p))

    expect = [results(p) for p in points]
    errors = []

    def worker(i):
        p = points[i]
        for _ in range(40):
            got = results(p)
            if not all(np.array_equal(u, v) for u, v in zip(got, expect[i])):
                errors.append(i)
                return

    run_threads(worker, 8)
    assert errors == []
