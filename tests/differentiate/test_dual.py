"""Tests of fastgrad.dual (DualArray) and the C dual kernels behind it.

Oracles: a five-point difference of NumPy's own ufunc, the hand-written
reference duals (fastgrad.reference.dual: scalar Duals in object arrays), and
hand values. Every elementwise rule is tested by looping over the op table
fastgrad._ops.OPS, so a new row is tested the moment it is added.
"""
import functools
import pathlib
import subprocess
import sys
import threading

import numpy as np
import pytest

import fastgrad
from fastgrad import DualArray, dual
from fastgrad import _dual as cdual
from fastgrad._ops import OP_CODES, OPS, ufunc_of
from fastgrad.dual import DUAL_FUNCTIONS
from fastgrad.reference import dual as R
from support.problems import rosen, rosen_grad

# This module tests dual numbers: its front-end calls take method="dual" (the
# default, reverse mode, is tested in test_reverse.py).
gradient = functools.partial(fastgrad.gradient, method="dual")
hessian = functools.partial(fastgrad.hessian, method="dual")
jacobian = functools.partial(fastgrad.jacobian, method="dual")

UNARY = [name for name, kind, _ in OPS if kind == "unary"]
BINARY = [name for name, kind, _ in OPS if kind == "binary"]
COMPARE = [name for name, kind, _ in OPS if kind == "compare"]

# Safe points (inside the domain, away from kinks and ties) per op.
UNARY_POINTS = {
    "sqrt": [0.3, 1.7, 4.2], "log": [0.3, 1.7, 4.2], "log2": [0.3, 1.7, 4.2],
    "log10": [0.3, 1.7, 4.2], "log1p": [-0.5, 0.3, 2.0], "arcsin": [-0.6, 0.1, 0.7],
    "arccos": [-0.6, 0.1, 0.7], "arctanh": [-0.6, 0.1, 0.7], "arccosh": [1.3, 2.0, 5.0],
    "reciprocal": [-1.5, 0.4, 2.5], "cbrt": [-2.5, 0.4, 3.3], "tan": [-1.1, 0.3, 0.9],
}
DEFAULT_UNARY = [-1.3, -0.4, 0.6, 1.7]
BINARY_POINTS = {
    "power": [(0.7, 1.3), (1.9, -0.6), (2.5, 2.0), (0.4, 3.0)],
}
DEFAULT_BINARY = [(0.7, -1.2), (1.3, 0.4), (-0.8, 2.1), (2.2, 1.5)]


def five_point(f, x, h=None):
    h = 1e-3 * max(1.0, abs(x)) if h is None else h
    return (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h)


def ufunc(name):
    return ufunc_of(name)   # the row's binding: numpy.exp, scipy.special.erf


def ref_first(name, *xs, wrt=0):
    """d op / d xs[wrt] by a reference dual of tag 1."""
    args = [R.Dual(x, 1.0, 1) if i == wrt else x for i, x in enumerate(xs)]
    y = R.apply(name, *args)
    return y.e if isinstance(y, R.Dual) else 0.0   # max/min may return the constant


def ref_second(name, *xs, wrt=(0, 0)):
    """d2 op / d xs[i] d xs[j] by nested reference duals."""
    i, j = wrt
    args = []
    for q, x in enumerate(xs):
        inner = R.Dual(x, float(q == j), 1)
        args.append(R.Dual(inner, R.Dual(float(q == i), 0.0, 1), 2))
    y = R.apply(name, *args)
    d = y.e
    return d.e if isinstance(d, R.Dual) else 0.0


# ----------------------------------------------------- table-driven rules --
def test_table_is_covered():
    # every row is bound to a ufunc and has a reference rule
    for name, kind, arity in OPS:
        assert isinstance(ufunc_of(name), np.ufunc), name
        assert name in R.RULES, f"add a hand-written rule for {name} to reference/dual.py"
        assert (kind == "unary") == (arity == 1)


