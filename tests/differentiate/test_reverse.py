"""Reverse mode for Python functions: method="auto" (the default) and "reverse".

f is recorded at x by the compile tracer in concrete mode (fastgrad.recorder's
RecordedArray) and its tape swept in C (fastgrad.reverse). Oracles: dual
numbers (method="dual", the same rules), central differences, hand values,
and the tape's own compiled modes. Coverage loops over the op table (every
differentiable row, inside its test domain and at its special points) and
over the structural rules' case table of test_rules.py.
"""
import gc
import math
import subprocess
import sys
import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from test_op_table import DIFF_ROWS, IDS, domain_points, row_function
from test_rules import CASES, central_jacobian, point, scalar

import fastgrad as fg
from fastgrad import DualArray
from fastgrad._ops import ufunc_of
from fastgrad.differentiate import AUTO_DUAL_SIZE
from fastgrad.recorder import RecordedArray
from fastgrad.trace import TraceError


def rev(fn, *a, **kw):
    return fn(*a, method="reverse", **kw)


def dual(fn, *a, **kw):
    return fn(*a, method="dual", **kw)


def seen_types(call, f, x, *a, **kw):
    """The type of array f receives on each call."""
    types = []

    def g(z, *args):
        types.append(type(z))
        return f(z, *args)
    call(g, x, *a, **kw)
    return types


# ------------------------------------------------------------ op table --
@pytest.mark.parametrize("row", DIFF_ROWS, ids=IDS)
def test_every_row_inside_its_domain(row):
    fn = ufunc_of(row.name)
    m = 4
    w = np.arange(1.0, m + 1)
    if row.arity == 1:
        x = domain_points(row.domain[0], m)

        def f(z):
            return np.sum(w * fn(z))
    else:
        x = np.concatenate([domain_points(row.domain[0], m),
                            domain_points(row.domain[1], m, operand=1)])

        def f(z):
            return np.sum(w * fn(z[:m], z[m:]))
    value, g = rev(fg.value_and_gradient, f, x)
    assert value == pytest.approx(f(x), rel=1e-14)
    g_dual = dual(fg.gradient, f, x)
    scale = max(1.0, np.abs(g_dual).max())
    np.testing.assert_allclose(g, g_dual, rtol=1e-13, atol=1e-14 * scale)
    np.testing.assert_allclose(g, central_jacobian(f, x), rtol=1e-6, atol=1e-7 * scale)
    np.testing.assert_array_equal(fg.gradient(f, x), g)          # "auto" is reverse here
    H = rev(fg.hessian, f, x)
    H_dual = dual(fg.hessian, f, x)
    hs = max(1.0, np.abs(H_dual).max())
    np.testing.assert_allclose(H, H_dual, rtol=1e-12, atol=1e-13 * hs)
    np.testing.assert_array_equal(H, H.T)


@pytest.mark.parametrize("row", DIFF_ROWS, ids=IDS)
def test_every_row_at_its_special_points(row):
    """0, -0, +-inf, NaN and the domain's edges: the NaN-safe rule as dual
    numbers apply it (a zero adjoint times an infinite partial is 0)."""
    f, x = row_function(row)
    with np.errstate(all="ignore"):
        g_dual = dual(fg.gradient, f, x)
    g = rev(fg.gradient, f, x)
    np.testing.assert_allclose(g, g_dual, rtol=1e-14, atol=0, equal_nan=True)
    assert np.array_equal(np.isnan(g), np.isnan(g_dual))
    assert np.array_equal(np.isinf(g), np.isinf(g_dual))


