"""Benchmarks of fastgrad.compile against plain NumPy (pytest-benchmark).

Groups per size: the value f(x), the gradient (fastgrad's dual and reverse
modes against a hand-written NumPy analytic gradient), the Hessian-vector
product and the Hessian (against NumPy forming the analytic tridiagonal
Hessian and multiplying), and compile time. "c_only" rows run many calls in
one nogil C loop (the C cost per call without Python's call overhead).
Run: python -m pytest bench/bench_compiled.py --benchmark-only -q
"""
import numpy as np
import pytest

import fastgrad
from support.build import load

repeat_eval = load("testing_tape").repeat_eval   # test-only extension

SIZES = [2, 10, 100, 1000]


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_grad(x):
    """NumPy analytic gradient (the baseline a NumPy user would write)."""
    d = x[1:] - x[:-1] ** 2
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


def point(n):
    return np.random.default_rng(0).uniform(-1.5, 1.5, size=n)


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"n={n}")
def setup(request):
    n = request.param
    return n, fastgrad.compile(rosenbrock, n), point(n)


# ------------------------------------------------------------------ value --

def test_value_numpy(benchmark, setup):
    n, cf, x = setup
    benchmark.group = f"rosenbrock value n={n}"
    benchmark(rosenbrock, x)


def test_value_fastgrad(benchmark, setup):
    n, cf, x = setup
    benchmark.group = f"rosenbrock value n={n}"
    assert benchmark(cf, x) == pytest.approx(rosenbrock(x), rel=1e-13)


def test_value_fastgrad_c_only(benchmark, setup):
    """The C evaluation alone: 10,000 calls in one nogil loop, per call."""
    n, cf, x = setup
    benchmark.group = f"rosenbrock value n={n}"
    benchmark.extra_info["calls_per_round"] = 10_000
    benchmark(repeat_eval, cf._tape, x, 10_000, "value")


# --------------------------------------------------------------- gradient --

def test_gradient_numpy_analytic(benchmark, setup):
    n, cf, x = setup
    benchmark.group = f"rosenbrock gradient n={n}"
    benchmark(rosenbrock_grad, x)


def test_gradient_fastgrad_dual(benchmark, setup):
    n, cf, x = setup
    benchmark.group = f"rosenbrock gradient n={n}"
    g = benchmark(cf.gradient, x)
    np.testing.assert_allclose(g, rosenbrock_grad(x), rtol=1e-12, atol=1e-12)


def test_gradient_fastgrad_reverse(benchmark, setup):
    n, cf, x = setup
    benchmark.group = f"rosenbrock gradient n={n}"
    g = benchmark(cf.gradient, x, "reverse")
    np.testing.assert_allclose(g, rosenbrock_grad(x), rtol=1e-12, atol=1e-12)


def test_gradient_fastgrad_reverse_c_only(benchmark, setup):
    n, cf, x = setup
    benchmark.group = f"rosenbrock gradient n={n}"
    benchmark.extra_info["calls_per_round"] = 1_000
    benchmark(repeat_eval, cf._tape, x, 1_000, "reverse")


# ------------------------------------------------------- second order --

def rosenbrock_hessian(x):
    """NumPy analytic Hessian (tridiagonal, formed densely)."""
    n = x.size
    H = np.zeros((n, n))
    d = np.zeros(n)
    d[:-1] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    d[1:] += 200.0
    H[np.arange(n), np.arange(n)] = d
    off = -400.0 * x[:-1]
    H[np.arange(n - 1), np.arange(1, n)] = off
    H[np.arange(1, n), np.arange(n - 1)] = off
    return H


def test_hvp_numpy_analytic(benchmark, setup):
    n, cf, x = setup
    benchmark.group = f"rosenbrock hvp n={n}"
    v = np.cos(np.arange(n))
    benchmark(lambda: rosenbrock_hessian(x) @ v)


def test_hvp_fastgrad(benchmark, setup):
    n, cf, x = setup
    benchmark.group = f"rosenbrock hvp n={n}"
    v = np.cos(np.arange(n))
    hv = benchmark(cf.hvp, x, v)
    np.testing.assert_allclose(hv, rosenbrock_hessian(x) @ v, rtol=1e-11, atol=1e-9)


def test_hessian_numpy_analytic(benchmark, setup):
    n, cf, x = setup
    benchmark.group = f"rosenbrock hessian n={n}"
    benchmark(rosenbrock_hessian, x)


def test_hessian_fastgrad(benchmark, setup):
    n, cf, x = setup
    benchmark.group = f"rosenbrock hessian n={n}"
    if n > 100:
        benchmark.pedantic(cf.hessian, args=(x,), rounds=3, iterations=1)
        return
    H = benchmark(cf.hessian, x)
    np.testing.assert_allclose(H, rosenbrock_hessian(x), rtol=1e-12, atol=1e-9)


# ---------------------------------------------------------------- compile --

@pytest.mark.parametrize("n", SIZES, ids=lambda n: f"n={n}")
def test_compile_time(benchmark, n):
    benchmark.group = "compile"
    cf = benchmark(fastgrad.compile, rosenbrock, n)
    assert cf(np.ones(n)) == 0.0
