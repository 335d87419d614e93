"""Tests of fastgrad.compile: the tracer, the C tape VM and its NumPy twin.

Oracles: plain NumPy evaluation of the same function, the reference
interpreter (fastgrad.reference.compiled), five-point differences, the
difference of the gradient (Hessians), sympy and hand-derived formulas.
"""
import ctypes

import numpy as np
import pytest
import sympy as sp

import fastgrad
from fastgrad import _fd
from fastgrad._ops import OPS, ufunc_of
from fastgrad.finite_diff import FD_METHODS, fd_gradient
from fastgrad.reference import compiled as ref
from support.build import load
from support.problems import make_mlp

RNG_SEED = 20261122
TT = load("testing_tape")   # capsule calls (test-only extension)
call_scalar_capsule, call_objective_capsule = TT.call_scalar_capsule, TT.call_objective_capsule


def five_point_grad(f, x, rel=1e-3):
    """Five-point central difference of a NumPy scalar function."""
    x = np.asarray(x, dtype=np.float64)
    g = np.zeros(x.size)
    for i in range(x.size):
        h = rel * max(1.0, abs(x.flat[i]))
        e = np.zeros(x.size)
        e[i] = h
        e = e.reshape(x.shape)
        g[i] = (-f(x + 2 * e) + 8 * f(x + e) - 8 * f(x - e) + f(x - 2 * e)) / (12 * h)
    return g.reshape(x.shape)