# ---------------------------------------------------- structural rules --
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_structural_rule(name):
    f, shape = CASES[name]
    x = point(shape)
    J = rev(fg.jacobian, f, x)
    J_dual = dual(fg.jacobian, f, x)
    np.testing.assert_allclose(J, J_dual, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(J, central_jacobian(f, x), rtol=1e-6, atol=1e-7)
    g = scalar(f)
    value, grad = rev(fg.value_and_gradient, g, x)
    assert value == pytest.approx(g(x), rel=1e-13, abs=1e-14)
    ref = dual(fg.gradient, g, x)
    gs = max(1.0, np.abs(ref).max())
    np.testing.assert_allclose(grad, ref, rtol=1e-12, atol=1e-13 * gs)
    np.testing.assert_array_equal(fg.gradient(g, x), grad)
    H = rev(fg.hessian, g, x)
    H_dual = dual(fg.hessian, g, x)
    hs = max(1.0, np.abs(H_dual).max())
    np.testing.assert_allclose(H, H_dual, rtol=1e-10, atol=1e-11 * hs)


BROADCASTS = {   # name: (f, x's shape, a broadcast is an outer product with ones)
    "bias row": (lambda z: np.sum(np.tanh(z[:12].reshape(4, 3) + z[12:15]) * z[3:15].reshape(4, 3)),
                 (15,), True),
    "row statistic": (lambda z: np.sum(np.exp(z.reshape(4, 3) - z.reshape(4, 3).max(
        axis=1, keepdims=True)) ** 2), (12,), True),
    "leading axes": (lambda z: np.sum(np.sin(z[:24].reshape(2, 4, 3) * z[24:])), (27,), True),
    "trailing axes": (lambda z: np.sum(z[:24].reshape(2, 4, 3) / (2 + z[24:].reshape(2, 1, 1))
                                       ** 2), (26,), True),
    "x and its transpose": (lambda z: np.sum(z.reshape(3, 1) * z.reshape(1, 3) ** 2), (3,),
                            True),
    "new unit axes only": (lambda z: np.sum(np.exp(z.reshape(1, 6, 1) * z.reshape(6, 1))),
                           (6,), True),
    "middle axis (gathered)": (lambda z: np.sum(np.cos(z[:12].reshape(4, 1, 3) *
                                                       z[12:24].reshape(4, 3)[:, :2, None])),
                               (24,), False),
}


@pytest.mark.parametrize("name", sorted(BROADCASTS))
def test_broadcasting_a_recorded_array(name):
    f, shape, outer = BROADCASTS[name]
    x = point(shape)
    v, g = rev(fg.value_and_gradient, f, x)
    assert v == pytest.approx(f(x), rel=1e-14)
    np.testing.assert_allclose(g, dual(fg.gradient, f, x), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(g, central_jacobian(f, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(rev(fg.hessian, f, x), dual(fg.hessian, f, x), rtol=1e-11,
                               atol=1e-12)
    cf = fg.compile(f, shape)
    np.testing.assert_allclose(cf.gradient(x), g, rtol=1e-13, atol=1e-14)
    codes = {int(c) for c in cf.program.instrs["code"]}
    # a leading or trailing broadcast is a product with ones, never a gather
    assert (fg._tape.CODES["GATHER"] not in codes) == outer


def test_extremum_ties_go_where_dual_numbers_send_them():
    for x in (np.array([1.0, 3.0, 3.0, 2.0]), np.array([3.0, -1.0, 3.0, -1.0]),
              np.array([1.0, np.nan, 5.0, np.nan])):
        for f in (np.max, np.min, lambda z: z.max(), lambda z: np.amin(z),
                  lambda z: np.max(z.reshape(2, 2), axis=0).sum()):
            np.testing.assert_array_equal(rev(fg.gradient, f, x), dual(fg.gradient, f, x))


# -------------------------------------------------- control flow on values --
def piecewise(x):
    if x[0] > 0:                        # the branch taken is differentiated
        y = np.sum(np.sin(x) * x[::-1])
    else:
        y = np.sum(x ** 3)
    while np.abs(y) > 10:               # a loop on values
        y = y / 2
    return y + np.sum(x[x > 0.5] ** 2)  # a mask from values


@pytest.mark.parametrize("x0", [1.0, -1.0, 3.0])
def test_python_control_flow_follows_the_values(x0):
    x = np.array([x0, 0.7, 2.0, -0.3])
    g = rev(fg.gradient, piecewise, x)
    np.testing.assert_allclose(g, dual(fg.gradient, piecewise, x), rtol=1e-14)
    np.testing.assert_allclose(g, central_jacobian(piecewise, x), rtol=1e-6)
    assert fg.gradient(piecewise, x) is not None


def test_both_branches_give_their_own_derivative():
    def relu_sum(x):
        return sum(v if v > 0 else 0.1 * v for v in x)   # Python's sum and if
    x = np.array([1.5, -2.0, 0.3, -0.1])
    np.testing.assert_array_equal(rev(fg.gradient, relu_sum, x), [1.0, 0.1, 1.0, 0.1])
    assert rev(fg.gradient, lambda z: max(z[0], z[1]) * z[2], x).tolist() == [0.3, 0, 1.5, 0]


def test_recorded_arrays_compare_to_plain_booleans():
    seen = {}

    def f(x):
        c = x > 0
        seen["c"] = c
        seen["bool"] = bool(x[0] > 0)
        return np.sum(np.where(c, x, 0.0))
    g = rev(fg.gradient, f, np.array([1.0, -1.0, 2.0]))
    assert type(seen["c"]) is np.ndarray and seen["c"].dtype == bool and seen["bool"] is True
    assert g.tolist() == [1.0, 0.0, 1.0]


# ----------------------------------------------------------- the fallback --
def assign_into_zeros(x):
    out = np.zeros_like(x)      # recorded arrays are immutable
    out[0] = x[1] * x[2]
    out[1:] = 2.0 * x[1:]
    return np.sum(out ** 2)


def test_auto_falls_back_to_dual_numbers_with_the_same_result():
    x = np.array([1.0, 2.0, 3.0, -1.0])
    assert seen_types(fg.gradient, assign_into_zeros, x) == [RecordedArray, DualArray]
    np.testing.assert_array_equal(fg.gradient(assign_into_zeros, x),
                                  dual(fg.gradient, assign_into_zeros, x))
    np.testing.assert_array_equal(fg.hessian(assign_into_zeros, x),
                                  dual(fg.hessian, assign_into_zeros, x))


def test_reverse_raises_a_type_error_naming_the_operation():
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="item assignment"):
        rev(fg.gradient, assign_into_zeros, x)
    with pytest.raises(TypeError, match=r"reverse mode cannot record numpy\.sort"):
        rev(fg.gradient, lambda z: np.sum(np.sort(z)), x)
    with pytest.raises(TypeError, match=r"float\(\)"):
        rev(fg.gradient, lambda z: math.exp(z[0]), x)
    assert issubclass(TraceError, TypeError)
    # what neither mode supports fails under "auto" with dual numbers' error
    with pytest.raises(TypeError, match="DualArray"):
        fg.gradient(lambda z: np.sum(np.sort(z)), x)
    with pytest.raises(TypeError, match="float"):
        fg.gradient(lambda z: math.exp(z[0]), x)


def test_float_of_a_recorded_value_is_an_error_not_a_constant():
    x = np.array([0.5, 1.0, 2.0])
    for conv in (float, int, complex, lambda v: v.item(), np.asarray, lambda v: v.tolist()):
        with pytest.raises(TypeError, match="drop its derivative"):
            rev(fg.gradient, lambda z: conv(z[0]) * np.sum(z), x)


def test_auto_takes_dual_numbers_for_tiny_and_empty_x():
    f = lambda z: np.sum(z ** 2)    # noqa: E731
    assert seen_types(fg.gradient, f, np.ones(AUTO_DUAL_SIZE)) == [DualArray]
    assert seen_types(fg.gradient, f, np.ones(AUTO_DUAL_SIZE + 1)) == [RecordedArray]
    assert seen_types(fg.gradient, f, np.ones(AUTO_DUAL_SIZE), method="reverse") == \
        [RecordedArray]
    assert fg.gradient(f, np.ones(0)).shape == (0,)
    assert rev(fg.gradient, f, np.ones(0)).shape == (0,)


# ------------------------------------------------ Jacobians, JVPs, shapes --
def test_jacobian_auto_picks_reverse_for_fewer_outputs_than_inputs():
    x = np.linspace(0.1, 1.0, 6)
    few = lambda z: np.stack([np.sum(z ** 2), np.prod(z)])   # noqa: E731
    many = lambda z: np.outer(z[:3], z).ravel()              # noqa: E731
    assert seen_types(fg.jacobian, few, x) == [RecordedArray]
    assert seen_types(fg.jacobian, many, x) == [RecordedArray, DualArray]
    for f in (few, many):
        np.testing.assert_allclose(fg.jacobian(f, x), dual(fg.jacobian, f, x), rtol=1e-14)
        np.testing.assert_allclose(rev(fg.jacobian, f, x), dual(fg.jacobian, f, x), rtol=1e-14)


def test_jvp_and_directional_derivative():
    F = lambda z: np.stack([z[0] * z[1], np.exp(z[2]) + z[3] ** 2])   # noqa: E731
    x, v = np.array([0.3, -1.2, 0.4, 2.0]), np.array([1.0, 0.5, -2.0, 0.25])
    val, jv = rev(fg.jvp, F, x, v)
    val_d, jv_d = dual(fg.jvp, F, x, v)
    np.testing.assert_array_equal(val, val_d)
    np.testing.assert_allclose(jv, jv_d, rtol=1e-14)
    f = lambda z: np.sum(np.sin(z) * z)   # noqa: E731
    d = rev(fg.directional_derivative, f, x, v)
    assert d == pytest.approx(dual(fg.directional_derivative, f, x, v), rel=1e-14)
    val, jv = rev(fg.jvp, f, x, v)
    assert val.shape == () and jv.shape == ()


def test_shapes_vectorized_args_and_full_output():
    X = np.arange(6.0).reshape(2, 3) / 7
    A = np.array([[1.0, -2.0, 0.5], [0.3, 0.0, 1.0]])
    f = lambda z, a: np.sum(a * z ** 2)   # noqa: E731
    g = rev(fg.gradient, f, X, args=(A,))
    np.testing.assert_allclose(g, 2 * A * X, rtol=1e-15)
    gv = rev(fg.gradient, lambda z, a: np.sum(a * z ** 2, axis=(1, 2)), X, args=(A,),
             vectorized=True)
    np.testing.assert_array_equal(gv, g)
    g2, err = rev(fg.gradient, f, X, args=(A,), full_output=True)
    np.testing.assert_array_equal(g2, g)
    assert not err.any() and err.shape == X.shape
    H = rev(fg.hessian, f, X, args=(A,))
    assert H.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(H.reshape(6, 6), np.diag(2 * A.ravel()), atol=1e-15)
    with pytest.raises(ValueError, match="scalar"):
        rev(fg.gradient, lambda z: z * 2, X)
    with pytest.raises(ValueError, match="step"):
        rev(fg.gradient, f, X, args=(A,), step=1e-3)


def test_a_result_that_does_not_depend_on_x():
    x = np.array([1.0, 2.0, 3.0])
    for f in (lambda z: 3.0, lambda z: np.float64(2.5), lambda z: np.sum(np.zeros_like(z)),
              lambda z: np.sum(z > 1.5)):
        v, g = rev(fg.value_and_gradient, f, x)
        assert v == f(x) and g.tolist() == [0.0, 0.0, 0.0]
        np.testing.assert_array_equal(rev(fg.hessian, f, x), np.zeros((3, 3)))
    J = rev(fg.jacobian, lambda z: np.ones(2) * 3.0, x)
    assert J.shape == (2, 3) and not J.any()


# --------------------------------------------------------------- dtypes --
def test_float32_in_float32_out_as_with_dual_numbers():
    x32 = np.array([0.5, 1.5, 2.5, -0.7], dtype=np.float32)
    cases = [lambda z: np.sum(np.sin(z) * z ** 2),                       # float32 result
             lambda z: np.sum(z * np.array([1.0, 2.0, 3.0, 4.0])),       # float64 constant
             lambda z: np.sum(z.astype(np.float64) ** 2)]
    for f in cases:
        v, g = rev(fg.value_and_gradient, f, x32)
        v_d, g_d = dual(fg.value_and_gradient, f, x32)
        assert g.dtype == g_d.dtype and np.asarray(v).dtype == np.asarray(v_d).dtype
        np.testing.assert_allclose(g, g_d, rtol=2e-6)
        np.testing.assert_allclose(v, v_d, rtol=2e-6)
        assert rev(fg.hessian, f, x32).dtype == g_d.dtype


# ---------------------------------------------------------- non-finite --
def test_non_finite_values_follow_the_nan_safe_rule():
    x = np.array([0.0, 4.0, -1.0, np.inf, np.nan])
    cases = [lambda z: np.sum(np.sqrt(np.abs(z[:3]))),                    # inf at 0
             lambda z: np.sum(np.where(z[:3] > 0, np.log(z[:3]), 0.0)),   # NaN branch unused
             lambda z: np.sum(z * 2.0),                                   # inf and NaN inputs
             lambda z: np.max(z[:4]) + np.min(z),                         # NaN is the extremum
             lambda z: np.sum(np.exp(-z[3]) * z[:3])]
    for f in cases:
        with np.errstate(all="ignore"):
            v_d, g_d = dual(fg.value_and_gradient, f, x)
        v, g = rev(fg.value_and_gradient, f, x)
        np.testing.assert_array_equal(g, g_d)
        np.testing.assert_array_equal(v, v_d)


# ---------------------------------------------- compiled functions, minimize --
def test_compiled_gradient_defaults_to_reverse():
    f = lambda z: np.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1 - z[:-1]) ** 2)   # noqa: E731
    x = np.linspace(-1.0, 1.5, 7)
    cf = fg.compile(f, x.shape)
    np.testing.assert_array_equal(cf.gradient(x), cf.gradient(x, method="reverse"))
    v, g = cf.value_and_gradient(x)
    assert (v, g.tolist()) == (cf(x), cf.gradient(x, method="reverse").tolist())
    np.testing.assert_allclose(cf.gradient(x, method="dual"), g, rtol=1e-14)
    np.testing.assert_allclose(cf.gradient(x, method="central"), g, rtol=1e-6)
    np.testing.assert_array_equal(fg.gradient(f, x), g)
    small = fg.compile(f, 2)
    np.testing.assert_array_equal(small.gradient(np.ones(2)), small.gradient(np.ones(2),
                                                                            method="dual"))
    with pytest.raises(ValueError, match="method"):
        cf.value_and_gradient(x, method="central")


def test_minimize_records_a_python_objective_by_default():
    types = []

    def f(z):
        types.append(type(z))
        return np.sum((z - np.arange(4.0)) ** 2)
    res = fg.minimize(f, np.zeros(4), method="gd", lr=0.25, maxiter=50)
    assert res.success and set(types) == {RecordedArray}
    np.testing.assert_allclose(res.x, np.arange(4.0), atol=1e-7)


def test_check_gradient_against_the_reverse_default():
    f = lambda z: np.sum(z ** 3)   # noqa: E731
    report = fg.check_gradient(f, lambda z: 3 * z ** 2, np.array([1.0, 2.0, -0.5]))
    assert report.ok and report.method == "auto" and report.tol == 1e-6
    assert not fg.check_gradient(f, lambda z: 3 * z, np.array([1.0, 2.0, -0.5]))


# ------------------------------------------------------ threads, memory --
def test_recording_in_several_threads_at_once():
    rng = np.random.default_rng(3)
    jobs = [(piecewise, rng.normal(size=4)) for _ in range(4)]
    jobs += [(scalar(CASES[name][0]), point(CASES[name][1], seed=i))
             for i, name in enumerate(sorted(CASES))]
    jobs += [(assign_into_zeros, rng.normal(size=5))]
    expect = [fg.gradient(f, x) for f, x in jobs]
    barrier = threading.Barrier(4)

    def work(k):
        barrier.wait()
        out = []
        for rep in range(6):
            for i in range(k, len(jobs), 2) if rep % 2 else range(len(jobs)):
                out.append((i, fg.gradient(*jobs[i])))
        return out
    with ThreadPoolExecutor(4) as pool:
        results = [r for rs in pool.map(work, range(4)) for r in rs]
    for i, g in results:
        np.testing.assert_array_equal(g, expect[i])


def test_repeated_calls_do_not_grow_python_memory():
    x = np.linspace(-1.0, 1.0, 50)
    f = scalar(CASES["softmax_xent"][0])
    xs = point(CASES["softmax_xent"][1])

    def calls():
        fg.gradient(piecewise, x[:4])
        fg.value_and_gradient(lambda z: np.sum(z[1:] * z[:-1] ** 2), x)
        fg.gradient(f, xs)
        fg.hessian(lambda z: np.sum(np.sin(z) * z[::-1]), x[:6])
    for _ in range(50):
        calls()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(600):
            calls()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 32 * 1024, grown   # bytes: a leak of 100 bytes a call would show


MAXRSS_SCRIPT = """
import resource, numpy as np, fastgrad as fg
def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
x = np.linspace(-1.0, 1.0, 2000)
def calls():
    fg.value_and_gradient(rosen, x)
    fg.jacobian(lambda z: np.stack([rosen(z), np.sum(z ** 3)]), x)
    fg.hessian(rosen, x[:40])
for _ in range(300):
    calls()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for _ in range(3000):
    calls()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_repeated_calls_do_not_grow_the_process():
    # every call builds and frees a C tape and its workspace (about 0.5 MB
    # here): a leak of either would add gigabytes over these calls
    out = subprocess.run([sys.executable, "-c", MAXRSS_SCRIPT], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) < 16 * 1024, out.stdout    # kilobytes
