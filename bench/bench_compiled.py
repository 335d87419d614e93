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
from support.problems import rosen, rosen_grad, rosen_hess

repeat_eval = load("testing_tape").repeat_eval   # test-only extension

SIZES = [2, 10, 100, 1000]


def point(n):
    return np.random.default_rng(0).uniform(-1.5, 1.5, size=n)


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"n={n}")
def setup(request):
    n = request.param
    return n, fastgrad.compile(rosen, n), point(n)


def _grouped(benchmark, setup, what):
    """Put the row in the group of ``what`` at this size; return (cf, x)."""
    n, cf, x = setup
    benchmark.group = f"rosenbrock {what} n={n}"
    return cf, x


# ------------------------------------------------------------------ value --

def test_value_numpy(benchmark, setup):
    cf, x = _grouped(benchmark, setup, "value")
    benchmark(rosen, x)


def test_value_fastgrad(benchmark, setup):
    cf, x = _grouped(benchmark, setup, "value")
    assert benchmark(cf, x) == pytest.approx(rosen(x), rel=1e-13)


# --------------------------------------------------------------- gradient --

def test_gradient_numpy_analytic(benchmark, setup):
    cf, x = _grouped(benchmark, setup, "gradient")
    benchmark(rosen_grad, x)


@pytest.mark.parametrize("method", ["auto", "reverse"])   # auto: dual at n <= 2, else reverse
def test_gradient_fastgrad(benchmark, setup, method):
    cf, x = _grouped(benchmark, setup, "gradient")
    g = benchmark(cf.gradient, x, method=method)
    np.testing.assert_allclose(g, rosen_grad(x), rtol=1e-12, atol=1e-12)


def test_value_and_gradient_fastgrad(benchmark, setup):
    """What scipy.optimize.minimize(cf.value_and_gradient, jac=True) calls."""
    cf, x = _grouped(benchmark, setup, "gradient")
    value, g = benchmark(cf.value_and_gradient, x)
    assert value == pytest.approx(rosen(x), rel=1e-13)
    np.testing.assert_allclose(g, rosen_grad(x), rtol=1e-12, atol=1e-12)


# ------------------------------------- C alone, in the value and gradient groups --

@pytest.mark.parametrize("what,mode,calls", [("value", "value", 10_000),
                                              ("gradient", "reverse", 1_000)],
                         ids=["value", "reverse"])
def test_fastgrad_c_only(benchmark, setup, what, mode, calls):
    """The C evaluation alone: many calls in one nogil loop, per call."""
    cf, x = _grouped(benchmark, setup, what)
    benchmark.extra_info["calls_per_round"] = calls
    benchmark(repeat_eval, cf._tape, x, calls, mode)


# ------------------------------------------------------- second order --

def test_hvp_numpy_analytic(benchmark, setup):
    cf, x = _grouped(benchmark, setup, "hvp")
    v = np.cos(np.arange(x.size))
    benchmark(lambda: rosen_hess(x) @ v)


def test_hvp_fastgrad(benchmark, setup):
    cf, x = _grouped(benchmark, setup, "hvp")
    v = np.cos(np.arange(x.size))
    hv = benchmark(cf.hvp, x, v)
    np.testing.assert_allclose(hv, rosen_hess(x) @ v, rtol=1e-11, atol=1e-9)


def test_hessian_numpy_analytic(benchmark, setup):
    cf, x = _grouped(benchmark, setup, "hessian")
    benchmark(rosen_hess, x)


def test_hessian_fastgrad(benchmark, setup):
    cf, x = _grouped(benchmark, setup, "hessian")
    if x.size > 100:
        benchmark.pedantic(cf.hessian, args=(x,), rounds=3, iterations=1)
        return
    H = benchmark(cf.hessian, x)
    np.testing.assert_allclose(H, rosen_hess(x), rtol=1e-12, atol=1e-9)


# ---------------------------------------------------------------- compile --

@pytest.mark.parametrize("n", SIZES, ids=lambda n: f"n={n}")
def test_compile_time(benchmark, n):
    benchmark.group = "compile"
    cf = benchmark(fastgrad.compile, rosen, n)
    assert cf(np.ones(n)) == 0.0
