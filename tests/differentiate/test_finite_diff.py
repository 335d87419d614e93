"""Tests of fastgrad.finite_diff: exact gradients, the reference twin, the
three evaluation paths (vectorized, per point, C capsule), complex step,
error estimates, step rules, Jacobians, JVPs, Hessians and bad input."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import fastgrad
from fastgrad import _fd
from fastgrad.finite_diff import FD_METHODS, fd_gradient, fd_hessian, fd_jacobian, fd_jvp

from fastgrad.reference import finite_diff as ref
from support.build import load

TF = load("testing_fd")   # the C test objectives (test-only extension)

EPS = np.finfo(np.float64).eps
REAL_METHODS = ("forward", "backward", "central", "five-point", "richardson")
# Relative tolerance per method, from its order at the default step
# (forward eps^(1/2), central eps^(2/3), five-point eps^(4/5), ...) with a
# safety factor for derivatives of size ~10 and curvature ~100.
RTOL = {"forward": 1e-5, "backward": 1e-5, "central": 1e-8, "five-point": 1e-10,
        "richardson": 1e-10, "complex": 1e-14}


def rosen(x):
    x = np.asarray(x)
    return np.sum(100.0 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1.0 - x[..., :-1]) ** 2,
                  axis=-1)


def rosen_grad(x):
    return TF.CRosenbrock(len(x)).gradient(x)


def rosen_hess(x):
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i, i + 1] = H[i + 1, i] = -400 * x[i]
        H[i + 1, i + 1] += 200
    return H


# name -> (f over the last axis, exact gradient, works with complex input)
FUNCS = {
    "poly": (lambda x: np.sum(x ** 3 - 2 * x ** 2 + x, axis=-1),
             lambda x: 3 * x ** 2 - 4 * x + 1),
    "exp_sin": (lambda x: np.sum(np.exp(x) * np.sin(x), axis=-1),
                lambda x: np.exp(x) * (np.sin(x) + np.cos(x))),
    "rosenbrock": (rosen, rosen_grad),
    "log1p_sq": (lambda x: np.sum(np.log(1 + x * x), axis=-1), lambda x: 2 * x / (1 + x * x)),
}


def close(got, want, rtol):
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(1.0, np.abs(want).max()))


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(20261122)
    return [rng.uniform(-1.5, 1.5, size=6) for _ in range(3)]


# ------------------------------------------------------------ exactness --

@pytest.mark.parametrize("method", FD_METHODS)
@pytest.mark.parametrize("name", sorted(FUNCS))
def test_methods_match_exact_gradients(method, name, points):
    f, g = FUNCS[name]
    for x in points:
        got = fd_gradient(f, x, method=method, vectorized=True)
        close(got, g(x), RTOL[method])


def sympy_cases():
    sp = pytest.importorskip("sympy")
    x, y, z = sp.symbols("x y z")
    exprs = {
        "beale": (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2
        + (2.625 - x + x * y ** 3) ** 2,
        "himmelblau": (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2,
        "matyas": sp.Rational(26, 100) * (x ** 2 + y ** 2) - sp.Rational(48, 100) * x * y,
        "styblinski_tang": sum(v ** 4 - 16 * v ** 2 + 5 * v for v in (x, y, z)) / 2,
        "mixed": x * y * sp.exp(z) + sp.sin(x * y) - sp.log(1 + z ** 2) * sp.cos(y),
    }
    out = {}
    for name, e in exprs.items():
        syms = [v for v in (x, y, z) if v in e.free_symbols]
        f = sp.lambdify([syms], e, "numpy")
        g = sp.lambdify([syms], [sp.diff(e, v) for v in syms], "numpy")
        out[name] = (f, g, len(syms))
    return out


@pytest.mark.parametrize("method", FD_METHODS)
def test_standard_functions_against_sympy(method):
    rng = np.random.default_rng(11)
    for name, (f, g, n) in sympy_cases().items():
        for _ in range(2):
            x = rng.uniform(-1.5, 1.5, size=n)
            exact = np.array(g(x), dtype=float)
            got = fd_gradient(f, x, method=method)
            close(got, exact, RTOL[method] * 10)


def test_orders_are_visible():
    # Each higher-order method beats the lower one on a smooth function.
    f, g = FUNCS["exp_sin"]
    x = np.array([0.7, -1.2, 1.9])
    errs = {m: np.abs(fd_gradient(f, x, method=m) - g(x)).max() for m in FD_METHODS}
    assert errs["forward"] > 1e-9 and errs["backward"] > 1e-9
    assert errs["central"] < errs["forward"] / 20
    assert errs["five-point"] < errs["central"] / 10
    assert errs["complex"] < 1e-14


def test_seed_hand_values():
    g = fd_gradient(lambda v: v[0] ** 2 + v[1] ** 2 + v[0] * v[1], [1.0, 3.0],
                    method="richardson")
    np.testing.assert_allclose(g, [5.0, 7.0], rtol=1e-12)
    assert math.isclose(np.linalg.norm(g), math.sqrt(74), rel_tol=1e-12)
    g = fd_gradient(lambda v: v[0] ** 2 * v[1] + v[1] * v[2] ** 3, [1.0, 2.0, -1.0],
                    method="five-point")
    np.testing.assert_allclose(g, [4.0, 0.0, 6.0], atol=1e-10)
    _, d = fd_jvp(lambda p: np.exp(p[0]) * np.cos(p[1]), [0.0, 0.0],
                  np.array([1.0, 1.0]) / math.sqrt(2), method="richardson")
    assert math.isclose(float(d), 1 / math.sqrt(2), rel_tol=1e-12)
    g = fd_gradient(lambda v: v[0] ** 2 + 4 * v[1] ** 2, [1.0, 0.5], method="central")
    np.testing.assert_allclose(g, [2.0, 4.0], rtol=1e-9)
    # perpendicular to the level curve x^2 + 4y^2 = 2, whose tangent at (1, 0.5) is (-4, 2)
    assert abs(g @ np.array([-4.0, 2.0])) < 1e-8


def test_nd_input_keeps_shape():
    x = np.arange(1.0, 7.0).reshape(2, 3) / 4
    f, g = FUNCS["exp_sin"]
    got = fd_gradient(lambda a: np.sum(np.exp(a) * np.sin(a), axis=(-2, -1)), x,
                      vectorized=True)
    assert got.shape == (2, 3)
    close(got, g(x), RTOL["central"])
    got_pt = fd_gradient(lambda a: np.sum(np.exp(a) * np.sin(a)), x)
    np.testing.assert_array_equal(got, got_pt)


def test_exact_step_trick_makes_identity_exact():
    # (x + d) - x is exact, so differencing f(x) = x_0 gives exactly 1 only
    # when the formula divides by the step actually taken.
    for x0 in (0.1, 0.3, 1.7, 3.3e5, -7.1e-3, 123.456):
        for m in REAL_METHODS:
            assert fd_gradient(lambda v: v[0], [x0], method=m)[0] == 1.0, (x0, m)
    # A textbook divide-by-h formula is not exact at these points:
    h = 1e-8
    assert ((0.1 + h) - 0.1) / h != 1.0


# --------------------------------------------------- paths and the twin --

@pytest.mark.parametrize("method", REAL_METHODS + ("complex",))
def test_vectorized_per_point_and_reference_agree(method, points):
    f, _ = FUNCS["exp_sin"]
    for x in points:
        vec, ev = fd_gradient(f, x, method=method, vectorized=True, full_output=True)
        pt, ep = fd_gradient(f, x, method=method, full_output=True)
        rf, er = ref.fd_gradient(f, x, method=method, full_output=True)
        np.testing.assert_array_equal(vec, pt)
        np.testing.assert_allclose(vec, rf, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(ev, er, rtol=1e-12)


@pytest.mark.parametrize("method", REAL_METHODS)
def test_capsule_path_matches_reference(method, points):
    obj = TF.CRosenbrock(6)
    for x in points:
        got, err = fd_gradient(obj, x, method=method, full_output=True)
        want, werr = ref.fd_gradient(rosen, x, method=method, full_output=True)
        # the C and NumPy Rosenbrock may round differently: allow a few
        # rounding bounds (eps |f| / h) of difference
        tol = 4 * EPS * abs(rosen(x)) / (_fd.default_scale(_fd.METHOD_CODES[method]) / 8)
        np.testing.assert_allclose(got, want, rtol=0, atol=tol)
        np.testing.assert_allclose(err, werr, rtol=1e-6, atol=tol)
        close(got, rosen_grad(x), RTOL[method])


def test_capsule_quadratic_and_steps():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(5, 5))
    A = A + A.T
    b = rng.normal(size=5)
    obj = TF.CQuadratic(A, b)
    x = rng.normal(size=5)
    exact = A @ x + b
    for m in REAL_METHODS:
        close(fd_gradient(obj, x, method=m), exact, RTOL[m])
        # per-coordinate step override on the C path equals the Python path
        s = np.linspace(1e-4, 5e-4, 5)
        np.testing.assert_allclose(fd_gradient(obj, x, method=m, step=s),
                                   fd_gradient(lambda v: obj(v), x, method=m, step=s),
                                   rtol=1e-9, atol=1e-9)


def test_capsule_failure_is_reported():
    obj = TF.CLogSum(3)
    np.testing.assert_allclose(fd_gradient(obj, [1.0, 2.0, 4.0], method="richardson"),
                               [1.0, 0.5, 0.25], rtol=1e-11)
    with pytest.raises(FloatingPointError, match="NaN"):
        fd_gradient(obj, [1.0, -2.0, 4.0])
    with pytest.raises(ValueError, match="3"):
        fd_gradient(obj, [1.0, 2.0])


def test_capsule_args_fall_back_to_python():
    obj = TF.CRosenbrock(3)
    calls = []

    def f(x, scale):
        calls.append(1)
        return scale * rosen(x)
    f._fg_scalar_capsule = obj._fg_scalar_capsule
    x = np.array([0.5, 1.0, -0.5])
    close(fd_gradient(f, x, args=(2.0,), method="five-point"), 2 * rosen_grad(x), 1e-9)
    assert calls   # evaluated in Python because args were given


# ---------------------------------------------------------- complex step --

def test_complex_step_where_real_differences_fail():
    x = np.array([1.0, 10.0, 100.0])
    f = lambda v: np.sum(np.exp(v))   # noqa: E731
    exact = np.exp(x)
    rel = lambda g: np.abs(g - exact) / exact   # noqa: E731
    assert rel(fd_gradient(f, x, method="complex")).max() < 4 * EPS
    assert rel(fd_gradient(f, x, method="forward")).max() > 1e-9
    assert rel(fd_gradient(f, x, method="central")).max() > 1e-12
    np.testing.assert_allclose(ref.fd_gradient(f, x, method="complex"), exact, rtol=4 * EPS)


def test_complex_step_needs_complex_f():
    with pytest.raises(TypeError, match="complex"):
        fd_gradient(lambda v: float(np.real(np.sum(v ** 2))), [1.0, 2.0], method="complex")


# ----------------------------------------------------- error estimates --

@pytest.mark.parametrize("name", sorted(FUNCS))
def test_richardson_and_five_point_estimates_bound_true_error(name, points):
    f, g = FUNCS[name]
    for x in points:
        for m in ("richardson", "five-point", "complex"):
            got, err = fd_gradient(f, x, method=m, full_output=True, vectorized=True)
            assert np.all(np.abs(got - g(x)) <= err), (name, m)


def test_low_order_estimates_track_true_error(points):
    # forward/backward/central estimates are estimates, not bounds: the true
    # error stays within a small factor of them.
    for name, (f, g) in FUNCS.items():
        for x in points:
            for m in ("forward", "backward", "central"):
                got, err = fd_gradient(f, x, method=m, full_output=True)
                assert np.all(np.abs(got - g(x)) <= 3 * err), (name, m)
                assert np.all(err < 1e3 * RTOL[m] * max(1.0, np.abs(g(x)).max()))


def test_full_output_does_not_change_gradient():
    f, _ = FUNCS["poly"]
    x = np.array([0.2, -0.9, 1.4])
    for m in FD_METHODS:
        np.testing.assert_array_equal(fd_gradient(f, x, method=m),
                                      fd_gradient(f, x, method=m, full_output=True)[0])


# ----------------------------------------------------------------- steps --

OFFSETS = {"forward": [1.0], "backward": [-1.0], "central": [1.0, -1.0],
           "five-point": [2.0, -2.0, 1.0, -1.0],
           "richardson": [1.0, -1.0, 0.5, -0.5, 0.25, -0.25, 0.125, -0.125]}
SCALE = {"forward": EPS ** 0.5, "backward": EPS ** 0.5, "central": EPS ** (1 / 3),
         "five-point": EPS ** 0.2, "richardson": 4 * EPS ** 0.2}


def recorded_batch(method, x, step=None):
    seen = []

    def f(batch):
        seen.append(np.array(batch))
        return np.zeros(batch.shape[0])
    fd_gradient(f, x, method=method, step=step, vectorized=True)
    return seen[0]


@pytest.mark.parametrize("method", REAL_METHODS)
def test_default_steps_follow_the_rule(method):
    x = np.array([0.0, 0.25, -3.0, 1e4])
    pts = recorded_batch(method, x)
    base = method in ("forward", "backward")
    offs = OFFSETS[method]
    assert pts.shape == (base + len(offs) * x.size, x.size)
    if base:
        np.testing.assert_array_equal(pts[0], x)
    for j in range(x.size):
        h = SCALE[method] * max(1.0, abs(x[j]))
        for r, o in enumerate(offs):
            row = pts[base + j * len(offs) + r]
            want = x.copy()
            want[j] = x[j] + o * h
            np.testing.assert_allclose(row, want, rtol=1e-15, atol=0)
    np.testing.assert_allclose(_fd.default_scale(_fd.METHOD_CODES[method]), SCALE[method],
                               rtol=1e-15)


def test_step_override_scalar_and_per_coordinate():
    x = np.array([1.0, -2.0, 3.0])
    pts = recorded_batch("forward", x, step=1e-3)
    np.testing.assert_allclose(np.diag(pts[1:] - x), 1e-3, rtol=1e-12)
    s = np.array([1e-3, 2e-3, 4e-3])
    pts = recorded_batch("central", x, step=s)
    np.testing.assert_allclose(np.diag(pts[0::2] - x), s, rtol=1e-12)
    np.testing.assert_allclose(np.diag(pts[1::2] - x), -s, rtol=1e-12)
    # a large step shows the truncation error of forward differences: f'' h / 2
    g = fd_gradient(lambda v: np.sum(v ** 2), x, method="forward", step=0.5)
    np.testing.assert_allclose(g, 2 * x + 0.5, rtol=1e-14)
    g = fd_gradient(lambda v: np.sum(v ** 2), x, method="forward", step=s)
    np.testing.assert_allclose(g, 2 * x + s, rtol=1e-10)


def test_complex_default_step():
    seen = []

    def f(batch):
        seen.append(np.array(batch))
        return np.sum(batch, axis=-1)
    fd_gradient(f, [2.0, 0.5], method="complex", vectorized=True)
    np.testing.assert_array_equal(seen[0].imag, np.diag([2e-20, 1e-20]))


def test_float32_in_float32_out():
    x = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    f, g = FUNCS["exp_sin"]
    for m in FD_METHODS:
        got, err = fd_gradient(f, x, method=m, full_output=True)
        assert got.dtype == np.float32 and err.dtype == np.float32
        tol = {"forward": 3e-3, "backward": 3e-3}.get(m, 3e-4)
        close(got, g(x.astype(np.float64)), tol)
    pts = recorded_batch("central", x)
    assert pts.dtype == np.float32
    h = np.finfo(np.float32).eps ** (1 / 3) * 2.0
    assert abs((float(pts[4, 2]) - 2.0) - h) < 1e-6 * h * 10


def test_integer_and_list_input_compute_in_float64():
    g = fd_gradient(lambda v: np.sum(v ** 2), [1, 2, 3])
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [2, 4, 6], rtol=1e-9)


# ------------------------------------------------ Jacobian, JVP, Hessian --

def vec_f(x):
    x = np.asarray(x)
    a = x[..., 0, :]
    b = x[..., 1, :]
    return np.stack([np.sum(a * b, axis=-1), np.sin(a[..., 0]) * b[..., 2],
                     np.exp(a[..., 1] - b[..., 0]), a[..., 2] ** 3], axis=-1)


def vec_jac(x):
    a, b = x[0], x[1]
    J = np.zeros((4, 2, 3))
    J[0, 0], J[0, 1] = b, a
    J[1, 0, 0] = np.cos(a[0]) * b[2]
    J[1, 1, 2] = np.sin(a[0])
    e = np.exp(a[1] - b[0])
    J[2, 0, 1], J[2, 1, 0] = e, -e
    J[3, 0, 2] = 3 * a[2] ** 2
    return J


@pytest.mark.parametrize("method", FD_METHODS)
def test_jacobian_shape_and_values(method):
    x = np.array([[0.3, -0.4, 1.1], [0.9, 0.2, -1.3]])
    J = fd_jacobian(vec_f, x, method=method, vectorized=True)
    assert J.shape == (4, 2, 3)
    close(J, vec_jac(x), 10 * RTOL[method])
    Jp, err = fd_jacobian(vec_f, x, method=method, full_output=True)
    np.testing.assert_array_equal(J, Jp)
    assert err.shape == J.shape
    np.testing.assert_allclose(J, ref.fd_jacobian(vec_f, x, method=method), rtol=1e-12,
                               atol=1e-13)


def test_jacobian_of_scalar_is_gradient():
    f, g = FUNCS["poly"]
    x = np.array([0.5, 1.5])
    np.testing.assert_array_equal(fd_jacobian(f, x), fd_gradient(f, x))


@pytest.mark.parametrize("method", FD_METHODS)
def test_jvp_matches_jacobian_product(method):
    x = np.array([[0.3, -0.4, 1.1], [0.9, 0.2, -1.3]])
    v = np.array([[1.0, 0.5, -2.0], [0.0, 3.0, 0.25]])
    fx, jv = fd_jvp(vec_f, x, v, method=method)
    np.testing.assert_array_equal(fx, vec_f(x))
    want = np.tensordot(vec_jac(x), v, axes=2)
    close(jv, want, 30 * RTOL[method])
    rfx, rjv = ref.fd_jvp(vec_f, x, v, method=method)
    np.testing.assert_allclose(jv, rjv, rtol=1e-12, atol=1e-13)


def test_jvp_zero_direction_and_capsule():
    fx, jv = fd_jvp(rosen, [0.5, 0.5], [0.0, 0.0])
    assert jv == 0.0 and fx == rosen(np.array([0.5, 0.5]))
    obj = TF.CRosenbrock(4)
    x = np.array([0.2, 0.4, -0.3, 1.0])
    v = np.array([1.0, -1.0, 0.5, 2.0])
    for m in REAL_METHODS:
        fx, d = fd_jvp(obj, x, v, method=m)
        assert math.isclose(fx, rosen(x), rel_tol=1e-15)
        assert math.isclose(d, rosen_grad(x) @ v, rel_tol=30 * RTOL[m], abs_tol=1e-9)


@pytest.mark.parametrize("method", FD_METHODS)
def test_hessian_rosenbrock(method):
    x = np.array([0.3, -0.5, 1.2, 0.8])
    H = fd_hessian(rosen if method != "complex" else rosen, x, method=method)
    assert H.shape == (4, 4)
    np.testing.assert_array_equal(H, H.T)
    tol = {"forward": 2e-3, "backward": 2e-3, "central": 1e-5, "five-point": 1e-7,
           "richardson": 1e-7, "complex": 1e-7}[method]
    close(H, rosen_hess(x), tol)
    Hg = fd_hessian(None if False else rosen, x, method=method, grad=rosen_grad)
    close(Hg, rosen_hess(x), 10 * RTOL[method] if method != "complex" else 1e-8)
    np.testing.assert_allclose(H, ref.fd_hessian(rosen, x, method=method), rtol=1e-9,
                               atol=1e-9)


def test_hessian_nd_x_and_capsule():
    x = np.array([[0.3, -0.5], [1.2, 0.8]])
    H = fd_hessian(rosen, x.ravel(), method="five-point")
    H2 = fd_hessian(lambda a: rosen(a.ravel()), x, method="five-point")
    assert H2.shape == (4, 4)
    np.testing.assert_allclose(H, H2, rtol=1e-12)
    Hc = fd_hessian(TF.CRosenbrock(4), x.ravel(), method="five-point")
    close(Hc, rosen_hess(x.ravel()), 1e-7)


# -------------------------------------------------------------- property --

@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 2 ** 31 - 1),
       method=st.sampled_from(FD_METHODS), scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_property_quadratics(n, seed, method, scale):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    A = A + A.T
    b = rng.normal(size=n)
    x = scale * rng.normal(size=n)
    f = lambda v: 0.5 * v @ A @ v + b @ v   # noqa: E731
    exact = A @ x + b
    got = fd_gradient(f, x, method=method)
    # a quadratic has no third derivative: central-type methods only round;
    # one-sided ones err by A_jj h / 2 with h = sqrt(eps) max(1, |x_j|)
    fscale = abs(f(x)) + np.abs(A).sum() * max(1.0, np.abs(x).max()) ** 2 + np.abs(b).sum()
    h = np.maximum(1.0, np.abs(x))
    if method in ("forward", "backward"):
        tol = np.abs(np.diag(A)) * EPS ** 0.5 * h + 200 * EPS * fscale / (EPS ** 0.5 * h)
    elif method == "complex":
        tol = 1e-13 * (np.abs(exact) + np.abs(A).sum() * np.abs(x).max() + np.abs(b).sum())
    else:
        tol = 200 * EPS * fscale / (SCALE.get(method, 1) / 8 * h)
    assert np.all(np.abs(got - exact) <= tol + 1e-300)
    if method != "complex":
        np.testing.assert_allclose(got, ref.fd_gradient(f, x, method=method), rtol=1e-13,
                                   atol=1e-13 * (1 + np.abs(exact).max()))


@settings(max_examples=25, deadline=None)
@given(x=st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=5),
       method=st.sampled_from(REAL_METHODS))
def test_property_vectorized_equals_per_point(x, method):
    x = np.array(x)
    f = lambda v: np.sum(np.sin(v) * v, axis=-1)   # noqa: E731
    a = fd_gradient(f, x, method=method, vectorized=True)
    b = fd_gradient(f, x, method=method)
    np.testing.assert_array_equal(a, b)
    close(a, np.sin(x) + x * np.cos(x), RTOL[method] * 10)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), n=st.integers(1, 4),
       method=st.sampled_from(["richardson", "five-point"]))
def test_property_error_estimate_bounds_true_error(seed, n, method):
    # The rounding part of the estimate assumes f is accurate to eps |f|, so
    # the family has no cancellation inside f (positive terms); the slack
    # on the right is the rounding of the exact-gradient oracle itself.
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.1, 3, n), rng.uniform(0.1, 3, n)
    c, d = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    x = rng.uniform(-2, 2, n)
    f = lambda v: np.sum(a * np.exp(d * v) + b * (v - c) ** 2, axis=-1)   # noqa: E731
    t1, t2 = a * d * np.exp(d * x), 2 * b * (x - c)
    got, err = fd_gradient(f, x, method=method, full_output=True, vectorized=True)
    assert np.all(np.abs(got - (t1 + t2)) <= err + 4 * EPS * (np.abs(t1) + np.abs(t2)))


# ------------------------------------------------------------- bad input --

def good(v):
    return np.sum(v ** 2)


@pytest.mark.parametrize("fn", [fd_gradient, fd_jacobian, ref.fd_gradient, ref.fd_jacobian])
def test_bad_method_lists_valid_ones(fn):
    with pytest.raises(ValueError, match="five-point") as info:
        fn(good, [1.0], method="centered")
    assert "method" in str(info.value)


@pytest.mark.parametrize("fn", [fd_gradient, fd_jacobian, fd_hessian, ref.fd_gradient])
@pytest.mark.parametrize("x", [[1.0, np.nan], [np.inf], [[1.0, -np.inf]]])
def test_nonfinite_x(fn, x):
    with pytest.raises(ValueError, match="x"):
        fn(good, x)


@pytest.mark.parametrize("step", [0.0, -1e-3, np.nan, np.inf, [1e-3, 0.0], [1e-3, -2.0]])
@pytest.mark.parametrize("method", ["forward", "central", "richardson", "complex"])
def test_bad_step(step, method):
    with pytest.raises(ValueError, match="step"):
        fd_gradient(good, [1.0, 2.0], method=method, step=step)
    with pytest.raises(ValueError, match="step"):
        ref.fd_gradient(good, [1.0, 2.0], method=method, step=step)


def test_bad_step_shape_and_type():
    with pytest.raises(ValueError, match="step"):
        fd_gradient(good, [1.0, 2.0], step=[1e-3, 1e-3, 1e-3])
    with pytest.raises(TypeError, match="step"):
        fd_gradient(good, [1.0, 2.0], step="small")
    with pytest.raises(ValueError, match="step"):
        fd_gradient(TF.CRosenbrock(2), [1.0, 2.0], step=-1.0)
    with pytest.raises(ValueError, match="step"):
        fd_jvp(good, [1.0, 2.0], [1.0, 0.0], step=[1e-3, 1e-3])
    # a float32 x turns a tiny step into 0: still rejected
    with pytest.raises(ValueError, match="step"):
        fd_gradient(good, np.ones(2, np.float32), step=1e-50)


def test_bad_x_types():
    with pytest.raises(TypeError, match="x"):
        fd_gradient(good, [1 + 2j])
    with pytest.raises(TypeError, match="x"):
        fd_gradient(good, ["a", "b"])
    with pytest.raises(TypeError, match="x"):
        fd_gradient(good, [[1.0], [2.0, 3.0]])
    with pytest.raises(ValueError, match="x"):
        fd_gradient(good, [])
    with pytest.raises(TypeError, match="x"):
        ref.fd_gradient(good, [1 + 2j])


def test_f_not_callable_or_bad_output():
    with pytest.raises(TypeError, match="f must be callable"):
        fd_gradient(3.0, [1.0])
    with pytest.raises(ValueError, match="scalar"):
        fd_gradient(lambda v: v * 2, [1.0, 2.0])
    with pytest.raises(ValueError, match="scalar"):
        fd_gradient(lambda v: v * 2, [1.0, 2.0], method="complex")
    with pytest.raises(ValueError, match="scalar"):
        ref.fd_gradient(lambda v: v * 2, [1.0, 2.0])
    with pytest.raises(TypeError, match="real"):
        fd_gradient(lambda v: "x", [1.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        fd_jacobian(lambda v: v[: 1 + int(v[0] > 1)], [1.0, 2.0])


def test_vectorized_wrong_batch_shape():
    with pytest.raises(ValueError, match=r"vectorized=True.*\(4,\)"):
        fd_gradient(lambda b: np.sum(b), [1.0, 2.0], vectorized=True)
    with pytest.raises(ValueError, match="vectorized=True"):
        fd_gradient(lambda b: b, [1.0, 2.0], vectorized=True)
    with pytest.raises(ValueError, match="vectorized=True"):
        fd_gradient(lambda b: np.sum(b), [1.0, 2.0], vectorized=True, method="complex")
    with pytest.raises(ValueError, match="vectorized=True"):
        fd_jacobian(lambda b: np.sum(b), [1.0, 2.0], vectorized=True)


def test_f_cannot_modify_the_stencil_and_x_is_untouched():
    x = np.array([1.0, 2.0])
    keep = x.copy()

    def f(v):
        v[0] = 5.0
        return np.sum(v)
    with pytest.raises(ValueError, match="read-only"):
        fd_gradient(f, x)
    np.testing.assert_array_equal(x, keep)
    fd_gradient(good, x, method="richardson", full_output=True)
    np.testing.assert_array_equal(x, keep)


def test_jvp_and_hessian_bad_input():
    with pytest.raises(ValueError, match="v must have x's shape"):
        fd_jvp(good, [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="v"):
        fd_jvp(good, [1.0, 2.0], [1.0, np.nan])
    with pytest.raises(TypeError, match="grad"):
        fd_hessian(good, [1.0, 2.0], grad=3)
    with pytest.raises(ValueError, match="grad must return 2"):
        fd_hessian(good, [1.0, 2.0], grad=lambda v: np.ones(3))
    with pytest.raises(TypeError, match="complex"):
        fd_jvp(lambda v: float(np.sum(np.real(v))), [1.0], [1.0], method="complex")


def test_capsule_errors():
    class Bad:
        def __call__(self, x):
            return 0.0

        def _fg_scalar_capsule(self):
            return object()
    with pytest.raises(TypeError, match="PyCapsule"):
        fd_gradient(Bad(), [1.0])


def test_c_combine_rejects_missing_error_points():
    x = np.array([1.0, 2.0])
    pts = _fd.stencil(x, _fd.METHOD_CODES["central"], False)
    vals = np.zeros((pts.shape[0], 1))
    with pytest.raises(ValueError):
        _fd.combine(x, _fd.METHOD_CODES["central"], False, pts, vals, True)
    with pytest.raises(ValueError):
        _fd.stencil(x, 99)
    with pytest.raises(ValueError):
        _fd.combine(x, _fd.METHOD_CODES["central"], False, pts[:2], vals[:2], False)


# ------------------------------------------------- C drivers via cdef API --

@pytest.mark.parametrize("method", REAL_METHODS)
def test_c_hessian_driver_from_exact_gradient(method):
    x = np.array([0.3, -0.5, 1.2, 0.8, -1.1])
    H = TF.rosenbrock_hessian_c(x, _fd.METHOD_CODES[method])
    np.testing.assert_array_equal(H, H.T)
    close(H, rosen_hess(x), 10 * RTOL[method])
    # the same Hessian through the Python front-end with a gradient callable
    np.testing.assert_allclose(H, fd_hessian(rosen, x, method=method, grad=rosen_grad),
                               rtol=1e-9, atol=1e-7)
    with pytest.raises(ValueError, match="non-finite"):
        TF.rosenbrock_hessian_c(np.array([1.0, np.nan]), _fd.METHOD_CODES[method])


@pytest.mark.parametrize("method", REAL_METHODS)
def test_c_gradient_export_equals_capsule_path(method):
    x = np.array([0.3, -0.5, 1.2, 0.8])
    g, e = TF.rosenbrock_gradient_c(x, _fd.METHOD_CODES[method], True)
    g2, e2 = fd_gradient(TF.CRosenbrock(4), x, method=method, full_output=True)
    np.testing.assert_array_equal(g, g2)
    np.testing.assert_array_equal(e, e2)


# ------------------------------------------- fast vs reference over a corpus --

CORPUS = [
    np.float64(0.7), np.array(-2.5), np.array([0.3]), np.linspace(-1, 1, 5),
    np.arange(6.0).reshape(2, 3) / 3, np.array([1, 2, 3]), [0.5, -0.25],
    np.array([0.5, 1.5], dtype=np.float32), np.linspace(0, 1, 4).reshape(2, 2)[:, ::-1],
    np.array([1.0, np.nan]), np.array([]), np.array([1 + 1j]), np.array(["a"]),
]


@pytest.mark.parametrize("method", FD_METHODS)
@pytest.mark.parametrize("case", range(len(CORPUS)))
def test_fast_and_reference_agree_or_both_raise(case, method):
    x = CORPUS[case]
    f = lambda v: np.sum(np.sin(v) * v)   # noqa: E731
    try:
        want = ref.fd_gradient(f, x, method=method, full_output=True)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            fd_gradient(f, x, method=method, full_output=True)
        return
    got = fd_gradient(f, x, method=method, full_output=True)
    for a, b in zip(got, want):
        assert a.shape == b.shape == np.shape(x)
        assert a.dtype == b.dtype == (np.float32 if np.asarray(x).dtype == np.float32
                                      else np.float64)
    tol = 1e-5 if np.asarray(x).dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got[0], want[0], rtol=tol, atol=tol)
    # float32 error estimates are differences of rounded float32 values: the
    # two implementations round the points differently (float vs double sums)
    np.testing.assert_allclose(got[1], want[1], rtol=5e-2 if tol == 1e-5 else 1e-6)


@pytest.mark.parametrize("method", REAL_METHODS)
def test_hessian_from_objective_capsule(method):
    # CRosenbrock also provides fg_objective_callback (its exact C gradient):
    # fd_hessian differences that gradient in C.
    obj = TF.CRosenbrock(5)
    x = np.array([0.3, -0.5, 1.2, 0.8, -1.1])
    H = fd_hessian(obj, x, method=method)
    np.testing.assert_array_equal(H, H.T)
    np.testing.assert_array_equal(H, TF.rosenbrock_hessian_c(x, _fd.METHOD_CODES[method]))
    close(H, rosen_hess(x), 10 * RTOL[method])
    s = np.full(5, 1e-4)
    np.testing.assert_allclose(fd_hessian(obj, x, method=method, step=s),
                               fd_hessian(rosen, x, method=method, step=s, grad=rosen_grad),
                               rtol=1e-10, atol=1e-8)
    with pytest.raises(ValueError, match="5"):
        fd_hessian(obj, x[:3], method=method)


def test_capsule_path_float32_in_float32_out():
    # the C function is double by contract: computed in float64, returned as float32
    x = np.array([0.3, -0.5, 1.2], dtype=np.float32)
    g, e = fd_gradient(TF.CRosenbrock(3), x, full_output=True)
    assert g.dtype == np.float32 and e.dtype == np.float32
    np.testing.assert_array_equal(g, fd_gradient(TF.CRosenbrock(3), x.astype(np.float64))
                                  .astype(np.float32))


def test_a_batch_kept_by_f_is_never_overwritten():
    """fd_gradient reuses its last stencil batch only when nothing refers to it."""
    kept = []

    def f(batch):
        kept.append(batch)
        return np.sum(batch ** 2, axis=-1)

    x1, x2 = np.array([1.0, 2.0, 3.0]), np.array([-5.0, 0.5, 7.0])
    fd_gradient(f, x1, vectorized=True)
    snapshot = kept[0].copy()
    g2 = fd_gradient(f, x2, vectorized=True)
    np.testing.assert_array_equal(kept[0], snapshot)
    assert kept[1] is not kept[0]
    np.testing.assert_allclose(g2, 2 * x2, rtol=1e-8)


def test_batches_are_reused_when_not_kept():
    import weakref

    seen = []

    def f(batch):
        seen.append(weakref.ref(batch.base if batch.base is not None else batch))
        return np.sum(batch ** 2, axis=-1)

    for x in (np.ones(4), np.full(4, 2.0)):
        np.testing.assert_allclose(fd_gradient(f, x, vectorized=True), 2 * x, rtol=1e-8)
    # the first batch is still alive and is the second: refilled, not reallocated
    assert seen[0]() is not None and seen[0]() is seen[1]()


def test_bool_points_are_refused_naming_x():
    """A boolean array is not a point: no silent coercion to 0.0 and 1.0."""
    with pytest.raises(TypeError, match="x must be an array-like of real numbers"):
        fd_gradient(lambda x: np.sum(x * x), np.array([True, False]))
