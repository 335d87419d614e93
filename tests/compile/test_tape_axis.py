"""The axis instructions MAX, MIN, PROD and CUMSUM of the tape VM, on
hand-built programs, in every mode: value, dual (several chunk sizes),
reverse, hyper-dual and forward-over-reverse Hessians, hvp and jvp.

Oracles: NumPy's own reductions for values, the reference interpreter
(full Jacobians and second-order tensors) and five-point differences for
derivatives, and hand-derived values at ties, NaNs and zeros.
"""
import zlib

import numpy as np
import pytest

from fastgrad import CompiledFunction
from fastgrad._tape import CODES
from fastgrad.reference import compiled as ref
from tape_programs import Builder

AXIS_OPS = {
    "MAX": lambda v: np.max(v, axis=1),
    "MIN": lambda v: np.min(v, axis=1),
    "PROD": lambda v: np.prod(v, axis=1),
    "CUMSUM": lambda v: np.cumsum(v, axis=1),
}
SHAPES = [(1, 5, 1), (2, 3, 4), (3, 1, 2), (1, 4, 3), (4, 2, 1)]


def test_codes_by_name():
    """Codes are explicit and append-only: pickled tapes store them."""
    assert CODES == {"UNARY": 1, "BINARY": 2, "WHERE": 3, "GATHER": 4, "SUM": 5, "MATMUL": 6,
                     "MAX": 7, "MIN": 8, "PROD": 9, "CUMSUM": 10, "TAKE": 11, "CAST": 12}


def axis_program(code, pre, ln, post, weights):
    """f(x) = sum((weights * op(sin(x) as (pre, len, post), axis=1)) ** 2)."""
    n = pre * ln * post
    bld = Builder((n,))
    y = bld.emit("UNARY", n, op="sin", a=0)
    m = n if code == "CUMSUM" else pre * post
    z = bld.emit(code, m, a=y, p0=pre, p1=ln, p2=post)
    w = bld.emit("BINARY", m, op="multiply", a=z, b=bld.const(weights))
    q = bld.emit("UNARY", m, op="square", a=w)
    bld.total(q, m)
    prog = bld.program()

    def f(x):
        v = np.sin(np.asarray(x, dtype=float)).reshape(pre, ln, post)
        return float(np.sum((weights * AXIS_OPS[code](v).ravel()) ** 2))

    return prog, f


def five_point(f, x, h=1e-3):
    g = np.zeros(x.size)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        g[i] = (-f(x + 2 * e) + 8 * f(x + e) - 8 * f(x - e) + f(x - 2 * e)) / (12 * h)
    return g


def check_all_modes(prog, x, f=None, exact_grad=None, exact_hess=None):
    """Every mode of the C VM against the reference (and f, exact values)."""
    rf = ref.CompiledFunction(prog)
    v_ref, g_ref, h_ref = rf(x), rf.gradient(x), rf.hessian(x)
    with np.errstate(all="ignore"):   # the reference's own two modes agree
        np.testing.assert_allclose(rf.gradient(x, "reverse"), g_ref, rtol=1e-13, atol=1e-300)
    if exact_grad is not None:
        np.testing.assert_allclose(g_ref, exact_grad, rtol=1e-14, atol=0)
    if exact_hess is not None:
        np.testing.assert_allclose(h_ref, exact_hess, rtol=1e-14, atol=0)
    gs = max(1.0, np.nanmax(np.abs(g_ref), initial=0.0))
    hs = max(1.0, np.nanmax(np.abs(h_ref), initial=0.0))
    for chunk in (1, 3, 8):
        cf = CompiledFunction(prog, None, chunk)
        v = cf(x)
        if f is not None:
            np.testing.assert_allclose(v, f(x), rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(v, v_ref, rtol=1e-13, atol=1e-14)
        for method in ("dual", "reverse"):
            val, g = cf.value_and_gradient(x, method=method)
            assert val == v or (np.isnan(val) and np.isnan(v))
            np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-13 * gs)
        for method in ("reverse", "hyperdual"):
            H = cf.hessian(x, method=method)
            np.testing.assert_allclose(H, h_ref, rtol=1e-11, atol=1e-12 * hs)
        d = np.linspace(-1.0, 1.0, x.size)
        fv, gv, hv = cf._tape.hvp(x, d)
        np.testing.assert_allclose(gv, g_ref, rtol=1e-12, atol=1e-13 * gs)
        if np.isfinite(h_ref).all():
            np.testing.assert_allclose(hv, h_ref @ d, rtol=1e-11, atol=1e-12 * hs)
            np.testing.assert_allclose(cf.jvp(x, d)[1], g_ref @ d, rtol=1e-12, atol=1e-13 * gs)
    return cf


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("code", sorted(AXIS_OPS))
def test_axis_instruction_all_modes(code, shape):
    pre, ln, post = shape
    rng = np.random.default_rng(zlib.crc32(f"{code}{shape}".encode()))
    m = pre * ln * post if code == "CUMSUM" else pre * post
    weights = rng.uniform(0.5, 1.5, size=m)
    prog, f = axis_program(code, pre, ln, post, weights)
    # distinct values, far apart next to the difference step (no near-ties)
    x = rng.permutation(np.linspace(-1.5, 1.5, pre * ln * post))
    check_all_modes(prog, x, f)
    rf = ref.CompiledFunction(prog)
    np.testing.assert_allclose(rf.gradient(x), five_point(f, x), rtol=1e-8, atol=1e-8)


