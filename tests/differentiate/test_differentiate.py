"""Tests of fastgrad.differentiate with method="dual" (the default).

Oracles: hand-computed values, exact derivatives from sympy, the reference
duals (fastgrad.reference.dual), and properties (hypothesis). The
finite-difference methods live in fastgrad.finite_diff; here only the
dispatch to it is checked, with a stand-in module.
"""
import math
import sys
import types

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import fastgrad
from fastgrad import (DualArray, check_gradient, directional_derivative, dual, gradient,
                      hessian, jacobian, jvp, value_and_gradient)
from fastgrad.differentiate import FD_METHODS, METHODS, default_chunk_size
from fastgrad.reference import dual as R


# ------------------------------------------------------------ hand values --
def test_seed_gradient_x2_y2_xy():
    f = lambda p: p[0] ** 2 + p[1] ** 2 + p[0] * p[1]  # noqa: E731
    g = gradient(f, [1.0, 3.0])
    assert g.tolist() == [5.0, 7.0]
    assert np.linalg.norm(g) == pytest.approx(math.sqrt(74), rel=1e-15)
    v, g2 = value_and_gradient(f, [1.0, 3.0])
    assert v == 13.0 and g2.tolist() == [5.0, 7.0]


def test_seed_gradient_x2y_yz3():
    g = gradient(lambda p: p[0] ** 2 * p[1] + p[1] * p[2] ** 3, [1.0, 2.0, -1.0])
    assert g.tolist() == [4.0, 0.0, 6.0]


def test_seed_directional_derivative():
    f = lambda p: np.exp(p[0]) * np.cos(p[1])  # noqa: E731
    d = directional_derivative(f, [0.0, 0.0], [1.0, 1.0])
    assert d == pytest.approx(1 / math.sqrt(2), rel=1e-15)
    assert directional_derivative(f, [0.0, 0.0], [1.0, 1.0], normalize=False) == 1.0
    assert R.directional_derivative(f, [0.0, 0.0], [1.0, 1.0]) == pytest.approx(d, rel=1e-15)


def test_seed_gradient_perpendicular_to_level_curve():
    f = lambda p: p[0] ** 2 + 4 * p[1] ** 2  # noqa: E731
    x = np.array([1.0, 0.5])
    g = gradient(f, x)
    assert g.tolist() == [2.0, 4.0]
    # the level curve x^2 + 4y^2 = 2 through (1, 0.5), parametrised as
    # (sqrt2 cos t, sqrt2/2 sin t) at t = pi/4; its tangent:
    t = math.pi / 4
    tangent = np.array([-math.sqrt(2) * math.sin(t), math.sqrt(2) / 2 * math.cos(t)])
    assert np.dot(g, tangent) == pytest.approx(0.0, abs=1e-15)
    assert directional_derivative(f, x, tangent) == pytest.approx(0.0, abs=1e-15)


def test_hessian_by_hand():
    H = hessian(lambda p: p[0] ** 3 * p[1] + np.sin(p[1]), [2.0, 0.5])
    np.testing.assert_allclose(H, [[6 * 2.0 * 0.5, 3 * 4.0], [12.0, -np.sin(0.5)]], rtol=1e-15)


# ----------------------------------------------- sympy: standard functions --
def _syms(n):
    return sp.symbols(f"x0:{n}", real=True)


