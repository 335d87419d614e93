"""10,000 Adam iterations (lr 1e-3, analytic gradient) on 2-D and 100-D
Rosenbrock: fastgrad's C minimize driver with a C objective, the same driver
with a Python objective, against a plain NumPy Python loop.

Run: python -m pytest bench/bench_minimize.py --benchmark-only -q
"""
import numpy as np
import pytest

import fastgrad as fg
from fastgrad._minimize import _test_objectives

ITERS = 10_000
LR = 1e-3


def rosen_np(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


def rosen_grad_np(x):
    g = np.zeros_like(x)
    r = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * r - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * r
    return g


def numpy_adam_loop(x0, iters=ITERS, lr=LR, b1=0.9, b2=0.999, eps=1e-8):
    """The baseline: a plain NumPy Adam loop (torch's formula)."""
    x = x0.copy()
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    for t in range(1, iters + 1):
        g = rosen_grad_np(x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + eps
        x = x - (lr / (1 - b1 ** t)) * m / denom
    return x, rosen_np(x)


def x0_for(n):
    x0 = np.empty(n)
    x0[0::2] = -1.2
    x0[1::2] = 1.0
    return x0


@pytest.mark.parametrize("n", [2, 100])
def test_c_driver_c_objective(benchmark, n):
    benchmark.group = f"adam-10k-rosenbrock-{n}d"
    obj = _test_objectives.rosenbrock(n)
    x0 = x0_for(n)
    res = benchmark(fg.minimize, obj, x0, method="adam", lr=LR, tol=0.0, maxiter=ITERS)
    xr, fr = numpy_adam_loop(x0, iters=ITERS)
    assert res.nit == ITERS
    np.testing.assert_allclose(res.x, xr, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n", [2, 100])
def test_c_driver_python_objective(benchmark, n):
    benchmark.group = f"adam-10k-rosenbrock-{n}d"
    x0 = x0_for(n)
    res = benchmark.pedantic(fg.minimize, args=(rosen_np, x0),
                             kwargs=dict(jac=rosen_grad_np, method="adam", lr=LR, tol=0.0,
                                         maxiter=ITERS), rounds=3, iterations=1)
    assert res.nit == ITERS


@pytest.mark.parametrize("n", [2, 100])
def test_numpy_loop(benchmark, n):
    benchmark.group = f"adam-10k-rosenbrock-{n}d"
    benchmark.pedantic(numpy_adam_loop, args=(x0_for(n),), rounds=3, iterations=1)
