"""fg_dual_gradient_f64 (csrc/fg_dual_grad.c): chunked forward-mode gradient of
a dual C callback, run through the built-in C test callbacks of
fastgrad._dual_grad. Oracles: the hand-written Rosenbrock gradient, sympy,
fastgrad.gradient (Python dual numbers) and central differences."""
import math

import numpy as np
import pytest
import sympy

import fastgrad as fg
from fastgrad import _dual_grad
from fastgrad._ops import OP_CODES, OPS
from fastgrad.differentiate import default_chunk_size


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_grad(x):
    a, b = x[1:] - x[:-1] ** 2, 1.0 - x[:-1]
    g = np.zeros_like(x)
    g[:-1] += -400.0 * x[:-1] * a - 2.0 * b
    g[1:] += 200.0 * a
    return g


@pytest.mark.parametrize("n", [1, 2, 7, 20])
@pytest.mark.parametrize("chunk", [0, 1, 3, 7, 100])
def test_rosenbrock_matches_hand_gradient_and_python_dual(n, chunk):
    x = np.random.default_rng(n).uniform(-2, 2, n)
    value, grad, calls = _dual_grad.rosenbrock_gradient(x, chunk)
    k = min(chunk or default_chunk_size(n), n)
    assert calls == math.ceil(n / k)
    np.testing.assert_allclose(grad, rosen_grad(x), rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(grad, fg.gradient(rosen, x), rtol=1e-13, atol=1e-12)
    assert value == pytest.approx(rosen(x), rel=1e-14, abs=1e-300)


def test_rosenbrock_minimum_and_sympy():
    assert _dual_grad.rosenbrock_gradient(np.ones(5))[:2][0] == 0.0
    np.testing.assert_array_equal(_dual_grad.rosenbrock_gradient(np.ones(5))[1], 0.0)
    xs = sympy.symbols("x0:4")
    f = sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(3))
    pt = {s: sympy.Rational(v) for s, v in zip(xs, ["-1.25", "0.5", "2", "-0.75"])}
    exact = np.array([float(sympy.diff(f, s).subs(pt)) for s in xs])
    x = np.array([-1.25, 0.5, 2.0, -0.75])
    for chunk in (1, 2, 4):
        np.testing.assert_allclose(_dual_grad.rosenbrock_gradient(x, chunk)[1], exact,
                                   rtol=1e-15)


UNARY = ["exp", "sin", "tanh", "log1p", "arctan", "square", "cbrt", "reciprocal"]


@pytest.mark.parametrize("name", UNARY)
def test_op_sum_through_fastgrads_dual_kernels(name):
    """f = sum(op(x)) written with fg_dual_unary_f64 inside the callback."""
    x = np.random.default_rng(1).uniform(0.2, 1.5, 11)
    value, grad, calls = _dual_grad.op_sum_gradient(OP_CODES[name], x, 4)
    assert calls == 3
    ufunc = getattr(np, name)
    expected = fg.gradient(lambda v: np.sum(ufunc(v)), x)
    np.testing.assert_allclose(grad, expected, rtol=1e-14)
    np.testing.assert_allclose(grad, fg.gradient(lambda v: np.sum(ufunc(v)), x,
                                                 method="central"), rtol=1e-7)
    assert value == pytest.approx(np.sum(ufunc(x)), rel=1e-14)


def test_op_sum_sympy_exact():
    t = sympy.Symbol("t")
    x = np.array([0.3, 0.7, 1.1])
    _, grad, _ = _dual_grad.op_sum_gradient(OP_CODES["arcsinh"], x)
    exact = [float(sympy.diff(sympy.asinh(t), t).subs(t, sympy.Float(v, 30))) for v in x]
    np.testing.assert_allclose(grad, exact, rtol=1e-15)


def test_callback_failure_is_reported():
    x = np.linspace(-1, 1, 9)
    with pytest.raises(FloatingPointError, match="callback"):
        _dual_grad.rosenbrock_gradient(x, 2, fail_at=3)
    # a binary op code makes fg_dual_unary_f64 refuse: the callback passes that on
    assert dict((name, kind) for name, kind, _ in OPS)["add"] == "binary"
    with pytest.raises(FloatingPointError):
        _dual_grad.op_sum_gradient(OP_CODES["add"], x)
    with pytest.raises(ValueError, match="chunk"):
        _dual_grad.rosenbrock_gradient(x, -1)


def test_empty_input_makes_one_value_only_call():
    value, grad, calls = _dual_grad.rosenbrock_gradient(np.empty(0))
    assert (value, grad.shape, calls) == (0.0, (0,), 1)
    with pytest.raises(FloatingPointError):
        _dual_grad.rosenbrock_gradient(np.empty(0), fail_at=0)


def test_nan_propagates_without_error():
    x = np.array([1.0, np.nan, 2.0])
    value, grad, _ = _dual_grad.rosenbrock_gradient(x)
    assert math.isnan(value) and np.isnan(grad).all()


@pytest.mark.parametrize("n", [0, 1, 8, 100, 181, 182, 1000, 10**6])
def test_default_chunk_is_the_python_rule(n):
    assert _dual_grad.default_chunk(n) == default_chunk_size(n)


def test_workspace_size():
    assert _dual_grad.workspace_size(0) == 0
    assert _dual_grad.workspace_size(10, 3) == 3 * 11
    assert _dual_grad.workspace_size(10, 50) == 10 * 11         # k = min(chunk, n)
    assert _dual_grad.workspace_size(1000) == 32 * 1001        # default chunk 32
    big = 2 ** 62
    assert _dual_grad.workspace_size(big, 8) == 0              # overflow