@pytest.mark.parametrize("name", UNARY)
def test_unary_rule_first_and_second_derivative(name):
    f = ufunc(name)
    xs = np.array(UNARY_POINTS.get(name, DEFAULT_UNARY))
    d = f(dual(xs, np.ones_like(xs)))
    # NumPy's SIMD loops and libm may differ in the last bit
    np.testing.assert_allclose(d.value, f(xs), rtol=1e-15, atol=1e-300)
    for i, x in enumerate(xs):
        fd = five_point(f, x)
        assert d.tangent[i, 0] == pytest.approx(fd, rel=1e-7, abs=1e-9), (name, x)
        assert d.tangent[i, 0] == pytest.approx(ref_first(name, x), rel=1e-13, abs=1e-15)
    # second derivative: hyper-dual with e1 = e2 = the coordinate
    t = np.zeros((xs.size, 3))
    t[:, 0] = 1.0
    t[:, 1] = 1.0
    y, ty = cdual.unary(OP_CODES[name], xs, t, True)
    np.testing.assert_array_equal(ty[:, 0], d.tangent[:, 0])
    np.testing.assert_array_equal(ty[:, 1], d.tangent[:, 0])
    for i, x in enumerate(xs):
        fd2 = five_point(lambda s: ref_first(name, s), x)
        assert ty[i, 2] == pytest.approx(fd2, rel=1e-6, abs=1e-8), (name, x)
        assert ty[i, 2] == pytest.approx(ref_second(name, x), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("name", BINARY)
def test_binary_rule_partials(name):
    f = ufunc(name)
    for a, b in BINARY_POINTS.get(name, DEFAULT_BINARY):
        # both dual: tangent directions (1, 0) and (0, 1) give both partials
        da = DualArray(np.array(a), np.array([1.0, 0.0]))
        db = DualArray(np.array(b), np.array([0.0, 1.0]))
        y = f(da, db)
        assert y.value == pytest.approx(f(a, b), rel=1e-15)
        pa, pb = y.tangent
        assert pa == pytest.approx(five_point(lambda s: f(s, b), a), rel=1e-7, abs=1e-9)
        assert pb == pytest.approx(five_point(lambda s: f(a, s), b), rel=1e-7, abs=1e-9)
        assert pa == pytest.approx(ref_first(name, a, b, wrt=0), rel=1e-13, abs=1e-15)
        assert pb == pytest.approx(ref_first(name, a, b, wrt=1), rel=1e-13, abs=1e-15)
        # a constant on either side (python float) gives the same partials
        assert f(DualArray(np.array(a), np.array([1.0])), b).tangent[0] == pa
        assert f(a, DualArray(np.array(b), np.array([1.0]))).tangent[0] == pb
        # second partials through the hyper-dual kernel: e1 = (a, b), e2 = a or b
        for i in range(2):
            ta = np.array([1.0, 0.0, float(i == 0), 0.0, 0.0])
            tb = np.array([0.0, 1.0, float(i == 1), 0.0, 0.0])
            _, ty = cdual.binary(OP_CODES[name], np.array([a]), ta[None], np.array([b]),
                                 tb[None], True)
            for j in range(2):
                ref = ref_second(name, a, b, wrt=(i, j))
                assert ty[0, 3 + j] == pytest.approx(ref, rel=1e-12, abs=1e-13), (name, i, j)
        # hyper-dual with a constant operand: only the dual side's second partial
        h = np.array([[1.0, 1.0, 0.0]])
        _, t_a = cdual.binary(OP_CODES[name], np.array([a]), h, np.array([b]), None, True)
        _, t_b = cdual.binary(OP_CODES[name], np.array([a]), None, np.array([b]), h, True)
        assert t_a[0, 2] == pytest.approx(ref_second(name, a, b, wrt=(0, 0)), rel=1e-12,
                                          abs=1e-13)
        assert t_b[0, 2] == pytest.approx(ref_second(name, a, b, wrt=(1, 1)), rel=1e-12,
                                          abs=1e-13)
        assert t_a[0, 0] == t_a[0, 1] == pa and t_b[0, 0] == t_b[0, 1] == pb


@pytest.mark.parametrize("name", COMPARE)
def test_comparisons_use_values_and_return_bool_arrays(name):
    f = ufunc(name)
    x = dual(np.array([1.0, 2.0, 3.0]))
    other = np.array([2.0, 2.0, 2.0])
    for out, want in [(f(x, other), f(x.value, other)), (f(other, x), f(other, x.value)),
                      (f(x, 2.0), f(x.value, 2.0)), (f(x, x), f(x.value, x.value))]:
        assert type(out) is np.ndarray and out.dtype == bool
        np.testing.assert_array_equal(out, want)
    assert R.apply(name, 1.0, 2.0) == f(1.0, 2.0)


def test_operators_match_ufuncs():
    x = dual(np.array([0.5, 1.5]))
    y = dual(np.array([2.0, -1.0]))
    pairs = [(x + y, np.add(x, y)), (x - y, np.subtract(x, y)), (x * y, np.multiply(x, y)),
             (x / y, np.divide(x, y)), (x ** y, np.power(x, y)), (-x, np.negative(x)),
             (abs(y), np.absolute(y)), (x ** 2, np.power(x, 2.0)), (+x, x)]
    for got, want in pairs:
        np.testing.assert_array_equal(got.value, want.value)
        np.testing.assert_allclose(got.tangent, want.tangent, rtol=1e-15)
    assert (x < y).tolist() == [True, False] and (x >= 1.0).tolist() == [False, True]


# ------------------------------------------------- constants, NaN poisoning --
def test_constant_operands_never_poison_with_nan():
    x = dual(np.array([-2.0]))
    y = x ** 3.0                       # constant exponent: d/db = y*log(a) not evaluated
    assert y.value[0] == -8.0 and y.tangent[0, 0] == 12.0
    y = np.power(x, np.array([3.0]))
    assert y.tangent[0, 0] == 12.0
    z = 2.0 ** dual(np.array([3.0]))   # constant base
    assert z.tangent[0, 0] == pytest.approx(8 * np.log(2))
    # a dual negative base with a dual exponent: d/db is NaN (documented), and
    # it does not leak into the direction that does not move b (NaN-safe)
    w = DualArray(np.array(-2.0), np.array([1.0, 0.0])) ** DualArray(np.array(3.0),
                                                                     np.array([0.0, 1.0]))
    assert w.tangent[0] == 12.0 and np.isnan(w.tangent[1])
    g = gradient(lambda p: p[0] ** p[1], np.array([-2.0, 3.0]))
    assert g[0] == 12.0 and np.isnan(g[1])
    # sqrt at 0 has an infinite derivative, but only along its own input
    g = gradient(lambda p: np.sqrt(p[0]) + 3.0 * p[1], np.array([0.0, 1.0]))
    assert g[0] == np.inf and g[1] == 3.0
    H = hessian(lambda p: np.sqrt(p[0]) + p[1] ** 3, np.array([0.0, 2.0]))
    assert H[1, 1] == 12.0 and H[0, 1] == 0.0 and H[1, 0] == 0.0
    # x**0 has derivative 0, even at 0
    assert (dual(np.array([0.0])) ** 0.0).tangent[0, 0] == 0.0


def test_nondifferentiable_points_follow_the_table():
    x = dual(np.array([0.0, 0.0]))
    assert np.abs(x).tangent.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert np.sign(x).tangent.sum() == 0.0
    t = np.maximum(x[0], x[1])          # tie: the first operand gets the derivative
    assert t.tangent.tolist() == [1.0, 0.0]
    t = np.minimum(x[1], x[0])
    assert t.tangent.tolist() == [0.0, 1.0]
    h = np.hypot(x[0], x[1])
    assert h.tangent.tolist() == [0.0, 0.0]
    s = np.sqrt(dual(np.array([0.0])))
    assert s.tangent[0, 0] == np.inf
    nan = dual(np.array([np.nan, 1.0]))
    m = np.fmax(nan[0], nan[1])         # fmax: the non-NaN operand's derivative
    assert m.value == 1.0 and m.tangent.tolist() == [0.0, 1.0]
    m = np.maximum(nan[0], nan[1])      # maximum propagates NaN
    assert np.isnan(m.value) and m.tangent.tolist() == [1.0, 0.0]


@pytest.mark.parametrize("const", [2.5, 3, np.float64(2.5), np.array(2.5),
                                   np.array([1.0, 2.0, 3.0]), [1.0, 2.0, 3.0],
                                   np.array([1, 2, 3])])
def test_constants_on_either_side(const):
    xv = np.array([0.5, 1.5, 2.5])
    c = np.asarray(const, dtype=float)
    for op, dfa, dfb in [(np.add, lambda a, b: 1 + 0 * a, None),
                         (np.multiply, lambda a, b: b + 0 * a, lambda a, b: a + 0 * b),
                         (np.divide, lambda a, b: 1 / b + 0 * a, lambda a, b: -a / b ** 2),
                         (np.subtract, lambda a, b: 1 + 0 * a, lambda a, b: -1 + 0 * b)]:
        left = op(dual(xv), const)
        right = op(const, dual(xv))
        np.testing.assert_allclose(left.value, op(xv, c))
        np.testing.assert_allclose(right.value, op(c, xv))
        np.testing.assert_allclose(np.diagonal(left.tangent), dfa(xv, c), rtol=1e-15)
        if dfb is not None:
            np.testing.assert_allclose(np.diagonal(right.tangent), dfb(c, xv), rtol=1e-15)


# ---------------------------------------------------------- broadcasting --
@pytest.mark.parametrize("sa,sb", [((3, 1), (1, 4)), ((2, 3), (3,)), ((), (2, 2)),
                                   ((1,), (3,)), ((1, 1), (3,)), ((2, 1, 3), (4, 1))])
def test_broadcasting_matches_reference(sa, sb):
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 2.0, sa)
    b = rng.uniform(0.5, 2.0, sb)
    na = a.size

    def f(z):
        x = z[:na].reshape(sa)
        y = z[na:].reshape(sb)
        return x * y + np.arctan2(x, y) - y / x + x ** y

    z = np.concatenate([a.ravel(), b.ravel()])
    np.testing.assert_allclose(jacobian(f, z), R.jacobian(f, z), rtol=1e-13, atol=1e-14)
    # dual op constant array with broadcasting
    g = lambda x: np.hypot(x.reshape(sa), b)  # noqa: E731
    np.testing.assert_allclose(jacobian(g, a.ravel()), R.jacobian(g, a.ravel()), rtol=1e-13,
                               atol=1e-14)