def grad_difference_hessian(cf, x, rel=1e-5):
    """Central difference of the (dual) gradient: an independent Hessian."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    H = np.zeros((n, n))
    for j in range(n):
        h = rel * max(1.0, abs(x[j]))
        e = np.zeros(n)
        e[j] = h
        H[:, j] = (cf.gradient((x + e).reshape(cf.shape)).ravel()
                   - cf.gradient((x - e).reshape(cf.shape)).ravel()) / (2 * h)
    return H


def check_against_oracles(f, x, rtol_fd=1e-6, hess=True, chunk=None):
    """Value vs NumPy, gradient vs five-point and reference, Hessian (both
    methods) vs reference and the difference of the gradient."""
    x = np.asarray(x, dtype=np.float64)
    cf = fastgrad.compile(f, x.shape, chunk=chunk)
    rf = ref.compile(f, x.shape)
    expect = float(f(x))
    np.testing.assert_allclose(cf(x), expect, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(rf(x), expect, rtol=1e-13, atol=1e-14)
    g = cf.gradient(x)
    assert g.shape == x.shape
    scale = max(1.0, np.abs(g).max())
    np.testing.assert_allclose(g, rf.gradient(x), rtol=1e-12, atol=1e-13 * scale)
    np.testing.assert_allclose(g, five_point_grad(f, x), rtol=rtol_fd, atol=rtol_fd * scale)
    v, g2 = cf.value_and_gradient(x)
    assert v == cf(x)
    np.testing.assert_array_equal(g, g2)
    # Reverse mode: same partials, other order of accumulation.
    vr, gr = cf.value_and_gradient(x, method="reverse")
    assert vr == v
    np.testing.assert_allclose(gr, g, rtol=1e-13, atol=1e-14 * scale)
    if hess:
        for method in ("reverse", "hyperdual"):
            H = cf.hessian(x, method=method)
            hs = max(1.0, np.abs(H).max())
            np.testing.assert_array_equal(H, H.T)
            np.testing.assert_allclose(H, rf.hessian(x), rtol=1e-11, atol=1e-12 * hs)
            np.testing.assert_allclose(H, grad_difference_hessian(cf, x), rtol=1e-5,
                                       atol=1e-6 * hs)
        # H v without H: the same sweep with one direction
        v = np.linspace(-1.0, 1.5, x.size).reshape(x.shape)
        fv, gv, hv = cf._tape.hvp(x, v)
        assert fv == cf(x)
        np.testing.assert_allclose(gv, g, rtol=1e-13, atol=1e-14 * scale)
        np.testing.assert_allclose(hv.ravel(), H @ v.ravel(), rtol=1e-12,
                                   atol=1e-13 * hs * np.abs(v).sum())
        np.testing.assert_array_equal(cf.hvp(x, v), hv)
    return cf


# ---------------------------------------------------------- the op table --

# Points inside each op's domain; ops not named here use the default.
DEFAULT_POINTS = np.array([0.3, 0.7, 1.3])
UNARY_POINTS = {
    "absolute": np.array([-0.7, 0.4, 1.3]),
    "sign": np.array([-0.7, 0.4, 1.3]),
    "negative": np.array([-0.7, 0.4, 1.3]),
    "arcsin": np.array([-0.6, 0.2, 0.5]),
    "arccos": np.array([-0.6, 0.2, 0.5]),
    "arctanh": np.array([-0.6, 0.2, 0.5]),
    "arccosh": np.array([1.3, 1.7, 2.5]),
}
BINARY_A = np.array([0.3, 0.9, 1.4])
BINARY_B = np.array([1.1, 0.5, 2.0])
WEIGHTS = np.array([1.0, -2.0, 0.5])

UNARY = [name for name, kind, _ in OPS if kind == "unary"]
BINARY = [name for name, kind, _ in OPS if kind == "binary"]
COMPARE = [name for name, kind, _ in OPS if kind == "compare"]


def test_every_table_row_is_covered():
    assert len(UNARY) + len(BINARY) + len(COMPARE) == len(OPS)
    assert {"exp", "power", "less"} <= {name for name, _, _ in OPS}


@pytest.mark.parametrize("name", UNARY)
def test_unary_op(name):
    ufunc = ufunc_of(name)
    x = UNARY_POINTS.get(name, DEFAULT_POINTS)

    def f(x):
        return np.sum(WEIGHTS * ufunc(x))

    check_against_oracles(f, x)


@pytest.mark.parametrize("name", BINARY)
def test_binary_op_both_traced(name):
    ufunc = ufunc_of(name)
    x = np.concatenate([BINARY_A, BINARY_B])

    def f(x):
        return np.sum(WEIGHTS * ufunc(x[:3], x[3:]))

    check_against_oracles(f, x)


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("side", ["a", "b"])
def test_binary_op_one_constant(name, side):
    """A constant operand (array, then broadcast scalar) with a traced one."""
    ufunc = ufunc_of(name)
    if side == "a":
        x = BINARY_B.copy()

        def f(x):
            return np.sum(WEIGHTS * ufunc(BINARY_A, x)) + np.sum(ufunc(0.8, x))
    else:
        x = BINARY_A.copy()

        def f(x):
            return np.sum(WEIGHTS * ufunc(x, BINARY_B)) + np.sum(ufunc(x, 0.8))

    check_against_oracles(f, x)


@pytest.mark.parametrize("name", COMPARE)
def test_compare_op_as_condition(name):
    ufunc = ufunc_of(name)
    x = np.array([0.3, 0.9, 1.4, 1.1, 0.9, 2.0])   # one tie (0.9, 0.9)

    def f(x):
        a, b = x[:3], x[3:]
        return np.sum(np.where(ufunc(a, b), a ** 3, 5.0 * b)) + np.sum(ufunc(a, 1.0) * a)

    # Away from ties the differences are valid oracles; at the tie the exact
    # derivative of the selected branch is checked below.
    check_against_oracles(f, np.array([0.3, 0.9, 1.4, 1.1, 0.7, 2.0]))
    cf = fastgrad.compile(f, 6)
    a, b = x[:3], x[3:]
    cond = ufunc(a, b)
    grad = np.concatenate([np.where(cond, 3 * a ** 2, 0) + ufunc(a, 1.0), np.where(cond, 0, 5.0)])
    np.testing.assert_allclose(cf.gradient(x), grad, rtol=1e-15)


def test_constant_partials_are_not_evaluated():
    """(-2)**x's base is constant: d/dbase would be NaN-free anyway, but a
    negative constant base with a traced exponent has a NaN partial (log of a
    negative number) only for the exponent; x**3 with x < 0 has none."""
    cf = fastgrad.compile(lambda x: np.sum(x ** 3.0), 2)
    x = np.array([-2.0, -0.5])
    np.testing.assert_allclose(cf.gradient(x), 3 * x ** 2, rtol=1e-15)
    np.testing.assert_allclose(cf.hessian(x), np.diag(6 * x), rtol=1e-15)


# ---------------------------------------------- structural instructions --

SHAPED = {
    "row_broadcast": lambda x: np.sum(np.sin(x * np.array([1.0, 2.0, 3.0, 4.0]))),
    "column_broadcast": lambda x: np.sum(x * np.array([[1.0], [2.0], [3.0]]) ** 2),
    "traced_broadcast": lambda x: np.sum(x * x[0] + x[:, :1] * x[1:2, :].sum()),
    "transpose": lambda x: np.sum(np.cos(x.T) * np.arange(12.0).reshape(4, 3)),
    "transpose_matmul": lambda x: np.sum((x.T @ x) ** 2),
    "sum_axis0": lambda x: np.sum(np.sum(x, axis=0) ** 2),
    "sum_axis1_keepdims": lambda x: np.sum((x - x.sum(axis=1, keepdims=True)) ** 2),
    "mean_axis": lambda x: np.sum(np.exp(np.mean(x, axis=1))) + x.mean(),
    "mean_axes_tuple": lambda x: np.mean(x ** 2, axis=(0, 1)) * 3.0,
    "where_clip": lambda x: np.sum(np.where(x > 0.5, x ** 2, -x) + np.clip(x, 0.2, 0.9) ** 2),
    "maximum_minimum": lambda x: np.sum(np.maximum(x, 0.4) * np.minimum(x, 0.8)),
    "fancy_index": lambda x: np.sum(x[[0, 2, 2], [1, 3, 0]] ** 2) + x[1, ::-2].sum(),
    "negative_step_slice": lambda x: np.sum(x[::-1, 1:3] * x[:, 2:0:-1]),
    "reshape_ravel": lambda x: np.sum(x.reshape(2, 6)[1] ** 3) + np.sum(np.ravel(x)[::5]),
    "iterate_rows": lambda x: sum(np.sum(r * r) * (i + 1) for i, r in enumerate(x)),
    "dot_inner_outer": lambda x: (np.dot(x[0], x[1]) + np.inner(x[2], x[0])
                                  + np.sum(np.outer(x[0], x[1]) ** 2)),
    "norm": lambda x: np.linalg.norm(x) + np.linalg.norm(x[0] - 1.0) ** 2,
    "matvec_const_traced": lambda x: np.sum((np.arange(15.0).reshape(5, 3) @ x[:, 0]) ** 2),
    "vecmat_traced_const": lambda x: np.sum(np.tanh(x[0] @ np.arange(8.0).reshape(4, 2))),
    "matmat_traced": lambda x: np.sum(x[:, :2] @ x[:2, :] * 0.5),
    "scalar_arithmetic": lambda x: (1.5 - x[0, 0] + x[0, 0] * x[0, 1]) ** 2 / (1 + x[2, 3] ** 2),
    "stack_residuals": lambda x: np.sum(np.stack([x[0, 0] - 1.0, 2.0 * x[1, 2], x[2, 3] ** 2,
                                                  np.float64(0.5)]) ** 2 * np.arange(1.0, 5.0)),
    "concatenate_axis1": lambda x: np.sum(np.concatenate([x[:, :1] ** 2, np.ones((3, 2)),
                                                         np.sin(x)], axis=1) * np.arange(7.0)),
    "hstack_vstack": lambda x: (np.sum(np.hstack([x[0], x[1, 0], 2.0]) ** 3)
                                + np.sum(np.vstack([x[0], x[2] * 2]) @ x[1])),
    "rpow_and_division": lambda x: np.sum(2.0 ** x) + np.sum(1.0 / (1.0 + x ** 2)),
}


@pytest.mark.parametrize("name", sorted(SHAPED))
def test_structural(name):
    x = np.random.default_rng(RNG_SEED).uniform(0.1, 1.0, size=(3, 4))
    check_against_oracles(SHAPED[name], x)


@pytest.mark.parametrize("chunk", [1, 3, 5, 8, 64])
def test_chunk_sizes_agree(chunk):
    x = np.random.default_rng(RNG_SEED).uniform(-1, 1, size=5)
    f = MLP_FREE_FUNCTIONS["rosenbrock"]
    base = fastgrad.compile(f, 5, chunk=1)
    cf = fastgrad.compile(f, 5, chunk=chunk)
    np.testing.assert_allclose(cf.gradient(x), base.gradient(x), rtol=1e-15)
    np.testing.assert_allclose(cf.hessian(x), base.hessian(x), rtol=1e-15)


# ------------------------------------------------------- named functions --

def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def beale(x):
    a, b = x
    return ((1.5 - a + a * b) ** 2 + (2.25 - a + a * b ** 2) ** 2
            + (2.625 - a + a * b ** 3) ** 2)


def booth(x):
    return (x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2


def himmelblau(x):
    return (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2


def powell(x):
    return ((x[0] + 10 * x[1]) ** 2 + 5 * (x[2] - x[3]) ** 2 + (x[1] - 2 * x[2]) ** 4
            + 10 * (x[0] - x[3]) ** 4)


def wood(x):
    return (100 * (x[0] ** 2 - x[1]) ** 2 + (x[0] - 1) ** 2 + (x[2] - 1) ** 2
            + 90 * (x[2] ** 2 - x[3]) ** 2 + 10.1 * ((x[1] - 1) ** 2 + (x[3] - 1) ** 2)
            + 19.8 * (x[1] - 1) * (x[3] - 1))


def brown_badly_scaled(x):
    return (x[0] - 1e6) ** 2 + (x[1] - 2e-6) ** 2 + (x[0] * x[1] - 2) ** 2


def trigonometric(x):
    n = x.shape[0]
    i = np.arange(1, n + 1)
    return np.sum((n - np.sum(np.cos(x)) + i * (1 - np.cos(x)) - np.sin(x)) ** 2)


MLP_FREE_FUNCTIONS = {
    "rosenbrock": rosenbrock, "beale": beale, "booth": booth, "himmelblau": himmelblau,
    "powell": powell, "wood": wood, "brown_badly_scaled": brown_badly_scaled,
    "trigonometric": trigonometric,
}
POINTS = {
    "rosenbrock": np.array([-1.2, 1.0, 0.5, -0.3, 0.8]), "beale": np.array([1.0, 1.0]),
    "booth": np.array([0.5, -1.5]), "himmelblau": np.array([1.0, 2.5]),
    "powell": np.array([3.0, -1.0, 0.0, 1.0]), "wood": np.array([-3.0, -1.0, -3.0, -1.0]),
    "brown_badly_scaled": np.array([1.0, 1.0]),
    "trigonometric": np.array([0.2, 0.4, 0.1, 0.3]),
}


def sympy_form(name, n):
    """The same function in sympy (scalar form), with its symbols."""
    xs = sp.symbols(f"x0:{n}")
    if name == "rosenbrock":
        return xs, sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2
                       for i in range(n - 1))
    if name == "trigonometric":
        s = sum(sp.cos(v) for v in xs)
        return xs, sum((n - s + (i + 1) * (1 - sp.cos(xs[i])) - sp.sin(xs[i])) ** 2
                       for i in range(n))
    return xs, MLP_FREE_FUNCTIONS[name](list(xs))


@pytest.mark.parametrize("name", sorted(MLP_FREE_FUNCTIONS))
def test_named_function_against_oracles(name):
    f, x = MLP_FREE_FUNCTIONS[name], POINTS[name]
    # Brown's function mixes 1e12 and 1e-6 scales: differences of it are poor.
    check_against_oracles(f, x, rtol_fd=1e-4 if name == "brown_badly_scaled" else 1e-6)


@pytest.mark.parametrize("name", sorted(MLP_FREE_FUNCTIONS))
def test_named_function_against_sympy(name):
    f, x = MLP_FREE_FUNCTIONS[name], POINTS[name]
    xs, expr = sympy_form(name, x.size)
    subs = dict(zip(xs, x))
    grad = np.array([float(sp.diff(expr, v).evalf(30, subs=subs)) for v in xs])
    hess = np.array([[float(sp.diff(expr, u, v).evalf(30, subs=subs)) for v in xs] for u in xs])
    cf = fastgrad.compile(f, x.shape)
    np.testing.assert_allclose(cf(x), float(expr.evalf(30, subs=subs)), rtol=1e-14)
    np.testing.assert_allclose(cf.gradient(x), grad, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cf.hessian(x), hess, rtol=1e-12, atol=1e-10)


def test_rosenbrock_hand_values():
    cf = fastgrad.compile(rosenbrock, 2)
    x = np.array([-1.2, 1.0])
    assert cf(x) == pytest.approx(24.2, rel=1e-15)
    np.testing.assert_allclose(cf.gradient(x), [-215.6, -88.0], rtol=1e-14)
    np.testing.assert_allclose(cf.hessian(x), [[1330.0, 480.0], [480.0, 200.0]], rtol=1e-14)
    assert cf(np.ones(2)) == 0.0
    np.testing.assert_array_equal(cf.gradient(np.ones(2)), [0.0, 0.0])


def rosen_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def test_rosenbrock_100d_exact_gradient():
    x = np.random.default_rng(RNG_SEED).uniform(-2, 2, size=100)
    cf = fastgrad.compile(rosenbrock, 100)
    np.testing.assert_allclose(cf(x), rosenbrock(x), rtol=1e-14)
    np.testing.assert_allclose(cf.gradient(x), rosen_grad(x), rtol=1e-13, atol=1e-11)
    H = cf.hessian(x)
    np.testing.assert_allclose(np.diag(H, 1), -400 * x[:-1], rtol=1e-14)
    np.testing.assert_allclose(H[np.triu_indices(100, 2)], 0.0)


def test_quadratic_form():
    rng = np.random.default_rng(RNG_SEED)
    A = rng.normal(size=(6, 6))
    x = rng.normal(size=6)
    cf = check_against_oracles(lambda x: x @ A @ x, x)
    np.testing.assert_allclose(cf(x), x @ A @ x, rtol=1e-13)
    np.testing.assert_allclose(cf.gradient(x), (A + A.T) @ x, rtol=1e-13)
    np.testing.assert_allclose(cf.hessian(x), A + A.T, rtol=1e-13)
    cf2 = fastgrad.compile(lambda x: np.dot(x, np.dot(A, x)), 6)
    np.testing.assert_allclose(cf2.hessian(x), A + A.T, rtol=1e-13)


@pytest.mark.parametrize("form", ["sum_squares", "residual_dot", "norm_squared"])
def test_least_squares(form):
    rng = np.random.default_rng(RNG_SEED)
    A, b, x = rng.normal(size=(8, 5)), rng.normal(size=8), rng.normal(size=5)
    f = {"sum_squares": lambda x: np.sum((A @ x - b) ** 2),
         "residual_dot": lambda x: (A @ x - b) @ (A @ x - b),
         "norm_squared": lambda x: np.linalg.norm(A @ x - b) ** 2}[form]
    cf = check_against_oracles(f, x)
    np.testing.assert_allclose(cf.gradient(x), 2 * A.T @ (A @ x - b), rtol=1e-12)
    np.testing.assert_allclose(cf.hessian(x), 2 * A.T @ A, rtol=1e-12)


def test_logistic_regression():
    rng = np.random.default_rng(RNG_SEED)
    X = rng.normal(size=(40, 5))
    y = np.where(rng.uniform(size=40) < 0.5, -1.0, 1.0)
    lam = 0.1
    w = rng.normal(size=5) * 0.5

    def loss(w):
        return np.sum(np.log1p(np.exp(-y * (X @ w)))) + lam * w @ w

    cf = check_against_oracles(loss, w)
    m = y * (X @ w)
    sig = 1 / (1 + np.exp(m))          # sigma(-m)
    grad = -X.T @ (y * sig) + 2 * lam * w
    hess = X.T @ (X * (sig * (1 - sig))[:, None]) + 2 * lam * np.eye(5)
    np.testing.assert_allclose(cf.gradient(w), grad, rtol=1e-12)
    np.testing.assert_allclose(cf.hessian(w), hess, rtol=1e-12)


def test_mlp_loss():
    f, p = make_mlp()
    check_against_oracles(f, p)


def test_matrix_shaped_input():
    A = np.arange(6.0).reshape(2, 3)

    def f(W):   # W (3, 2): ||A W - I||_F^2
        return np.sum((A @ W - np.eye(2)) ** 2)

    W = np.random.default_rng(RNG_SEED).normal(size=(3, 2))
    cf = check_against_oracles(f, W)
    np.testing.assert_allclose(cf.gradient(W), 2 * A.T @ (A @ W - np.eye(2)), rtol=1e-13)


@pytest.mark.parametrize("method", ["hyperdual", "reverse"])
@pytest.mark.parametrize("chunk", [1, 3, 8])
def test_hessian_pass_also_gives_value_and_gradient(chunk, method):
    f, p = make_mlp()
    cf = fastgrad.compile(f, p.shape, chunk=chunk)
    value, grad, hess = cf._tape.hessian(p, True, method == "reverse")
    assert value == pytest.approx(cf(p), rel=1e-15)
    np.testing.assert_allclose(grad, cf.gradient(p), rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(hess, cf.hessian(p, method=method))
    np.testing.assert_array_equal(hess, hess.T)


def test_hvp_with_scipy_trust_region():
    """cf.hvp as scipy's hessp: trust-ncg and Newton-CG on 50-D Rosenbrock
    reach the minimum, and a product equals the explicit Hessian times p."""
    so = pytest.importorskip("scipy.optimize", reason="scipy is a test extra")
    cf = fastgrad.compile(rosenbrock, 50)
    x0 = np.linspace(-1.0, 1.2, 50)
    for method, opts in (("trust-ncg", dict(gtol=1e-10)), ("Newton-CG", dict(xtol=1e-12))):
        res = so.minimize(cf, x0, jac=cf.gradient, hessp=cf.hvp, method=method, options=opts)
        assert res.success, res.message
        np.testing.assert_allclose(res.x, np.ones(50), rtol=1e-8)
    p = np.cos(np.arange(50.0))
    np.testing.assert_allclose(cf.hvp(x0, p), cf.hessian(x0) @ p, rtol=1e-12, atol=1e-9)
    with pytest.raises(ValueError, match="v"):
        cf.hvp(x0, p[:10])


def test_hessian_methods():
    """Forward-over-reverse and hyper-dual Hessians agree to a few ulps (the
    op-table tests above hold "auto", reverse for n > 2, against the NumPy
    reference and differences of gradients); auto picks hyper-dual at n <= 2
    and reverse above; chunks of every size give the same matrix."""
    f, p = make_mlp()
    hs = {}
    for chunk in (1, 4, p.size):
        cf = fastgrad.compile(f, p.shape, chunk=chunk)
        hs[chunk] = cf.hessian(p, method="reverse")
        H = cf.hessian(p, method="hyperdual")
        scale = np.abs(H).max()
        np.testing.assert_allclose(hs[chunk], H, rtol=1e-12, atol=1e-14 * scale)
        np.testing.assert_array_equal(cf.hessian(p), hs[chunk])   # auto: n > 2
    for chunk in (1, 4):
        np.testing.assert_allclose(hs[chunk], hs[p.size], rtol=1e-13, atol=1e-15 * scale)
    small = fastgrad.compile(lambda x: x[0] ** 3 * np.exp(x[1]), 2)
    x = np.array([0.5, -0.3])
    np.testing.assert_array_equal(small.hessian(x), small.hessian(x, method="hyperdual"))
    np.testing.assert_allclose(small.hessian(x, method="reverse"),
                               small.hessian(x, method="hyperdual"), rtol=1e-15)
    with pytest.raises(ValueError, match="method must be"):
        small.hessian(x, method="dual")


def test_jvp():
    f, p = make_mlp()
    cf = fastgrad.compile(f, p.shape)
    v = np.random.default_rng(RNG_SEED + 1).normal(size=p.shape)
    value, jv = cf.jvp(p, v)
    assert value == cf(p)
    np.testing.assert_allclose(jv, cf.gradient(p) @ v, rtol=1e-12)
    rv, rjv = ref.compile(f, p.shape).jvp(p, v)
    np.testing.assert_allclose(jv, rjv, rtol=1e-12)


# ------------------------------------------------------------ capsules --

def capsule_name(cap):
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype = ctypes.c_char_p
    get_name.argtypes = [ctypes.py_object]
    return get_name(cap).decode()


def test_scalar_capsule():
    f, p = make_mlp()
    cf = fastgrad.compile(f, p.shape)
    cap = cf._fg_scalar_capsule()
    assert capsule_name(cap) == "fastgrad.scalar_callback"
    assert cap is not cf._fg_scalar_capsule()
    assert call_scalar_capsule(cap, p) == cf(p)
    assert np.isnan(call_scalar_capsule(cap, p[:-1]))   # wrong length: NaN, as documented
    del cf                                              # the capsule keeps the tape alive
    np.testing.assert_allclose(call_scalar_capsule(cap, p), f(p), rtol=1e-13)


@pytest.mark.parametrize("method", ["auto", "dual", "reverse"])
def test_objective_capsule(method):
    x = POINTS["wood"]
    cf = fastgrad.compile(wood, 4, chunk=2)     # auto: n > chunk, so reverse
    cap = cf._fg_objective_capsule(method)
    assert capsule_name(cap) == "fastgrad.objective_callback"
    value, grad, hess = call_objective_capsule(cap, x)
    assert value == cf(x)
    expect = cf.gradient(x, method="dual" if method == "dual" else "reverse")
    np.testing.assert_array_equal(grad, expect)
    np.testing.assert_array_equal(hess, cf.hessian(x))
    with pytest.raises(ValueError):
        call_objective_capsule(cap, x[:3])
    with pytest.raises(ValueError, match="method"):
        cf._fg_objective_capsule("bogus")


def test_capsule_pointer_via_ctypes():
    """The capsule's pointer is an fg_scalar_callback {fn, ctx, n}: call fn
    through ctypes, as a C driver would."""
    cf = fastgrad.compile(himmelblau, 2)
    cap = cf._fg_scalar_capsule()
    get_ptr = ctypes.pythonapi.PyCapsule_GetPointer
    get_ptr.restype = ctypes.c_void_p
    get_ptr.argtypes = [ctypes.py_object, ctypes.c_char_p]
    fn_type = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.POINTER(ctypes.c_double),
                               ctypes.c_size_t, ctypes.c_void_p)

    class ScalarCallback(ctypes.Structure):
        _fields_ = [("fn", fn_type), ("ctx", ctypes.c_void_p), ("n", ctypes.c_size_t)]

    cb = ScalarCallback.from_address(get_ptr(cap, b"fastgrad.scalar_callback"))
    assert cb.n == 2
    x = np.array([3.0, 2.0])
    assert cb.fn(x.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), 2, cb.ctx) == 0.0
    x = np.array([1.0, 2.5])
    assert cb.fn(x.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), 2, cb.ctx) == himmelblau(x)


def test_embedding_exports():
    """The cdef nogil functions of _tape.pxd are exported for cimport."""
    import fastgrad._tape as tape_module
    capi = tape_module.__pyx_capi__
    for name in ("tape_ws_create", "tape_ws_free", "tape_eval_f64", "tape_value_grad_f64",
                 "tape_value_grad_reverse_f64", "tape_jvp_f64", "tape_hessian_f64",
                 "tape_hessian_reverse_f64"):
        assert name in capi


def test_reference_matches_c_on_program():
    """The reference and C evaluate the same recorded Program."""
    f, p = make_mlp()
    cf = fastgrad.compile(f, p.shape)
    rf = ref.CompiledFunction(cf.program)
    assert rf(p) == pytest.approx(cf(p), rel=1e-14)



# ------------- compile x the other modules: finite differences through the
# capsule path, and the tape against DualArray (fastgrad.gradient / hessian
# on the same Python function) --

# relative accuracy of each real finite-difference method on smooth functions
# of size ~1 (truncation + rounding at the default step)
FD_RTOL = {"forward": 2e-6, "backward": 2e-6, "central": 1e-8, "five-point": 1e-10,
           "richardson": 1e-10}


@pytest.mark.parametrize("method", [m for m in FD_METHODS if m != "complex"])
@pytest.mark.parametrize("name", ["rosenbrock", "beale", "wood", "trigonometric", "mlp"])
def test_compiled_gradient_by_finite_differences(name, method, monkeypatch):
    if name == "mlp":
        f, x = make_mlp()
    else:
        f, x = MLP_FREE_FUNCTIONS[name], POINTS[name]
    cf = fastgrad.compile(f, x.shape)
    exact = cf.gradient(x, method="dual")
    np.testing.assert_allclose(cf.gradient(x, method="reverse"), exact, rtol=1e-13, atol=1e-13)
    calls = []
    real = _fd.capsule_gradient
    monkeypatch.setattr(_fd, "capsule_gradient", lambda *a: calls.append(1) or real(*a))
    g = cf.gradient(x, method=method)
    assert calls == [1]                     # evaluated in C through the scalar capsule
    scale = max(1.0, np.abs(exact).max())
    np.testing.assert_allclose(g, exact, rtol=FD_RTOL[method], atol=FD_RTOL[method] * scale)
    # the same stencil through the Python callable: the same numbers up to
    # the rounding of f (tape vs NumPy), divided by h
    monkeypatch.undo()
    gp = fd_gradient(f, x, method=method)
    np.testing.assert_allclose(g, gp, rtol=FD_RTOL[method], atol=FD_RTOL[method] * scale)


def test_compiled_gradient_complex_step_is_refused():
    # the tape is real-valued: the complex step is not among its methods
    cf = fastgrad.compile(rosenbrock, 3)
    with pytest.raises(ValueError, match="complex"):
        cf.gradient(np.ones(3), method="complex")


def assert_tape_matches_dual(f, x, rtol=1e-13, hess=True):
    """cf(x), cf.gradient (dual and reverse), cf.hessian vs NumPy f(x) and
    DualArray's fastgrad.gradient / fastgrad.hessian of the same f."""
    cf = fastgrad.compile(f, x.shape)
    assert cf(x) == pytest.approx(float(f(x)), rel=1e-14, abs=1e-14)   # sums may cancel
    g = fastgrad.gradient(f, x)
    scale = max(1.0, np.abs(g).max())
    np.testing.assert_allclose(cf.gradient(x), g, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(cf.gradient(x, method="reverse"), g, rtol=rtol,
                               atol=rtol * scale)
    v, g2 = cf.value_and_gradient(x, method="reverse")
    assert v == cf(x)
    np.testing.assert_array_equal(g2, cf.gradient(x, method="reverse"))
    if hess:
        H = fastgrad.hessian(f, x)
        hs = max(1.0, np.abs(H).max())
        np.testing.assert_allclose(cf.hessian(x), H, rtol=rtol, atol=rtol * hs)


@pytest.mark.parametrize("name", UNARY)
def test_unary_op_tape_vs_dualarray(name):
    ufunc = ufunc_of(name)
    assert_tape_matches_dual(lambda x: np.sum(WEIGHTS * ufunc(x)),
                             UNARY_POINTS.get(name, DEFAULT_POINTS))


@pytest.mark.parametrize("name", BINARY)
def test_binary_op_tape_vs_dualarray(name):
    ufunc = ufunc_of(name)
    x = np.concatenate([BINARY_A, BINARY_B])
    assert_tape_matches_dual(lambda x: np.sum(WEIGHTS * ufunc(x[:3], x[3:]))
                             + np.sum(ufunc(x[:3], 0.8)) + np.sum(ufunc(1.3, x[3:])), x)


@pytest.mark.parametrize("name", COMPARE)
def test_compare_op_tape_vs_dualarray(name):
    ufunc = ufunc_of(name)
    x = np.concatenate([BINARY_A, BINARY_B, [0.5, 0.9, 2.0]])
    f = lambda x: np.sum(np.where(ufunc(x[:3], x[3:6]), x[:3] ** 3, np.sin(x[6:])))  # noqa
    assert_tape_matches_dual(f, x)


@pytest.mark.parametrize("name", sorted(MLP_FREE_FUNCTIONS) + ["mlp"])
def test_named_function_tape_vs_dualarray(name):
    if name == "mlp":
        f, x = make_mlp()
    else:
        f, x = MLP_FREE_FUNCTIONS[name], POINTS[name]
    assert_tape_matches_dual(f, x, rtol=1e-12)


# The reverse sweep stores (instead of adding to a zeroed buffer) on the first
# write into an adjoint that covers a contiguous range of the slot, the rest
# being zeroed first (fg_tape_plan.c, plan_adjoint_stores). Stale adjoints of an earlier call must never leak
# into the next one: repeated calls on the same workspace equal a fresh tape's
# first call bit for bit, and the dual-mode gradient to rounding.
STORE_CASES = {
    "rosenbrock": (rosenbrock, 6),
    "x_times_x": (lambda x: np.sum(x * x) + np.sum(np.sin(x) * x), 5),
    "reused_intermediate": (lambda x: np.sum(np.exp(0.1 * x) * np.exp(0.1 * x)[::-1])
                            + np.sum(np.exp(0.1 * x) ** 2), 5),
    "sum_of_rows": (lambda x: np.sum(np.sum(x.reshape(2, 3) ** 2, axis=0) * [1.0, 2.0, 3.0])
                    + np.mean(np.tanh(x)), 6),
    "broadcast_scalar": (lambda x: np.sum((x - np.sum(x)) ** 2) + x[0] * np.sum(x), 4),
    # first writes into x's adjoint that cover x[1:-1] or x[:-2] only; the
    # ends are accumulated by later writes, or by none (x[4] below)
    "middle_slice": (lambda x: np.sum(np.exp(0.3 * x[1:-1])) + x[0] * x[-1]
                     + np.sum(x[2:] ** 2), 5),
    "uncovered_end": (lambda x: np.sum(np.sin(x[1:-2]) * x[:-3]) + np.sum(np.cos(x[:-2])), 5),
    # a final mean of a slot nothing else reads: its adjoint, 1/n, is
    # written once per workspace and the sweep skips the mean
    "final_mean": (lambda x: np.mean(np.cosh(x) * x), 5),
    "final_mean_of_input": (lambda x: np.mean(x), 3),
    "matmul_where": (lambda x: np.sum(np.where(x > 0.1, x, -x) @ np.arange(12.0).reshape(4, 3))
                     + np.sum(np.maximum(x, 0.3) ** 3), 4),
    # adjoint aliases (fg_tape_plan.c, plan_adjoint_aliases): a single-use operand
    # of + (either side) or - (left side) shares the result's adjoint buffer,
    # also along chains; a reused, offset, broadcast or right-of-minus
    # operand, and x itself, keep their own
    "alias_chain": (lambda x: np.sum(((np.sin(x) + np.cos(x)) - np.exp(0.1 * x)) + x * x), 5),
    "alias_reused_operand": (lambda x: np.sum((np.sin(x) + np.cos(x)) * np.sin(x)), 5),
    "alias_offset_operand": (lambda x: np.sum(np.sin(x)[1:] - np.cos(x[:-1])) + np.sum(x), 5),
    "alias_broadcast": (lambda x: np.sum(np.tanh(x) + np.sum(x ** 3)), 4),
    "alias_right_of_minus": (lambda x: np.sum(np.exp(x) - np.sin(x)), 4),
    "alias_input": (lambda x: np.sum(x + x) + np.sum(x - np.cos(x)), 3),
}


@pytest.mark.parametrize("name", sorted(STORE_CASES))
def test_reverse_sweep_repeated_calls_do_not_leak(name):
    f, n = STORE_CASES[name]
    cf = fastgrad.compile(f, n)
    rng = np.random.default_rng(5)
    points = rng.normal(size=(4, n))
    for x in points:
        g = cf.gradient(x, method="reverse")
        fresh = fastgrad.compile(f, n).gradient(x, method="reverse")
        np.testing.assert_array_equal(g, fresh)
        np.testing.assert_allclose(g, ref.CompiledFunction(cf.program).gradient(x, "reverse"),
                                   rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(g, cf.gradient(x), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(g, fastgrad.gradient(f, x), rtol=1e-13, atol=1e-13)
    # the objective capsule keeps one workspace for a whole minimize run
    class Reverse:
        def __call__(self, x):
            return cf(x)

        def _fg_objective_capsule(self):
            return cf._fg_objective_capsule("reverse")

    res = fastgrad.minimize(Reverse(), points[0], method="gd", lr=1e-3, maxiter=5, tol=0.0)
    np.testing.assert_allclose(res.jac, fastgrad.gradient(f, res.x), rtol=1e-13, atol=1e-13)