def one_op(code, n, p=None):
    """f(x) = op(x) over the whole vector."""
    bld = Builder((n,))
    z = bld.emit(code, 1, a=0, p0=1, p1=n, p2=1) if p is None else bld.emit(code, **p)
    if bld.slot_size[z] != 1:
        bld.total(z, bld.slot_size[z])
    return bld.program()


@pytest.mark.parametrize("code, x, pick", [
    ("MAX", [1.0, 3.0, 2.0, 3.0], 1),               # ties: the first maximum
    ("MIN", [2.0, -1.0, -1.0, 5.0], 1),
    ("MAX", [-0.0, 0.0, -1.0], 0),                  # -0 == +0: the first
    ("MAX", [1.0, np.nan, 3.0, np.nan], 1),         # the first NaN, as numpy.argmax
    ("MIN", [np.nan, -np.inf, np.nan], 0),
    ("MAX", [-np.inf, -np.inf], 0),
    ("MIN", [7.0], 0),
])
def test_extremum_ties_and_nan(code, x, pick):
    x = np.asarray(x)
    prog = one_op(code, x.size)
    value = np.max(x) if code == "MAX" else np.min(x)
    assert pick == (np.argmax(x) if code == "MAX" else np.argmin(x))
    grad = np.zeros(x.size)
    grad[pick] = 1.0
    cf = check_all_modes(prog, x, exact_grad=grad, exact_hess=np.zeros((x.size, x.size)))
    np.testing.assert_array_equal(cf(x), value)
    for method in ("dual", "reverse"):
        np.testing.assert_array_equal(cf.gradient(x, method=method), grad)


def test_extremum_along_axis_picks_per_column():
    x = np.array([[1.0, 5.0, 5.0], [5.0, 1.0, np.nan], [2.0, 5.0, 4.0]])   # (len 3, post 3)
    prog = one_op("MAX", 9, dict(n=3, a=0, p0=1, p1=3, p2=3))
    cf = CompiledFunction(prog, None, 4)
    grad = np.zeros((3, 3))
    grad[1, 0] = grad[0, 1] = grad[1, 2] = 1.0
    for method in ("dual", "reverse"):
        np.testing.assert_array_equal(cf.gradient(x.ravel(), method=method), grad.ravel())
    assert np.isnan(cf(x.ravel()))


def prod_hessian(x):
    n = x.size
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                H[i, j] = np.prod(np.delete(x, [i, j]))
    return H


@pytest.mark.parametrize("x", [
    [0.0, 3.0, 2.0],            # one zero: exact, no division
    [0.0, 0.0, 2.0, 5.0],       # two zeros: gradient 0, Hessian has one entry
    [0.0, 0.0, 0.0],
    [1.5, -2.0, 0.5, 3.0],
    [4.0],
])
def test_prod_at_zeros_is_exact(x):
    x = np.asarray(x)
    prog = one_op("PROD", x.size)
    grad = np.array([np.prod(np.delete(x, i)) for i in range(x.size)])
    cf = check_all_modes(prog, x, exact_grad=grad, exact_hess=prod_hessian(x))
    for method in ("dual", "reverse"):
        np.testing.assert_array_equal(cf.gradient(x, method=method), grad)
    for method in ("reverse", "hyperdual"):
        np.testing.assert_array_equal(cf.hessian(x, method=method), prod_hessian(x))


def test_prod_with_infinity_is_nan_safe():
    """x = (inf, 0, 2): the partials are (0, inf, NaN). A zero tangent times
    an infinite partial contributes 0, so the first component is 0, not NaN
    (the dual numbers' rule), in every mode."""
    x = np.array([np.inf, 0.0, 2.0])
    prog = one_op("PROD", 3)
    expect = np.array([0.0, np.inf, np.nan])
    for chunk in (1, 3):
        cf = CompiledFunction(prog, None, chunk)
        for method in ("dual", "reverse"):
            np.testing.assert_array_equal(cf.gradient(x, method=method), expect)
    np.testing.assert_array_equal(ref.CompiledFunction(prog).gradient(x), expect)


def test_prod_and_cumsum_of_an_empty_axis():
    """len 0: the product of nothing is 1, the cumulative sum is empty."""
    bld = Builder((2,))
    e = bld.emit("PROD", 2, a=0, p0=2, p1=0, p2=1)        # two empty products
    c = bld.emit("CUMSUM", 0, a=0, p0=2, p1=0, p2=1)
    s = bld.emit("SUM", 1, a=c, p0=1, p1=0, p2=1)
    w = bld.emit("BINARY", 2, op="multiply", a=e, b=0)
    t = bld.emit("BINARY", 2, op="add", a=w, b=s, sb=0)
    bld.total(t, 2)
    prog = bld.program()
    x = np.array([2.0, -3.0])
    check_all_modes(prog, x, exact_grad=np.ones(2), exact_hess=np.zeros((2, 2)))