# -------------------------------------------------------- array functions --
X0 = np.array([0.3, -1.2, 0.8, 1.7, -0.5, 2.1])
M = np.arange(1.0, 7.0).reshape(2, 3) / 4.0
ARRAY_FUNCS = {
    "sum": lambda x: np.sum(x) + x.sum(),
    "sum_axis": lambda x: np.sum(x.reshape(2, 3), axis=0) * np.sum(x.reshape(2, 3), axis=-1,
                                                                    keepdims=True),
    "mean": lambda x: np.mean(x.reshape(3, 2), axis=1) + x.mean(),
    "prod": lambda x: np.prod(x) + np.prod(x.reshape(2, 3), axis=1).sum(),
    "prod_zero": lambda x: np.prod(x * np.array([1, 0, 1, 1, 1, 1.0])),
    "dot": lambda x: np.dot(x, x) + np.dot(M, x[:3]).sum() + x[:2].dot(M),
    "matmul": lambda x: (x.reshape(2, 3) @ x.reshape(3, 2)).ravel(),
    "matmul_const": lambda x: np.matmul(M, x.reshape(3, 2)).sum() + (x[:2] @ M),
    "matmul_batched": lambda x: (x.reshape(2, 1, 3) @ np.ones((3, 2))).ravel(),
    "outer": lambda x: np.outer(x[:3], x[3:]).ravel() + np.outer(x[:2], M[0]).sum(),
    "einsum": lambda x: np.concatenate([
        np.einsum("ij,jk->ik", x.reshape(2, 3), x.reshape(3, 2)).ravel(),
        np.reshape(np.einsum("i,i->", x, x), (1,)), np.einsum("ij->j", x.reshape(2, 3)),
        np.reshape(np.einsum("ii", x[:4].reshape(2, 2)), (1,)), np.einsum("ij,j", M, x[:3])]),
    "cumsum": lambda x: np.cumsum(x) + np.cumsum(x.reshape(2, 3), axis=1).ravel(),
    "reshape": lambda x: np.reshape(x, (3, 2))[1] * x.reshape(2, 3)[0, :2],
    "transpose": lambda x: (np.transpose(x.reshape(2, 3)) * x.reshape(2, 3).T).ravel(),
    "indexing": lambda x: np.concatenate([x[1:4] * x[[0, 2, 5]], x[::-2], x[-1:],
                                          x.reshape(2, 3)[..., 1], x.reshape(2, 3)[:, None, 0].ravel(),
                                          x[x.value > 0] if hasattr(x, "value")
                                          else x[np.array([e > 0 for e in x])]]),
    "concatenate": lambda x: np.concatenate([x[:2], np.array([1.0, 2.0]), x[3:] ** 2]),
    "stack": lambda x: np.stack([x[:3], np.ones(3), x[3:]], axis=1).ravel(),
    "where": lambda x: np.where(x > 0.5, x ** 2, -x) + np.where(x < 0, 1.0, x),
    "clip": lambda x: np.clip(x, -0.6, 1.0) * 3.0,
    "diff": lambda x: np.diff(x) ** 2,
    "maximum_minimum": lambda x: np.maximum(x, 0.5) + np.minimum(x[::-1], x) + np.fmax(x, -1.0),
    "norm": lambda x: np.linalg.norm(x) * x,
    "max_min": lambda x: np.concatenate([
        np.reshape(np.max(x), (1,)), np.min(x.reshape(2, 3), axis=0),
        np.max(x.reshape(2, 3), axis=-1, keepdims=True).ravel(), x.reshape(3, 2).min(axis=1)]),
    "structural": lambda x: np.concatenate([
        np.flip(x), np.roll(x, 2), np.tile(x[:2], 2), np.repeat(x[:2], 2),
        np.diag(x.reshape(2, 3)), np.diagonal(x[:4].reshape(2, 2)),
        np.reshape(np.trace(x[:4].reshape(2, 2)), (1,)), np.triu(x[:4].reshape(2, 2)).ravel(),
        np.tril(x[:4].reshape(2, 2)).ravel(), np.take(x, [5, 0, 0]),
        np.fliplr(x.reshape(2, 3)).ravel(), np.flipud(x.reshape(2, 3)).ravel(),
        np.rot90(x.reshape(2, 3)).ravel(), np.diag(x[:2]).ravel(),
        np.take_along_axis(x.reshape(2, 3), np.array([[2], [0]]), axis=1).ravel()]),
}


