"""Objectives that tests and benchmarks share, written once in plain NumPy
(code that ``fastgrad.compile`` traces and ``DualArray`` runs), with their
analytic derivatives as the oracle.

The chained Rosenbrock function is scipy's ``rosen``; the derivatives are
written out here rather than taken from scipy so that the benchmarks' NumPy
baselines are the code a NumPy user would write.
"""
import numpy as np

import fastgrad as fg


def rosen(x):
    """sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2; minimum 0 at ones."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_grad(x):
    """The analytic gradient of :func:`rosen`."""
    g = np.zeros_like(x)
    r = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * r - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * r
    return g


def rosen_hess(x):
    """The analytic Hessian of :func:`rosen` (tridiagonal), formed densely."""
    n = x.size
    h = np.zeros((n, n))
    i = np.arange(n - 1)
    h[i, i] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    h[i + 1, i + 1] += 200.0
    h[i, i + 1] = h[i + 1, i] = -400.0 * x[:-1]
    return h


def random_quadratic(seed, n, maximize=False):
    """``(cf, x0)``: 0.5 x'Ax compiled, with A a random symmetric positive
    definite n x n matrix (negated when ``maximize``, so that maximizing is
    as well posed as minimizing), and a random start, both from ``seed``."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    A = A @ A.T + np.eye(n)
    sign = -1.0 if maximize else 1.0
    return fg.compile(lambda x: sign * 0.5 * (x @ A @ x), n), rng.normal(size=n)


def make_mlp(d_in=3, hidden=4, m=10, seed=20261122):
    """A one-hidden-layer tanh network's mean squared error on m random
    rows, as a function of its flat parameters, and a random parameter point."""
    rng = np.random.default_rng(seed)
    X, t = rng.normal(size=(m, d_in)), rng.normal(size=m)
    sizes = [d_in * hidden, hidden, hidden, 1]
    bounds = np.cumsum([0] + sizes)

    def mlp_loss(p):
        W1 = p[bounds[0]:bounds[1]].reshape(d_in, hidden)
        b1 = p[bounds[1]:bounds[2]]
        W2 = p[bounds[2]:bounds[3]]
        b2 = p[bounds[3]]
        h = np.tanh(X @ W1 + b1)
        return np.mean((h @ W2 + b2 - t) ** 2)

    return mlp_loss, rng.normal(size=bounds[-1]) * 0.5

