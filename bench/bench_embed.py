"""Gradient of the n-D Rosenbrock function written once in C on dual numbers
(what an embedder does) vs the same function in NumPy through the Python API.

Run: python -m pytest bench/bench_embed.py --benchmark-only -q

Per size n (10, 100, 1000), one group compares:
  c dual callback   fastgrad._dual_grad.rosenbrock_gradient: fg_dual_gradient_f64
                    on a C dual callback, default chunk, GIL released
  fastgrad dual     fastgrad.gradient(rosen, x) (Python DualArray, default chunk)
  c central         fastgrad.gradient(CRosenbrock(n), x, method="central"): the C
                    finite-difference driver on a C callback (2n calls)
  reference dual    fastgrad.reference.dual (scalar Python duals; n <= 100)
Inputs are built once per size, outside the timed part.
"""
import numpy as np
import pytest

import fastgrad
from fastgrad import _dual_grad, _fd
from support.build import load

TF = load("testing_fd")   # the C test objectives (test-only extension)

SIZES = [10, 100, 1000]


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


@pytest.fixture(params=SIZES, ids=lambda n: f"n={n}")
def point(request):
    return np.linspace(-1.2, 1.2, request.param)


def _group(benchmark, x, name):
    benchmark.group = f"rosen gradient n={x.size}"
    benchmark.name = name


def test_c_dual_callback(benchmark, point):
    _group(benchmark, point, "c dual callback")
    _, g, _ = benchmark(_dual_grad.rosenbrock_gradient, point)
    np.testing.assert_allclose(g, rosen_grad(point), rtol=1e-12, atol=1e-10)


def test_fastgrad_dual(benchmark, point):
    _group(benchmark, point, "fastgrad dual (NumPy f)")
    g = benchmark(fastgrad.gradient, rosen, point)
    np.testing.assert_allclose(g, rosen_grad(point), rtol=1e-12, atol=1e-10)


def test_c_central(benchmark, point):
    _group(benchmark, point, "c central (C callback)")
    f = TF.CRosenbrock(point.size)
    g = benchmark(fastgrad.gradient, f, point, method="central")
    np.testing.assert_allclose(g, rosen_grad(point), rtol=1e-5, atol=1e-5)


def test_reference_dual(benchmark, point):
    if point.size > 100:
        pytest.skip("the scalar-Python reference takes minutes at n = 1000")
    from fastgrad.reference import dual as ref
    _group(benchmark, point, "reference dual")
    g = benchmark.pedantic(ref.dual_gradient, (rosen, point), rounds=3, iterations=1)
    np.testing.assert_allclose(g, rosen_grad(point), rtol=1e-12, atol=1e-10)