@pytest.mark.parametrize("name", sorted(ARRAY_FUNCS))
def test_array_functions_match_reference(name):
    f = ARRAY_FUNCS[name]
    J = jacobian(f, X0)
    np.testing.assert_allclose(J, R.jacobian(f, X0), rtol=1e-12, atol=1e-13)
    # the value is NumPy's own
    d = f(dual(X0))
    np.testing.assert_allclose(d.value, f(X0), rtol=1e-14)


@pytest.mark.parametrize("name", ["prod", "dot", "matmul", "matmul_const", "einsum", "outer",
                                  "where", "norm", "max_min", "structural"])
def test_array_function_hessians_match_nested_reference(name):
    f = ARRAY_FUNCS[name]
    x = X0[:6]
    # scalar and curved; "+ z[0]" makes every element of the reference's
    # object array a Dual (np.triu & co. put plain 0s there)
    g = lambda z: np.sum(np.sin(f(z) + z[0]))  # noqa: E731
    H = hessian(g, x, chunk_size=4)
    np.testing.assert_allclose(H, R.hessian(g, x), rtol=1e-11, atol=1e-11)
    np.testing.assert_array_equal(H, H.T)


def test_shape_protocols():
    x = dual(np.ones((2, 3)), np.ones((2, 3, 4)))
    assert len(x) == 2 and x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and x.k == 4
    assert np.shape(x) == (2, 3) and np.ndim(x) == 2 and np.size(x) == 6
    assert x.T.shape == (3, 2) and x.T.tangent.shape == (3, 2, 4)
    assert [r.shape for r in x] == [(3,), (3,)]
    assert np.moveaxis(x, 0, 1).shape == (3, 2) and np.swapaxes(x, 0, 1).shape == (3, 2)
    assert np.squeeze(x.reshape(1, 6)).shape == (6,)
    assert np.expand_dims(x, 0).shape == (1, 2, 3)
    assert np.broadcast_to(x[0], (4, 3)).tangent.shape == (4, 3, 4)
    assert x.dtype == np.float64
    assert "DualArray" in repr(x)


