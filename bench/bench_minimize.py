"""10,000 Adam iterations (lr 1e-3) on 2-D and 100-D Rosenbrock:
fastgrad's C minimize driver on ``fastgrad.compile(rosen)`` (gradient from
the tape: dual numbers at n = 2, the adjoint sweep at n = 100), on a
hand-written C objective, and on a Python objective, against a plain NumPy
Python loop with the analytic gradient (and JAX's jitted loop when JAX is
installed). Also the cost of ``compile`` itself, end to end (compile + run)
against JAX's jit + run, and damped Newton to convergence on 10-D and 100-D
Rosenbrock (the tape's Hessian) against the same iterations in NumPy.

Run: python -m pytest bench/bench_minimize.py --benchmark-only -q
"""
import numpy as np
import pytest

import fastgrad as fg
from support.build import load
from support.problems import rosen, rosen_grad, rosen_hess

T = load("testing_minimize")   # the hand-written C objective (test-only extension)

ITERS = 10_000
LR = 1e-3


def numpy_adam_loop(x0, iters=ITERS, lr=LR, b1=0.9, b2=0.999, eps=1e-8):
    """The baseline: a plain NumPy Adam loop (torch's formula)."""
    x = x0.copy()
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    for t in range(1, iters + 1):
        g = rosen_grad(x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + eps
        x = x - (lr / (1 - b1 ** t)) * m / denom
    return x, float(rosen(x))


def x0_for(n):
    x0 = np.empty(n)
    x0[0::2] = -1.2
    x0[1::2] = 1.0
    return x0


@pytest.mark.parametrize("n", [2, 100])
def test_c_driver_c_objective(benchmark, n):
    benchmark.group = f"adam-10k-rosenbrock-{n}d"
    obj = T.rosenbrock(n)
    x0 = x0_for(n)
    res = benchmark(fg.minimize, obj, x0, method="adam", lr=LR, tol=0.0, maxiter=ITERS)
    xr, fr = numpy_adam_loop(x0, iters=ITERS)
    assert res.nit == ITERS
    np.testing.assert_allclose(res.x, xr, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n", [2, 100])
def test_c_driver_python_objective(benchmark, n):
    benchmark.group = f"adam-10k-rosenbrock-{n}d"
    x0 = x0_for(n)
    res = benchmark.pedantic(fg.minimize, args=(rosen, x0),
                             kwargs=dict(jac=rosen_grad, method="adam", lr=LR, tol=0.0,
                                         maxiter=ITERS), rounds=3, iterations=1)
    assert res.nit == ITERS


@pytest.mark.parametrize("n", [2, 100])
def test_numpy_loop(benchmark, n):
    benchmark.group = f"adam-10k-rosenbrock-{n}d"
    benchmark.pedantic(numpy_adam_loop, args=(x0_for(n),), rounds=3, iterations=1)


@pytest.mark.parametrize("n", [2, 100])
def test_compiled_tape_objective(benchmark, n):
    """minimize(compile(f)): the whole loop in C on the tape."""
    benchmark.group = f"adam-10k-rosenbrock-{n}d"
    cf = fg.compile(rosen, n)
    x0 = x0_for(n)
    res = benchmark(fg.minimize, cf, x0, method="adam", lr=LR, tol=0.0, maxiter=ITERS)
    xr, fr = numpy_adam_loop(x0, iters=ITERS)
    assert res.nit == ITERS
    np.testing.assert_allclose(res.x, xr, rtol=1e-9, atol=1e-12)
    assert res.fun == pytest.approx(fr, rel=1e-9)


@pytest.mark.parametrize("n", [2, 100])
def test_compile_time(benchmark, n):
    benchmark.group = f"compile-rosenbrock-{n}d"
    cf = benchmark(fg.compile, rosen, n)
    assert cf(x0_for(n)) == pytest.approx(rosen(x0_for(n)), rel=1e-14)


@pytest.mark.parametrize("n", [2, 100])
def test_compile_and_run(benchmark, n):
    """End to end: trace + compile, then the 10,000-iteration run."""
    benchmark.group = f"end-to-end-rosenbrock-{n}d"
    x0 = x0_for(n)
    res = benchmark(lambda: fg.minimize(fg.compile(rosen, n), x0, method="adam", lr=LR,
                                        tol=0.0, maxiter=ITERS))
    assert res.nit == ITERS


def jax_adam_runner(n):
    """JAX's jitted fori_loop of the same Adam iterations (a fresh function:
    calling it the first time traces and compiles)."""
    jax = pytest.importorskip("jax", reason="JAX is not installed here: no JAX column")
    jnp = jax.numpy
    jax.config.update("jax_enable_x64", True)

    def f(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    g = jax.grad(f)

    @jax.jit
    def run(x):
        def body(t, s):
            x, m, v = s
            gr = g(x)
            m = 0.9 * m + 0.1 * gr
            v = 0.999 * v + 0.001 * gr * gr
            tt = t + 1.0
            denom = jnp.sqrt(v) / jnp.sqrt(1 - 0.999 ** tt) + 1e-8
            return x - (LR / (1 - 0.9 ** tt)) * m / denom, m, v
        z = jnp.zeros_like(x)
        return jax.lax.fori_loop(0, ITERS, body, (x, z, z))[0]

    return run, jnp.asarray(x0_for(n))


@pytest.mark.parametrize("n", [2, 100])
def test_jax_jitted_loop(benchmark, n):
    run, x0 = jax_adam_runner(n)
    benchmark.group = f"adam-10k-rosenbrock-{n}d"
    xr, _ = numpy_adam_loop(x0_for(n))
    np.testing.assert_allclose(np.asarray(run(x0)), xr, rtol=1e-9, atol=1e-12)
    benchmark(lambda: run(x0).block_until_ready())


@pytest.mark.parametrize("n", [2, 100])
def test_jax_compile_and_run(benchmark, n):
    jax_adam_runner(n)   # skips without JAX; the import itself is not timed
    benchmark.group = f"end-to-end-rosenbrock-{n}d"

    def compile_and_run():
        run, x0 = jax_adam_runner(n)
        return run(x0).block_until_ready()

    benchmark.pedantic(compile_and_run, rounds=3, iterations=1)


# ---------------------------------------------------------------- Newton --

def numpy_newton_loop(x0, tol=1e-9, maxiter=500, mu0=1e-3):
    """The baseline: minimize's damped Newton (Levenberg shift until
    Cholesky succeeds, Armijo halving) written in NumPy."""
    x = x0.copy()
    f, g = rosen(x), rosen_grad(x)
    for _ in range(maxiter):
        if np.linalg.norm(g) <= tol:
            break
        h = rosen_hess(x)
        mu, top = 0.0, np.abs(np.diag(h)).max()
        while True:
            try:
                c = np.linalg.cholesky(h + mu * np.eye(x.size))
                break
            except np.linalg.LinAlgError:
                mu = max(mu0 * top, mu0) if mu == 0.0 else 10.0 * mu
        d = -np.linalg.solve(c.T, np.linalg.solve(c, g))
        s, slope = 1.0, g @ d
        while True:
            xt = x + s * d
            ft = rosen(xt)
            if ft <= f + 1e-4 * s * slope:
                break
            s *= 0.5
        x, f, g = xt, ft, rosen_grad(xt)
    return x


@pytest.mark.parametrize("n", [10, 100])
def test_newton_compiled_tape(benchmark, n):
    benchmark.group = f"newton-rosenbrock-{n}d"
    cf = fg.compile(rosen, n)
    x0 = np.linspace(-0.5, 1.5, n)
    res = benchmark(fg.minimize, cf, x0, method="newton", tol=1e-9, maxiter=500)
    assert res.success
    np.testing.assert_allclose(res.x, np.ones(n), atol=1e-8)


@pytest.mark.parametrize("n", [10, 100])
def test_newton_numpy_loop(benchmark, n):
    benchmark.group = f"newton-rosenbrock-{n}d"
    x = benchmark(numpy_newton_loop, np.linspace(-0.5, 1.5, n))
    np.testing.assert_allclose(x, np.ones(n), atol=1e-8)