def sym_rosen(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def np_rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def np_beale(p):
    x, y = p[0], p[1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


def np_himmelblau(p):
    return (p[0] ** 2 + p[1] - 11) ** 2 + (p[0] + p[1] ** 2 - 7) ** 2


def np_styblinski(x):
    return 0.5 * np.sum(x ** 4 - 16 * x ** 2 + 5 * x)


def np_rastrigin(x):
    return 10 * len(x) + np.sum(x ** 2 - 10 * np.cos(2 * np.pi * x))


def np_ackley(p):
    x, y = p[0], p[1]
    return (-20 * np.exp(-0.2 * np.sqrt(0.5 * (x ** 2 + y ** 2)))
            - np.exp(0.5 * (np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y))) + np.e + 20)


def np_logsumexp_quad(x):
    A = np.array([[2.0, 0.3, -0.1], [0.3, 1.0, 0.2], [-0.1, 0.2, 3.0]])
    return np.log(np.sum(np.exp(x))) + 0.5 * x @ A @ x + np.sum(np.tanh(x) * np.arctan(x))


def sym_versions(n):
    x = _syms(n)
    A = sp.Matrix([[2, 0.3, -0.1], [0.3, 1, 0.2], [-0.1, 0.2, 3]])
    X = sp.Matrix(x)
    if n < 2:
        raise ValueError(n)
    return {
        "rosen": (np_rosen, sym_rosen(x)),
        "beale": (np_beale, (sp.Rational(3, 2) - x[0] + x[0] * x[1]) ** 2
                  + (sp.Rational(9, 4) - x[0] + x[0] * x[1] ** 2) ** 2
                  + (sp.Rational(21, 8) - x[0] + x[0] * x[1] ** 3) ** 2),
        "himmelblau": (np_himmelblau, (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2),
        "styblinski": (np_styblinski, sp.Rational(1, 2) * sum(xi ** 4 - 16 * xi ** 2 + 5 * xi
                                                                for xi in x)),
        "rastrigin": (np_rastrigin, 10 * n + sum(xi ** 2 - 10 * sp.cos(2 * sp.pi * xi)
                                                  for xi in x)),
        "ackley": (np_ackley, -20 * sp.exp(-sp.Rational(1, 5) * sp.sqrt((x[0] ** 2 + x[1] ** 2) / 2))
                   - sp.exp((sp.cos(2 * sp.pi * x[0]) + sp.cos(2 * sp.pi * x[1])) / 2)
                   + sp.E + 20),
        "logsumexp_quad": (np_logsumexp_quad,
                           sp.log(sum(sp.exp(xi) for xi in x))
                           + (X.T * A * X)[0] / 2
                           + sum(sp.tanh(xi) * sp.atan(xi) for xi in x)) if n == 3 else None,
    }, x


CASES = [("rosen", 5), ("beale", 2), ("himmelblau", 2), ("styblinski", 4), ("rastrigin", 3),
         ("ackley", 2), ("logsumexp_quad", 3)]


@pytest.mark.parametrize("name,n", CASES)
def test_standard_functions_against_sympy(name, n):
    funcs, x = sym_versions(n)
    f, expr = funcs[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    point = rng.uniform(-1.5, 1.5, n)
    subs = dict(zip(x, point))
    exact_g = np.array([float(sp.diff(expr, xi).evalf(subs=subs)) for xi in x])
    exact_H = np.array([[float(sp.diff(expr, xi, xj).evalf(subs=subs)) for xj in x] for xi in x])
    v, g = value_and_gradient(f, point)
    assert v == pytest.approx(float(expr.evalf(subs=subs)), rel=1e-13)
    np.testing.assert_allclose(g, exact_g, rtol=1e-12, atol=1e-12)
    H = hessian(f, point)
    np.testing.assert_allclose(H, exact_H, rtol=1e-11, atol=1e-11)
    np.testing.assert_array_equal(H, H.T)                  # exactly symmetric
    np.testing.assert_allclose(g, R.gradient(f, point), rtol=1e-13, atol=1e-13)


def test_rosenbrock_at_fixed_points():
    # at the minimum the gradient is exactly zero; the Hessian is known
    g = gradient(np_rosen, np.ones(6))
    assert np.all(g == 0.0)
    H = hessian(np_rosen, np.ones(3))
    np.testing.assert_array_equal(H, [[802, -400, 0], [-400, 1002, -400], [0, -400, 200]])


def test_jacobian_against_sympy():
    x = _syms(3)
    exprs = [x[0] * x[1] * sp.exp(x[2]), sp.sin(x[0]) + x[1] ** 2, sp.sqrt(x[0] ** 2 + x[2] ** 2)]

    def f(p):
        return np.stack([p[0] * p[1] * np.exp(p[2]), np.sin(p[0]) + p[1] ** 2,
                         np.hypot(p[0], p[2])])
    pt = np.array([0.3, -1.1, 0.7])
    subs = dict(zip(x, pt))
    exact = np.array([[float(sp.diff(e, xi).evalf(subs=subs)) for xi in x] for e in exprs])
    J = jacobian(f, pt)
    assert J.shape == (3, 3)
    np.testing.assert_allclose(J, exact, rtol=1e-13)
    for c in (1, 2):
        np.testing.assert_array_equal(jacobian(f, pt, chunk_size=c), J)
    val, jv = jvp(f, pt, np.array([1.0, -2.0, 0.5]))
    np.testing.assert_allclose(val, f(pt))
    np.testing.assert_allclose(jv, exact @ [1.0, -2.0, 0.5], rtol=1e-13)


def test_jacobian_shapes_nd():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    J = jacobian(lambda z: z.T ** 2, x)
    assert J.shape == (3, 2, 2, 3)
    np.testing.assert_array_equal(J, R.jacobian(lambda z: z.T ** 2, x))
    g = gradient(lambda z: np.sum(z ** 3), x)
    assert g.shape == (2, 3) and np.array_equal(g, 3 * x ** 2)
    H = hessian(lambda z: np.sum(z ** 3), x)
    assert H.shape == (2, 3, 2, 3)
    np.testing.assert_array_equal(H.reshape(6, 6), np.diag(6 * x.ravel()))
    assert jacobian(lambda z: np.sum(z), x).shape == (2, 3)


def test_vectorized_and_args():
    def f(X, a):      # X: (m, 2), one value per row
        return a * X[:, 0] ** 2 + X[:, 1]
    g = gradient(f, [3.0, 1.0], args=(2.0,), vectorized=True)
    assert g.tolist() == [12.0, 1.0]
    v, g = value_and_gradient(f, [3.0, 1.0], args=(2.0,), vectorized=True)
    assert v == 19.0
    H = hessian(f, [3.0, 1.0], args=(2.0,), vectorized=True)
    assert H.tolist() == [[4.0, 0.0], [0.0, 0.0]]


def test_full_output_and_float32_and_constants():
    g, err = gradient(lambda x: np.sum(x ** 2), [1.0, 2.0], full_output=True)
    assert g.tolist() == [2.0, 4.0] and err.tolist() == [0.0, 0.0]
    J, err = jacobian(lambda x: x * 2.0, [1.0, 2.0], full_output=True)
    assert err.shape == J.shape == (2, 2)
    g32 = gradient(lambda x: np.sum(x ** 2), np.array([1.0, 2.0], np.float32))
    assert g32.dtype == np.float32
    H32 = hessian(lambda x: np.sum(x ** 3), np.array([1.0, 2.0], np.float32))
    assert H32.dtype == np.float32 and H32.tolist() == [[6.0, 0.0], [0.0, 12.0]]
    # f that does not depend on x (a plain float): zero derivatives
    assert gradient(lambda x: 3.0, [1.0, 2.0]).tolist() == [0.0, 0.0]
    assert hessian(lambda x: 3.0, [1.0, 2.0]).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert jvp(lambda x: np.ones(2), [1.0, 2.0], [1.0, 0.0])[1].tolist() == [0.0, 0.0]
    # integer input is promoted to float64
    assert gradient(lambda x: np.sum(x * x), [1, 2]).dtype == np.float64
    # empty input: f is called once, the gradient is empty
    assert gradient(lambda x: np.sum(x) + 1.0, np.zeros(0)).shape == (0,)


def test_input_is_not_modified():
    x = np.array([1.0, 2.0])
    gradient(lambda z: np.sum(z ** 2), x)
    hessian(lambda z: np.sum(z ** 2), x)
    assert x.tolist() == [1.0, 2.0]


def test_default_chunk_rule():
    assert [default_chunk_size(n) for n in (0, 1, 5, 100, 181, 200, 1000, 10 ** 6)] == \
        [1, 1, 5, 100, 181, 163, 32, 8]
    calls = []

    def f(x):
        calls.append(x.k)
        return np.sum(x)
    gradient(f, np.zeros(1000), method="dual")
    assert len(calls) == math.ceil(1000 / default_chunk_size(1000)) == 32


# --------------------------------------------------------- properties --
finite = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)
vec3 = st.lists(finite, min_size=3, max_size=3).map(np.array)


def F(x):
    return np.stack([np.sin(x[0]) * x[1], np.exp(x[2] / 3) + x[0] * x[2], np.sum(x ** 2)])


def G(x):
    return np.sum(np.cos(x) * x[::-1]) + np.prod(x)


def Hf(x):
    return np.sum(np.arctan(x) ** 2) + x[0] * x[1] * x[2]


@settings(max_examples=25, deadline=None)
@given(vec3, vec3, vec3, finite, finite)
def test_jvp_is_linear_in_v(x, v, w, a, b):
    _, jv = jvp(F, x, v)
    _, jw = jvp(F, x, w)
    _, jab = jvp(F, x, a * v + b * w)
    np.testing.assert_allclose(jab, a * jv + b * jw, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(jv, jacobian(F, x) @ v, rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(vec3, st.sampled_from([1, 2, 3]))
def test_gradient_of_sum_is_sum_of_gradients(x, chunk):
    gs = gradient(lambda z: G(z) + Hf(z), x, chunk_size=chunk)
    np.testing.assert_allclose(gs, gradient(G, x) + gradient(Hf, x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gradient(G, x), R.gradient(G, x), rtol=1e-12, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(vec3)
def test_hessian_is_symmetric_and_is_the_jacobian_of_the_gradient(x):
    H = hessian(Hf, x, chunk_size=2)
    np.testing.assert_array_equal(H, H.T)
    np.testing.assert_allclose(H, R.hessian(Hf, x), rtol=1e-11, atol=1e-11)
    v, g = value_and_gradient(Hf, x)
    np.testing.assert_allclose(g, R.gradient(Hf, x), rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(vec3, vec3, st.floats(0.1, 10.0))
def test_directional_derivative_is_scale_invariant(x, v, s):
    if np.linalg.norm(v) < 1e-3:
        v = v + 1.0
    d1 = directional_derivative(G, x, v)
    d2 = directional_derivative(G, x, s * v)
    assert d1 == pytest.approx(d2, rel=1e-10, abs=1e-10)
    assert d1 == pytest.approx(gradient(G, x) @ v / np.linalg.norm(v), rel=1e-10, abs=1e-10)


# ------------------------------------------------------- check_gradient --
def test_check_gradient_passes_a_right_gradient():
    res = check_gradient(np_rosen, lambda x: R.gradient(np_rosen, x), np.linspace(-1, 1, 5))
    assert res.ok and bool(res) and res.max_error <= 1e-12
    assert res.error.shape == (5,) and res.reference.shape == (5,)
    assert "OK" in str(res)
    # an array (not a callable) works too
    assert check_gradient(lambda x: np.sum(x ** 2), [2.0, 6.0], [1.0, 3.0]).ok


def test_check_gradient_flags_a_wrong_gradient():
    def bad_grad(x):
        g = R.gradient(np_rosen, x)
        g[2] *= 1.001            # one coordinate off by 0.1 %
        return g
    x = np.linspace(-1, 1, 5)
    res = check_gradient(np_rosen, bad_grad, x)
    assert not res.ok and not bool(res)
    assert res.bad == [(2,)] and res.worst == (2,)
    assert res.error[2] == pytest.approx(1e-3, rel=1e-2)
    assert np.all(np.delete(res.error, 2) < 1e-12)
    assert "MISMATCH" in str(res) and "(2,)" in str(res)
    # a tiny coordinate is judged against the gradient's scale, not itself
    f = lambda x: 1e6 * x[0] ** 2 + x[1]  # noqa: E731
    assert check_gradient(f, [2e6, 1.0 + 1e-12], [1.0, 0.0]).ok
    assert not check_gradient(f, [2e6, 2.0], [1.0, 0.0]).ok
    # NaN in the candidate is a failure, not a pass
    assert not check_gradient(f, [np.nan, 1.0], [1.0, 0.0]).ok
    # tolerance override
    assert check_gradient(np_rosen, bad_grad, x, tol=1e-2).ok


def test_check_gradient_bad_input():
    f = lambda x: np.sum(x ** 2)  # noqa: E731
    with pytest.raises(ValueError, match="shape"):
        check_gradient(f, [1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(TypeError, match="real"):
        check_gradient(f, ["a", "b"], [1.0, 2.0])
    with pytest.raises(ValueError, match="tol"):
        check_gradient(f, [2.0, 4.0], [1.0, 2.0], tol=-1)
    with pytest.raises(ValueError, match="method"):
        check_gradient(f, [2.0, 4.0], [1.0, 2.0], method="nope")


# --------------------------------------------------------- bad inputs --
def test_bad_inputs():
    f = lambda x: np.sum(x ** 2)  # noqa: E731
    with pytest.raises(ValueError, match="'dual'.*'central'"):
        gradient(f, [1.0], method="centre")
    for fn in (gradient, value_and_gradient, jacobian, hessian):
        with pytest.raises(TypeError, match="callable"):
            fn(3.0, [1.0])
        with pytest.raises(TypeError, match="real"):
            fn(f, [1j, 2.0])
        with pytest.raises(TypeError, match="real"):
            fn(f, ["a", "b"])
        with pytest.raises(TypeError, match="nested|DualArray"):
            fn(f, dual(np.ones(2)))
        with pytest.raises(ValueError, match="step"):
            fn(f, [1.0], step=1e-3)
        with pytest.raises(TypeError, match="args"):
            fn(f, [1.0], args=[1])
        for bad in (0, -1, 1.5, True):
            with pytest.raises(ValueError, match="chunk_size"):
                fn(f, [1.0, 2.0], chunk_size=bad)
        with pytest.raises(ValueError, match="method"):
            fn(f, [1.0], method=None)
    with pytest.raises(ValueError, match="scalar"):
        gradient(lambda x: x ** 2, [1.0, 2.0])
    with pytest.raises(ValueError, match="scalar"):
        hessian(lambda x: x ** 2, [1.0, 2.0])
    with pytest.raises(ValueError, match="scalar"):
        directional_derivative(lambda x: x ** 2, [1.0, 2.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="shape"):
        jvp(f, [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="non-zero"):
        directional_derivative(f, [1.0, 2.0], [0.0, 0.0])
    with pytest.raises(TypeError, match="real numbers"):
        gradient(lambda x: "text", [1.0])
    with pytest.raises(TypeError, match="float"):
        gradient(lambda x: float(x[0]) ** 2, [1.0])
    with pytest.raises(TypeError, match="central"):
        gradient(lambda x: np.sum(np.floor(x)), [1.0])
    with pytest.raises(ValueError, match="shapes"):
        jacobian(lambda x: x[: int(x.k)], np.ones(4), chunk_size=3, method="dual")
    with pytest.raises(ValueError, match="read-only|assignment"):
        gradient(lambda x: x.value.__setitem__(0, 5.0), [1.0])


def test_methods_constant():
    assert METHODS[:3] == ("auto", "reverse", "dual") and set(FD_METHODS) == {
        "forward", "backward", "central", "five-point", "complex", "richardson"}


def test_finite_difference_methods_are_delegated(monkeypatch):
    # A stand-in for fastgrad.finite_diff (another module, tested on its own):
    # checks that the front-end forwards every argument with the fixed interface.
    seen = []
    fake = types.ModuleType("fastgrad.finite_diff")

    def fd_gradient(f, x, *, method="central", step=None, args=(), vectorized=False,
                    full_output=False):
        seen.append(("gradient", method, step, args, vectorized, full_output))
        g = np.full(np.shape(x), 7.0)
        return (g, np.zeros_like(g)) if full_output else g

    def fd_jacobian(f, x, *, method="central", step=None, args=(), vectorized=False,
                    full_output=False):
        seen.append(("jacobian", method, step, args, vectorized, full_output))
        return np.eye(np.size(x))

    def fd_jvp(f, x, v, *, method="central", step=None, args=()):
        seen.append(("jvp", method, step, args))
        return np.float64(1.0), np.float64(2.0)

    def fd_hessian(f, x, *, method="central", step=None, args=(), grad=None):
        seen.append(("hessian", method, step, args))
        return np.eye(np.size(x))

    fake.fd_gradient, fake.fd_jacobian, fake.fd_jvp, fake.fd_hessian = (
        fd_gradient, fd_jacobian, fd_jvp, fd_hessian)
    fake.FD_METHODS = FD_METHODS
    monkeypatch.setitem(sys.modules, "fastgrad.finite_diff", fake)
    monkeypatch.setattr(fastgrad, "finite_diff", fake, raising=False)
    f = lambda x, a: np.sum(x ** 2) * a  # noqa: E731
    for m in FD_METHODS:
        assert gradient(f, [1.0, 2.0], method=m, step=1e-4, args=(2.0,)).tolist() == [7.0, 7.0]
    assert [s[1] for s in seen] == list(FD_METHODS)
    assert seen[0] == ("gradient", "forward", 1e-4, (2.0,), False, False)
    g, err = gradient(f, [1.0, 2.0], method="richardson", args=(1.0,), full_output=True)
    assert err.tolist() == [0.0, 0.0]
    v, g = value_and_gradient(f, [1.0, 2.0], method="central", args=(1.0,))
    assert v == 5.0 and g.tolist() == [7.0, 7.0]
    assert jacobian(f, [1.0, 2.0], method="central", args=(1.0,)).shape == (2, 2)
    assert jvp(f, [1.0, 2.0], [1.0, 0.0], method="five-point", args=(1.0,))[1] == 2.0
    assert directional_derivative(f, [1.0, 2.0], [2.0, 0.0], method="complex",
                                  args=(1.0,)) == 2.0
    assert hessian(f, [1.0, 2.0], method="central", args=(1.0,)).shape == (2, 2)
    res = check_gradient(f, [7.0, 7.0], [1.0, 2.0], method="central", args=(1.0,))
    assert res.ok and res.tol == 1e-4 and res.method == "central"
    assert ("hessian", "central", None, (1.0,)) in seen


def test_dual_array_input_to_user_code_has_expected_api():
    # what a user's f sees
    seen = {}

    def f(x):
        seen["type"] = type(x)
        seen["shape"] = x.shape
        return np.sum(x)
    gradient(f, np.ones((2, 2)), method="dual")
    assert seen == {"type": DualArray, "shape": (2, 2)}


# ---------------------------------------------- every method, one front-end --
# (written after merging the dual and finite-difference branches: the
# front-end's finite-difference methods against the dual method and exact values)

import fastgrad as fg
import fastgrad.differentiate as _diff

ALL_METHODS = _diff.METHODS
TOL_BY_METHOD = {"auto": 1e-14, "reverse": 1e-14, "dual": 1e-14, "complex": 1e-14, "richardson": 1e-9, "five-point": 1e-9,
                 "central": 1e-7, "forward": 1e-5, "backward": 1e-5}


@pytest.mark.parametrize("method", ALL_METHODS)
def test_seed_gradients_by_every_method(method):
    tol = TOL_BY_METHOD[method]
    g = fg.gradient(lambda v: v[0] ** 2 + v[1] ** 2 + v[0] * v[1], [1.0, 3.0], method=method)
    np.testing.assert_allclose(g, [5.0, 7.0], rtol=tol, atol=tol)
    np.testing.assert_allclose(np.linalg.norm(g), np.sqrt(74.0), rtol=tol)
    g = fg.gradient(lambda v: v[0] ** 2 * v[1] + v[1] * v[2] ** 3, [1.0, 2.0, -1.0], method=method)
    np.testing.assert_allclose(g, [4.0, 0.0, 6.0], rtol=tol, atol=tol)
    d = fg.directional_derivative(lambda v: np.exp(v[0]) * np.cos(v[1]), [0.0, 0.0], [1.0, 1.0],
                                  method=method)
    np.testing.assert_allclose(d, 1 / np.sqrt(2), rtol=tol)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_gradient_is_perpendicular_to_level_curve(method):
    # x^2 + 4y^2 = 2 through (1, 0.5): tangent direction (-4y, x) = (-2, 1)
    g = fg.gradient(lambda v: v[0] ** 2 + 4 * v[1] ** 2, [1.0, 0.5], method=method)
    np.testing.assert_allclose(g, [2.0, 4.0], rtol=TOL_BY_METHOD[method], atol=1e-6)
    assert abs(np.dot(g, [-2.0, 1.0])) < 1e-5


def _rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


@pytest.mark.parametrize("method", [m for m in ALL_METHODS if m != "dual"])
def test_fd_methods_agree_with_dual_through_the_front_end(method):
    x = np.array([-1.2, 1.0, 0.3, 0.8])
    tol = TOL_BY_METHOD[method] * 1e3
    exact = fg.gradient(_rosen, x)
    np.testing.assert_allclose(fg.gradient(_rosen, x, method=method), exact, rtol=tol, atol=tol)
    vec = lambda v: np.stack([v[0] * v[1], np.sin(v[2]) + v[3] ** 2])  # noqa: E731
    np.testing.assert_allclose(fg.jacobian(vec, x, method=method), fg.jacobian(vec, x),
                               rtol=tol, atol=tol)
    fx, jv = fg.jvp(vec, x, np.ones(4), method=method)
    np.testing.assert_allclose(jv, fg.jvp(vec, x, np.ones(4))[1], rtol=tol, atol=tol)
    # first-order differences of first-order differences: error ~ eps^(1/4) of the scale
    h_atol = 1e-4 * 1330 if method in ("forward", "backward") else 1e-3
    np.testing.assert_allclose(fg.hessian(_rosen, x, method=method), fg.hessian(_rosen, x),
                               rtol=1e-3, atol=h_atol)
    report = fg.check_gradient(_rosen, exact, x, method=method)
    assert report.ok


def test_fd_full_output_through_front_end():
    g, err = fg.gradient(_rosen, np.array([1.2, 0.8, -0.5]), method="richardson",
                         full_output=True)
    exact = fg.gradient(_rosen, np.array([1.2, 0.8, -0.5]))
    assert np.all(np.abs(g - exact) <= np.maximum(err, 1e-12) * 10)


def test_minimize_python_function_without_jac_uses_the_dual_gradient():
    res = fg.minimize(lambda v: 3 * v[0] ** 2 + v[1] ** 2, [2.0, 4.0], method="gd", lr=0.1,
                      tol=1e-8, record=True)
    assert res.success
    np.testing.assert_allclose(res.history["x"][1], [0.8, 3.2], rtol=1e-14)
    np.testing.assert_allclose(res.history["x"][2], [0.32, 2.56], rtol=1e-14)
    res_fd = fg.minimize(lambda v: 3 * v[0] ** 2 + v[1] ** 2, [2.0, 4.0], method="gd", lr=0.1,
                         tol=1e-6, gradient="central")
    assert res_fd.success and np.linalg.norm(res_fd.x) < 1e-6


@pytest.mark.parametrize("fn", [fastgrad.gradient, fastgrad.value_and_gradient, fastgrad.hessian,
                                fastgrad.jacobian])
def test_bool_points_are_refused_naming_x(fn):
    """A boolean array is not a point: no silent coercion to 0.0 and 1.0."""
    with pytest.raises(TypeError, match="x must be an array-like of real numbers"):
        fn(lambda x: np.sum(x * x), np.array([True, False]))