def test_setitem_and_like_constructors():
    def f(x):
        out = np.zeros_like(x)
        out[0] = x[1] * x[2]
        out[1:] = 2.0
        out[2] = np.ones_like(x)[0] * x[0]
        return out
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(jacobian(f, x), [[0, 3, 2], [0, 0, 0], [1, 0, 0]])
    assert np.full_like(dual(x), 7.0).value.tolist() == [7.0, 7.0, 7.0]
    assert np.empty_like(dual(x)).tangent.sum() == 0.0


def test_large_arrays_take_the_nogil_path_and_stay_correct():
    # above the GIL threshold the kernels run in a worker thread next to Python
    rng = np.random.default_rng(1)
    xv = rng.uniform(0.1, 2.0, 5000)
    t = rng.standard_normal((5000, 3))
    results = []
    th = threading.Thread(target=lambda: results.append(np.log(DualArray(xv, t)) * xv))
    th.start()
    th.join()
    y = results[0]
    np.testing.assert_allclose(y.value, np.log(xv) * xv, rtol=1e-15)
    np.testing.assert_allclose(y.tangent, t / xv[:, None] * xv[:, None], rtol=1e-14)


# ------------------------------------------------------------- chunking --
@pytest.mark.parametrize("chunk", [1, 2, 4, 8, 13, None])
def test_chunk_sizes_agree(chunk):
    x = np.linspace(-1.2, 1.3, 13)
    g = gradient(rosen, x, chunk_size=chunk)
    np.testing.assert_allclose(g, rosen_grad(x), rtol=1e-14, atol=1e-12)
    np.testing.assert_array_equal(g, gradient(rosen, x, chunk_size=13))
    H = hessian(rosen, x[:6], chunk_size=chunk)
    np.testing.assert_array_equal(H, hessian(rosen, x[:6], chunk_size=6))


