"""Benchmarks of fastgrad.finite_diff (pytest-benchmark).

(a) n = 1000, vectorized NumPy f: the C stencil generation + combination
    against the evaluation of f on the whole (m, n) batch (target: < 5%).
(b) n = 100, a C-level f (the CRosenbrock capsule test objective): the whole
    gradient in C against scipy.optimize.approx_fprime on the NumPy version
    of the same f (target: >= 50x).

Run: python -m pytest bench/bench_finite_diff.py --benchmark-only -q
or   python bench/bench_finite_diff.py   (prints the fractions and ratios)
"""
import time

import numpy as np
import pytest

from fastgrad import _fd
from fastgrad.finite_diff import fd_gradient
import _tests_path  # noqa: F401  (support importable when run as a script)
from support.build import load

TF = load("testing_fd")   # the C test objectives (test-only extension)

try:
    from scipy.optimize import approx_fprime
except ImportError:  # scipy is in the test extras; without it only (a) runs
    approx_fprime = None


def rosen(x):
    return np.sum(100.0 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1.0 - x[..., :-1]) ** 2,
                  axis=-1)


def exp_sin(x):
    return np.sum(np.exp(x) * np.sin(x), axis=-1)


FUNCS = {"rosenbrock": rosen, "exp_sin": exp_sin}
METHODS_A = ("forward", "central", "five-point", "richardson")
N_A, N_B = 1000, 100


def setup_a(method, fname):
    x = np.random.default_rng(0).uniform(-1.0, 1.0, N_A)
    code = _fd.METHOD_CODES[method]
    pts = _fd.stencil(x, code, False, None)
    vals = np.ascontiguousarray(FUNCS[fname](pts)[:, None])
    return x, code, pts, vals


def stencil_and_combine(x, code, vals):
    pts = _fd.stencil(x, code, False, None)
    return _fd.combine(x, code, False, pts, vals, False)


@pytest.mark.parametrize("fname", sorted(FUNCS))
@pytest.mark.parametrize("method", METHODS_A)
def test_a_stencil_and_combine(benchmark, method, fname):
    benchmark.group = f"(a) n=1000 {method} {fname}"
    x, code, pts, vals = setup_a(method, fname)
    benchmark(stencil_and_combine, x, code, vals)


@pytest.mark.parametrize("fname", sorted(FUNCS))
@pytest.mark.parametrize("method", METHODS_A)
def test_a_evaluations(benchmark, method, fname):
    benchmark.group = f"(a) n=1000 {method} {fname}"
    x, code, pts, vals = setup_a(method, fname)
    benchmark(FUNCS[fname], pts)


@pytest.mark.parametrize("fname", sorted(FUNCS))
@pytest.mark.parametrize("method", METHODS_A)
def test_a_fd_gradient_total(benchmark, method, fname):
    benchmark.group = f"(a) n=1000 {method} {fname}"
    x = np.random.default_rng(0).uniform(-1.0, 1.0, N_A)
    benchmark(fd_gradient, FUNCS[fname], x, method=method, vectorized=True)


@pytest.mark.parametrize("method", ("forward", "central", "richardson"))
def test_b_capsule_gradient(benchmark, method):
    benchmark.group = "(b) n=100 C-level Rosenbrock"
    x = np.random.default_rng(1).uniform(-1.0, 1.0, N_B)
    obj = TF.CRosenbrock(N_B)
    benchmark(fd_gradient, obj, x, method=method)


@pytest.mark.skipif(approx_fprime is None, reason="scipy not installed")
def test_b_scipy_approx_fprime(benchmark):
    benchmark.group = "(b) n=100 C-level Rosenbrock"
    x = np.random.default_rng(1).uniform(-1.0, 1.0, N_B)
    benchmark(approx_fprime, x, rosen)


def test_b_numpy_per_point_central(benchmark):
    benchmark.group = "(b) n=100 C-level Rosenbrock"
    x = np.random.default_rng(1).uniform(-1.0, 1.0, N_B)
    benchmark(fd_gradient, rosen, x, method="central")


def _best(fn, repeat=15):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    print(f"(a) n={N_A}, vectorized NumPy f: C stencil+combination / evaluations of f")
    print(f"{'method':<11} {'f':<11} {'rows m':>7} {'C ms':>8} {'f ms':>8} {'C/f':>7}")
    for fname in sorted(FUNCS):
        for method in METHODS_A:
            x, code, pts, vals = setup_a(method, fname)
            tc = _best(lambda: stencil_and_combine(x, code, vals))
            tf = _best(lambda: FUNCS[fname](pts))
            print(f"{method:<11} {fname:<11} {pts.shape[0]:>7} {tc * 1e3:8.3f} {tf * 1e3:8.2f} "
                  f"{100 * tc / tf:6.1f}%")
    print(f"\n(b) n={N_B}, Rosenbrock: scipy approx_fprime (NumPy f) / fastgrad (C capsule)")
    x = np.random.default_rng(1).uniform(-1.0, 1.0, N_B)
    obj = TF.CRosenbrock(N_B)
    ts = _best(lambda: approx_fprime(x, rosen), 30)
    print(f"scipy approx_fprime (forward): {ts * 1e6:9.1f} us")
    for method in ("forward", "central", "richardson"):
        tc = _best(lambda: fd_gradient(obj, x, method=method), 30)
        print(f"fastgrad capsule {method:<11}: {tc * 1e6:9.1f} us   ratio {ts / tc:6.1f}x")


if __name__ == "__main__":
    main()
