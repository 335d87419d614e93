"""Gradient of the n-D Rosenbrock function by dual numbers: written in
ordinary NumPy code, and written once in C on dual numbers (what an
embedder does).

Run: python -m pytest bench/bench_dual.py --benchmark-only -q

Per size n (10, 100, 1000), one group compares:
  fastgrad dual     fastgrad.gradient(rosen, x)  (method="dual", default chunk)
  reference dual    fastgrad.reference.dual gradient (scalar Python duals; n <= 100)
  c dual callback   fastgrad._dual_grad.rosenbrock_gradient: fg_dual_gradient_f64
                    on a C dual callback, default chunk, GIL released
  c central         fastgrad.gradient(CRosenbrock(n), x, method="central"): the C
                    finite-difference driver on a C callback (2n calls)
  central_loop      a plain NumPy central difference, 2n calls of rosen
  central_batch     the same stencil in one call of a row-vectorized rosen
  autograd / jax.jacfwd / torch.func.jacfwd  only where installed
Inputs are built once per size, outside the timed part.
"""

import numpy as np
import pytest

import fastgrad
from fastgrad import _dual_grad
from fastgrad.reference import dual as ref
from support.build import load
from support.problems import rosen, rosen_grad

TF = load("testing_fd")   # the C test objectives (test-only extension)

SIZES = [10, 100, 1000]


def rosen_rows(X):
    return np.sum(100.0 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1 - X[:, :-1]) ** 2, axis=1)


def central_loop(f, x):
    """Central differences, one call of f per stencil point (2n calls)."""
    h = np.finfo(float).eps ** (1 / 3) * np.maximum(1.0, np.abs(x))
    g = np.empty_like(x)
    for i in range(x.size):
        xp = x.copy()
        xm = x.copy()
        xp[i] += h[i]
        xm[i] -= h[i]
        g[i] = (f(xp) - f(xm)) / (xp[i] - xm[i])
    return g


def central_batch(f_rows, x):
    """Central differences with all 2n points in one (2n, n) call."""
    n = x.size
    h = np.finfo(float).eps ** (1 / 3) * np.maximum(1.0, np.abs(x))
    E = np.diag(h)
    P = np.concatenate([x + E, x - E])
    fv = f_rows(P)
    return (fv[:n] - fv[n:]) / (2 * h)


@pytest.fixture(params=SIZES, ids=lambda n: f"n={n}")
def point(request):
    n = request.param
    return np.linspace(-1.2, 1.2, n)


def _group(benchmark, x, name):
    benchmark.group = f"rosen gradient n={x.size}"
    benchmark.name = name


def test_fastgrad_dual(benchmark, point):
    _group(benchmark, point, "fastgrad dual")
    g = benchmark(fastgrad.gradient, rosen, point)
    np.testing.assert_allclose(g, rosen_grad(point), rtol=1e-12, atol=1e-10)


def test_reference_dual(benchmark, point):
    if point.size > 100:
        pytest.skip("the scalar-Python reference takes minutes at n = 1000")
    _group(benchmark, point, "reference dual")
    g = benchmark.pedantic(ref.dual_gradient, (rosen, point), rounds=3, iterations=1)
    np.testing.assert_allclose(g, rosen_grad(point), rtol=1e-12, atol=1e-10)


def test_c_dual_callback(benchmark, point):
    _group(benchmark, point, "c dual callback")
    _, g, _ = benchmark(_dual_grad.rosenbrock_gradient, point)
    np.testing.assert_allclose(g, rosen_grad(point), rtol=1e-12, atol=1e-10)


def test_c_central(benchmark, point):
    _group(benchmark, point, "c central (C callback)")
    f = TF.CRosenbrock(point.size)
    g = benchmark(fastgrad.gradient, f, point, method="central")
    np.testing.assert_allclose(g, rosen_grad(point), rtol=1e-5, atol=1e-5)


def test_central_loop(benchmark, point):
    _group(benchmark, point, "numpy central (2n calls)")
    g = benchmark(central_loop, rosen, point)
    np.testing.assert_allclose(g, rosen_grad(point), rtol=1e-5, atol=1e-5)


def test_central_batch(benchmark, point):
    _group(benchmark, point, "numpy central (1 batched call)")
    g = benchmark(central_batch, rosen_rows, point)
    np.testing.assert_allclose(g, rosen_grad(point), rtol=1e-5, atol=1e-5)


def test_autograd(benchmark, point):
    autograd = pytest.importorskip("autograd", reason="autograd is not installed")
    anp = pytest.importorskip("autograd.numpy")

    def f(x):
        return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    _group(benchmark, point, "autograd (reverse)")
    benchmark(autograd.grad(f), point)


def test_jax_jacfwd(benchmark, point):
    jax = pytest.importorskip("jax", reason="jax is not installed")
    jnp = jax.numpy
    jax.config.update("jax_enable_x64", True)
    g = jax.jit(jax.jacfwd(lambda x: jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2
                                            + (1 - x[:-1]) ** 2)))
    g(point).block_until_ready()
    _group(benchmark, point, "jax.jacfwd (jit)")
    benchmark(lambda: g(point).block_until_ready())


def test_torch_jacfwd(benchmark, point):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    from torch.func import jacfwd
    xt = torch.tensor(point)
    g = jacfwd(lambda x: torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))
    _group(benchmark, point, "torch.func.jacfwd")
    benchmark(g, xt)


@pytest.fixture(params=[10, 100], ids=lambda n: f"n={n}")
def hpoint(request):
    return np.linspace(-1.2, 1.2, request.param)


def test_fastgrad_hessian(benchmark, hpoint):
    benchmark.group = f"rosen hessian n={hpoint.size}"
    benchmark.name = "fastgrad hyper-dual (exact)"
    H = benchmark(fastgrad.hessian, rosen, hpoint)
    np.testing.assert_array_equal(H, H.T)


def test_central_of_dual_gradient_hessian(benchmark, hpoint):
    benchmark.group = f"rosen hessian n={hpoint.size}"
    benchmark.name = "central diff. of dual gradients (2n)"

    def fd_hess(x):
        h = np.finfo(float).eps ** (1 / 3) * np.maximum(1.0, np.abs(x))
        H = np.empty((x.size, x.size))
        for i in range(x.size):
            e = np.zeros_like(x)
            e[i] = h[i]
            H[:, i] = (fastgrad.gradient(rosen, x + e) - fastgrad.gradient(rosen, x - e)) / (2 * h[i])
        return (H + H.T) / 2
    benchmark(fd_hess, hpoint)