def test_number_of_passes_is_ceil_n_over_chunk():
    calls = []

    def f(x):
        calls.append(x.k)
        return np.sum(x ** 2)
    gradient(f, np.ones(10), chunk_size=4, method="dual")
    assert calls == [4, 4, 2]


# ------------------------------------------------------------- dtypes --
def test_float32_in_float32_out():
    x32 = np.array([0.5, 1.5, 2.5], dtype=np.float32)
    d = np.exp(dual(x32)) * 2.0 + 1
    assert d.value.dtype == np.float32 and d.tangent.dtype == np.float32
    g = gradient(lambda x: np.sum(np.sin(x) * x), x32)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.cos(x32) * x32 + np.sin(x32), rtol=1e-6)
    # a float64 constant array promotes to float64, like NumPy
    assert (dual(x32) * np.ones(3)).dtype == np.float64
    assert (dual(x32) + dual(x32.astype(np.float64))).dtype == np.float64
    for name in UNARY:
        xs = np.array(UNARY_POINTS.get(name, DEFAULT_UNARY))
        y32 = ufunc(name)(dual(xs.astype(np.float32)))
        y64 = ufunc(name)(dual(xs))
        assert y32.dtype == np.float32
        np.testing.assert_allclose(y32.tangent, y64.tangent, rtol=2e-6, atol=1e-6)
    assert dual([1, 2]).dtype == np.float64


