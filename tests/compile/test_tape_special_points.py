"""Every exact mode follows one rule at special points: a zero tangent or
adjoint times an infinite or NaN partial contributes exactly 0 (DualArray's
NaN-safe product). The compiled tape's modes (dual, reverse, hyper-dual and
forward-over-reverse Hessians) are held to DualArray over the whole op table
at 0, -0, +-1, 1/2, +-inf and NaN, and the structural instructions to the
rule's hand values.
"""
import warnings

import numpy as np
import pytest

import fastgrad
from fastgrad._ops import OPS, ufunc_of
from fastgrad.reference import compiled as ref

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, np.inf, -np.inf, np.nan]


@pytest.mark.parametrize("method", ["dual", "reverse"])
def test_issue_example(method):
    """sqrt'(0) = inf meets x_1's direction only through x_0's zero tangent."""
    cf = fastgrad.compile(lambda x: np.sqrt(x[0]) + x[1] ** 2, 2)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(cf.gradient([0.0, 3.0], method=method), [np.inf, 6.0])
        H = cf.hessian([0.0, 3.0], method="hyperdual")
    np.testing.assert_array_equal(H[1], [0.0, 2.0])


def cases():
    for name, kind, _ in OPS:
        if kind == "unary":
            for p in SPECIAL:
                yield name, (p,)
        elif kind == "binary":
            for p in SPECIAL:
                for q in SPECIAL[:6]:
                    yield name, (p, q)


CASES = list(cases())
OPS_BY_NAME = {name: kind for name, kind, _ in OPS}


def op_function(name):
    u = ufunc_of(name)   # by binding: numpy.exp, scipy.special.erf
    if OPS_BY_NAME[name] == "unary":
        return lambda x: u(x[0]) + x[1] ** 2
    return lambda x: u(x[0], x[1]) + x[2] ** 2


def compare(name, point, modes):
    f = op_function(name)
    x = np.array(list(point) + [3.0])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cf = fastgrad.compile(f, x.size)
        g = fastgrad.gradient(f, x, method="dual")
        H = fastgrad.hessian(f, x, method="dual")
        got = {"dual": (cf.gradient(x), g), "reverse": (cf.gradient(x, method="reverse"), g),
               "hyperdual": (cf.hessian(x, method="hyperdual"), H),
               "hessian_reverse": (cf.hessian(x, method="reverse"), H)}
    for mode in modes:
        np.testing.assert_allclose(*got[mode], rtol=1e-12, atol=0, equal_nan=True,
                                   err_msg=f"{name} at {point}, {mode}")


@pytest.mark.parametrize("name", sorted({n for n, _ in CASES}))
def test_every_mode_matches_dualarray(name):
    for n, point in CASES:
        if n == name:
            compare(name, point, ["dual", "reverse", "hyperdual", "hessian_reverse"])


# ------------------------------------------------- structural instructions

B_INF = np.array([[np.inf], [1.0]])


@pytest.mark.parametrize("chunk", [1, 2])
def test_matmul_with_an_infinite_factor(chunk):
    """f(x) = x @ [inf, 1]: the partials are (inf, 1); x_1's direction meets
    inf only through x_0's zero tangent, which contributes 0 (not NaN), in
    every mode; the Hessian of this linear f is 0."""
    f = lambda x: np.sum(x @ B_INF)   # noqa: E731
    cf = fastgrad.compile(f, 2, chunk=chunk)
    x = np.array([1.0, 2.0])
    for method in ("dual", "reverse"):
        np.testing.assert_array_equal(cf.gradient(x, method=method), [np.inf, 1.0])
    for method in ("hyperdual", "reverse"):
        np.testing.assert_array_equal(cf.hessian(x, method=method), np.zeros((2, 2)))
    rf = ref.CompiledFunction(cf.program)
    np.testing.assert_array_equal(rf.gradient(x), [np.inf, 1.0])
    np.testing.assert_array_equal(rf.hessian(x), np.zeros((2, 2)))


@pytest.mark.parametrize("chunk", [1, 2])
def test_matmul_with_infinite_traced_values(chunk):
    """f(x) = x @ x at x = (inf, 1): gradient 2x = (inf, 2), Hessian 2I; the
    zero tangents meeting inf contribute 0 in every mode."""
    cf = fastgrad.compile(lambda x: x @ x, 2, chunk=chunk)
    x = np.array([np.inf, 1.0])
    for method in ("dual", "reverse"):
        np.testing.assert_array_equal(cf.gradient(x, method=method), [np.inf, 2.0])
    for method in ("hyperdual", "reverse"):
        np.testing.assert_array_equal(cf.hessian(x, method=method), 2 * np.eye(2))
    np.testing.assert_array_equal(cf.hvp(x, np.array([0.0, 1.0])), [0.0, 2.0])
    rf = ref.CompiledFunction(cf.program)
    np.testing.assert_array_equal(rf.gradient(x), [np.inf, 2.0])
    np.testing.assert_array_equal(rf.hessian(x), 2 * np.eye(2))


def test_mean_of_an_empty_axis_has_no_derivative():
    """The mean of nothing is NaN, its scale 1/0; the zero tangent of the
    empty sum contributes 0, as in DualArray."""
    f = lambda x: x[0] + np.mean(x[1:1])   # noqa: E731
    x = np.array([2.0, 5.0])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")   # NumPy's "mean of empty slice", tracing included
        cf = fastgrad.compile(f, 2)
        assert np.isnan(cf(x))
        g = fastgrad.gradient(f, x, method="dual")
    np.testing.assert_array_equal(g, [1.0, 0.0])
    for method in ("dual", "reverse"):
        np.testing.assert_array_equal(cf.gradient(x, method=method), g)


def test_where_selects_without_multiplying():
    """The branch not taken gets a zero adjoint; its infinite partial then
    contributes 0 (the multiply's rule, an elementwise kernel)."""
    f = lambda x: np.sum(np.where(x > 0, x * np.inf, x ** 2))   # noqa: E731
    cf = fastgrad.compile(f, 2)
    x = np.array([-1.0, -2.0])
    for method in ("dual", "reverse"):
        np.testing.assert_array_equal(cf.gradient(x, method=method), [-2.0, -4.0])
