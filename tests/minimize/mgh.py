"""Test problems for the minimize methods: a Moré-Garbow-Hillstrom style set
(J. J. Moré, B. S. Garbow, K. E. Hillstrom, "Testing unconstrained
optimization software", ACM TOMS 7 (1981) 17-41) and a real client, L2
logistic regression on scikit-learn's breast-cancer data as
``LogisticRegression(solver="lbfgs")`` fits it.

Each ``Problem`` has x0 (MGH's standard start), f, the analytic gradient,
a Hessian-vector product where it is cheap, and the known minimum value
``fmin`` (with ``xmin`` where the minimizer is unique). ``f`` is written in
plain NumPy that ``fastgrad.compile`` can trace.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.optimize as so


@dataclass
class Problem:
    name: str
    x0: np.ndarray
    f: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    fmin: float
    xmin: np.ndarray | None = None
    hessp: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    #: other local minima (values) a descent method may legitimately reach
    other_minima: tuple[float, ...] = field(default=())

    @property
    def n(self) -> int:
        return self.x0.size

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        return self.f(x), self.grad(x)

    def solved(self, fx: float, atol: float = 1e-6) -> bool:
        """fx is the known minimum value (or one of the other listed local
        minima) to ``atol`` relative to max(1, |fmin|)."""
        return any(abs(fx - m) <= atol * max(1.0, abs(m)) for m in (self.fmin,) + self.other_minima)


# ------------------------------------------------------------- Rosenbrock --

def rosenbrock(n: int) -> Problem:
    """Chained Rosenbrock sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2 (scipy's
    ``rosen``), from (-1.2, 1, -1.2, 1, ...); minimum 0 at ones."""
    def f(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    x0 = np.tile([-1.2, 1.0], n // 2 + 1)[:n]
    return Problem(f"rosenbrock{n}", x0, f, so.rosen_der, 0.0, np.ones(n),
                   hessp=so.rosen_hess_prod)


# -------------------------------------------------------------------- Beale --

_BEALE_Y = np.array([1.5, 2.25, 2.625])
_BEALE_I = np.array([1.0, 2.0, 3.0])


def beale() -> Problem:
    """sum_i (y_i - x1 (1 - x2^i))^2, i = 1..3; minimum 0 at (3, 0.5)."""
    def f(x):
        return np.sum((_BEALE_Y - x[0] * (1.0 - x[1] ** _BEALE_I)) ** 2)

    def grad(x):
        r = _BEALE_Y - x[0] * (1.0 - x[1] ** _BEALE_I)
        return np.array([np.sum(2 * r * -(1.0 - x[1] ** _BEALE_I)),
                         np.sum(2 * r * x[0] * _BEALE_I * x[1] ** (_BEALE_I - 1))])
    return Problem("beale", np.array([1.0, 1.0]), f, grad, 0.0, np.array([3.0, 0.5]))


# ----------------------------------------------------------- Powell family --

def _powell_blocks(x):
    x = x.reshape(-1, 4)
    return x[:, 0], x[:, 1], x[:, 2], x[:, 3]


def extended_powell(n: int) -> Problem:
    """Powell's singular function on n/4 blocks: (x1 + 10 x2)^2 + 5 (x3 - x4)^2
    + (x2 - 2 x3)^4 + 10 (x1 - x4)^4; singular Hessian at the minimum 0 at 0.
    n = 4 is MGH's "Powell singular"."""
    def f(x):
        a, b, c, d = x[0::4], x[1::4], x[2::4], x[3::4]
        return np.sum((a + 10 * b) ** 2 + 5 * (c - d) ** 2 + (b - 2 * c) ** 4
                      + 10 * (a - d) ** 4)

    def grad(x):
        a, b, c, d = _powell_blocks(x)
        t1, t2, t3, t4 = a + 10 * b, c - d, b - 2 * c, a - d
        return np.stack([2 * t1 + 40 * t4 ** 3, 20 * t1 + 4 * t3 ** 3,
                         10 * t2 - 8 * t3 ** 3, -10 * t2 - 40 * t4 ** 3], axis=1).reshape(-1)

    def hessp(x, v):
        a, b, c, d = _powell_blocks(x)
        va, vb, vc, vd = _powell_blocks(v)
        t3, t4 = b - 2 * c, a - d
        h3, h4 = 12 * t3 ** 2, 120 * t4 ** 2       # (.)^4 terms: 12 t^2, 10 * 12 t^2
        u1 = va + 10 * vb                           # 2 (x1 + 10 x2)^2 has Hessian 2 uu^T
        u2 = vc - vd
        u3 = vb - 2 * vc
        u4 = va - vd
        return np.stack([2 * u1 + h4 * u4, 20 * u1 + h3 * u3,
                         10 * u2 - 2 * h3 * u3, -10 * u2 - h4 * u4], axis=1).reshape(-1)
    name = "powell_singular" if n == 4 else f"extended_powell{n}"
    return Problem(name, np.tile([3.0, -1.0, 0.0, 1.0], n // 4), f, grad, 0.0, np.zeros(n),
                   hessp=hessp)


# --------------------------------------------------------------------- Wood --

def wood() -> Problem:
    """MGH's Wood function, from (-3, -1, -3, -1); minimum 0 at ones."""
    def f(x):
        return (100 * (x[0] ** 2 - x[1]) ** 2 + (x[0] - 1) ** 2 + (x[2] - 1) ** 2
                + 90 * (x[2] ** 2 - x[3]) ** 2 + 10.1 * ((x[1] - 1) ** 2 + (x[3] - 1) ** 2)
                + 19.8 * (x[1] - 1) * (x[3] - 1))

    def grad(x):
        return np.array([
            400 * x[0] * (x[0] ** 2 - x[1]) + 2 * (x[0] - 1),
            -200 * (x[0] ** 2 - x[1]) + 20.2 * (x[1] - 1) + 19.8 * (x[3] - 1),
            2 * (x[2] - 1) + 360 * x[2] * (x[2] ** 2 - x[3]),
            -180 * (x[2] ** 2 - x[3]) + 20.2 * (x[3] - 1) + 19.8 * (x[1] - 1)])
    return Problem("wood", np.array([-3.0, -1.0, -3.0, -1.0]), f, grad, 0.0, np.ones(4))


# ------------------------------------------------------------ helical valley --

def helical_valley() -> Problem:
    """100 ((x3 - 10 theta)^2 + (r - 1)^2) + x3^2, theta = atan(x2/x1)/(2 pi)
    (+ 1/2 for x1 < 0, MGH's branch, smooth at the start), r = |(x1, x2)|;
    from (-1, 0, 0); minimum 0 at (1, 0, 0)."""
    def f(x):
        theta = np.arctan(x[1] / x[0]) / (2 * np.pi) + np.where(x[0] < 0, 0.5, 0.0)
        r = np.sqrt(x[0] ** 2 + x[1] ** 2)
        return 100 * ((x[2] - 10 * theta) ** 2 + (r - 1) ** 2) + x[2] ** 2

    def grad(x):
        theta = math.atan(x[1] / x[0]) / (2 * math.pi) + (0.5 if x[0] < 0 else 0.0)
        r2 = x[0] ** 2 + x[1] ** 2
        r = math.sqrt(r2)
        e = x[2] - 10 * theta
        dth = np.array([-x[1], x[0]]) / (2 * math.pi * r2)
        g12 = 200 * e * -10 * dth + 200 * (r - 1) * np.array([x[0], x[1]]) / r
        return np.array([g12[0], g12[1], 200 * e + 2 * x[2]])
    return Problem("helical_valley", np.array([-1.0, 0.0, 0.0]), f, grad, 0.0,
                   np.array([1.0, 0.0, 0.0]))


# ----------------------------------------------------------- trigonometric --

def trigonometric(n: int) -> Problem:
    """sum_i (n - sum_j cos x_j + i (1 - cos x_i) - sin x_i)^2 from 1/n; minimum 0
    (MGH also lists a local minimum, 2.79506e-5 for n = 10)."""
    idx = np.arange(1.0, n + 1)

    def f(x):
        r = n - np.sum(np.cos(x)) + idx * (1 - np.cos(x)) - np.sin(x)
        return np.sum(r ** 2)

    def grad(x):
        r = n - np.sum(np.cos(x)) + idx * (1 - np.cos(x)) - np.sin(x)
        return 2 * (np.sum(r) * np.sin(x) + r * (idx * np.sin(x) - np.cos(x)))
    return Problem(f"trigonometric{n}", np.full(n, 1.0 / n), f, grad, 0.0,
                   other_minima=(2.79506e-5,) if n == 10 else ())


# ------------------------------------------------------------------- Box 3-D --

_BOX_T = 0.1 * np.arange(1.0, 11.0)
_BOX_C = np.exp(-_BOX_T) - np.exp(-10 * _BOX_T)


def box3d() -> Problem:
    """sum_i (exp(-t_i x1) - exp(-t_i x2) - x3 (exp(-t_i) - exp(-10 t_i)))^2,
    t_i = i/10, i = 1..10, from (0, 10, 20); minimum 0 at (1, 10, 1) (also at
    (10, 1, -1) and on x1 = x2, x3 = 0)."""
    def f(x):
        return np.sum((np.exp(-_BOX_T * x[0]) - np.exp(-_BOX_T * x[1]) - x[2] * _BOX_C) ** 2)

    def grad(x):
        e1, e2 = np.exp(-_BOX_T * x[0]), np.exp(-_BOX_T * x[1])
        r = e1 - e2 - x[2] * _BOX_C
        return 2 * np.array([np.sum(r * -_BOX_T * e1), np.sum(r * _BOX_T * e2),
                             np.sum(r * -_BOX_C)])
    return Problem("box3d", np.array([0.0, 10.0, 20.0]), f, grad, 0.0)


# ------------------------------------------------------------- quartic bowl --

def quartic_bowl(n: int) -> Problem:
    """sum_i (i/n) (x_i - 1)^2 + (sum_i (x_i - 1)^2)^2 from 0: strictly convex,
    ill-conditioned quadratic part, quartic growth; minimum 0 at ones."""
    w = np.arange(1.0, n + 1) / n

    def f(x):
        z = x - 1.0
        return np.sum(w * z ** 2) + np.sum(z ** 2) ** 2

    def grad(x):
        z = x - 1.0
        return 2 * w * z + 4 * np.sum(z ** 2) * z

    def hessp(x, v):
        z = x - 1.0
        return 2 * w * v + 4 * np.sum(z ** 2) * v + 8 * z * (z @ v)
    return Problem(f"quartic_bowl{n}", np.zeros(n), f, grad, 0.0, np.ones(n), hessp=hessp)


def kkt_residual(p: Problem, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """|x - P(x - grad f(x))|_2: zero at a KKT point of the box."""
    return float(np.linalg.norm(np.clip(x - p.grad(x), lo, hi) - x))


def random_box(p: Problem, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A box around a point near the minimizer (or x0) that cuts the
    minimizer off in some coordinates; some sides unbounded."""
    centre = (p.xmin if p.xmin is not None else p.x0) + rng.uniform(-0.5, 0.5, p.n)
    lo = centre - rng.uniform(0.0, 1.0, p.n)
    hi = centre + rng.uniform(0.0, 1.0, p.n)
    lo[rng.random(p.n) < 0.15] = -np.inf
    hi[rng.random(p.n) < 0.15] = np.inf
    return lo, hi


def problem_set() -> list[Problem]:
    """The MGH-style set of the quasi-Newton tests."""
    return [rosenbrock(2), rosenbrock(10), rosenbrock(100), beale(), extended_powell(4),
            wood(), helical_valley(), trigonometric(10), box3d(), extended_powell(20),
            quartic_bowl(20)]


# ------------------------------------------- breast-cancer logistic regression --

def breast_cancer_logistic(C: float = 1.0):
    """L2 logistic regression on scikit-learn's breast-cancer data,
    standardized, as ``LogisticRegression(C=C, solver="lbfgs")`` fits it:

        f(w, b) = sum_i log(1 + exp(-s_i (x_i.w + b))) + |w|^2 / (2C),

    s_i = +-1, the intercept b (the last coordinate) unpenalized. Returns
    ``(problem, X, y)``; the minimum value is not known in closed form
    (``fmin`` NaN): compare with sklearn's coefficients."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    s = 2.0 * y - 1.0
    A = np.hstack([X, np.ones((X.shape[0], 1))]) * s[:, None]   # rows s_i (x_i, 1)
    n = A.shape[1]
    pen = np.r_[np.ones(n - 1), 0.0] / C

    def f(w):
        z = A @ w
        return np.sum(np.logaddexp(0.0, -z)) + 0.5 * np.sum(pen * w * w)

    def grad(w):
        z = A @ w
        return A.T @ -_sigmoid(-z) + pen * w

    def hessp(w, v):
        p = _sigmoid(A @ w)
        return A.T @ (p * (1 - p) * (A @ v)) + pen * v
    return Problem("breast_cancer", np.zeros(n), f, grad, math.nan, hessp=hessp), X, y


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))