# ------------------------------------------------ errors and unsupported --
@pytest.mark.parametrize("call,what", [
    (lambda x: np.floor(x), "numpy.floor"),
    (lambda x: np.sort(x), "sort"),
    (lambda x: np.add.reduce(x), "numpy.add.reduce"),
    (lambda x: np.exp(x, out=np.empty(3)), "out="),
    (lambda x: float(x[0]), "float()"),
    (lambda x: np.asarray(x), "ndarray"),
    (lambda x: np.array([x[0], x[1]]), "np.stack"),
    (lambda x: x // 2, "floor_divide"),
    (lambda x: np.linalg.inv(x.reshape(1, 3)[:, :1]), "inv"),
    (lambda x: np.dot(x.reshape(1, 1, 3), np.ones((3, 1))), "numpy.dot"),
])
def test_unsupported_operations_raise_type_error_suggesting_fd(call, what):
    with pytest.raises(TypeError) as info:
        call(dual(np.array([1.0, 2.0, 3.0])))
    msg = str(info.value)
    assert what in msg
    assert "central" in msg or "drop" in msg or "not supported" in msg


def test_constructor_checks():
    with pytest.raises(ValueError, match="value.shape"):
        DualArray(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="value.shape"):
        DualArray(np.ones(3), np.ones((2, 1)))
    with pytest.raises(TypeError, match="real"):
        DualArray(np.ones(2, complex), np.ones((2, 1)))
    with pytest.raises(TypeError, match="nested"):
        DualArray(dual(np.ones(2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="directions"):
        dual(np.ones(3), np.ones((2, 2)))
    assert dual(np.ones(3), np.arange(3.0)).k == 1       # one direction of shape S
    with pytest.raises(ValueError, match="widths"):
        dual(np.ones(2)) + DualArray(np.ones(2), np.ones((2, 3)))
    with pytest.raises(TypeError, match="complex"):
        dual(np.ones(2)) + np.ones(2, complex)


def test_mixed_tags_never_confuse_perturbations():
    # d/dx [x * d/dy (x + y)] = 1 in exact arithmetic; a dual implementation
    # without tags returns 2 (perturbation confusion). We refuse instead.
    def outer(x):
        return x[0] * gradient(lambda y: np.sum(x + y), np.ones(1))[0]
    with pytest.raises(TypeError, match="nested|different differentiation"):
        gradient(outer, np.ones(1))
    with pytest.raises(TypeError, match="nested|different"):
        dual(np.ones(2), tag=1) * dual(np.ones(2), tag=2)
    with pytest.raises(TypeError, match="nested"):
        gradient(np.sum, dual(np.ones(2)))
    # the reference duals do support nesting, and get 1
    t1, t2 = 101, 102
    x = R.Dual(1.0, 1.0, t1)
    inner = R.apply("add", x, R.Dual(1.0, 1.0, t2)).e     # d/dy (x + y) = 1 (plain)
    assert R.apply("multiply", x, inner).e == 1.0


def test_kernel_binding_checks():
    code = OP_CODES["add"]
    with pytest.raises(ValueError, match="broadcast"):
        cdual.binary(code, np.ones(2), np.ones((2, 1)), np.ones(3), None)
    with pytest.raises(ValueError, match="at least one"):
        cdual.binary(code, np.ones(2), None, np.ones(2), None)
    with pytest.raises(TypeError, match="dtype"):
        cdual.binary(code, np.ones(2), np.ones((2, 1)), np.ones(2, np.float32), None)
    with pytest.raises(TypeError):
        cdual.binary(OP_CODES["less"], np.ones(2), np.ones((2, 1)), np.ones(2), None)
    with pytest.raises(TypeError):
        cdual.unary(OP_CODES["add"], np.ones(2), np.ones((2, 1)))
    with pytest.raises(ValueError, match="odd"):
        cdual.unary(OP_CODES["sin"], np.ones(2), np.ones((2, 2)), True)
    with pytest.raises(ValueError, match="contiguous"):
        cdual.unary(OP_CODES["sin"], np.ones(4)[::2], np.ones((2, 1)))
    assert set(DUAL_FUNCTIONS) >= {np.sum, np.mean, np.prod, np.dot, np.matmul, np.outer,
                                   np.einsum, np.cumsum, np.reshape, np.transpose,
                                   np.concatenate, np.stack, np.where, np.clip}


CONSUMER_PYX = '''
# cython: language_level=3
from fastgrad._dual cimport dual_unary_f64, dual_binary_f64, hdual_unary_f64

def run():
    cdef double x[2]
    cdef double t[4]
    cdef double y[2]
    cdef double ty[4]
    cdef double h[3]
    cdef double hty[3]
    cdef double hy
    cdef int st1, st2, st3
    x[0] = 0.0; x[1] = 1.0
    t[0] = 1.0; t[1] = 0.0; t[2] = 0.0; t[3] = 1.0
    h[0] = 1.0; h[1] = 1.0; h[2] = 0.0
    with nogil:
        st1 = dual_unary_f64(SIN, 2, 2, x, t, y, ty)
        st1 = st1 or dual_binary_f64(MUL, 2, 2, y, ty, 1, x, t, 1, y, ty)   # in place
        st3 = hdual_unary_f64(EXP, 1, 1, &x[1], h, &hy, hty)
    return st1, st3, [y[0], y[1]], [ty[0], ty[1], ty[2], ty[3]], hy, [hty[0], hty[1], hty[2]]
'''


def test_cython_consumer_calls_the_kernels_nogil(tmp_path):
    # An embedder cimports the cdef API of fastgrad._dual (no header, no link).
    pytest.importorskip("Cython", reason="building a consumer needs Cython")
    pytest.importorskip("setuptools", reason="building a consumer needs setuptools")
    src = CONSUMER_PYX.replace("SIN", str(OP_CODES["sin"])).replace(
        "MUL", str(OP_CODES["multiply"])).replace("EXP", str(OP_CODES["exp"]))
    (tmp_path / "fgconsumer.pyx").write_text(src)
    include = str(pathlib.Path(fastgrad.__file__).parent.parent)
    (tmp_path / "setup.py").write_text(
        "from setuptools import setup, Extension\n"
        "from Cython.Build import cythonize\n"
        "setup(ext_modules=cythonize([Extension('fgconsumer', ['fgconsumer.pyx'])],\n"
        f"      include_path=[{include!r}], quiet=True))\n")
    build = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                           cwd=tmp_path, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    run = subprocess.run([sys.executable, "-c", "import fgconsumer; print(fgconsumer.run())"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    st1, st3, y, ty, hy, hty = eval(run.stdout)
    assert st1 == 0 and st3 == 0
    # y = sin(x) * x at x = (0, 1), tangent = (cos x * x + sin x) on the diagonal
    assert y == pytest.approx([0.0, np.sin(1.0)])
    assert ty == pytest.approx([0.0, 0.0, 0.0, np.cos(1.0) + np.sin(1.0)])
    assert hy == pytest.approx(np.e) and hty == pytest.approx([np.e, np.e, np.e])


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("f", [
    lambda x: np.sum(x @ _INF_COLUMN),
    lambda x: np.sum(_INF_COLUMN.T @ x[:, None]),
    lambda x: np.sum(np.stack([x, x]) @ _INF_COLUMN),
    lambda x: np.sum((x * x) @ _INF_COLUMN),
], ids=["vec@mat", "mat@col", "stack@mat", "square@mat"])
def test_matmul_tangents_are_nan_safe_like_the_tape(f):
    """A product with an infinite constant entry: the direction that does not
    meet the infinity keeps its finite derivative, as in the compiled tape's
    dual and reverse modes (one rule for every mode)."""
    x = np.array([0.0, 1.0])
    cf = fastgrad.compile(f, 2)
    g = gradient(f, x, method="dual")
    assert np.isfinite(g[1])
    np.testing.assert_array_equal(g, cf.gradient(x, method="dual"))
    np.testing.assert_array_equal(g, cf.gradient(x, method="reverse"))


_INF_COLUMN = np.array([[np.inf], [1.0]])
